"""Policies through the API and ardoisectl: the baseline at --init, profile
validation, assignments and who may make them, reconciliation into queued
commands (tablets' facts written with sqlite3 as the inventory would),
convergence status, the unapproved-apps report.

The same scenarios driven by simulated iPads are in test_policy_sim.py.
"""
import os
import subprocess
import time

from harness import ARDOISED, SHARED, Daemon, check, run, token_of, wait_until, write

UAI_A = "0131266F"
UAI_B = "0750001U"
BASELINE = ["lockscreen", "notifications", "passcode", "restrictions", "webfilter"]

PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadVersion</key><integer>1</integer>
  <key>PayloadIdentifier</key><string>{ident}</string>
  <key>PayloadUUID</key><string>{uuid}</string>
  <key>PayloadDisplayName</key><string>Wi-Fi du collège</string>
  <key>PayloadOrganization</key><string>Département</string>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadType</key><string>com.apple.wifi.managed</string>
      <key>PayloadVersion</key><integer>1</integer>
      <key>PayloadIdentifier</key><string>{ident}.wifi</string>
      <key>PayloadUUID</key><string>5F3A2B1C-0D9E-4F8A-B7C6-D5E4F3A2B1C0</string>
      <key>SSID_STR</key><string>{ssid}</string>
      <key>EncryptionType</key><string>WPA2</string>
      <key>Password</key><string>correct horse</string>
      <key>AutoJoin</key><true/>
    </dict>
  </array>
</dict>
</plist>
"""


def profile_text(ident="fr.college.wifi", ssid="COLLEGE", uuid="0C8E1F52-3A1B-4C2D-9E8F-7A6B5C4D3E2F"):
    return PROFILE.format(ident=ident, ssid=ssid, uuid=uuid)


def now():
    return int(time.time())


def add_devices(d, rows):
    """rows: (serial, school or None).  Enrolled, lists just reported (so the
    hourly refresh leaves them alone).  Returns {serial: id}."""
    values = ",".join("('%s','UDID-%s',%s,'enrolled',0,0)" % (s, s, "'%s'" % u if u else "NULL")
                      for s, u in rows)
    # SQL: tablets as their enrolment and first lists would leave them (no staff verb enrols)
    out = d.sqlite("INSERT OR IGNORE INTO school(uai,name,created_at) VALUES ('%s','A',0),('%s','B',0);"
                   "INSERT INTO device(serial,udid,school,enrollment,created_at,updated_at) VALUES %s;"
                   "INSERT INTO device_lists(device_id,profiles_at,apps_at) SELECT id,%d,%d FROM device"
                   " WHERE id NOT IN (SELECT device_id FROM device_lists);"
                   % (UAI_A, UAI_B, values, now(), now()))
    check(out.returncode == 0, "sqlite: " + out.stderr)
    ids = d.sqlite("SELECT serial, id FROM device").stdout.split()
    return {line.split("|")[0]: int(line.split("|")[1]) for line in ids}


def commands(d, serial, status=("queued",)):
    return [c for c in d.ctl_json("command", "list", serial) if c["status"] in status]


def pending_types(d, serial):
    return sorted(c["type"] for c in commands(d, serial))


def acknowledge_all(d, serial):
    """What a device's acknowledgements would leave (as mdm.c's handlers
    record them): commands acknowledged, installed items owned and, for
    profiles, listed; removed ones gone."""
    sql = []
    t = now()
    for c in commands(d, serial, ("queued", "sent")):
        sql.append("UPDATE command SET status='acknowledged', done_at=%d WHERE uuid='%s';" % (t, c["uuid"]))
    out = d.sqlite("".join(sql))
    check(out.returncode == 0, out.stderr)
    dev = "(SELECT id FROM device WHERE serial='%s')" % serial
    out = d.sqlite(
        # installs: owned, profiles reported with the version the blob carries
        "INSERT OR REPLACE INTO device_owned(device_id,kind,identifier,version,acked_at)"
        " SELECT c.device_id, 'profile', c.dedupe, v.payload_uuid, %(t)d FROM command c"
        " JOIN profile_version v ON v.blob = c.blob_ref WHERE c.device_id = %(dev)s"
        " AND c.type='InstallProfile' AND c.done_at = %(t)d;"
        "INSERT OR REPLACE INTO device_profile(device_id,identifier,uuid)"
        " SELECT c.device_id, c.dedupe, v.payload_uuid FROM command c"
        " JOIN profile_version v ON v.blob = c.blob_ref WHERE c.device_id = %(dev)s"
        " AND c.type='InstallProfile' AND c.done_at = %(t)d;"
        "INSERT OR REPLACE INTO device_owned(device_id,kind,identifier,version,acked_at)"
        " SELECT device_id, 'app', dedupe, '', %(t)d FROM command WHERE device_id = %(dev)s"
        " AND type='InstallApplication' AND done_at = %(t)d;"
        "DELETE FROM device_owned WHERE device_id = %(dev)s AND kind='profile' AND identifier IN"
        " (SELECT dedupe FROM command WHERE device_id = %(dev)s AND type='RemoveProfile' AND done_at = %(t)d);"
        "DELETE FROM device_profile WHERE device_id = %(dev)s AND identifier IN"
        " (SELECT dedupe FROM command WHERE device_id = %(dev)s AND type='RemoveProfile' AND done_at = %(t)d);"
        "DELETE FROM device_owned WHERE device_id = %(dev)s AND kind='app' AND identifier IN"
        " (SELECT dedupe FROM command WHERE device_id = %(dev)s AND type='RemoveApplication' AND done_at = %(t)d);"
        % {"t": t, "dev": dev})
    check(out.returncode == 0, out.stderr)


def app_list(d, serial, bundles, when=None):
    """The device's InstalledApplicationList: exactly these bundle ids, now."""
    dev = "(SELECT id FROM device WHERE serial='%s')" % serial
    vals = ";".join("INSERT INTO device_app(device_id,identifier,name) VALUES (%s,'%s','%s')" % (dev, b, b)
                    for b in bundles)
    out = d.sqlite("DELETE FROM device_app WHERE device_id=%s;%s;UPDATE device_lists SET apps_at=%d"
                   " WHERE device_id=%s;" % (dev, vals, when or now(), dev))
    check(out.returncode == 0, out.stderr)


