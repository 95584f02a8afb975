"""DDM end to end: a real ardoised, tablets simulated by ardoise-sim.

Tablets on iPadOS 17.5 get the DeclarativeManagement command at enrolment,
answer it and synchronise in the same session (tokens, declaration-items,
each declaration, a full status report), which the daemon stores; an
iPadOS 15 tablet gets no such command and stays without DDM.  A session
with nothing new fetches nothing and reports nothing; a declaration
assigned to the fleet arrives at the next session and goes away when it is
unassigned, with an incremental report.  An update plan for the fleet
(Apple's catalogue from gdmf_standin.py) is downloaded before its deadline and installed at it (the
tablets' clock given by --now): the tablets boot the new version and report
it, one told to fail reports failed with its reason.

A state file written by an ardoise-sim from before DDM (schema 1) is
migrated when opened: its tablets keep their version and have DDM off.

The stored state is read with sqlite3 (device_ddm, device_ddm_item,
device_declaration) and through GET /api/v1/devices/<serial>.
"""
import json
import os
import sqlite3
import tempfile
import types

from gdmf_standin import GdmfStandin, load_catalogue, standin_pki, updates_config
from harness import Daemon, Sim, check, new_code, run

PASSCODE = {"Type": "com.apple.configuration.passcode.settings",
            "Identifier": "ardoise.passcode.college",
            "Payload": {"MinimumLength": 6, "RequirePasscode": True}}


def by_os(sim, version):
    return [x for x in sim.devices() if x["os_version"] == version]


def connect(sim, *glob):
    out = sim(*glob, "connect", "--json")
    r = json.loads(out.stdout.strip().splitlines()[-1])
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



def catalogue_daemon():
    """A daemon with Apple's update catalogue from the local stand-in
    (18.7.2, build 22H124, for iPad13,18): returns the stand-in (to enter)
    and the CA of its certificate."""
    ca, cert, key = standin_pki()
    g = GdmfStandin(cert, key)
    return g, ca


def items_of(d, serial):
    out = stored(d, serial, "SELECT item, value FROM device_ddm_item WHERE device_id=$DEV")
    return {k: json.loads(v) for k, v in (line.split("|", 1) for line in out.splitlines())}


def test_update_at_the_deadline():
    g, ca = catalogue_daemon()
    with g, Daemon(config=updates_config(g.url, ca)) as d:
        load_catalogue(d)
        sim = Sim(d)
        sim("enroll", "-n", "3", "--code", new_code(d, 3), "--key-pool", "2",
            "--os-version", "18.6.2")
        connect(sim)
        staff(d, "POST", "/api/v1/updates/plans",
              {"scope": "fleet", "version": "18.7.2", "deadline": "2026-12-05T10:00"})
        devs = sim.devices()
        serials = [x["serial"] for x in devs]
        failing = devs[2]

        # before the deadline: downloading, then prepared
        r = connect(sim, "--now", "2026-12-04T18:00")
        check(r["ddm_reports"] == 3, "each reports: %r" % r)
        for s in serials:
            it = items_of(d, s)
            check(it["softwareupdate.install-state"] == "downloading"
                  and it["softwareupdate.pending-version"] == {"os-version": "18.7.2",
                                                               "build-version": "22H124"}
                  and it["softwareupdate.install-reason"]["reason"] == ["declaration"],
                  "%s downloading 18.7.2: %r" % (s, it))
        connect(sim, "--now", "2026-12-04T19:00")
        check(all(items_of(d, s)["softwareupdate.install-state"] == "prepared" for s in serials),
              "prepared")
        sim("update-fail", failing["udid"], "--reason", "Espace de stockage insuffisant")

        # at the deadline: installed, rebooted, reported; one fails
        r = connect(sim, "--now", "2026-12-05T10:00")
        check(r["ddm_reports"] == 6, "installing, then the outcome: %r" % r)
        for x in sim.devices():
            it = items_of(d, x["serial"])
            if x["serial"] == failing["serial"]:
                check(x["os_version"] == "18.6.2" and it["softwareupdate.install-state"] == "failed"
                      and it["softwareupdate.failure-reason"]["count"] == 1
                      and it["softwareupdate.failure-reason"]["reason"]
                      == "Espace de stockage insuffisant"
                      and it["softwareupdate.failure-reason"]["timestamp"]
                      == "2026-12-05T09:00:00Z", "the failing tablet: %r" % it)
                continue
            check(x["os_version"] == "18.7.2" and x["build_version"] == "22H124",
                  "rebooted into 18.7.2: %r" % x)
            check(it["device.operating-system.version"] == "18.7.2"
                  and it["device.operating-system.build-version"] == "22H124"
                  and it["softwareupdate.install-state"] == "none"
                  and it["softwareupdate.pending-version"] == {"os-version": "",
                                                               "build-version": ""},
                  "reports 18.7.2: %r" % it)
        st = d.api("GET", "/api/v1/updates/status")
        check(json.dumps(st).count("Espace de stockage insuffisant") >= 1,
              "update status shows the reason: %r" % st)
        # update-ok: the retry succeeds
        sim("update-ok", failing["udid"])
        connect(sim, "--now", "2026-12-05T11:00")
        check(items_of(d, failing["serial"])["device.operating-system.version"] == "18.7.2",
              "the retry installs")


