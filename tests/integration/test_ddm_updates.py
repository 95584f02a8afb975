"""Issue 15's "done means", end to end: a real ardoised, Apple's update
catalogue from the local stand-in (gdmf_standin.py), tablets simulated by
ardoise-sim speaking DDM.

One collège (A) holds four iPad13,18 on iPadOS 18.6.2, one iPad7,5 on
iPadOS 17.5 (which iPadOS 26.1 does not support) and one iPad on iPadOS
15.8 (no DDM); collège B holds one iPad13,18.
- DDM is turned on at enrolment for iPadOS 16 and later only;
- the tablets sync their declarations and report their status;
- a declaration assigned to collège A reaches A's tablets only, and
  unassigned it disappears from them; the DeclarationsToken changes exactly
  when a tablet's set changes (a no-op plan, an assignment to the other
  collège, a re-sync leave it as it was);
- an update plan for collège A (26.1, deadline Saturday 05/12/2026 10:00)
  reports the unsupported model by serial and the tablet without DDM, and
  is not pushed to them; before the deadline the tablets download, at it
  they install and come back on 26.1; one told to fail reports its reason,
  which `update status` shows.

The daemon's clock is 2026-12-02 12:00 UTC (a Wednesday, in class hours;
ARDOISE_CLOCK_OFFSET), the tablets' clock is given by `ardoise-sim --now`.
"""
import datetime
import json
import os

from fleet_common import A, B
from gdmf_standin import GdmfStandin, load_catalogue, standin_pki, updates_config
from harness import Daemon, Sim, check, new_code, run, schema_check, write

CA, CERT, KEY = standin_pki()

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
os.environ["ARDOISE_CLOCK_OFFSET"] = str(int((NOW - datetime.datetime.now(UTC)).total_seconds()))

BEFORE = "2026-12-04T18:00"  # Friday evening, before the deadline (tablet's local time)
AFTER = "2026-12-05T10:05"   # Saturday, five minutes after it

PASSCODE = {"Type": "com.apple.configuration.passcode.settings",
            "Identifier": "fr.college.a.passcode",
            "Payload": {"RequirePasscode": True, "MinimumLength": 6}}


def config(url):
    return updates_config(url, CA)


def ddm(d, serial):
    return d.api("GET", "/api/v1/devices/" + serial)["ddm"]


def item(d, serial, name):
    """A status item of a tablet, as the device API gives it (its JSON value)."""
    v = ddm(d, serial)["items"].get(name)
    return json.loads(v) if isinstance(v, str) and v[:1] in '"{[' else v


def tokens(d, serials):
    return {s: ddm(d, s)["token"] for s in serials}


def connect(sim, *glob):
    out = sim(*glob, "connect", "--json")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    check(r["errors"] == 0, "sessions without errors: %r" % r)
    return r


def on_tablet(sim):
    """{serial: the sim's view (os_version, ddm...)}."""
    return {x["serial"]: x for x in sim.devices()}


def held(x):
    """Identifiers of the declarations a simulated tablet holds."""
    return {dd["identifier"] for dd in (x.get("ddm") or {}).get("declarations", [])}


def enrol(sim, d, n, *opts):
    before = {x["serial"] for x in sim.devices()} if os.path.exists(sim.state) else set()
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2", *opts)
    return sorted({x["serial"] for x in sim.devices()} - before)


def school_status(st, uai):
    for s in st["schools"]:
        if s["school"] == uai:
            return s
    raise AssertionError("%s not in %r" % (uai, st))