def account(d, name, role, school):
    """A staff account of one collège; returns its token."""
    return token_of(d.ctl("account", "create", "--name", name, "--role", role, "--school", school))


def reconcile(d, *args):
    return d.ctl_json("policy", "reconcile", *args)


# ---------------------------------------------------------------------------

def test_init_loads_the_baseline():
    with Daemon(start=False) as d:
        rows = d.sqlite("SELECT p.name, a.scope FROM profile p JOIN assignment a ON a.item_id = p.id"
                        " AND a.kind='profile' ORDER BY p.name").stdout.split()
        check(rows == ["%s|fleet" % n for n in BASELINE], "baseline assigned to the fleet: %r" % rows)
        audit = d.sqlite("SELECT action FROM audit WHERE action='policy.baseline'").stdout.strip()
        check(audit == "policy.baseline", "the baseline load is audited")
    with Daemon(start=False, init_args=["--no-baseline"]) as d:
        check(d.sqlite("SELECT count(*) FROM profile").stdout.strip() == "0", "--no-baseline: empty")
    with Daemon(start=False) as d:
        bad = os.path.join(d.tmp, "bad")
        os.mkdir(bad)
        write(d, "bad/broken.mobileconfig", "<plist><dict></dict></plist>")
        out = subprocess.run([ARDOISED, "--data-dir", os.path.join(d.tmp, "d2"), "--init",
                              "--baseline-dir", bad], capture_output=True, text=True)
        check(out.returncode != 0 and "broken.mobileconfig" in out.stderr,
              "a bad baseline file stops --init and is named: %r" % out.stderr)


