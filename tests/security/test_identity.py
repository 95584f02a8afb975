"""test_identity.py - one certificate, one tablet (issue 11, Medium and Low).

Against a real ardoised, with tablets simulated by ardoise-sim (enrolled
through SCEP, each with its own certificate) and hand-built check-in
messages sent over TLS with a tablet's own certificate, as someone holding
one tablet's identity would try them:

- a certificate bound to one tablet presents a second UDID, claims a
  pre-imported tablet's serial, or squats an erased tablet's UDID: refused,
  nothing created, and the genuine tablet enrols again;
- a tablet wiped outside Ardoise (no CheckOut) enrols again with a new code
  and a new certificate from Ardoise's SCEP: accepted, audited, the old
  certificate refused from then on;
- `device release` (technicians only) ends a binding;
- a user-channel TokenUpdate or session never touches the device record;
- a self-signed certificate's 2 MiB body is refused before it is parsed.
"""
import os
import plistlib
import sqlite3
import ssl
import subprocess

from harness import Daemon, Sim, check, read_response, run, token_of, write

UAI = "0131266F"
CHECKIN = {"Content-Type": "application/x-apple-aspen-mdm-checkin"}


def enrol(d, n):
    """n simulated tablets enrolled with one code and drained."""
    sim = Sim(d)
    code = d.ctl_json("enroll-code", "new", "--uses", str(n))["code"]
    sim.run("enroll", "-n", str(n), "--code", code, "--key-pool", "2")
    sim.run("connect")
    return sim


def identity(d, sim, udid, name):
    """The tablet's certificate and key from the simulator's state, as PEM
    files (what someone who extracted them would hold)."""
    db = sqlite3.connect(sim.state)
    try:
        der, pem, topic = db.execute(
            "SELECT d.cert, k.pem, d.topic FROM device d JOIN key_pool k"
            " ON k.kind = d.key_kind AND k.slot = d.key_slot WHERE d.udid = ?", (udid,)).fetchone()
    finally:
        db.close()
    cert = write(d, name + ".pem", ssl.DER_cert_to_PEM_cert(der))
    key = write(d, name + ".key", pem)
    return cert, key, topic


def send(d, ident, message, path="/mdm/checkin"):
    """PUT a hand-built plist (dict, or bytes as is) with the identity's
    certificate; (status, body)."""
    body = message if isinstance(message, bytes) else plistlib.dumps(message)
    conn = d.connect(cert=ident[0], key=ident[1])
    try:
        status, _, answer = d.request("PUT", path, body=body, token=None, conn=conn,
                                      headers=CHECKIN)
    finally:
        conn.close()
    return status, answer


def authenticate(udid, serial, topic):
    return {"MessageType": "Authenticate", "UDID": udid, "SerialNumber": serial, "Topic": topic,
            "OSVersion": "17.5", "BuildVersion": "21F79", "ProductName": "iPad13,18"}


def token_update(udid, topic, token=b"\x01" * 32, magic="MAGIC-ROGUE", **extra):
    m = {"MessageType": "TokenUpdate", "UDID": udid, "Topic": topic, "Token": token,
         "PushMagic": magic}
    m.update(extra)
    return m


def idle(udid, **extra):
    m = {"Status": "Idle", "UDID": udid}
    m.update(extra)
    return m


def count(d, sql):
    out = d.sqlite(sql)
    check(out.returncode == 0, "sqlite3: %s" % out.stderr)
    return out.stdout.strip()


def refused_log(d, why):
    d.wait_log(r"event=device_refused .*status=403 .*%s" % why, timeout=30)


def wipe_outside(sim, udid):
    """Settings > Reset or a DFU restore: the tablet forgets its enrolment
    and identity; Ardoise is not told (no CheckOut)."""
    db = sqlite3.connect(sim.state)
    try:
        db.execute("UPDATE device SET erased = 1, enrolled = 0, passcode_present = 0"
                   " WHERE udid = ?", (udid,))
        db.execute("DELETE FROM profile WHERE device_id = (SELECT id FROM device WHERE udid = ?)",
                   (udid,))
        db.commit()
    finally:
        db.close()


