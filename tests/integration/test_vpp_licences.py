"""Apps and Books licences end to end (issue 16): a real ardoised, the
Apps and Books stand-in (vpp_standin.py) and tablets simulated by
ardoise-sim, enrolled by code (ADE is another part's).

Content tokens: a good one added (claimed at the stand-in with this
installation's mdmInfo), an expired one, a malformed file, one whose
location another MDM manages (refused, then taken over with --take-over),
an ATI and a référent refused; the sToken in clear in neither the SQLite
file, its WAL nor the log.  Licences: collège A has its own token with 2
licences for its 2 tablets, the fleet token covers collège B's 2 tablets
with 1 licence: A's tablets are associated at the stand-in and only then
get InstallApplication with PurchaseMethod 1 (checked with
mdm-schema-check --werror), the sim installs it; B is short: `vpp status`
says so per collège ("il manque 1 licence" in French) and no tablet of B
gets the app; one more licence bought at the stand-in and the next run
associates and installs B.  A retired tablet's licence is freed
(disassociate seen at the stand-in), an app unassigned frees its
licences, a 429 9646 with Retry-After is waited out, a licence Apple
does not have is dropped, one Ardoise did not know is adopted or freed.
"""
import json
import os
import time

from harness import Daemon, Sim, check, new_code, run, token_of, wait_until, write, schema_check
from gdmf_standin import standin_pki
from vpp_standin import VppStandin, make_stoken

CA, CERT, KEY = standin_pki()
A = "0131266F"
B = "0750001U"
APP = "361309726"
BUNDLE = "com.apps.store.id" + APP  # what the simulated iPad reports for that App Store id


def config(v):
    return "[vpp]\nurl = %s\nca = %s\nsync_minutes = 0\n" % (v.url, CA)


def token_file(d, name, stoken):
    return write(d, name, stoken + "\n")


def last_run(d):
    return d.ctl_json("vpp", "status")["last_run"]


def sync(d):
    """One licence run, asked and waited for."""
    before = last_run(d)["runs"]
    d.ctl("vpp", "sync")
    wait_until(lambda: (lambda s: s["runs"] > before and not s["running"])(last_run(d)),
               timeout=60, what=lambda: "the licence run; the log ends:\n" +
               "\n".join(l for l in d.log().splitlines() if "vpp" in l)[-3000:])
    return d.ctl_json("vpp", "status")