def test_profile_catalogue_and_validation():
    with Daemon(init_args=["--no-baseline"]) as d:
        path = write(d, "wifi.mobileconfig", profile_text())
        p = d.ctl_json("profile", "add", path)
        check(p["name"] == "wifi" and p["identifier"] == "fr.college.wifi"
              and p["payload_types"] == ["com.apple.wifi.managed"], "added: %r" % p)
        check(p["payload_uuid"] != "0C8E1F52-3A1B-4C2D-9E8F-7A6B5C4D3E2F", "PayloadUUID is derived")
        # same settings, other UUID in the file: same hash and UUID
        same = write(d, "same.mobileconfig", profile_text(uuid="11111111-2222-4333-8444-555555555555"))
        out = d.ctl("profile", "add", same, "--name", "wifi-copy", expect=1)
        check("PayloadIdentifier" in out.stderr and "409" in out.stderr,
              "one identifier, one profile: %r" % out.stderr)
        out = d.ctl("profile", "add", path, expect=1)
        check("exists" in out.stderr, "name taken: %r" % out.stderr)
        # signed input: unwrapped, same content hash
        key = os.path.join(d.tmp, "k.pem")
        cert = os.path.join(d.tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=Someone", "-days", "2"],
                       check=True, capture_output=True)
        signed = os.path.join(d.tmp, "signed.mobileconfig")
        subprocess.run(["openssl", "cms", "-sign", "-in", same, "-signer", cert, "-inkey", key,
                        "-outform", "DER", "-out", signed, "-nodetach", "-binary"], check=True,
                       capture_output=True)
        d.ctl("profile", "remove", "wifi")
        ps = d.ctl_json("profile", "add", signed, "--name", "wifi")
        check(ps["payload_hash"] == p["payload_hash"] and ps["payload_uuid"] == p["payload_uuid"],
              "signed and unsigned: one content hash")
        # refusals, each a one-line reason
        cases = [
            (profile_text().replace("com.apple.wifi.managed", "com.example.nope"), "unknown PayloadType"),
            (profile_text().replace("{}.wifi".format("fr.college.wifi"), "fr.college.wifi"), "used twice"),
            (profile_text().replace("<key>PayloadVersion</key><integer>1</integer>", "", 1), "PayloadVersion"),
            (profile_text(ident="fr.ardoise.enroll"), "enrolment"),
            ("not a plist", "XML plist"),
        ]
        for i, (text, why) in enumerate(cases):
            out = d.ctl("profile", "add", write(d, "bad%d.mobileconfig" % i, text), expect=1)
            check(why in out.stderr and out.stderr.count("\n") == 1, "refused (%s): %r" % (why, out.stderr))
        show = d.ctl_json("profile", "show", "wifi")
        check(show["scopes"] == [] and show["payloads"][0]["type"] == "com.apple.wifi.managed", "show: %r" % show)
        human = d.ctl("profile", "list").stdout
        check("wifi" in human and "fr.college.wifi" in human, "human list: %r" % human)


def test_baseline_and_school_app_reach_the_right_tablets():
    with Daemon() as d:
        add_devices(d, [("SA1", UAI_A), ("SA2", UAI_A), ("SB1", UAI_B), ("SX1", None)])
        r = reconcile(d)
        check(r["devices"] == 4 and r["queued"] == 20, "5 baseline profiles x 4 tablets: %r" % r)
        for s in ("SA1", "SB1", "SX1"):
            check(pending_types(d, s) == ["InstallProfile"] * 5, "%s: %r" % (s, pending_types(d, s)))
        d.ctl("app", "add", "--bundle-id", "fr.pronote.app", "--store-id", "123456", "--name", "Pronote")
        a = d.ctl_json("policy", "assign", "app:fr.pronote.app", "--scope", "school:" + UAI_A.lower())
        check(a["scope"] == "school:" + UAI_A and a["reconcile"]["devices"] == 2
              and a["reconcile"]["queued"] == 2, "only collège A's tablets: %r" % a)
        check("InstallApplication" in pending_types(d, "SA1") and
              "InstallApplication" not in pending_types(d, "SB1"), "app only in A")
        # nothing queued twice
        r = reconcile(d)
        check(r["queued"] == 0 and r["canceled"] == 0, "no duplicates: %r" % r)
        # the command is built for the App Store id, removed with the MDM profile
        uuid = [c["uuid"] for c in commands(d, "SA1") if c["type"] == "InstallApplication"][0]
        payload = d.ctl_json("command", "show", uuid, "--plist")["payload"]
        check("<integer>123456</integer>" in payload and "ManagementFlags" in payload, payload)
        out = subprocess.run([os.path.join(SHARED, "tools", "mdm-schema-check"),
                              write(d, "cmd.plist", payload)], capture_output=True, text=True)
        check(out.returncode == 0, "InstallApplication passes the schema: " + out.stdout + out.stderr)
        st = d.ctl_json("policy", "status")
        check(st["devices"] == 4 and st["pending"] == 4 and st["converged"] == 0, "status: %r" % st)
        # acknowledged and listed: converged, and a reconciliation writes nothing
        for s in ("SA1", "SA2", "SB1", "SX1"):
            acknowledge_all(d, s)
        app_list(d, "SA1", ["fr.pronote.app"])
        app_list(d, "SA2", ["fr.pronote.app"])
        r = reconcile(d)
        check(r["queued"] == 0 and r["converged"] == 4, "converged: %r" % r)
        st = d.ctl_json("policy", "status", "--school", UAI_A)
        check(st["devices"] == 2 and st["converged"] == 2, "status A: %r" % st)
        show = d.ctl_json("policy", "show", "--device", "SA1")
        items = {i["name"]: i for i in show["items"]}
        check(items["fr.pronote.app"]["scopes"] == ["school:" + UAI_A] and
              items["passcode"]["scopes"] == ["fleet"] and
              all(i["state"] == "installed" for i in show["items"]), "effective policy: %r" % show)


