"""Declarative device management as staff see it, against a real ardoised:
the declaration routes and `ardoisectl declaration ...` (add, update,
assign, unassign, remove, and what is refused: generated identifiers,
credential assets, password keys, bad JSON, wrong types, too long, unknown
scopes, roles other than technicians), iPadOS update plans with Apple's
catalogue from the local stand-in (gdmf_standin.py: no catalogue yet, a
version it does not list, --latest, a deadline past or in class hours,
--outside-windows, overlapping scopes, models the version does not support
reported by serial and kept out of the filter, a dry run that changes
nothing, a plan replaced, removed), `update status` per role and the
dashboard's figures, `device show`'s DDM part, the French of the CLI.

Tablets are imported, then marked enrolled with their model, iPadOS and
DDM state (and the status items they would have reported) straight in the
store: what a tablet does is test_ddm_updates.py's (ardoise-sim), this
file tests what staff see of it.  The daemon's clock is 2026-12-02 12:00
UTC (a Wednesday, 13:00 in Paris: class hours; ARDOISE_CLOCK_OFFSET).
"""
import datetime
import json
import os

from fleet_common import A, B
from gdmf_standin import GdmfStandin, load_catalogue, standin_pki, updates_config
from harness import Daemon, check, run, schema_check, token_of, write

CA, CERT, KEY = standin_pki()

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
os.environ["ARDOISE_CLOCK_OFFSET"] = str(int((NOW - datetime.datetime.now(UTC)).total_seconds()))
os.environ["TZ"] = "Europe/Paris"  # ardoisectl shows times in the reader's zone

C = "0132786H"  # a third collège, never added: an unknown scope
SATURDAY = "05/12/2026 10:00"      # in a window (the weekend)
THURSDAY_CLASS = "03/12/2026 10:00"  # class hours
PASSCODE = {"Type": "com.apple.configuration.passcode.settings",
            "Identifier": "fr.college.passcode",
            "Payload": {"RequirePasscode": True, "MinimumLength": 6}}

# serial: (collège, product type, iPadOS, DDM on, status items)
TABLETS = {
    "DMPA00000001": (A, "iPad13,18", "18.6.2", True, {}),
    "DMPA00000002": (A, "iPad13,18", "18.6.2", True, {}),
    "DMPA00000003": (A, "iPad13,19", "18.6.2", True, {}),
    "DMPA00000004": (A, "iPad7,5", "17.5", True, {}),
    "DMPA00000005": (A, "iPad13,18", "15.8", False, {}),
    "DMPA00000006": (A, "", "", True, {}),
    "DMPB00000001": (B, "iPad13,18", "18.6.2", True, None),  # DDM on, never reported
}


def config(url):
    return updates_config(url, CA)


def sql(d, text):
    out = d.sqlite(text)
    check(out.returncode == 0, "sqlite: %s\n%s" % (text, out.stderr))
    return out.stdout


def q(s):
    return "'" + s.replace("'", "''") + "'"


def set_items(d, serial, items):
    """The status items a tablet reported (replacing what it had)."""
    sql(d, "DELETE FROM device_ddm_item WHERE device_id = (SELECT id FROM device WHERE "
           "serial = %s); %s UPDATE device_ddm SET status_at = 1796212800 WHERE device_id = "
           "(SELECT id FROM device WHERE serial = %s);"
        % (q(serial), "".join(
            "INSERT INTO device_ddm_item(device_id, item, value, reported_at) SELECT id, %s, "
            "%s, 1796212800 FROM device WHERE serial = %s;" % (q(k), q(json.dumps(v)), q(serial))
            for k, v in items.items()), q(serial)))


def fleet(d):
    """Collèges A and B, the TABLETS enrolled with their model, iPadOS and
    DDM state."""
    d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
    d.ctl("school", "add", B, "--name", "Clg Elie Coutarel")
    rows = "serial,uai\n" + "".join("%s,%s\n" % (s, t[0]) for s, t in TABLETS.items())
    d.ctl("device", "import", write(d, "devices.csv", rows))
    for s, (_, model, os_version, ddm, items) in TABLETS.items():
        sql(d, "UPDATE device SET enrollment = 'enrolled', udid = %s, product_name = %s, "
               "os_version = %s WHERE serial = %s;" % (q("UDID-" + s), q(model), q(os_version),
                                                        q(s)))
        if ddm:
            sql(d, "INSERT OR REPLACE INTO device_ddm(device_id, enabled_at, status_at) "
                   "SELECT id, 1796212800, NULL FROM device WHERE serial = %s;" % q(s))
        if ddm and items is not None:
            set_items(d, s, dict(items, **{"device.operating-system.version": os_version}))