def audit_actions(d):
    return [(a["action"], a["target"]) for a in d.ctl_json("audit", "list")]


def test_one_certificate_refuses_a_second_udid():
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = enrol(d, 1)
        a = sim.devices()[0]
        ident = identity(d, sim, a["udid"], "a")
        devices = count(d, "SELECT count(*) FROM device")
        rogue = "00008030-0000000000000ROGUE"
        status, body = send(d, ident, authenticate(rogue, "DMPROGUE0001", ident[2]))
        check(status == 403, "a bound certificate cannot authenticate a second UDID: %d %r"
              % (status, body[:200]))
        check(b"bound to another tablet" in body, "the refusal says why: %r" % body[:300])
        refused_log(d, "bound to another tablet")
        status, _ = send(d, ident, token_update(rogue, ident[2]))
        check(status == 403, "nor send its TokenUpdate: %d" % status)
        status, _ = send(d, ident, idle(rogue), path="/mdm/connect")
        check(status == 403, "nor open a command session for it: %d" % status)
        check(count(d, "SELECT count(*) FROM device") == devices,
              "no device record was created for the second UDID")
        check(count(d, "SELECT count(*) FROM device WHERE udid = '%s'" % rogue) == "0",
              "the second UDID is unknown")
        check(sim.run("connect", "--json").returncode == 0, "the genuine tablet still works")


def test_bound_certificate_cannot_adopt_an_imported_serial():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
        d.ctl("device", "import", write(d, "devices.csv", "serial,model,uai,asset_tag\n"
                                        "DMPIMPORT001,iPad 9,%s,T-001\n" % UAI))
        sim = enrol(d, 1)
        ident = identity(d, sim, sim.devices()[0]["udid"], "a")
        status, body = send(d, ident, authenticate("00008030-000000000000ADOPT", "DMPIMPORT001",
                                                   ident[2]))
        check(status == 403, "a bound certificate cannot adopt a pre-imported serial: %d %r"
              % (status, body[:200]))
        status, _ = send(d, ident, token_update("00008030-000000000000ADOPT", ident[2]))
        check(status == 403, "nor complete the enrolment: %d" % status)
        imported = d.ctl_json("device", "show", "DMPIMPORT001")
        check(imported["udid"] is None and imported["enrollment"] == "none",
              "the imported tablet is untouched: %r" % imported)
        check(count(d, "SELECT count(*) FROM command c JOIN device v ON v.id = c.device_id"
                       " WHERE v.serial = 'DMPIMPORT001'") == "0",
              "nothing queued for the imported tablet (its collège's profiles stay home)")


def erase_by_return(d, sim, serial):
    """A loan's return: EraseDevice, acknowledged by the tablet, which wipes."""
    d.ctl("device", "move", serial, "--school", UAI)
    d.ctl("person", "import", write(d, "people.csv", "external_id;kind;name;class;uai;agreement\n"
                                    "E-1;pupil;Léa Dupont;5B;%s;2024-09-02\n" % UAI))
    d.ctl("loan", "create", "--device", serial, "--person", "E-1")
    d.ctl("loan", "return", serial, "--condition", "ok")
    sim.run("connect")
    check(sim.device(serial)["state"] == "erased", "the tablet wiped itself")
    check(d.ctl_json("device", "show", serial)["enrollment"] == "unenrolled", "unenrolled")