def test_profiles_sent_are_signed_and_stable():
    with Daemon() as d:
        add_devices(d, [("P1", UAI_A), ("P2", UAI_B)])
        reconcile(d)
        p = d.ctl_json("profile", "show", "passcode")
        refs = d.sqlite("SELECT DISTINCT c.blob_ref FROM command c WHERE c.type='InstallProfile'"
                        " AND c.dedupe='fr.ardoise.baseline.passcode'").stdout.split()
        check(len(refs) == 1 and len(refs[0]) == 64,
              "every tablet gets the same stored bytes: %r" % refs)
        der = os.path.join(d.tmp, "sent.der")
        out = d.sqlite("SELECT writefile('%s', data) FROM blob WHERE hash='%s'" % (der, refs[0]))
        check(out.returncode == 0 and os.path.getsize(der) > 0, out.stderr)
        inner = os.path.join(d.tmp, "sent.mobileconfig")
        out = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", der, "-CAfile", d.ca,
                              "-purpose", "any", "-out", inner], capture_output=True, text=True)
        check(out.returncode == 0, "signed by the server, chains to its CA: " + out.stderr)
        text = open(inner).read()
        check("<string>%s</string>" % p["payload_uuid"] in text, "the PayloadUUID sent is the derived one")
        out = subprocess.run([os.path.join(SHARED, "tools", "mdm-schema-check"), "--werror", inner],
                             capture_output=True, text=True)
        check(out.returncode == 0, "what tablets get passes the schema: " + out.stdout)
        # a re-send (the tablet lost it) carries the very same bytes
        d.sqlite("UPDATE command SET status='acknowledged' WHERE type='InstallProfile'")
        d.sqlite("DELETE FROM device_profile")
        r = reconcile(d)
        check(r["queued"] == 10, "sent again: %r" % r)
        again = d.sqlite("SELECT DISTINCT blob_ref FROM command WHERE status='queued'"
                         " AND dedupe='fr.ardoise.baseline.passcode'").stdout.split()
        check(again == refs, "same blob: %r %r" % (again, refs))
        # the query form of DELETE works too
        status, _, body = d.request("DELETE", "/api/v1/policy/assignments?item=profile:passcode&scope=fleet")
        check(status == 200 and b"profile:passcode" in body, "unassign by query: %d %r" % (status, body))


def test_profile_edit_reinstalls_only_that_profile():
    with Daemon() as d:
        add_devices(d, [("E1", UAI_A), ("E2", UAI_B)])
        path = write(d, "wifi.mobileconfig", profile_text())
        d.ctl("profile", "add", path)
        d.ctl("policy", "assign", "profile:wifi", "--scope", "fleet")
        for s in ("E1", "E2"):
            acknowledge_all(d, s)
        check(reconcile(d)["queued"] == 0, "converged before the edit")
        old = d.ctl_json("profile", "show", "wifi")
        edited = write(d, "wifi2.mobileconfig", profile_text(ssid="COLLEGE-5G"))
        up = d.ctl_json("profile", "update", "wifi", edited)
        check(up["changed"] and up["payload_uuid"] != old["payload_uuid"]
              and up["reconcile"]["queued"] == 2, "update: %r" % up)
        for s in ("E1", "E2"):
            cmds = commands(d, s)
            check([c["type"] for c in cmds] == ["InstallProfile"], "%s: only that profile: %r" % (s, cmds))
        # the same content again: nothing changes
        again = d.ctl_json("profile", "update", "wifi", edited)
        check(not again["changed"] and again["reconcile"] is None, "no-op update: %r" % again)
        # edited again before the tablets answered: the stale install is canceled
        third = write(d, "wifi3.mobileconfig", profile_text(ssid="COLLEGE-6E"))
        up = d.ctl_json("profile", "update", "wifi", third)
        check(up["reconcile"]["canceled"] == 2 and up["reconcile"]["queued"] == 2, "superseded: %r" % up)
        canceled = [c for c in d.ctl_json("command", "list", "E1") if c["status"] == "canceled"]
        check(len(canceled) == 1 and "superseded" in canceled[0]["error"], "canceled: %r" % canceled)