def accounts(d):
    tokens = {}
    for role, school in (("ati", B), ("referent", A), ("auditor", None)):
        args = ["account", "create", "--name", role + ".1", "--role", role]
        if school:
            args += ["--school", school]
        tokens[role] = token_of(d.ctl(*args))
    return tokens


def audit(d, action):
    return d.api("GET", "/api/v1/audit?action=" + action)["rows"]


def declaration_rows(d, pattern):
    return sql(d, "SELECT identifier FROM declaration WHERE removed_at IS NULL AND identifier "
                  "LIKE %s ORDER BY identifier;" % q(pattern)).split()


# ---- declarations ---------------------------------------------------------


def test_declarations():
    with Daemon() as d:
        fleet(d)
        tokens = accounts(d)
        path = write(d, "passcode.json", json.dumps(PASSCODE))
        out = d.ctl("declaration", "add", path).stdout
        check("fr.college.passcode" in out and "com.apple.configuration.passcode.settings" in out
              and "(nothing)" in out and '"MinimumLength": 6' in out, out)
        doc = d.api("GET", "/api/v1/declarations/fr.college.passcode")
        check(doc["Payload"] == PASSCODE["Payload"] and doc["kind"] == "configuration"
              and doc["scopes"] == [] and doc["generated"] is False and doc["models"] is None
              and len(doc["ServerToken"]) > 0 and doc["created_by"] == "admin", doc)
        f = write(d, "doc.json", json.dumps({k: doc[k] for k in
                                             ("Type", "Identifier", "ServerToken", "Payload")}))
        schema_check([f])
        check(audit(d, "ddm.declaration.add") != [], "the addition is audited")
        d.ctl("declaration", "add", path, expect=1)  # the same identifier twice

        # list: the status subscriptions Ardoise made, marked generated, and ours
        listed = {x["Identifier"]: x for x in d.ctl_json("declaration", "list")}
        check("fr.college.passcode" in listed and "Payload" not in listed["fr.college.passcode"],
              listed)
        check(listed.get("ardoise.status-subscriptions", {}).get("generated") is True,
              "the status subscriptions are listed as generated: %r" % list(listed))
        out = d.ctl("declaration", "list").stdout
        check("IDENTIFIER" in out and "fr.college.passcode" in out, out)

        # assign to collège A: stored, its activation made, audited
        got = d.ctl_json("declaration", "assign", "fr.college.passcode", "--scope",
                         "school:" + A.lower())
        check(got["scope"] == "school:" + A and "error" not in got["recompute"], got)
        check(d.api("GET", "/api/v1/declarations/fr.college.passcode")["scopes"]
              == ["school:" + A], "the scope is stored canonical")
        act = d.api("GET", "/api/v1/declarations/ardoise.activation.school-" + A.lower())
        check(act["Payload"]["StandardConfigurations"] == ["fr.college.passcode"]
              and act["scopes"] == ["school:" + A] and act["generated"] is True, act)
        check(audit(d, "ddm.assign") != [], "the assignment is audited")
        d.api("POST", "/api/v1/declarations/fr.college.passcode/assignments",
              {"scope": "school:" + A}, expect=409)

        # update: changed, then the same content again
        changed = dict(PASSCODE, Payload={"RequirePasscode": True, "MinimumLength": 8})
        path2 = write(d, "passcode2.json", json.dumps(changed))
        got = d.ctl_json("declaration", "update", path2)
        check(got["changed"] is True and got["Payload"]["MinimumLength"] == 8
              and got["ServerToken"] != doc["ServerToken"] and got["updated_by"] == "admin", got)
        got = d.ctl_json("declaration", "update", path2)
        check(got["changed"] is False and got["recompute"] is None, got)
        out = d.ctl("declaration", "update", path2).stdout
        check("nothing to send" in out, out)
        d.api("PUT", "/api/v1/declarations/fr.college.passcode",
              dict(changed, Identifier="fr.other"), expect=400)
        d.api("PUT", "/api/v1/declarations/fr.nothing",
              {"Type": changed["Type"], "Payload": changed["Payload"]}, expect=404)

        # unassign: the activation goes with the last configuration of the scope
        out = d.ctl("declaration", "unassign", "fr.college.passcode", "--scope",
                    "school:" + A).stdout
        check("unassigned fr.college.passcode from school:" + A in out, out)
        check(declaration_rows(d, "ardoise.activation.school-%") == [],
              "the collège's activation is removed with its last configuration")
        d.api("DELETE", "/api/v1/declarations/fr.college.passcode/assignments?scope=school:" + A,
              expect=404)
        check(audit(d, "ddm.unassign") != [], "the unassignment is audited")

        # a group of a collège: its own activation
        d.ctl("declaration", "assign", "fr.college.passcode", "--scope", "group:%s/5B" % A)
        act = d.api("GET", "/api/v1/declarations/ardoise.activation.group-%s-5b" % A.lower())
        check(act["scopes"] == ["group:%s/5B" % A], act)
        d.ctl("declaration", "unassign", "fr.college.passcode", "--scope", "group:%s/5B" % A)
        # the kind of a declaration does not change
        d.api("PUT", "/api/v1/declarations/fr.college.passcode",
              {"Type": "com.apple.asset.data", "Payload": changed["Payload"]}, expect=409)
        # a device scope, then removal drops it
        d.ctl("declaration", "assign", "fr.college.passcode", "--scope", "device:DMPB00000001")
        out = d.ctl("declaration", "remove", "fr.college.passcode").stdout
        check("removed fr.college.passcode (1 assignments dropped)" in out, out)
        d.api("GET", "/api/v1/declarations/fr.college.passcode", expect=404)
        check(audit(d, "ddm.declaration.remove") != [], "the removal is audited")

        refusals(d, tokens)


