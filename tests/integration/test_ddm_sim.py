"""DDM end to end: a real ardoised, tablets simulated by ardoise-sim.

Tablets on iPadOS 17.5 get the DeclarativeManagement command at enrolment,
answer it and synchronise in the same session (tokens, declaration-items,
each declaration, a full status report), which the daemon stores; an
iPadOS 15 tablet gets no such command and stays without DDM.  A session
with nothing new fetches nothing and reports nothing; a declaration
assigned to the fleet arrives at the next session and goes away when it is
unassigned, with an incremental report.

The stored state is read with sqlite3 (device_ddm, device_ddm_item,
device_declaration) and through GET /api/v1/devices/<serial>.
"""
from harness import Daemon, Sim, check, new_code, run

PASSCODE = {"Type": "com.apple.configuration.passcode.settings",
            "Identifier": "ardoise.passcode.college",
            "Payload": {"MinimumLength": 6, "RequirePasscode": True}}


def by_os(sim, version):
    return [x for x in sim.devices() if x["os_version"] == version]


def connect(sim):
    r = sim.connect()
    check(r["errors"] == 0 and r["command_errors"] == 0, "sessions without errors: %r" % r)
    return r


def decl_ids(dev):
    return {x["identifier"] for x in dev["ddm"]["declarations"]}


def stored(d, serial, sql):
    out = d.sqlite(sql.replace("$DEV", "(SELECT id FROM device WHERE serial='%s')" % serial))
    check(out.returncode == 0, "sqlite3: %s" % out.stderr)
    return out.stdout


def staff(d, method, path, body):
    """A staff API call that must succeed (2xx)."""
    status, _, data = d.request(method, path, body=body)
    check(200 <= status < 300, "%s %s: %d %s" % (method, path, status, data[:300]))