def test_done_means():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        load_catalogue(d)
        d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
        d.ctl("school", "add", B, "--name", "Clg Elie Coutarel")
        sim = Sim(d)
        cur = enrol(sim, d, 4, "--os-version", "18.6.2", "--product", "iPad13,18")
        old = enrol(sim, d, 1, "--os-version", "17.5", "--product", "iPad7,5")
        nodd = enrol(sim, d, 1, "--os-version", "15.8", "--product", "iPad7,5")
        other = enrol(sim, d, 1, "--os-version", "18.6.2", "--product", "iPad13,18")
        in_a = cur + old + nodd
        for s in in_a:
            d.ctl("device", "move", s, "--school", A)
        d.ctl("device", "move", other[0], "--school", B)
        connect(sim)

        # DDM on at enrolment for iPadOS 16 and later, never on iPadOS 15
        for s in cur + old + other:
            dd = ddm(d, s)
            check(dd["enabled"] and dd["token"] and dd["synced_at"] and dd["status_at"],
                  "%s: DDM on, synced, reporting: %r" % (s, dd))
            check(dd["items"].get("device.operating-system.version"),
                  "%s reports its iPadOS version: %r" % (s, dd["items"]))
        check(not ddm(d, nodd[0])["enabled"], "no DDM on iPadOS 15.8")
        tab = on_tablet(sim)
        check("ardoise.status-subscriptions" in held(tab[cur[0]]),
              "the status subscriptions reach the tablets: %r" % held(tab[cur[0]]))

        # a declaration for collège A: reaches A's DDM tablets only; tokens
        # change exactly when the set changes
        t0 = tokens(d, cur + old + other)
        connect(sim)
        check(tokens(d, cur + old + other) == t0, "a re-sync changes no token")
        path = write(d, "passcode.json", json.dumps(PASSCODE))
        d.ctl("declaration", "add", path)
        check(tokens(d, cur + old + other) == t0, "a declaration assigned nowhere changes no token")
        d.ctl("declaration", "assign", PASSCODE["Identifier"], "--scope", "school:" + A)
        t1 = tokens(d, cur + old + other)
        check(all(t1[s] != t0[s] for s in cur + old), "A's tablets got a new token")
        check(t1[other[0]] == t0[other[0]], "B's tablet kept its token")
        connect(sim)
        tab = on_tablet(sim)
        check(all(PASSCODE["Identifier"] in held(tab[s]) for s in cur + old),
              "A's tablets hold the declaration")
        check(PASSCODE["Identifier"] not in held(tab[other[0]]), "B's tablet does not")
        states = {x["identifier"]: x for x in ddm(d, cur[0])["declarations"]}
        check(states.get(PASSCODE["Identifier"], {}).get("active") is True
              and states[PASSCODE["Identifier"]].get("valid") == "valid",
              "the tablet reports the declaration valid and active: %r" % states)

        # the update plan for collège A
        plan = d.ctl_json("update", "plan", "--scope", "school:" + A, "--version", "26.1",
                          "--deadline", "05/12/2026 10:00")
        check(plan["targeted"] == len(cur), "four tablets targeted: %r" % plan)
        check([(u["model"], u["count"], u["serials"]) for u in plan["unsupported"]]
              == [("iPad7,5", 1, old)], "the iPad7,5 on DDM reported unsupported: %r" % plan)
        check(plan["without_ddm"] == 1, "the tablet without DDM is counted apart: %r" % plan)
        t2 = tokens(d, cur + old + other)
        check(all(t2[s] != t1[s] for s in cur), "the targeted tablets' sets changed")
        check(t2[old[0]] == t1[old[0]] and t2[other[0]] == t1[other[0]],
              "the unsupported tablet and collège B kept their tokens")
        again = d.ctl_json("update", "plan", "--scope", "school:" + A, "--version", "26.1",
                           "--deadline", "05/12/2026 10:00")
        check(again["targeted"] == len(cur), "the same plan again: %r" % again)
        check(tokens(d, cur + old + other) == t2, "the same plan again changes no token")

        # the declaration the tablets get passes Apple's schema
        connect(sim, "--now", BEFORE)
        tab = on_tablet(sim)
        plan_id = "ardoise.update.school-" + A.lower()
        check(all(plan_id in held(tab[s]) for s in cur), "the targeted tablets hold the plan")
        check(plan_id not in held(tab[old[0]]), "the unsupported tablet does not")
        doc = d.api("GET", "/api/v1/declarations/" + plan_id)
        check(doc["Payload"]["TargetOSVersion"] == "26.1"
              and doc["Payload"]["TargetLocalDateTime"] == "2026-12-05T10:00:00",
              "the plan's payload: %r" % doc)
        f = write(d, "plan.json", json.dumps({k: doc[k] for k in
                                                   ("Type", "Identifier", "ServerToken",
                                                    "Payload")}))
        schema_check([f])

        # before the deadline: downloaded, waiting; one tablet will fail
        st = school_status(d.ctl_json("update", "status", "--school", A), A)
        check(st["target"] == "26.1" and st["on_target"] == 0, "nobody on 26.1 yet: %r" % st)
        check(st["downloading"] + st["prepared"] + st["pending"] == len(cur),
              "the four are on their way: %r" % st)
        check(st["unsupported"] == 1 and st["without_ddm"] == 1, "%r" % st)
        udid = tab[cur[3]]["udid"]
        sim("update-fail", udid, "--reason", "Espace de stockage insuffisant")

        # at the deadline: three install and come back on 26.1, one fails
        connect(sim, "--now", AFTER)
        connect(sim, "--now", AFTER)  # reboots into the new version, reports
        tab = on_tablet(sim)
        check(all(tab[s]["os_version"] == "26.1" for s in cur[:3]),
              "three tablets run 26.1: %r" % [tab[s]["os_version"] for s in cur])
        check(tab[cur[3]]["os_version"] == "18.6.2", "the failing one stays on 18.6.2")
        check(tab[old[0]]["os_version"] == "17.5" and tab[other[0]]["os_version"] == "18.6.2",
              "the unsupported tablet and collège B were not updated")
        for s in cur[:3]:
            check(item(d, s, "device.operating-system.version") == "26.1", "%s reports 26.1" % s)
        st = school_status(d.ctl_json("update", "status", "--school", A), A)
        check(st["on_target"] == 3 and st["failed"] == 1, "3 on target, 1 failed: %r" % st)
        check([x["reason"] for x in st["failures"]] == ["Espace de stockage insuffisant"],
              "the failure's reason: %r" % st)
        fr = d.ctl("update", "status", "--school", A, lang="fr_FR.UTF-8")
        check("Espace de stockage insuffisant" in fr.stdout,
              "the reason in the French table:\n" + fr.stdout)

        # unassigned, the declaration disappears from the tablets
        d.ctl("declaration", "unassign", PASSCODE["Identifier"], "--scope", "school:" + A)
        connect(sim, "--now", AFTER)
        tab = on_tablet(sim)
        check(all(PASSCODE["Identifier"] not in held(tab[s]) for s in cur + old),
              "the declaration is gone from A's tablets")
        check(all(PASSCODE["Identifier"] not in {x["identifier"] for x in
                                                 ddm(d, s)["declarations"]} for s in cur + old),
              "and from what they report")
        check(d.api("GET", "/api/v1/audit?action=ddm.unassign")["rows"] != [],
              "the unassignment is audited")


if __name__ == "__main__":
    run([test_done_means])