def refusals(d, tokens):
    """Everything refused, and nothing changed by it."""
    before = sql(d, "SELECT identifier, server_token FROM declaration WHERE removed_at IS NULL "
                    "ORDER BY 1; SELECT * FROM declaration_assignment ORDER BY 1, 2;")
    d.api("POST", "/api/v1/declarations", PASSCODE, expect=201)
    base = dict(PASSCODE, Identifier="fr.college.refused")

    def refused(body, status, words, path="/api/v1/declarations", method="POST"):
        s, _, data = d.request(method, path, body=body)
        check(s == status and all(w in data.decode() for w in words),
              "%s %s %r: expected %d with %r, got %d %s" % (method, path, body, status, words, s,
                                                            data[:400]))

    # generated identifiers: neither added, edited, assigned nor removed here
    for ident in ("ardoise.update.fleet", "ardoise.activation.fleet",
                  "ardoise.status-subscriptions"):
        refused(dict(base, Identifier=ident), 409, ["generated", "/api/v1/updates/plans"])
    refused(dict(PASSCODE, Identifier="ardoise.status-subscriptions"), 409, ["generated"],
            "/api/v1/declarations/ardoise.status-subscriptions", "PUT")
    refused({"scope": "school:" + A}, 409, ["generated"],
            "/api/v1/declarations/ardoise.status-subscriptions/assignments")
    refused(None, 409, ["generated"], "/api/v1/declarations/ardoise.status-subscriptions",
            "DELETE")
    refused(dict(base, Type="com.apple.configuration.softwareupdate.enforcement.specific",
                 Payload={"TargetOSVersion": "26.1"}), 409, ["update plan"])
    refused(dict(base, Type="com.apple.activation.simple",
                 Payload={"StandardConfigurations": ["fr.college.passcode"]}), 409,
            ["activations are generated"])
    # secrets: credential assets, keys naming a password (at any depth)
    refused(dict(base, Type="com.apple.asset.credential.userpassword",
                 Payload={"Reference": {"DataURL": "https://x/y", "ContentType": "a/b"}}),
            400, ["credential"])
    refused(dict(base, Type="com.apple.configuration.account.mail",
                 Payload={"IncomingServer": {"AuthenticationPassword": "secret"}}), 400,
            ["assword"])
    refused(dict(base, Payload={"RequirePasscode": True, "wifiPASSWORD": "x"}), 400, ["assword"])
    # bad JSON, wrong types, missing members
    refused(b'{"Type": "com.apple.configuration.passcode.settings", ', 400, ["not valid JSON"])
    refused(b'[1, 2]', 400, ["JSON object"])
    refused(dict(base, Type=5), 400, ["Type"])
    refused(dict(base, Identifier=["x"]), 400, ["Identifier"])
    refused(dict(base, Payload="RequirePasscode"), 400, ["Payload"])
    refused(dict(base, Payload=[1]), 400, ["Payload"])
    refused({"Type": PASSCODE["Type"], "Identifier": "fr.x"}, 400, ["Payload"])
    refused({"Identifier": "fr.x", "Payload": {}}, 400, ["Type"])
    refused(dict(base, Type="com.apple.nothing.at.all"), 400, ["refused"])
    refused(dict(base, Identifier="fr.college/../x"), 400, ["refused"])
    # too long
    refused(dict(base, Identifier="x" * 65), 400, ["Identifier"])
    refused(dict(base, Type="com.apple.configuration." + "x" * 120), 400, ["Type"])
    refused(dict(base, Payload={"Blob": "x" * (300 * 1024)}), 413, ["Payload"])
    # scopes: malformed, unknown collège, unknown tablet
    for scope, status in (("planet:mars", 400), ("school:0131266G", 400), ("", 400),
                          ("school:" + C, 404), ("group:%s/5B" % C, 404),
                          ("device:NOSUCHSERIAL", 404)):
        refused({"scope": scope}, status, [],
                "/api/v1/declarations/fr.college.passcode/assignments")
    refused({"scope": 7}, 400, ["scope"], "/api/v1/declarations/fr.college.passcode/assignments")
    refused({"scope": "fleet"}, 404, ["fr.nothing"], "/api/v1/declarations/fr.nothing/assignments")
    # roles: only technicians
    for role in ("ati", "referent", "auditor"):
        t = tokens[role]
        d.api("GET", "/api/v1/declarations", token=t, expect=403)
        d.api("GET", "/api/v1/declarations/fr.college.passcode", token=t, expect=403)
        d.api("POST", "/api/v1/declarations", dict(base, Identifier="fr.by." + role), token=t,
              expect=403)
        d.api("POST", "/api/v1/declarations/fr.college.passcode/assignments",
              {"scope": "school:" + (B if role == "ati" else A)}, token=t, expect=403)
        d.api("DELETE", "/api/v1/declarations/fr.college.passcode", token=t, expect=403)
        d.ctl("declaration", "list", token=t, expect=1)
    # the CLI: a file that is not JSON, a missing file
    bad = write(d, "bad.json", '{"Type": "com.apple.configuration.passcode.settings",\n  "Id')
    out = d.ctl("declaration", "add", bad, expect=1)
    check("bad.json:2: not JSON" in out.stderr, out.stderr)
    out = d.ctl("declaration", "add", os.path.join(d.tmp, "none.json"), expect=1)
    check("cannot open" in out.stderr, out.stderr)
    # no change without its audit row: the store refusing the row refuses the change
    sql(d, "CREATE TRIGGER audit_refused BEFORE INSERT ON audit WHEN NEW.action LIKE 'ddm.%' "
           "BEGIN SELECT RAISE(ABORT, 'audit store refused'); END;")
    for method, path, body in (
            ("POST", "/api/v1/declarations/fr.college.passcode/assignments", {"scope": "fleet"}),
            ("POST", "/api/v1/declarations", dict(base, Identifier="fr.unaudited")),
            ("PUT", "/api/v1/declarations/fr.college.passcode",
             dict(PASSCODE, Payload={"RequirePasscode": False})),
            ("DELETE", "/api/v1/declarations/fr.college.passcode", None)):
        s, _, data = d.request(method, path, body=body)
        check(s >= 400, "%s %s without its audit row: %d %r" % (method, path, s, data[:200]))
    sql(d, "DROP TRIGGER audit_refused;")
    doc = d.api("GET", "/api/v1/declarations/fr.college.passcode")
    check(doc["Payload"] == PASSCODE["Payload"] and doc["scopes"] == [],
          "nothing changed without its audit row: %r" % doc)
    d.api("GET", "/api/v1/declarations/fr.unaudited", expect=404)
    d.api("DELETE", "/api/v1/declarations/fr.college.passcode")
    after = sql(d, "SELECT identifier, server_token FROM declaration WHERE removed_at IS NULL "
                   "ORDER BY 1; SELECT * FROM declaration_assignment ORDER BY 1, 2;")
    check(before == after, "the refusals changed nothing:\n%s\n%s" % (before, after))
    check(d.alive(), "the daemon is still up")