def test_erased_tablet_cannot_be_squatted():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
        sim = enrol(d, 2)
        victim, other = sim.devices()
        erase_by_return(d, sim, victim["serial"])
        ident = identity(d, sim, other["udid"], "other")
        status, body = send(d, ident, authenticate(victim["udid"], victim["serial"], ident[2]))
        check(status == 403, "another tablet's certificate cannot take the erased UDID: %d %r"
              % (status, body[:200]))
        status, _ = send(d, ident, token_update(victim["udid"], ident[2]))
        check(status == 403, "nor its push token: %d" % status)
        refused_log(d, "bound to another tablet")
        check(count(d, "SELECT enrollment FROM device WHERE udid = '%s'" % victim["udid"])
              == "unenrolled", "the erased tablet's record is untouched")
        code = d.ctl_json("enroll-code", "new", "--uses", "1")["code"]
        sim.run("enroll", "-n", "1", "--code", code, "--key-pool", "2")
        check(sim.device(victim["serial"])["state"] == "enrolled",
              "the genuine tablet enrols again")
        check(d.ctl_json("device", "show", victim["serial"])["enrollment"] == "enrolled",
              "the daemon has it enrolled")
        check(sim.run("connect", "--json").returncode == 0, "both tablets work")


def test_wiped_outside_ardoise_reenrols():
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = enrol(d, 1)
        dev = sim.devices()[0]
        old = identity(d, sim, dev["udid"], "old")
        wipe_outside(sim, dev["udid"])
        code = d.ctl_json("enroll-code", "new", "--uses", "1")["code"]
        sim.run("enroll", "-n", "1", "--code", code, "--key-pool", "2")
        check(sim.device(dev["serial"])["state"] == "enrolled",
              "a tablet wiped without CheckOut enrols again with a new SCEP certificate")
        shown = d.ctl_json("device", "show", dev["serial"])
        check(shown["enrollment"] == "enrolled" and shown["udid"] == dev["udid"],
              "same record, enrolled again: %r" % shown)
        check(("device.rebind", dev["serial"]) in audit_actions(d),
              "the re-binding is audited: %r" % audit_actions(d)[-5:])
        d.wait_log(r"event=device_rebound ")
        status, _ = send(d, old, idle(dev["udid"]), path="/mdm/connect")
        check(status == 403, "the old certificate is refused from then on: %d" % status)
        status, _ = send(d, old, authenticate(dev["udid"], dev["serial"], old[2]))
        check(status == 403, "even to authenticate again: %d" % status)
        res = sim.run("connect", "--json")
        check('"errors":0' in res.stdout.replace(" ", ""), "the new identity works: %s"
              % res.stdout)
        d.ctl("audit", "verify")


def test_release_by_technician_only():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
        sim = enrol(d, 1)
        dev = sim.devices()[0]
        serial = dev["serial"]
        d.ctl("device", "move", serial, "--school", UAI)
        ati = token_of(d.ctl("account", "create", "--name", "ati1", "--role", "ati",
                             "--school", UAI))
        out = d.ctl("device", "release", serial, "--reason", "tablette réinitialisée", token=ati,
                    expect=1)
        check("not allowed" in out.stderr or "forbidden" in out.stderr.lower(),
              "an ATI is refused: %r" % out.stderr)
        check(d.ctl_json("device", "show", serial)["enrollment"] == "enrolled", "nothing changed")
        d.ctl("device", "release", serial, expect=2)  # the reason is required
        old = identity(d, sim, dev["udid"], "old")
        shown = d.ctl_json("device", "release", serial, "--reason", "restaurée en DFU")
        check(shown["enrollment"] == "unenrolled", "released: %r" % shown)
        rows = [a for a in d.ctl_json("audit", "list") if a["action"] == "device.release"]
        check(len(rows) == 1 and rows[0]["target"] == serial
              and rows[0]["reason"] == "restaurée en DFU", "audited with its reason: %r" % rows)
        again = d.ctl("device", "release", serial, "--reason", "encore", expect=1)
        check("no certificate bound" in again.stderr, "released once: %r" % again.stderr)
        status, _ = send(d, old, idle(dev["udid"]), path="/mdm/connect")
        check(status == 403, "the released certificate is refused: %d" % status)
        wipe_outside(sim, dev["udid"])
        code = d.ctl_json("enroll-code", "new", "--uses", "1")["code"]
        sim.run("enroll", "-n", "1", "--code", code, "--key-pool", "2")
        check(d.ctl_json("device", "show", serial)["enrollment"] == "enrolled",
              "the next enrolment binds afresh")
        d.ctl("audit", "verify")


