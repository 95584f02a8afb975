"""The DeclarativeManagement check-in, spoken as the tablet.

Tablets enrol with ardoise-sim (iPadOS 17.5, iPad13,18 by default); the
test then plays one of them from Python with its own identity (the
certificate and key of the sim's state file) and sends DeclarativeManagement
check-ins by hand: the DeclarativeManagement command queued at enrolment
(its Data, the tokens document), the endpoints tokens, declaration-items,
declaration/<kind>/<identifier> (404 outside THAT tablet's set) and status
(FullReport replaces, incremental upserts), every document checked by
mdm-schema-check; the DeclarationsToken changes exactly when the tablet's
set does (assignment to its collège, a move, a removal, its model leaving a
filter) and not otherwise (the same content put again), and the tablet is
pushed (APNs stand-in) when it changes; hostile check-ins are refused with
nothing stored.  Declarations are made through the staff API.
"""
import json
import os
import plistlib
import sqlite3
import ssl
import tempfile

from harness import Daemon, Sim, check, new_code, run, schema_check, wait_until
from test_push import Standin, push_config

UAI_A = "0131266F"
UAI_B = "0750001U"
PASSCODE = "com.apple.configuration.passcode.settings"


class Tablet:
    """One sim tablet, played by hand: its UDID, identity and push token."""

    def __init__(self, d, sim, serial):
        self.d = d
        h = sqlite3.connect("file:%s?mode=ro" % sim.state, uri=True)
        row = h.execute("SELECT d.udid, d.cert, k.pem, d.push_token, d.checkin_path"
                        " FROM device d JOIN key_pool k ON k.kind = d.key_kind"
                        " AND k.slot = d.key_slot WHERE d.serial = ?", (serial,)).fetchone()
        h.close()
        check(row is not None, "sim tablet %s with its identity" % serial)
        self.serial = serial
        self.udid, der, key, token, self.path = row
        self.push_token = bytes(token).hex()
        tmp = tempfile.mkdtemp(dir=d.tmp)
        self.cert, self.key = os.path.join(tmp, "id.pem"), os.path.join(tmp, "id.key")
        with open(self.cert, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(bytes(der)))
        with open(self.key, "w") as f:
            f.write(key)

    def send(self, msg, cert=None):
        """PUT the plist msg (a dict, or raw bytes) with this tablet's identity
        (or another's: cert = (pem, key)); (status, headers, body)."""
        body = msg if isinstance(msg, bytes) else plistlib.dumps(msg)
        pem, key = cert or (self.cert, self.key)
        conn = self.d.connect(cert=pem, key=key)
        try:
            return self.d.request("PUT", self.path, body=body, token=None, conn=conn,
                                  headers={"Content-Type": "application/x-apple-aspen-mdm"})
        finally:
            conn.close()

    def ddm(self, endpoint, data=None, expect=200, udid=None, cert=None):
        msg = {"MessageType": "DeclarativeManagement", "UDID": udid or self.udid,
               "Endpoint": endpoint}
        if data is not None:
            msg["Data"] = data if isinstance(data, bytes) else json.dumps(data).encode()
        status, headers, body = self.send(msg, cert=cert)
        check(status == expect, "%s: expected %d, got %d: %s" % (endpoint, expect, status,
                                                                  body[:300]))
        return headers, body

    def tokens(self):
        headers, body = self.ddm("tokens")
        check(headers.get("content-type") == "application/json", "tokens is JSON: %r" % headers)
        return json.loads(body)["SyncTokens"]["DeclarationsToken"]

    def items(self):
        _, body = self.ddm("declaration-items")
        return json.loads(body)


def db_rows(d, sql, args=()):
    h = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.data, "ardoise.db"), uri=True,
                        timeout=20)
    try:
        return h.execute(sql, args).fetchall()
    finally:
        h.close()


def stored_token(d, serial):
    rows = db_rows(d, "SELECT s.token FROM device_ddm s JOIN device d ON d.id = s.device_id"
                      " WHERE d.serial = ?", (serial,))
    return rows[0][0] if rows else None