# ---- update plans -------------------------------------------------------------


def plan(d, *args, token="admin", expect=0, lang="C"):
    return d.ctl("update", "plan", *args, token=token, expect=expect, lang=lang)


def test_update_plans():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        fleet(d)
        tokens = accounts(d)
        # no catalogue yet: refused, naming the setting
        out = plan(d, "--scope", "school:" + A, "--version", "26.1", "--deadline", SATURDAY,
                   expect=1)
        check("[updates] catalogue_url" in out.stderr, out.stderr)
        load_catalogue(d)

        # versions: not in the catalogue, expired, not a version
        out = plan(d, "--scope", "school:" + A, "--version", "25.0", "--deadline", SATURDAY,
                   expect=1)
        check("25.0 is not in Apple's catalogue" in out.stderr
              and "26.1, 18.7.2, 18.6.2, 17.7.10" in out.stderr, out.stderr)
        plan(d, "--scope", "school:" + A, "--version", "26.0.1", "--deadline", SATURDAY,
             expect=1)  # expired on 30 November
        out = plan(d, "--scope", "school:" + A, "--version", "26.x", "--deadline", SATURDAY,
                   expect=1)
        check("not an iPadOS version" in out.stderr, out.stderr)
        plan(d, "--scope", "school:" + A, "--deadline", SATURDAY, expect=2)  # neither
        plan(d, "--scope", "school:" + A, "--version", "26.1", "--latest", "--deadline",
             SATURDAY, expect=2)  # both

        # deadlines: past, in class hours (the next allowed time said), then accepted
        out = plan(d, "--scope", "school:" + A, "--latest", "--deadline", "01/12/2026 20:00",
                   expect=1)
        check("is past" in out.stderr, out.stderr)
        out = plan(d, "--scope", "school:" + A, "--latest", "--deadline", THURSDAY_CLASS,
                   expect=1)
        check("class hours" in out.stderr and "2026-12-03 18:00" in out.stderr
              and "outside_windows" in out.stderr, out.stderr)
        for bad in ("32/13/2026 10:00", "demain", "x" * 70, "2027-12-30T10:00"):
            plan(d, "--scope", "school:" + A, "--latest", "--deadline", bad, expect=1)
        # scopes: a group, a tablet, an unknown collège
        for scope in ("group:%s/5B" % A, "device:DMPA00000001", "school:" + C, "nowhere"):
            plan(d, "--scope", scope, "--latest", "--deadline", SATURDAY, expect=1)
        check(declaration_rows(d, "ardoise.update.%") == [], "nothing stored by the refusals")

        # a dry run: the same answer, nothing stored
        dry = d.ctl_json("update", "plan", "--scope", "school:" + A, "--latest", "--deadline",
                         SATURDAY, "--dry-run")
        check(dry["dry_run"] is True and dry["version"] == "26.1" and dry["build"] is None,
              "26.1 has two builds (23B85, 23B86): no TargetBuildVersion: %r" % dry)
        check(dry["tablets"] == 6 and dry["targeted"] == 3 and dry["without_ddm"] == 1
              and dry["unknown_model"] == 1, dry)
        check(dry["unsupported"] == [{"model": "iPad7,5", "count": 1,
                                      "serials": ["DMPA00000004"]}], dry)
        check(dry["models"] == ["iPad13,18", "iPad13,19", "iPad14,1", "iPad16,3", "iPad16,4"],
              "the iPads of both 26.1 releases, in order: %r" % dry["models"])
        check(declaration_rows(d, "ardoise.update.%") == []
              and d.api("GET", "/api/v1/updates/plans")["plans"] == [], "the dry run stored nothing")
        fr = plan(d, "--scope", "school:" + A, "--latest", "--deadline", SATURDAY, "--dry-run",
                  lang="fr_FR.UTF-8").stdout
        check("05/12/2026 10:00" in fr and "DMPA00000004" in fr and "iPad7,5" in fr, fr)

        # the plan: stored with its filter, reported, its payload valid
        got = d.ctl_json("update", "plan", "--scope", "school:" + A, "--version", "26.1",
                         "--deadline", SATURDAY)
        ident = "ardoise.update.school-" + A.lower()
        check(got["identifier"] == ident and got["changed"] is True and got["dry_run"] is False
              and got["targeted"] == 3 and got["deadline_local"] == "2026-12-05T10:00:00"
              and got["deadline"] == "2026-12-05T10:00:00+01:00", got)
        check(json.loads(sql(d, "SELECT models FROM declaration WHERE identifier = %s AND "
                                "removed_at IS NULL;" % q(ident)))
              == ["iPad13,18", "iPad13,19", "iPad14,1", "iPad16,3", "iPad16,4"],
              "the models filter is stored")
        doc = d.api("GET", "/api/v1/declarations/" + ident)
        check(doc["Type"] == "com.apple.configuration.softwareupdate.enforcement.specific"
              and doc["Payload"] == {"TargetOSVersion": "26.1",
                                     "TargetLocalDateTime": "2026-12-05T10:00:00"}
              and doc["scopes"] == ["school:" + A] and doc["generated"] is True, doc)
        f = write(d, "plan.json", json.dumps({k: doc[k] for k in
                                              ("Type", "Identifier", "ServerToken", "Payload")}))
        schema_check([f])
        act = d.api("GET", "/api/v1/declarations/" + ident + ".act")
        check(act["scopes"] == ["school:" + A] and act["models"] == doc["models"], act)
        check(audit(d, "ddm.declaration.add") != [] and audit(d, "ddm.assign") != [],
              "the plan is audited by the store's rows")
        tablet = d.api("GET", "/api/v1/devices/DMPA00000004")["ddm"]
        check(ident not in {x["identifier"] for x in tablet["set"]},
              "the unsupported model's set lacks the plan: %r" % tablet["set"])
        check(ident in {x["identifier"] for x in
                        d.api("GET", "/api/v1/devices/DMPA00000001")["ddm"]["set"]},
              "a supported tablet's set has it")
        # plans may not overlap: the fleet against a collège; another collège is fine
        out = plan(d, "--scope", "fleet", "--latest", "--deadline", SATURDAY, expect=1)
        check("school:" + A in out.stderr and "unplan" in out.stderr, out.stderr)
        # class hours accepted when asked, on collège B, with its build
        got = d.ctl_json("update", "plan", "--scope", "school:" + B, "--version", "18.7.2",
                         "--deadline", THURSDAY_CLASS, "--outside-windows")
        check(got["build"] == "22H124" and got["payload"]["TargetBuildVersion"] == "22H124"
              and got["outside_windows"] is True and got["targeted"] == 1, got)
        doc = d.api("GET", "/api/v1/declarations/" + got["identifier"])
        f = write(d, "plan-b.json", json.dumps({k: doc[k] for k in
                                                ("Type", "Identifier", "ServerToken", "Payload")}))
        schema_check([f])  # with its TargetBuildVersion
        out = plan(d, "--scope", "fleet", "--latest", "--deadline", SATURDAY, expect=1)
        # replaced, then the same again changes nothing
        got = d.ctl_json("update", "plan", "--scope", "school:" + A, "--version", "18.7.2",
                         "--deadline", "2026-12-06T20:30")
        check(got["replaced"] is True and got["changed"] is True and got["models"]
              == ["iPad7,11", "iPad7,12", "iPad13,18", "iPad13,19"] and got["targeted"] == 3, got)
        check(declaration_rows(d, "ardoise.update.%") == [ident, ident + ".act",
                                                          "ardoise.update.school-" + B.lower(),
                                                          "ardoise.update.school-" + B.lower()
                                                          + ".act"],
              "one plan per scope")
        again = d.ctl_json("update", "plan", "--scope", "school:" + A, "--version", "18.7.2",
                           "--deadline", "06/12/2026 20:30")
        check(again["changed"] is False and again["recompute"] is None, again)
        plans = d.ctl_json("update", "plans")
        check([(p["scope"], p["version"], p["deadline_local"]) for p in plans]
              == [("school:" + A, "18.7.2", "2026-12-06T20:30:00"),
                  ("school:" + B, "18.7.2", "2026-12-03T10:00:00")], plans)
        out = d.ctl("update", "plans").stdout
        check("school:" + A in out and "18.7.2 (22H124)" in out and "2026-12-06 20:30" in out,
              out)
        fr = d.ctl("update", "plans", lang="fr_FR.UTF-8").stdout
        check("06/12/2026 20:30" in fr and "ÉCHÉANCE" in fr, fr)

        # hostile bodies
        for body, status in (({"scope": "school:" + A, "latest": "yes", "deadline": SATURDAY},
                              400),
                             ({"scope": "school:" + A, "version": 26.1, "deadline": SATURDAY},
                              400),
                             ({"scope": "school:" + A, "latest": True, "deadline": 5}, 400),
                             ({"scope": "school:" + A, "latest": True}, 400),
                             ({"latest": True, "deadline": SATURDAY}, 400),
                             ({"scope": "school:" + A, "version": "1" * 40,
                               "deadline": SATURDAY}, 400),
                             ({"scope": "school:" + A, "latest": True, "deadline": SATURDAY,
                               "dry_run": "no"}, 400)):
            d.api("POST", "/api/v1/updates/plans", body, expect=status)
        # roles: technicians only
        for role in ("ati", "referent", "auditor"):
            d.api("POST", "/api/v1/updates/plans", {"scope": "school:" + A, "latest": True,
                                                   "deadline": SATURDAY, "dry_run": True},
                  token=tokens[role], expect=403)
            d.api("GET", "/api/v1/updates/plans", token=tokens[role], expect=403)
            d.api("DELETE", "/api/v1/updates/plans?scope=school:" + A, token=tokens[role],
                  expect=403)

        # removal: its activation with it; then the fleet may have one
        out = d.ctl("update", "unplan", "--scope", "school:" + A).stdout
        check("school:" + A in out, out)
        d.ctl("update", "unplan", "--scope", "school:" + A, expect=1)
        d.ctl("update", "unplan", "--scope", "school:" + B)
        check(declaration_rows(d, "ardoise.update.%") == [], "the plans and activations are gone")
        check(audit(d, "ddm.declaration.remove") != [], "the removal is audited")
        got = d.ctl_json("update", "plan", "--scope", "fleet", "--latest", "--deadline", SATURDAY)
        check(got["identifier"] == "ardoise.update.fleet" and got["tablets"] == 7
              and got["targeted"] == 4, got)
        out = plan(d, "--scope", "school:" + B, "--latest", "--deadline", SATURDAY, expect=1)
        check("fleet" in out.stderr, out.stderr)
        check(d.alive(), "the daemon is still up")