def test_unassign_removes_only_what_ardoise_installed():
    with Daemon(init_args=["--no-baseline"]) as d:
        add_devices(d, [("U1", UAI_A), ("U2", UAI_A)])
        d.ctl("app", "add", "--bundle-id", "org.geogebra", "--store-id", "1", "--name", "GeoGebra")
        d.ctl("policy", "assign", "org.geogebra", "--scope", "school:" + UAI_A)
        acknowledge_all(d, "U1")      # U1 got it from Ardoise
        app_list(d, "U1", ["org.geogebra"])
        d.sqlite("UPDATE command SET status='canceled' WHERE type='InstallApplication'"
                 " AND device_id=(SELECT id FROM device WHERE serial='U2')")
        app_list(d, "U2", ["org.geogebra"])  # U2 had it already
        r = d.ctl_json("policy", "unassign", "app:org.geogebra", "--scope", "school:" + UAI_A)
        check(r["reconcile"]["queued"] == 1, "one removal: %r" % r)
        check(pending_types(d, "U1") == ["RemoveApplication"], "U1: %r" % pending_types(d, "U1"))
        check(pending_types(d, "U2") == [], "not installed by Ardoise: left alone")
        out = d.ctl("policy", "unassign", "app:org.geogebra", "--scope", "school:" + UAI_A, expect=1)
        check("not assigned" in out.stderr, out.stderr)
        # removing a profile from the catalogue removes it from the tablets
        d.ctl("profile", "add", write(d, "wifi.mobileconfig", profile_text()))
        d.ctl("policy", "assign", "profile:wifi", "--scope", "device:U2")
        acknowledge_all(d, "U2")
        r = d.ctl_json("profile", "remove", "wifi")
        check(r["unassigned"] == 1 and r["reconcile"]["queued"] == 1, "profile removal: %r" % r)
        rp = [c for c in commands(d, "U2") if c["type"] == "RemoveProfile"]
        check(len(rp) == 1, "RemoveProfile queued for U2")
        payload = d.ctl_json("command", "show", rp[0]["uuid"], "--plist")["payload"]
        check("fr.college.wifi" in payload, payload)


def test_move_and_removed_app():
    with Daemon(init_args=["--no-baseline"]) as d:
        add_devices(d, [("M1", UAI_A)])
        for b, u in (("org.a.only", UAI_A), ("org.b.only", UAI_B)):
            d.ctl("app", "add", "--bundle-id", b, "--name", b)
            d.ctl("policy", "assign", b, "--scope", "school:" + u)
        acknowledge_all(d, "M1")
        app_list(d, "M1", ["org.a.only"])
        check(reconcile(d)["queued"] == 0, "converged in A")
        # SQL: a move behind the daemon's back (`device move` reconciles at once)
        d.sqlite("UPDATE device SET school='%s' WHERE serial='M1'" % UAI_B)
        r = reconcile(d, "--school", UAI_B)
        check(r["queued"] == 2, "moved to B: %r" % r)
        check(pending_types(d, "M1") == ["InstallApplication", "RemoveApplication"], pending_types(d, "M1"))
        acknowledge_all(d, "M1")
        acked = now()
        app_list(d, "M1", ["org.b.only"])
        check(reconcile(d)["queued"] == 0, "converged in B")
        # the pupil deleted the app; a fresh list (a later second than the
        # acknowledgement's) shows it gone
        wait_until(lambda: now() > acked, 3, "the clock to pass the acknowledgement's second")
        app_list(d, "M1", [])
        r = reconcile(d)
        check(r["queued"] == 1 and pending_types(d, "M1") == ["InstallApplication"], "back: %r" % r)