def push_record(d, udid):
    return count(d, "SELECT hex(push_token) || '|' || push_magic FROM device WHERE udid = '%s'"
                 % udid)


def test_user_channel_never_touches_the_device():
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = enrol(d, 1)
        dev = sim.devices()[0]
        ident = identity(d, sim, dev["udid"], "a")
        before = push_record(d, dev["udid"])
        status, body = send(d, ident, token_update(dev["udid"], ident[2], token=b"\x02" * 32,
                                                   magic="USER-MAGIC", UserID="1234-USER",
                                                   UserShortName="eleve@college.fr"))
        check(status == 410, "a user-channel TokenUpdate is answered 410 (no user channel): %d %r"
              % (status, body[:200]))
        check(push_record(d, dev["udid"]) == before,
              "the device's push token and magic are unchanged: %s -> %s"
              % (before, push_record(d, dev["udid"])))
        d.wait_log(r"event=user_channel_refused ")
        queued = d.ctl_json("command", "send", dev["serial"], "DeviceInformation")
        status, body = send(d, ident, idle(dev["udid"], UserID="1234-USER"), path="/mdm/connect")
        check(status == 410 and b"DeviceInformation" not in body,
              "a user-channel session gets no device command: %d %r" % (status, body[:200]))
        check(d.ctl_json("command", "show", queued["uuid"])["status"] == "queued",
              "the device's command waits for the device channel")
        status, _ = send(d, ident, idle(dev["udid"]), path="/mdm/connect")
        check(status == 200, "the device channel works: %d" % status)


def test_untrusted_certificate_refused_before_parsing():
    with Daemon(init_args=["--no-baseline"]) as d:
        tmp = d.tmp
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=self", "-days", "2",
                        "-keyout", "self.key", "-out", "self.pem"], cwd=tmp, check=True,
                       capture_output=True, timeout=60)
        ident = (os.path.join(tmp, "self.pem"), os.path.join(tmp, "self.key"), "")
        head = b'<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>' \
               b"<key>Status</key><string>Idle</string><key>UDID</key><string>"
        # 2 MiB that a parser would have to read to the end to refuse: an
        # untrusted certificate may not even send it (413 from the head)
        sock = d.raw_tls(ident[0], ident[1])
        try:
            sock.sendall(b"PUT /mdm/connect HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/x-apple-aspen-mdm\r\nContent-Length: 2097152\r\n\r\n"
                         + head)
            status, _, answer = read_response(sock.makefile("rb"))
        finally:
            sock.close()
        check(status in (403, 413), "a self-signed certificate's 2 MiB is refused unread: "
              "%d %r" % (status, answer[:200]))
        # what it may send (under 64 KiB) is refused on trust before parsing
        body = head + b"A" * (60 * 1024)
        status, answer = send(d, ident, body, path="/mdm/connect")
        check(status == 403, "a self-signed certificate is refused (403), not parsed: %d %r"
              % (status, answer[:200]))
        refused_log(d, "not issued by a trusted device CA")
        check("event=bad_device_message" not in d.log(),
              "the body was never parsed: %s" % [l for l in d.log().splitlines()
                                                 if "bad_device_message" in l][:1])
        d.check_serving("a refused 2 MiB body")


if __name__ == "__main__":
    run([test_one_certificate_refuses_a_second_udid,
         test_bound_certificate_cannot_adopt_an_imported_serial,
         test_erased_tablet_cannot_be_squatted,
         test_wiped_outside_ardoise_reenrols,
         test_release_by_technician_only,
         test_user_channel_never_touches_the_device,
         test_untrusted_certificate_refused_before_parsing])