def fleet(d, n):
    d.ctl("school", "add", A, "--name", "Clg A")
    d.ctl("school", "add", B, "--name", "Clg B")
    sim = Sim(d)
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2")
    sim("connect")
    serials = sorted(x["serial"] for x in sim.devices())
    for i, s in enumerate(serials):
        d.ctl("device", "move", s, "--school", A if i < n // 2 else B)
    return sim, serials[:n // 2], serials[n // 2:]


def installs(d, serial):
    return [c for c in d.ctl_json("command", "list", serial) if c["type"] == "InstallApplication"]


def apps_on(sim):
    return {x["serial"]: {a["identifier"] for a in x["apps"]} for x in sim.devices()}


def no_stoken_in_clear(d, stokens):
    blob = b""
    for name in ("ardoise.db", "ardoise.db-wal"):
        p = os.path.join(d.data, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                blob += f.read()
    log = d.log()
    for t in stokens:
        inner = json.loads(__import__("base64").b64decode(t))["token"]
        for s in (t, t[10:60], inner, inner[5:40]):
            check(s.encode() not in blob, "an sToken in the database in clear")
            check(s not in log, "an sToken in the log")


def test_tokens():
    with VppStandin(CERT, KEY, auto=True) as v, Daemon(config=config(v)) as d:
        d.ctl("school", "add", A, "--name", "Clg A")
        good = v.add_token("Département de l'Hérault")
        expired = v.add_token("Ancien", days=-2)
        other = v.add_token("Collège A")
        v.tokens[other]["mdmInfo"] = {"id": "jamf-1234", "name": "Jamf School", "metadata": ""}
        # malformed, expired
        out = d.ctl("vpp", "token", "add", token_file(d, "bad.vpptoken", "not base64 !!"),
                    "--scope", "fleet", expect=1)
        check("not an Apps and Books content token" in out.stderr, out.stderr)
        bad_json = __import__("base64").b64encode(b'{"token": 5, "expDate": "x"}').decode()
        out = d.ctl("vpp", "token", "add", token_file(d, "bad2.vpptoken", bad_json),
                    "--scope", "fleet", expect=1)
        check("not an Apps and Books content token" in out.stderr, out.stderr)
        out = d.ctl("vpp", "token", "add", token_file(d, "exp.vpptoken", expired),
                    "--scope", "fleet", expect=1, lang="fr_FR.UTF-8")
        check("expir" in out.stderr, out.stderr)
        out = d.ctl("vpp", "token", "add", token_file(d, "g.vpptoken", good), "--scope",
                    "school:0999999Z", expect=1)
        check("no collège" in out.stderr, out.stderr)
        # a token Apple does not know (the stand-in answers 200 with 9601)
        unknown = make_stoken("nope", time.time() + 86400 * 30, "X")
        out = d.ctl("vpp", "token", "add", token_file(d, "u.vpptoken", unknown), "--scope",
                    "fleet", expect=1)
        check("9601" in out.stderr, out.stderr)
        # another MDM's location: refused, then taken over
        out = d.ctl("vpp", "token", "add", token_file(d, "o.vpptoken", other), "--scope",
                    "school:" + A.lower(), expect=1)
        check("another MDM" in out.stderr and "Jamf School" in out.stderr, out.stderr)
        check(v.tokens[other]["mdmInfo"]["id"] == "jamf-1234", "the claim is left alone")
        # the good one
        added = d.ctl_json("vpp", "token", "add", token_file(d, "g.vpptoken", good), "--scope",
                           "fleet")
        check(added["scope"] == "fleet" and added["location"] == "Département de l'Hérault",
              "added: %r" % added)
        mdm = v.tokens[good]["mdmInfo"]
        check(mdm and mdm["name"] == "Ardoise" and len(mdm["id"]) == 32, "claimed: %r" % mdm)
        out = d.ctl("vpp", "token", "add", token_file(d, "g.vpptoken", good), "--scope",
                    "fleet", expect=1)
        check("has a content token already" in out.stderr, out.stderr)
        taken = d.ctl_json("vpp", "token", "add", token_file(d, "o.vpptoken", other), "--scope",
                           "school:" + A, "--take-over")
        check(taken["school"] == A and v.tokens[other]["mdmInfo"]["id"] == mdm["id"],
              "taken over: %r" % taken)
        audit = d.sqlite("SELECT action, target FROM audit WHERE action LIKE 'vpp.%' ORDER BY id"
                         ).stdout.split()
        check(audit == ["vpp.token.add|fleet", "vpp.token.add|school:" + A], "audited: %r" % audit)
        lst = d.ctl_json("vpp", "token", "list")
        check(len(lst["tokens"]) == 2 and lst["warnings"] == [], "list: %r" % lst)
        # only technicians manage tokens
        for role in ("ati", "referent"):
            tok = token_of(d.ctl("account", "create", "--name", role + ".1", "--role", role,
                                 "--school", A))
            out = d.ctl("vpp", "token", "add", token_file(d, "g.vpptoken", good), "--scope",
                        "fleet", token=tok, expect=1)
            check("Apps and Books content tokens" in out.stderr, "%s: %s" % (role, out.stderr))
            d.ctl("vpp", "token", "list", token=tok, expect=1)
            d.ctl("vpp", "status", token=tok)  # their collèges' status they may see
        # expiry warned 30 days ahead (list, status, healthz)
        soon = v.add_token("Bientôt", days=10)
        d.ctl("school", "add", B, "--name", "Clg B")
        d.ctl("vpp", "token", "add", token_file(d, "s.vpptoken", soon), "--scope", "school:" + B)
        lst = d.ctl_json("vpp", "token", "list")
        check(any("expires in" in w for w in lst["warnings"]), "warned: %r" % lst["warnings"])
        check(any("vpp:" in w for w in d.api("GET", "/healthz", token=None)["warnings"]),
              "healthz warns")
        out = d.ctl("vpp", "token", "list", lang="fr_FR.UTF-8")
        check("jeton" in out.stdout, out.stdout)
        # removed, audited
        rid = [t["id"] for t in lst["tokens"] if t["scope"] == "school:" + B][0]
        d.ctl("vpp", "token", "remove", str(rid))
        d.ctl("vpp", "token", "remove", str(rid), expect=1)
        no_stoken_in_clear(d, [good, other, soon])


def test_licences_flow():
    with VppStandin(CERT, KEY, auto=True) as v, Daemon(config=config(v), init_args=["--no-baseline"]) as d:
        sim, a_side, b_side = fleet(d, 4)
        t_fleet = v.add_token("Département")
        t_a = v.add_token("Collège A")
        v.add_asset(APP, count=2, stoken=t_a)
        v.add_asset(APP, count=1, stoken=t_fleet)
        d.ctl("vpp", "token", "add", token_file(d, "f.vpptoken", t_fleet), "--scope", "fleet")
        d.ctl("vpp", "token", "add", token_file(d, "a.vpptoken", t_a), "--scope", "school:" + A)
        d.ctl("app", "add", "--bundle-id", BUNDLE, "--store-id", APP, "--name", "Pronote")
        for u in (A, B):
            d.ctl("policy", "assign", "app:" + BUNDLE, "--scope", "school:" + u)
        # nothing is queued before the licence is there
        for s in a_side + b_side:
            check(installs(d, s) == [] or all(c["status"] != "queued" for c in installs(d, s))
                  or any(x["serialNumber"] == s for x in v.tokens[t_a]["assignments"]),
                  "%s: no InstallApplication before its licence" % s)
        st = sync(d)
        held_a = {x["serialNumber"] for x in v.tokens[t_a]["assignments"]}
        check(held_a == set(a_side), "A associated at the stand-in: %r" % held_a)
        check(v.tokens[t_fleet]["assignments"] == [], "B short: nothing associated")
        wait_until(lambda: all(installs(d, s) for s in a_side), what="A's installs")
        for s in b_side:
            check(installs(d, s) == [], "%s (B) gets no InstallApplication" % s)
        # the command: licensed, valid
        uuid = installs(d, a_side[0])[0]["uuid"]
        payload = d.ctl_json("command", "show", uuid, "--plist")["payload"]
        check("PurchaseMethod" in payload and "<integer>%s</integer>" % APP in payload, payload)
        schema_check([write(d, "install.plist", payload)], "--werror")
        # B's shortage, per collège, in JSON and in French
        w = [x for x in st["waiting"] if x["school"] == B]
        check(len(w) == 1 and w[0]["wanted"] == 2 and w[0]["available"] == 1 and
              w[0]["missing"] == 1, "B waits: %r" % st["waiting"])
        check(not any(x["school"] == A for x in st["waiting"]), "A does not wait")
        fr = d.ctl("vpp", "status", lang="fr_FR.UTF-8").stdout
        check("il manque 1 licence" in fr, fr)
        show = d.ctl_json("policy", "show", "--device", b_side[0])
        check(any(i["state"] == "waiting_licence" for i in show["items"]), "explain: %r" % show)
        # the tablets install it
        sim("connect")
        on = apps_on(sim)
        check(all(BUNDLE in on[s] for s in a_side), "A holds the app")
        check(not any(BUNDLE in on[s] for s in b_side), "B does not")
        # one more licence bought for the fleet: the next run serves B
        with v.lock:
            a = v.tokens[t_fleet]["assets"][(APP, "STDQ")]
            a["availableCount"] += 1
            a["totalCount"] += 1
        # a 9646 with Retry-After on the way is waited out
        v.then(v.too_many(1))
        st = sync(d)
        check(st["last_run"]["error"] == "", "the run went well: %r" % st["last_run"])
        check({x["serialNumber"] for x in v.tokens[t_fleet]["assignments"]} == set(b_side),
              "B associated")
        check(st["waiting"] == [], "nothing waits: %r" % st["waiting"])
        wait_until(lambda: all(installs(d, s) for s in b_side), what="B's installs")
        sim("connect")
        check(all(BUNDLE in apps_on(sim)[s] for s in b_side), "B holds the app")
        app = [p for p in st["apps"] if p["token"] and p["adam_id"] == APP]
        check(sum(p["held"] for p in app) == 4 and all(p["free"] == 0 for p in app),
              "status per app: %r" % app)
        # a retired tablet's licence is freed
        gone = a_side[0]
        d.ctl("device", "retire", gone, "--reason", "cassée")
        n_dis = sum(1 for m, p in v.requests if p.endswith("/assets/disassociate"))
        sync(d)
        check(sum(1 for m, p in v.requests if p.endswith("/assets/disassociate")) > n_dis,
              "disassociate seen at the stand-in")
        check(gone not in {x["serialNumber"] for x in v.tokens[t_a]["assignments"]},
              "the retired tablet's licence is back in the pool")
        # reconciliation with Apple: a licence Apple lost is dropped, an
        # unknown one (a serial Ardoise has not) is freed
        with v.lock:
            v.tokens[t_a]["assignments"] = [x for x in v.tokens[t_a]["assignments"]
                                            if x["serialNumber"] != a_side[1]]
            v.tokens[t_fleet]["assignments"].append(
                {"adamId": APP, "pricingParam": "STDQ", "serialNumber": "STRANGER01"})
        sync(d)
        check("STRANGER01" not in {x["serialNumber"] for x in v.tokens[t_fleet]["assignments"]},
              "an unknown assignment is freed")
        check(a_side[1] in {x["serialNumber"] for x in v.tokens[t_a]["assignments"]},
              "a lost licence is asked again")
        # the app unassigned from B: its licences freed
        d.ctl("policy", "unassign", "app:" + BUNDLE, "--scope", "school:" + B)
        sync(d)
        check(v.tokens[t_fleet]["assignments"] == [], "B's licences freed")
        # a référent of A sees A's waiting list only; JSON of the whole status is valid
        tok = token_of(d.ctl("account", "create", "--name", "ref.a", "--role", "referent",
                             "--school", A))
        d.ctl("vpp", "status", "--school", B, token=tok, expect=1)
        d.ctl_json("vpp", "status", token=tok)


def test_hostile_answers():
    """Answers Apple should not give, and the ones it gives when it is
    unwell: the run records why and stores nothing half-done; the next
    clean run associates."""
    with VppStandin(CERT, KEY, auto=True) as v, Daemon(config=config(v), init_args=["--no-baseline"]) as d:
        sim, a_side, b_side = fleet(d, 2)
        t = v.add_token("Département")
        v.add_asset(APP, count=5)
        d.ctl("vpp", "token", "add", token_file(d, "t.vpptoken", t), "--scope", "fleet")
        wait_until(lambda: last_run(d)["runs"] >= 1, 30, "the first run")
        d.ctl("app", "add", "--bundle-id", BUNDLE, "--store-id", APP, "--name", "Pronote")
        d.ctl("policy", "assign", "app:" + BUNDLE, "--scope", "fleet")
        wait_until(lambda: not last_run(d)["running"], 30, "the assignment's run")
        with v.lock:  # what that run did is undone at Apple: the hostile runs start from nothing
            v.tokens[t]["assignments"] = []
        queued = {s: len(installs(d, s)) for s in a_side + b_side}
        held = d.sqlite("SELECT count(*) FROM vpp_licence").stdout.strip()  # read what is stored
        for bad, why in ((v.answer(200, b"{not json"), "not JSON"),
                         (v.answer(200, {"countryISO2ACode": 5, "locationName": []}), "wrong types"),
                         (v.answer(200, b"[" + b" " * (9 << 20) + b"]"), "9 MiB"),
                         (v.answer(500, {"errorNumber": 9603, "errorMessage": "x"}), "5xx"),
                         (v.answer(200, {"errorNumber": 9634, "errorMessage": "gone"}), "9634 in a 200")):
            v.then(bad, bad, bad, bad)  # the retries too
            st = sync(d)
            check(st["last_run"]["error"] != "", "%s: the run says why: %r" % (why, st["last_run"]))
            check(st["tokens"][0]["error"] != "" and not st["tokens"][0]["stopped"],
                  "%s: the token's last error, not stopped: %r" % (why, st["tokens"][0]))
            check(v.tokens[t]["assignments"] == [], "%s: nothing associated" % why)
            check({s: len(installs(d, s)) for s in a_side + b_side} == queued,
                  "%s: nothing more queued" % why)
            check(d.sqlite("SELECT count(*) FROM vpp_licence").stdout.strip() == held,
                  "%s: Ardoise's licences untouched" % why)
            with v.lock:
                v.plan.clear()
        st = sync(d)
        check(st["last_run"]["error"] == "" and st["tokens"][0]["error"] == "",
              "a clean run clears the errors: %r" % st)
        check({x["serialNumber"] for x in v.tokens[t]["assignments"]} == set(a_side + b_side),
              "then associated")
        # an event Apple says failed for every serial: nothing held, nothing installed
        d.ctl("app", "add", "--bundle-id", "com.apps.store.id284882215", "--store-id", "284882215",
              "--name", "GeoGebra")
        v.add_asset("284882215", count=5, stoken=t)
        with v.lock:  # Apple shows 5 free, then runs out before the event: 9709 for each
            v.tokens[t]["assets"][("284882215", "STDQ")]["availableCount"] = 5
        orig = v._complete

        def none_left(e):
            for k in e["keys"]:
                v.tokens[t]["assets"][k]["availableCount"] = 0
            orig(e)
        v._complete = none_left
        d.ctl("policy", "assign", "app:com.apps.store.id284882215", "--scope", "fleet")
        st = sync(d)
        v._complete = orig
        check(not any(x["adamId"] == "284882215" for x in v.tokens[t]["assignments"]),
              "9709: nothing associated")
        app = [p for p in st["apps"] if p["adam_id"] == "284882215"]
        check(app and app[0]["held"] == 0 and app[0]["associating"] == 0, "none held: %r" % app)
        n_geo = d.sqlite("SELECT count(*) FROM command WHERE type = 'InstallApplication'"
                         " AND dedupe = 'com.apps.store.id284882215'").stdout.strip()  # read
        check(n_geo == "0", "no install of the app without its licence: %s" % n_geo)
        # a revoked token: stopped, warned, not used until replaced
        v.revoke(t)
        st = sync(d)
        check(st["tokens"][0]["stopped"] and "9625" in st["tokens"][0]["error"], "stopped: %r" % st)
        hz = d.api("GET", "/healthz", token=None)
        check(any("refuses the content token" in w for w in hz["warnings"]), "healthz: %r" % hz)
        n = len(v.requests)
        sync(d)
        check(len(v.requests) == n, "a stopped token is not used")


if __name__ == "__main__":
    run([test_tokens, test_licences_flow, test_hostile_answers])