# ardoise-sim's state file schema 1, as it was before DDM
STATE_V1 = """
CREATE TABLE key_pool (kind TEXT NOT NULL, slot INTEGER NOT NULL, pem TEXT NOT NULL,
  PRIMARY KEY (kind, slot)) WITHOUT ROWID;
CREATE TABLE device (id INTEGER PRIMARY KEY, udid TEXT NOT NULL UNIQUE,
  serial TEXT NOT NULL UNIQUE, model TEXT NOT NULL, os_version TEXT NOT NULL,
  build_version TEXT NOT NULL, device_name TEXT NOT NULL, time_zone TEXT NOT NULL,
  organization TEXT NOT NULL, key_kind TEXT, key_slot INTEGER, cert BLOB,
  topic TEXT NOT NULL, checkin_path TEXT NOT NULL, server_path TEXT NOT NULL,
  push_token BLOB, push_magic TEXT NOT NULL, unlock_token BLOB, enrolled INTEGER NOT NULL,
  erased INTEGER NOT NULL, passcode_present INTEGER NOT NULL, supervised INTEGER NOT NULL,
  lost_mode INTEGER NOT NULL, awaiting_config INTEGER NOT NULL, locked INTEGER NOT NULL,
  latitude REAL NOT NULL, longitude REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE profile (device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
  identifier TEXT NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL, managed INTEGER NOT NULL,
  PRIMARY KEY (device_id, identifier));
CREATE TABLE app (device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
  identifier TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
  short_version TEXT NOT NULL, managed INTEGER NOT NULL, PRIMARY KEY (device_id, identifier));
INSERT INTO device VALUES (1, '00008101-00000000000000AA', 'DMPXK1ABCD', 'iPad13,18', '17.4',
  '21E219', 'iPad', 'Europe/Paris', '', NULL, NULL, NULL, 't', '/mdm/checkin', '/mdm/connect',
  NULL, 'm', NULL, 0, 0, 1, 1, 0, 0, 0, 43.3, 5.4, 0);
PRAGMA user_version = 1;
"""


def test_state_file_from_before_ddm():
    tmp = tempfile.mkdtemp(prefix="ardoise-sim-v1-")
    sim = Sim(types.SimpleNamespace(tmp=tmp, url="https://127.0.0.1:9", ca="/nonexistent"))
    db = sqlite3.connect(sim.state)
    db.executescript(STATE_V1)
    db.close()
    devs = sim.devices()
    check(len(devs) == 1 and devs[0]["os_version"] == "17.4"
          and devs[0]["build_version"] == "21E219" and devs[0]["ddm"]["enabled"] == "off"
          and devs[0]["ddm"]["update_fail"] is None, "migrated: %r" % devs)
    sim("update-fail", devs[0]["udid"], "--reason", "Pas de réseau")
    check(sim.devices()[0]["ddm"]["update_fail"] == "Pas de réseau", "the rule is kept")
    db = sqlite3.connect(sim.state)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    # schema 3 (ADE, issue 16) since: a file of schema 1 goes through 2 and 3
    check(version == 3 and {"declaration", "ade"} <= tables, "schema 3: %r %r" % (version, tables))
    check(sim.devices()[0]["ade"] is None, "not a device that came through ADE")


if __name__ == "__main__":
    run([test_state_file_from_before_ddm, test_enrolment_enables_ddm_on_17_not_15,
         test_update_at_the_deadline])