def test_enrolment_enables_ddm_on_17_not_15():
    with Daemon() as d:
        sim = Sim(d)
        # bad versions, products, clocks and reasons: usage errors, nothing enrolled
        for bad in (("--os-version", "17"), ("--os-version", "17.5.1.2"),
                    ("--os-version", "x" * 300), ("--product", "iPhone15,2"),
                    ("--product", "iPad123,1"), ("--now", "2026-02-30T10:00"),
                    ("--now", "demain")):
            out = sim(*bad, "enroll", "-n", "1", "--code", "x", expect=2)
            check(bad[0] in out.stderr, "the refusal names %s: %s" % (bad[0], out.stderr))
        sim("update-fail", "--reason", "r" * 200, "00008101-0000000000000000", expect=2)
        sim("update-fail", "--reason", "a\tb", "00008101-0000000000000000", expect=2)
        sim("update-fail", "00008101-0000000000000000", expect=2)  # no --reason
        sim("enroll", "-n", "2", "--code", new_code(d, 2), "--key-pool", "2")
        sim("update-fail", "00008101-0000000000000000", "--reason", "x", expect=1)
        sim("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "2",
            "--os-version", "15.8", "--product", "iPad7,11")
        old = by_os(sim, "15.8")
        check(len(old) == 1 and old[0]["product"] == "iPad7,11", "the iPadOS 15 tablet: %r" % old)

        # first sessions: the inventory, and DeclarativeManagement for 17.5 only
        r = connect(sim)
        check(r["ddm_syncs"] == 2 and r["ddm_reports"] == 2, "two DDM syncs: %r" % r)
        check(r["ddm_fetched"] >= 4, "the fleet's declarations fetched: %r" % r)
        for x in by_os(sim, "17.5"):
            ddm = x["ddm"]
            check(ddm["enabled"] == "on" and ddm["token"], "DDM on with a token: %r" % ddm)
            ids = decl_ids(x)
            check("ardoise.status-subscriptions" in ids, "status subscriptions: %r" % ids)
            subs = [y for y in ddm["declarations"]
                    if y["identifier"] == "ardoise.status-subscriptions"][0]
            check(subs["active"] and subs["valid"] == "valid",
                  "subscriptions activated: %r" % subs)
            # the daemon has DDM on, the same token, and the report's items
            row = stored(d, x["serial"], "SELECT enabled_at IS NOT NULL, token, status_at IS NOT"
                         " NULL FROM device_ddm WHERE device_id=$DEV").strip()
            check(row == "1|%s|1" % ddm["token"], "device_ddm: %r" % row)
            items = dict(line.split("|", 1) for line in stored(
                d, x["serial"], "SELECT item, value FROM device_ddm_item WHERE"
                " device_id=$DEV").strip().splitlines())
            check(items.get("device.operating-system.version") == '"17.5"'
                  and items.get("device.operating-system.build-version") == '"21F79"'
                  and items.get("softwareupdate.install-state") == '"none"'
                  and items.get("passcode.is-compliant") == "true",
                  "status items stored: %r" % items)
            decls = stored(d, x["serial"], "SELECT identifier, active, valid FROM"
                           " device_declaration WHERE device_id=$DEV ORDER BY identifier")
            check("ardoise.status-subscriptions|1|valid" in decls, "declarations' state: %r" % decls)
            show = d.api("GET", "/api/v1/devices/" + x["serial"])
            check(show.get("ddm", {}).get("enabled") is True, "the API says DDM on: %r"
                  % show.get("ddm"))
        check(old[0]["ddm"]["enabled"] == "off", "no DDM on iPadOS 15")
        old = by_os(sim, "15.8")[0]
        check(old["ddm"]["enabled"] == "off" and not old["ddm"]["declarations"],
              "the iPadOS 15 tablet stays without DDM: %r" % old["ddm"])
        row = stored(d, old["serial"], "SELECT count(*) FROM device_ddm WHERE device_id=$DEV"
                     " AND enabled_at IS NOT NULL").strip()
        check(row == "0", "the daemon has no DDM for it: %r" % row)

        # nothing new: the sync stops at the tokens, nothing is reported
        r = connect(sim)
        check(r["ddm_syncs"] == 2 and r["ddm_fetched"] == 0 and r["ddm_reports"] == 0,
              "an idle sync: %r" % r)

        # a declaration for the fleet arrives, then goes away
        tokens = {x["serial"]: x["ddm"]["token"] for x in by_os(sim, "17.5")}
        staff(d, "POST", "/api/v1/declarations", PASSCODE)
        staff(d, "POST", "/api/v1/declarations/ardoise.passcode.college/assignments",
              {"scope": "fleet"})
        r = connect(sim)
        check(r["ddm_reports"] == 2 and r["ddm_fetched"] >= 2, "the new set fetched: %r" % r)
        for x in by_os(sim, "17.5"):
            check(x["ddm"]["token"] != tokens[x["serial"]], "the token moved")
            pc = [y for y in x["ddm"]["declarations"]
                  if y["identifier"] == "ardoise.passcode.college"]
            check(pc and pc[0]["active"], "the passcode configuration active: %r" % pc)
            decls = stored(d, x["serial"], "SELECT identifier, active FROM device_declaration"
                           " WHERE device_id=$DEV")
            check("ardoise.passcode.college|1" in decls, "reported: %r" % decls)
        staff(d, "DELETE", "/api/v1/declarations/ardoise.passcode.college/assignments",
              {"scope": "fleet"})
        r = connect(sim)
        check(r["ddm_reports"] == 2, "an incremental report each: %r" % r)
        for x in by_os(sim, "17.5"):
            check("ardoise.passcode.college" not in decl_ids(x),
                  "gone from the tablet: %r" % decl_ids(x))
            decls = stored(d, x["serial"], "SELECT identifier FROM device_declaration"
                           " WHERE device_id=$DEV")
            check("ardoise.passcode.college" not in decls, "gone from the report: %r" % decls)


if __name__ == "__main__":
    run([test_enrolment_enables_ddm_on_17_not_15])