def checked(d, name, text, *args):
    path = os.path.join(d.tmp, name)
    with open(path, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    schema_check([path], "--werror", *args)
    return path


def ids(items, group):
    return sorted(x["Identifier"] for x in items["Declarations"][group])


def setup(d, n=2):
    """n tablets enrolled (not yet connected), the first in collège A, the
    others in B, through the staff route (which recomputes)."""
    sim = Sim(d)
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2")
    serials = [x["serial"] for x in sim.devices()]
    d.sqlite("INSERT INTO school(uai,name,created_at) VALUES ('%s','A',0),('%s','B',0)"
             % (UAI_A, UAI_B))
    for i, s in enumerate(serials):
        d.api("POST", "/api/v1/devices/%s/move" % s, {"school": UAI_A if i == 0 else UAI_B})
    return sim, [Tablet(d, sim, s) for s in serials]


def test_command_endpoints_and_tokens():
    apns = Standin(tempfile.mkdtemp()).start()
    try:
        with Daemon(init_args=["--no-baseline"], config=push_config(apns.url, "coalesce_ms = 50\n")) as d:
            sim, (a, b) = setup(d)
            # the command queued at enrolment: Data is the tokens document
            rows = db_rows(d, "SELECT c.payload, c.status FROM command c JOIN device v"
                              " ON v.id = c.device_id WHERE v.serial = ?"
                              " AND c.type = 'DeclarativeManagement'", (a.serial,))
            check(len(rows) == 1 and rows[0][1] == "queued", "one DeclarativeManagement: %r" % rows)
            cmd = bytes(rows[0][0])
            checked(d, "ddm-command.plist", cmd)
            data = plistlib.loads(cmd)["Command"]["Data"]
            checked(d, "ddm-command-data.json", data, "--kind", "tokens")
            check(b"Password" not in cmd and b"password" not in cmd, "no secret in the command")
            first = json.loads(data)["SyncTokens"]["DeclarationsToken"]
            check(first == stored_token(d, a.serial), "the command carries the stored token")

            # the endpoints, each document valid; the check-in turns DDM on
            check(db_rows(d, "SELECT count(*) FROM device_ddm WHERE enabled_at IS NOT NULL")
                  == [(0,)], "no tablet has DDM on before it asks")
            headers, body = a.ddm("tokens")
            checked(d, "tokens.json", body, "--kind", "tokens")
            check(json.loads(body)["SyncTokens"]["DeclarationsToken"] == first, "same token")
            check(db_rows(d, "SELECT count(*) FROM device_ddm s JOIN device v ON v.id ="
                             " s.device_id WHERE v.serial = ? AND s.enabled_at IS NOT NULL"
                             " AND s.synced_at IS NOT NULL", (a.serial,)) == [(1,)],
                  "the check-in enabled DDM and stamped the sync")
            _, body = a.ddm("declaration-items")
            checked(d, "items.json", body, "--kind", "declaration-items")
            items = json.loads(body)
            check(ids(items, "Configurations") == ["ardoise.status-subscriptions"]
                  and ids(items, "Activations") == ["ardoise.activation.fleet"]
                  and items["DeclarationsToken"] == first, "the fleet's set: %r" % items)
            for kind, group in (("configuration", "Configurations"), ("activation", "Activations")):
                for x in items["Declarations"][group]:
                    _, body = a.ddm("declaration/%s/%s" % (kind, x["Identifier"]))
                    checked(d, "decl-%s.json" % x["Identifier"], body, "--kind", "declaration")
                    doc = json.loads(body)
                    check(doc["ServerToken"] == x["ServerToken"], "server token: %r" % doc)
            _, body = a.ddm("declaration/configuration/ardoise.status-subscriptions")
            subs = {x["Name"] for x in json.loads(body)["Payload"]["StatusItems"]}
            check({"softwareupdate.install-state", "management.declarations",
                   "device.operating-system.version"} <= subs, "subscriptions: %r" % subs)
            _, body = a.ddm("declaration/activation/ardoise.activation.fleet")
            check(json.loads(body)["Payload"]["StandardConfigurations"]
                  == ["ardoise.status-subscriptions"], "the fleet's activation: %r" % body)
            # a kind that does not match the identifier's: not in the set
            a.ddm("declaration/asset/ardoise.status-subscriptions", expect=404)
            a.ddm("declaration/configuration/nothing.here", expect=404)

            # a declaration: not in anyone's set until assigned
            d.api("POST", "/api/v1/declarations", {"Type": PASSCODE, "Identifier": "fr.t.pass",
                                                   "Payload": {"MinimumLength": 6}}, expect=201)
            a.ddm("declaration/configuration/fr.t.pass", expect=404)
            check(a.tokens() == first, "an unassigned declaration changes no token")
            b.tokens()
            b_first = stored_token(d, b.serial)
            pushes_a = len(apns.for_token(a.push_token))
            d.api("POST", "/api/v1/declarations/fr.t.pass/assignments",
                  {"scope": "school:" + UAI_A}, expect=201)
            second = stored_token(d, a.serial)
            check(second != first, "assigned to A's collège: A's token changed")
            check(stored_token(d, b.serial) == b_first, "B's token did not change")
            wait_until(lambda: len(apns.for_token(a.push_token)) > pushes_a, what="A pushed")
            check(a.tokens() == second, "the tablet reads the new token")
            items = a.items()
            check(ids(items, "Configurations") == ["ardoise.status-subscriptions", "fr.t.pass"]
                  and "ardoise.activation.school-0131266f" in ids(items, "Activations"),
                  "A's set: %r" % items)
            _, body = a.ddm("declaration/activation/ardoise.activation.school-0131266f")
            checked(d, "act-school.json", body, "--kind", "declaration")
            check(json.loads(body)["Payload"]["StandardConfigurations"] == ["fr.t.pass"],
                  "the collège's activation lists its configuration: %r" % body)
            _, body = a.ddm("declaration/configuration/fr.t.pass")
            check(json.loads(body)["Payload"] == {"MinimumLength": 6}, "payload: %r" % body)
            b.ddm("declaration/configuration/fr.t.pass", expect=404)

            # the same content again, or the same assignment: nothing changes, no push
            n_push = len(apns.for_token(a.push_token))
            d.api("PUT", "/api/v1/declarations/fr.t.pass",
                  {"Type": PASSCODE, "Payload": {"MinimumLength": 6}})
            d.api("POST", "/api/v1/declarations/fr.t.pass/assignments",
                  {"scope": "school:" + UAI_A}, expect=409)
            check(stored_token(d, a.serial) == second and a.tokens() == second,
                  "same content: same token")
            # content changed: a new token, pushed
            d.api("PUT", "/api/v1/declarations/fr.t.pass",
                  {"Type": PASSCODE, "Payload": {"MinimumLength": 8}})
            third = stored_token(d, a.serial)
            check(third not in (first, second), "new content: new token")
            wait_until(lambda: len(apns.for_token(a.push_token)) > n_push, what="A pushed again")

            # a tablet moved to A's collège gets A's set (and token)
            n_push_b = len(apns.for_token(b.push_token))
            d.api("POST", "/api/v1/devices/%s/move" % b.serial, {"school": UAI_A})
            check(stored_token(d, b.serial) == third, "moved: B has A's token")
            wait_until(lambda: len(apns.for_token(b.push_token)) > n_push_b, what="B pushed")
            b.ddm("declaration/configuration/fr.t.pass")
            # and back
            d.api("POST", "/api/v1/devices/%s/move" % b.serial, {"school": UAI_B})
            check(stored_token(d, b.serial) == b_first, "moved back: B's first token")
            b.ddm("declaration/configuration/fr.t.pass", expect=404)

            # filtered out by its models (store-level: the plans' filter)
            d.sqlite("UPDATE declaration SET models = '[\"iPad99,1\"]'"
                     " WHERE identifier = 'fr.t.pass' AND removed_at IS NULL")
            a.ddm("declaration/configuration/fr.t.pass", expect=404)
            check(a.tokens() != third, "filtered out: another token")
            d.sqlite("UPDATE declaration SET models = '[\"iPad13,18\"]'"
                     " WHERE identifier = 'fr.t.pass' AND removed_at IS NULL")
            check(a.tokens() == third, "its model listed: the token of before")

            # unassigned, then removed: 404, and the first token again
            d.api("DELETE", "/api/v1/declarations/fr.t.pass/assignments",
                  {"scope": "school:" + UAI_A})
            check(stored_token(d, a.serial) == first, "unassigned: the first token again")
            a.ddm("declaration/configuration/fr.t.pass", expect=404)
            a.ddm("declaration/activation/ardoise.activation.school-0131266f", expect=404)
            d.api("DELETE", "/api/v1/declarations/fr.t.pass")
            a.ddm("declaration/configuration/fr.t.pass", expect=404)
            check(a.tokens() == first, "removed: nothing changed for A")

            # a DeviceInformation with a new model takes the tablet into a filter:
            # A answers its queued DeviceInformation by hand (as iPad99,1)
            d.api("POST", "/api/v1/declarations", {"Type": PASSCODE, "Identifier": "fr.t.model",
                                                   "Payload": {"MinimumLength": 5}}, expect=201)
            d.sqlite("UPDATE declaration SET models = '[\"iPad99,1\"]'"
                     " WHERE identifier = 'fr.t.model' AND removed_at IS NULL")
            d.api("POST", "/api/v1/declarations/fr.t.model/assignments", {"scope": "fleet"},
                  expect=201)
            before = a.tokens()
            a.ddm("declaration/configuration/fr.t.model", expect=404)
            status, _, body = a.send({"Status": "Idle", "UDID": a.udid})
            cmd = plistlib.loads(body)
            check(status == 200 and cmd["Command"]["RequestType"] == "DeviceInformation",
                  "A's first command: %r" % cmd)
            n_push = len(apns.for_token(a.push_token))
            status, _, body = a.send({"Status": "Acknowledged", "UDID": a.udid,
                                      "CommandUUID": cmd["CommandUUID"],
                                      "QueryResponses": {"ProductName": "iPad99,1",
                                                         "OSVersion": "17.5",
                                                         "SerialNumber": a.serial}})
            check(status == 200, "DeviceInformation recorded: %d %r" % (status, body[:200]))
            now = stored_token(d, a.serial)
            check(now != before, "a new model, a new token")
            wait_until(lambda: len(apns.for_token(a.push_token)) > n_push,
                       what="A pushed after its new model")
            a.ddm("declaration/configuration/fr.t.model")
            check(a.tokens() == now, "the tablet reads it")

            # the command's Acknowledged result turns DDM on (B never checked in by hand
            # before its session: the sim acknowledges the command in it)
            d.sqlite("UPDATE device_ddm SET enabled_at = NULL WHERE device_id ="
                     " (SELECT id FROM device WHERE serial = '%s')" % b.serial)
            r = sim.connect("--device", b.udid)
            check(r["errors"] == 0 and r["command_errors"] == 0, "B's session: %r" % r)
            check(db_rows(d, "SELECT c.status FROM command c JOIN device v ON v.id ="
                             " c.device_id WHERE v.serial = ? AND c.type ="
                             " 'DeclarativeManagement'", (b.serial,)) == [("acknowledged",)],
                  "B acknowledged its DeclarativeManagement")
            check(db_rows(d, "SELECT count(*) FROM device_ddm s JOIN device v ON v.id ="
                             " s.device_id WHERE v.serial = ? AND s.enabled_at IS NOT NULL",
                             (b.serial,)) == [(1,)], "B has DDM on")
    finally:
        apns.stop()


def test_groups_follow_loans_and_classes():
    """A loan puts the tablet in its borrower's groups at once; a class changed
    behind the handlers' back (an import) is followed by the hourly job."""
    with Daemon(init_args=["--no-baseline"]) as d:
        sim, (a,) = setup(d, 1)
        d.sqlite("INSERT INTO person(id, ext_id, kind, name, class, school, created_at,"
                 " updated_at) VALUES (1, 'E1', 'pupil', 'x', '5B', '%s', 0, 0)" % UAI_A)
        d.api("POST", "/api/v1/declarations", {"Type": PASSCODE, "Identifier": "fr.t.5b",
                                               "Payload": {"MinimumLength": 4}}, expect=201)
        d.api("POST", "/api/v1/declarations/fr.t.5b/assignments",
              {"scope": "group:%s/5B" % UAI_A}, expect=201)
        first = a.tokens()  # DDM on
        a.ddm("declaration/configuration/fr.t.5b", expect=404)
        d.ctl("loan", "create", "--device", a.serial, "--person", "E1")
        lent = stored_token(d, a.serial)
        check(lent != first, "lent to a pupil of 5B: a new token")
        a.ddm("declaration/configuration/fr.t.5b")
        d.sqlite("UPDATE person SET class = '4A' WHERE id = 1")
        check(stored_token(d, a.serial) == lent, "nothing follows the class at once")
        d.api("POST", "/api/v1/jobs/ddm_recompute/run")
        check(stored_token(d, a.serial) == first, "the hourly job follows it")
        a.ddm("declaration/configuration/fr.t.5b", expect=404)


def test_older_ipados_then_updated():
    """iPadOS 15: no DeclarativeManagement at enrolment; once its inventory says
    16 or later (updated), the command is queued."""
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = Sim(d)
        sim("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "2",
            "--os-version", "15.8", "--product", "iPad7,11")
        a = Tablet(d, sim, sim.devices()[0]["serial"])

        def ddm_commands():
            return db_rows(d, "SELECT c.status, c.origin FROM command c JOIN device v"
                              " ON v.id = c.device_id WHERE v.serial = ?"
                              " AND c.type = 'DeclarativeManagement'", (a.serial,))
        check(ddm_commands() == [], "none at enrolment on 15.8")
        status, _, body = a.send({"Status": "Idle", "UDID": a.udid})
        cmd = plistlib.loads(body)
        check(cmd["Command"]["RequestType"] == "DeviceInformation", "inventory first: %r" % cmd)
        a.send({"Status": "Acknowledged", "UDID": a.udid, "CommandUUID": cmd["CommandUUID"],
                "QueryResponses": {"OSVersion": "15.8", "ProductName": "iPad7,11"}})
        check(ddm_commands() == [], "still none on 15.8")
        cmd = d.api("POST", "/api/v1/devices/%s/commands" % a.serial,
                    {"type": "DeviceInformation"}, expect=201)
        # answer the queue until that DeviceInformation comes, as the updated tablet
        for _ in range(10):
            status, _, body = a.send({"Status": "Idle", "UDID": a.udid})
            nxt = plistlib.loads(body)
            if nxt["CommandUUID"] == cmd["uuid"]:
                break
            a.send({"Status": "Acknowledged", "UDID": a.udid, "CommandUUID": nxt["CommandUUID"]})
        status, _, body = a.send({"Status": "Acknowledged", "UDID": a.udid,
                                  "CommandUUID": cmd["uuid"],
                                  "QueryResponses": {"OSVersion": "16.7.10",
                                                     "ProductName": "iPad7,11"}})
        check(ddm_commands() == [("sent", "inventory")], "queued once on 16: %r" % ddm_commands())
        nxt = plistlib.loads(body)  # and handed out in the same session
        check(nxt["Command"]["RequestType"] == "DeclarativeManagement", "next: %r" % nxt)
        checked(d, "ddm-command-16.plist", body)


def test_fleet_enrolled_before_ddm():
    """Tablets enrolled before Ardoise served DDM (no DDM state, no command)
    get DeclarativeManagement from the hourly job, once, on iPadOS 16+ only;
    one whose command expired gets it again."""
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = Sim(d)
        sim("enroll", "-n", "3", "--code", new_code(d, 3), "--key-pool", "2",
            "--os-version", "17.5", "--product", "iPad13,18")
        sim("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "2",
            "--os-version", "15.8", "--product", "iPad7,11")
        # as an older Ardoise left them: no DDM state, no command
        d.sqlite("DELETE FROM command WHERE type = 'DeclarativeManagement';"
                 "DELETE FROM device_ddm;")

        def queued():
            return db_rows(d, "SELECT v.os_version, c.origin, c.status FROM command c"
                              " JOIN device v ON v.id = c.device_id"
                              " WHERE c.type = 'DeclarativeManagement' ORDER BY c.id")

        def run_job():
            before = d.log().count("event=ddm_recompute reason=hourly")
            d.api("POST", "/api/v1/jobs/ddm_recompute/run")
            wait_until(lambda: d.log().count("event=ddm_recompute reason=hourly") > before,
                       30, "the ddm_recompute job")

        run_job()
        check(queued() == [("17.5", "upgrade", "queued")] * 3,
              "the three iPadOS 17 tablets get the command: %r" % queued())
        run_job()
        check(len(queued()) == 3, "not twice while pending: %r" % queued())
        r = sim.connect()
        check(r["errors"] == 0, "sessions: %r" % r)
        on = db_rows(d, "SELECT count(*) FROM device_ddm WHERE enabled_at IS NOT NULL")
        check(on == [(3,)], "DDM on for the three: %r" % on)
        run_job()
        check(len(queued()) == 3, "nothing more once DDM is on: %r" % queued())
        # a tablet whose command expired and whose DDM never came
        d.sqlite("UPDATE device_ddm SET enabled_at = NULL WHERE device_id ="
                 " (SELECT min(device_id) FROM device_ddm);"
                 "UPDATE command SET status = 'expired' WHERE type = 'DeclarativeManagement'"
                 " AND device_id = (SELECT min(device_id) FROM device_ddm);")
        run_job()
        check(len(queued()) == 4 and queued()[-1][1:] == ("upgrade", "queued"),
              "queued again after it expired: %r" % queued())


def items_of(d, serial):
    return dict(db_rows(d, "SELECT i.item, i.value FROM device_ddm_item i JOIN device v"
                           " ON v.id = i.device_id WHERE v.serial = ?", (serial,)))


def decls_of(d, serial):
    return db_rows(d, "SELECT x.kind, x.identifier, x.active, x.valid FROM device_declaration x"
                      " JOIN device v ON v.id = x.device_id WHERE v.serial = ?"
                      " ORDER BY x.kind, x.identifier", (serial,))


def report(full, items, declarations=None):
    si = {}
    for name, value in items.items():
        node = si
        parts = name.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    if declarations is not None:
        si.setdefault("management", {})["declarations"] = declarations
    return {"StatusItems": si, "Errors": [], "FullReport": full}


def test_status_reports_and_hostile_checkins():
    with Daemon(init_args=["--no-baseline"]) as d:
        sim, (a, b) = setup(d)
        sub = a.items()
        act = sub["Declarations"]["Activations"][0]
        conf = sub["Declarations"]["Configurations"][0]
        decl = {"activations": [{"identifier": act["Identifier"], "server-token": act["ServerToken"],
                                 "active": True, "valid": "valid"}],
                "configurations": [{"identifier": conf["Identifier"],
                                    "server-token": conf["ServerToken"], "active": True,
                                    "valid": "valid"}],
                "assets": [], "management": []}
        full = report(True, {"device.operating-system.version": "17.5",
                             "device.operating-system.build-version": "21F79",
                             "softwareupdate.install-state": "none",
                             "passcode.is-compliant": True}, decl)
        checked(d, "full.json", json.dumps(full), "--kind", "status-report")
        _, body = a.ddm("status", full)
        check(body == b"", "status answers 200 empty")
        got = items_of(d, a.serial)
        check(got == {"device.operating-system.version": '"17.5"',
                      "device.operating-system.build-version": '"21F79"',
                      "softwareupdate.install-state": '"none"',
                      "passcode.is-compliant": "true"}, "items stored: %r" % got)
        check(decls_of(d, a.serial) == [("activation", act["Identifier"], 1, "valid"),
                                        ("configuration", conf["Identifier"], 1, "valid")],
              "declarations' state: %r" % decls_of(d, a.serial))
        # incremental: upserts, the rest stays
        inc = report(False, {"softwareupdate.install-state": "downloading",
                             "softwareupdate.pending-version": {"os-version": "18.1",
                                                                "build-version": "22B83"}})
        checked(d, "inc.json", json.dumps(inc), "--kind", "status-report")
        a.ddm("status", inc)
        got = items_of(d, a.serial)
        check(got["softwareupdate.install-state"] == '"downloading"'
              and "build-version" in got["softwareupdate.pending-version"]
              and got["device.operating-system.version"] == '"17.5"' and len(got) == 5,
              "incremental upserted: %r" % got)
        check(len(decls_of(d, a.serial)) == 2, "declarations kept")
        # full again: replaces
        a.ddm("status", report(True, {"device.operating-system.version": "18.1"}))
        check(items_of(d, a.serial) == {"device.operating-system.version": '"18.1"'},
              "a FullReport replaces: %r" % items_of(d, a.serial))
        check(decls_of(d, a.serial) == [], "and the declarations' state")
        before = items_of(d, a.serial)

        # hostile check-ins: refused with a reason, nothing stored, the daemon serves on
        for ep in ("foo", "declaration/foo/x", "declaration/configuration/", "declaration/"
                   "configuration/a/b", "declaration/configuration/..", "x" * 500, "Tokens", ""):
            a.ddm(ep, expect=400)
        status, _, body = a.send({"MessageType": "DeclarativeManagement", "UDID": a.udid,
                                  "Endpoint": 7})
        check(status == 400, "Endpoint not a string: %d %r" % (status, body))
        status, _, body = a.send({"MessageType": "DeclarativeManagement", "UDID": a.udid,
                                  "Endpoint": "status", "Data": "not data"})
        check(status == 400, "Data not data: %d %r" % (status, body))
        status, _, _ = a.send({"MessageType": "DeclarativeManagement", "UDID": a.udid,
                               "Endpoint": "status"})
        check(status == 400, "status without Data: %d" % status)
        a.ddm("status", b"{\"StatusItems\": {", expect=400)          # truncated
        a.ddm("status", {"StatusItems": []}, expect=400)             # wrong type
        a.ddm("status", {"StatusItems": {"device": {"operating-system": {"version": 18}}}},
              expect=400)                                            # known item, wrong type
        a.ddm("status", report(False, {}, {"configurations": "x"}), expect=400)
        a.ddm("status", report(False, {}, {"configurations": [{"identifier": "x"}]}),
              expect=400)
        huge = {"StatusItems": {"x%d" % i: "v" for i in range(5000)}}
        a.ddm("status", huge, expect=400)                            # too many items
        big = json.dumps({"StatusItems": {"device": {"operating-system": {
            "version": "1" * (3 << 20)}}}}).encode()
        try:  # refused from its Content-Length: 413, or closed while still sending
            status = a.send({"MessageType": "DeclarativeManagement", "UDID": a.udid,
                             "Endpoint": "status", "Data": big})[0]
        except (ssl.SSLError, ConnectionError):
            status = 413
        check(status == 413, "a status of 3 MB: %d" % status)
        # B's identity speaking for A: refused, A's state untouched
        a.ddm("status", report(True, {"device.operating-system.version": "1.0"}), expect=403,
              cert=(b.cert, b.key))
        a.ddm("tokens", expect=403, cert=(b.cert, b.key))
        # one kept-alive connection: each request is judged (what the connection's
        # certificate is worth is learnt once, never borrowed from another one)
        for cert, udid, want in (((b.cert, b.key), a.udid, 403), ((a.cert, a.key), a.udid, 200),
                                 ((b.cert, b.key), b.udid, 200)):
            conn = d.connect(cert=cert[0], key=cert[1])
            try:
                for _ in range(3):
                    status, _, _ = d.request("PUT", a.path, token=None, conn=conn, body=plistlib.dumps(
                        {"MessageType": "DeclarativeManagement", "UDID": udid, "Endpoint": "tokens"}))
                    check(status == want, "kept-alive check-in: %d, want %d" % (status, want))
            finally:
                conn.close()
        # no identity at all
        status, _, _ = d.request("PUT", a.path, body=plistlib.dumps(
            {"MessageType": "DeclarativeManagement", "UDID": a.udid, "Endpoint": "tokens"}),
            token=None)
        check(status == 401, "no identity: %d" % status)
        check(items_of(d, a.serial) == before, "nothing stored by the hostile check-ins")
        # staff have no generic route to DeclarativeManagement (the daemon makes its Data)
        d.api("POST", "/api/v1/devices/%s/commands" % a.serial,
              {"type": "DeclarativeManagement", "reason": "test"}, expect=403)
        d.api("POST", "/api/v1/commands/bulk", {"type": "DeclarativeManagement",
                                                "reason": "test", "school": UAI_A}, expect=403)
        # a tablet checked out (unenrolled) is no longer answered
        b.send({"MessageType": "CheckOut", "UDID": b.udid, "Topic": "x"})
        b.ddm("tokens", expect=403)
        check(a.tokens(), "the daemon serves on")
        d.check_serving("hostile DDM check-ins")


if __name__ == "__main__":
    run([test_command_endpoints_and_tokens, test_groups_follow_loans_and_classes,
         test_older_ipados_then_updated, test_fleet_enrolled_before_ddm,
         test_status_reports_and_hostile_checkins])