def test_groups_from_loans():
    with Daemon(init_args=["--no-baseline"]) as d:
        ids = add_devices(d, [("G1", UAI_A), ("G2", UAI_A), ("G3", UAI_A)])
        # SQL: loans on these bare tablet rows (never enrolled, no iOS version)
        out = d.sqlite(
            "INSERT INTO person(id,ext_id,kind,name,class,school,created_at,updated_at) VALUES"
            " (1,'e1','pupil','Léa','5B','%s',0,0),(2,'e2','teacher','M. Prof','','%s',0,0);"
            "INSERT INTO loan(device_id,person_id,school,started_at,created_by) VALUES (%d,1,'%s',0,'ati'),"
            " (%d,2,'%s',0,'ati');" % (UAI_A, UAI_A, ids["G1"], UAI_A, ids["G2"], UAI_A))
        check(out.returncode == 0, out.stderr)
        d.ctl("app", "add", "--bundle-id", "org.class5b", "--name", "5B")
        d.ctl("app", "add", "--bundle-id", "org.teach", "--name", "Teachers")
        r5 = d.ctl_json("policy", "assign", "org.class5b", "--scope", "group:%s/5b" % UAI_A)
        rt = d.ctl_json("policy", "assign", "org.teach", "--scope", "group:%s/teachers" % UAI_A)
        check(r5["scope"] == "group:%s/5b" % UAI_A or r5["scope"] == "group:%s/5B" % UAI_A, r5)
        check(pending_types(d, "G1") == ["InstallApplication"] and pending_types(d, "G2") == ["InstallApplication"]
              and pending_types(d, "G3") == [], "groups: %r %r %r" % (pending_types(d, "G1"),
                                                                       pending_types(d, "G2"), pending_types(d, "G3")))
        show = d.ctl_json("policy", "show", "--device", "G1")
        check(sorted(show["groups"]) == ["5B", "pupils"], "groups shown: %r" % show)


def test_authorisation():
    with Daemon() as d:
        add_devices(d, [("Z1", UAI_A), ("Z2", UAI_B)])
        ati = account(d, "ati-a", "ati", UAI_A)
        ref = account(d, "ref-a", "referent", UAI_A)
        path = write(d, "wifi.mobileconfig", profile_text())
        out = d.ctl("profile", "add", path, token=ati, expect=1)
        check("403" in out.stderr, "ATIs do not write profiles: " + out.stderr)
        d.ctl("profile", "add", path)
        d.ctl("app", "add", "--bundle-id", "org.ati.app", "--name", "ATI app", token=ati)
        d.ctl("policy", "assign", "org.ati.app", "--scope", "school:" + UAI_A, token=ati)
        d.ctl("policy", "assign", "profile:wifi", "--scope", "device:Z1", token=ati)
        for scope in ("school:" + UAI_B, "fleet", "group:%s/pupils" % UAI_B, "device:Z2"):
            out = d.ctl("policy", "assign", "org.ati.app", "--scope", scope, token=ati, expect=1)
            status = "404" if scope.startswith("device:") else "403"  # another's tablet: as unknown
            check(status in out.stderr, "%s refused to the ATI of A: %s" % (scope, out.stderr))
        out = d.ctl("policy", "unassign", "profile:passcode", "--scope", "fleet", token=ati, expect=1)
        check("403" in out.stderr, "baseline items stay: " + out.stderr)
        out = d.ctl("policy", "assign", "org.ati.app", "--scope", "school:" + UAI_A, token=ref, expect=1)
        check("403" in out.stderr, "référents read only")
        check(len(d.ctl_json("profile", "list", token=ref)) == 6, "catalogue readable")
        d.ctl_json("policy", "status", "--school", UAI_A, token=ref)
        out = d.ctl("policy", "status", token=ati, expect=1)
        check("403" in out.stderr, "fleet status: technicians")
        out = d.ctl("policy", "show", "--device", "Z2", token=ati, expect=1)
        check("404" in out.stderr, "another collège's tablet, as an unknown one: " + out.stderr)
        out = d.ctl("profile", "remove", "passcode", token=ati, expect=1)
        check("403" in out.stderr, "baseline stays")
        actions = d.sqlite("SELECT actor, action, target FROM audit WHERE action LIKE 'policy.%' ORDER BY id").stdout
        check("ati-a|policy.assign|school:%s" % UAI_A in actions and "admin|policy.profile.add|wifi" in actions
              and "ati-a|policy.app.add|org.ati.app" in actions, "audited: %r" % actions)