# ---- update status ---------------------------------------------------------------


def school_of(st, uai):
    for s in st["schools"]:
        if s["school"] == uai:
            return s
    raise AssertionError("%s not in %r" % (uai, st))


def test_update_status():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        fleet(d)
        tokens = accounts(d)
        load_catalogue(d)
        st = d.api("GET", "/api/v1/updates/status")
        a = school_of(st, A)
        check(a["target"] is None and a["no_plan"] == 5 and a["without_ddm"] == 1
              and a["tablets"] == 6, "before any plan: %r" % a)
        d.ctl("update", "plan", "--scope", "school:" + A, "--version", "26.1", "--deadline",
              SATURDAY)
        # what the tablets report: one on 26.1, one downloading, one failed
        set_items(d, "DMPA00000001", {"device.operating-system.version": "26.1",
                                      "softwareupdate.install-state": "none"})
        set_items(d, "DMPA00000002", {"device.operating-system.version": "18.6.2",
                                      "softwareupdate.install-state": "downloading",
                                      "softwareupdate.pending-version": {"os-version": "26.1",
                                                                         "build-version": ""}})
        set_items(d, "DMPA00000003", {"device.operating-system.version": "18.6.2",
                                      "softwareupdate.install-state": "failed",
                                      "softwareupdate.failure-reason": {
                                          "count": 2, "reason": "Espace de stockage insuffisant"}})
        st = d.ctl_json("update", "status")
        a, b = school_of(st, A), school_of(st, B)
        check(a["target"] == "26.1" and a["on_target"] == 1 and a["downloading"] == 1
              and a["failed"] == 1 and a["unsupported"] == 1 and a["without_ddm"] == 1
              and a["unknown_model"] == 1 and a["pending"] == 0 and a["not_reporting"] == 0
              and a["tablets"] == 6, a)
        check(a["failures"] == [{"reason": "Espace de stockage insuffisant", "count": 1}], a)
        check(a["deadline"] == "2026-12-05T10:00:00+01:00"
              and a["plan"] == "ardoise.update.school-" + A.lower(), a)
        check(b["target"] is None and b["not_reporting"] == 1 and b["tablets"] == 1, b)
        check(st["fleet"]["tablets"] == 7 and st["fleet"]["failed"] == 1
              and st["fleet"]["not_reporting"] == 1, st["fleet"])
        out = d.ctl("update", "status").stdout
        check("Espace de stockage insuffisant" in out and "NOT REPORTING" in out
              and "no plan" in out, out)
        fr = d.ctl("update", "status", "--school", A, lang="fr_FR.UTF-8").stdout
        check("Espace de stockage insuffisant" in fr and "À JOUR" in fr and "échecs" in fr, fr)

        # roles: the référent of A sees A only, the ATI of B sees B, the auditor nothing
        st = d.ctl_json("update", "status", token=tokens["referent"])
        check([s["school"] for s in st["schools"]] == [A] and st["fleet"]["tablets"] == 6, st)
        d.api("GET", "/api/v1/updates/status?school=" + B, token=tokens["referent"], expect=403)
        st = d.api("GET", "/api/v1/updates/status", token=tokens["ati"])
        check([s["school"] for s in st["schools"]] == [B], st)
        d.api("GET", "/api/v1/updates/status", token=tokens["auditor"], expect=403)
        d.api("GET", "/api/v1/updates/status?school=nonsense", expect=400)
        d.ctl("update", "status", token=tokens["auditor"], expect=1)

        # the dashboard: the same figures for the référent, none for the auditor
        dash = d.api("GET", "/api/v1/dashboard", token=tokens["referent"])["schools"]
        check(len(dash) == 1 and dash[0]["updates"]["failed"] == 1
              and dash[0]["updates"]["target"] == "26.1"
              and dash[0]["updates"]["failures"][0]["reason"] == "Espace de stockage insuffisant",
              dash)
        dash = d.api("GET", "/api/v1/dashboard", token=tokens["auditor"])["schools"]
        check(all("updates" not in s for s in dash), "the auditor sees no update figures")

        # device show: the DDM part
        dev = d.api("GET", "/api/v1/devices/DMPA00000003")["ddm"]
        check(dev["enabled"] is True and dev["items"]["softwareupdate.failure-reason"]["reason"]
              == "Espace de stockage insuffisant"
              and dev["items"]["device.operating-system.version"] == "18.6.2"
              and dev["status_at"] is not None, dev)
        sql(d, "INSERT INTO device_declaration(device_id, kind, identifier, server_token, active,"
               " valid, reasons, reported_at) SELECT id, 'configuration', 'ardoise.update.x', "
               "'t', 0, 'invalid', '[{\"code\": \"Error.ConfigurationCannotBeApplied\"}]', "
               "1796212800 FROM device WHERE serial = 'DMPA00000003';")
        dev = d.api("GET", "/api/v1/devices/DMPA00000003")["ddm"]
        check(dev["declarations"] == [{"kind": "configuration", "identifier": "ardoise.update.x",
                                       "server_token": "t", "active": False, "valid": "invalid",
                                       "reasons": [{"code": "Error.ConfigurationCannotBeApplied"}],
                                       "reported_at": dev["declarations"][0]["reported_at"]}],
              dev["declarations"])
        out = d.ctl("device", "show", "DMPA00000003").stdout
        check("declarative management (DDM)" in out and "softwareupdate.install-state" in out
              and "Error.ConfigurationCannotBeApplied" in out, out)
        fr = d.ctl("device", "show", "DMPA00000003", lang="fr_FR.UTF-8").stdout
        check("gestion déclarative" in fr and "invalide" in fr, fr)
        nodd = d.api("GET", "/api/v1/devices/DMPA00000005")["ddm"]
        check(nodd["enabled"] is False and nodd["items"] == {}, nodd)
        out = d.ctl("device", "show", "DMPA00000005").stdout
        check("not enabled" in out, out)


if __name__ == "__main__":
    run([test_declarations, test_update_plans, test_update_status])