def test_failing_and_report():
    with Daemon(init_args=["--no-baseline"]) as d:
        add_devices(d, [("F1", UAI_A), ("F2", UAI_A)])
        d.ctl("app", "add", "--bundle-id", "org.ok", "--name", "OK")
        d.ctl("policy", "assign", "org.ok", "--scope", "school:" + UAI_A)
        d.sqlite("UPDATE command SET status='error', done_at=%d,"
                 " error='MDMErrorDomain 12028: app not found' WHERE device_id=(SELECT id FROM device"
                 " WHERE serial='F1')" % now())
        st = d.ctl_json("policy", "status", "--school", UAI_A)
        check(st["failing"] == 1 and st["pending"] == 1 and st["failures"][0]["serial"] == "F1"
              and "12028" in st["failures"][0]["error"], "status: %r" % st)
        human = d.ctl("policy", "status", "--school", UAI_A).stdout
        check("1 failing" in human and "12028" in human, human)
        show = d.ctl_json("policy", "show", "--device", "F1")
        check(show["items"][0]["state"] == "failed", "show: %r" % show)
        app_list(d, "F1", ["org.ok", "com.games.candy", "com.social.chat"])
        app_list(d, "F2", ["com.games.candy"])
        rep = d.ctl_json("report", "apps", "--school", UAI_A)
        apps = {a["identifier"]: a for a in rep["unapproved"]}
        check(set(apps) == {"com.games.candy", "com.social.chat"} and apps["com.games.candy"]["devices"] == 2
              and rep["unapproved"][0]["identifier"] == "com.games.candy", "report: %r" % rep)
        human = d.ctl("report", "apps", "--school", UAI_A).stdout
        check("com.games.candy" in human and "F1" in human, human)


def test_large_run_commits_in_parts():
    # more tablets than one part of a run (10,000): every tablet gets its
    # commands exactly once across the parts, and the next run finds
    # nothing to do
    n = 10050
    with Daemon(init_args=["--no-baseline"]) as d:
        out = d.sqlite("INSERT INTO school(uai,name,created_at) VALUES ('%s','A',0);"
                       "INSERT INTO device(serial,udid,school,enrollment,created_at,updated_at)"
                       " WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d)"
                       " SELECT printf('PART%%05d', i), printf('UDID-PART%%05d', i), '%s', 'enrolled', 0, 0"
                       " FROM k;"
                       "INSERT INTO device_lists(device_id,profiles_at,apps_at) SELECT id,%d,%d FROM device;"
                       % (UAI_A, n, UAI_A, now(), now()))
        check(out.returncode == 0, "sqlite: " + out.stderr)
        d.ctl("app", "add", "--bundle-id", "fr.pronote.app", "--store-id", "123456", "--name", "Pronote")
        a = d.ctl_json("policy", "assign", "app:fr.pronote.app", "--scope", "fleet")
        check(a["reconcile"]["devices"] == n and a["reconcile"]["queued"] == n, "one each: %r" % a)
        rows = d.sqlite("SELECT count(*), count(DISTINCT device_id) FROM command"
                        " WHERE type = 'InstallApplication' AND status = 'queued'").stdout.strip()
        check(rows == "%d|%d" % (n, n), "queued rows: %s" % rows)
        r = reconcile(d)
        check(r["devices"] == n and r["queued"] == 0 and r["canceled"] == 0, "converged: %r" % r)


if __name__ == "__main__":
    run([test_init_loads_the_baseline, test_large_run_commits_in_parts,
         test_profile_catalogue_and_validation,
         test_baseline_and_school_app_reach_the_right_tablets, test_profiles_sent_are_signed_and_stable,
         test_profile_edit_reinstalls_only_that_profile,
         test_unassign_removes_only_what_ardoise_installed, test_move_and_removed_app,
         test_groups_from_loans, test_authorisation, test_failing_and_report])
