"""Secrets in clear (issue 11, High) and sealed blobs (Low), against a real
ardoised with simulated iPads.

One fleet is built once and its story told in order: two tablets enrolled
(their Activation Lock bypass codes escrowed), a lock code cleared with the
UnlockToken, a geolocation procedure (Lost Mode, a location fix), a loan
returned with an erase that carries a Return-to-Service enrolment profile.
Then:
  (a) the whole SQLite file (dump, raw bytes of the .db and -wal) holds none
      of those secrets: UnlockToken (raw and base64), bypass codes,
      coordinates, the RTS enrolment code (also as it sits base64-encoded
      inside the profile);
  (b) no answer of any command or device route to a référent, an auditor or
      an ATI holds them; ?plist=1 is for technicians, with secrets masked;
  (c) the RTS code enrols no other tablet, while the erased tablet comes
      back with it;
  (d) after the geolocation register's retention purge no location remains,
      DeviceLocation results included;
  (e) sealed blobs swapped in the database are refused (ClearPasscode,
      bypass code reveal, queued commands) instead of being used as each
      other.
"""
import base64
import json
import os
import plistlib
import re
import sqlite3
import ssl
import subprocess

from fleet_common import A as UAI, B as OTHER
from harness import Daemon, Sim, check, run, token_of, write

CONFIG = "[geolocation]\napproval = two-person\nexpiry_hours = 1\nretention_days = 1\n"
S = {}  # the fleet, built by the first test and told in order


# -- the story ---------------------------------------------------------------

def build():
    d = Daemon(config=CONFIG, init_args=["--no-baseline"])
    d.__enter__()
    S["d"] = d
    d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
    d.ctl("school", "add", OTHER, "--name", "Clg Elie Coutarel")
    code = d.ctl_json("enroll-code", "new", "--uses", "2")["code"]
    sim = Sim(d)
    sim.run("enroll", "-n", "2", "--code", code, "--key-pool", "2")
    sim.run("connect")  # the initial inventory: bypass codes escrowed
    lost, lent = [x["serial"] for x in sim.devices()]
    for s in (lost, lent):
        d.ctl("device", "move", s, "--school", UAI)
    S.update(sim=sim, lost=lost, lent=lent, staff={
        "tech2": token_of(d.ctl("account", "create", "--name", "tech2", "--role", "technician")),
        "ati": token_of(d.ctl("account", "create", "--name", "ati1", "--role", "ati", "--school", UAI)),
        "referent": token_of(d.ctl("account", "create", "--name", "ref1", "--role", "referent",
                                   "--school", UAI)),
        "auditor": token_of(d.ctl("account", "create", "--name", "cnil", "--role", "auditor")),
    })
    # tech2 stands for a colleague whose token nobody else issued (the
    # two-person rule refuses a token the requester made: test_procedures)
    d.sqlite("UPDATE account SET token_by = '', token_at = 0 WHERE name = 'tech2'")
    S["unlock_token"] = sim_unlock_token(sim, lost)
    S["bypass"] = [d.api("GET", "/api/v1/devices/%s/activation-lock?reveal=1" % s)["bypass_code"]
                   for s in (lost, lent)]
    check(all(S["bypass"]), "both bypass codes escrowed: %r" % S["bypass"])
    # a lock code cleared with the UnlockToken
    d.ctl("device", "clear-passcode", lost, "--reason", "code oublié", token=S["staff"]["ati"])
    sim.run("connect")
    check(not sim.device(lost)["passcode_present"], "ClearPasscode worked")
    # the geolocation procedure: Lost Mode and a fix
    inc = d.ctl_json("incident", "declare", "--device", lost, "--kind", "theft", "--occurred",
                     "2026-11-23", "--police-ref", "PV-13-2026-4242")
    req = d.ctl_json("locate", "request", lost, "--incident", str(inc["id"]), "--reason", "vol")
    d.ctl("locate", "approve", str(req["id"]), token=S["staff"]["tech2"])
    sim.run("connect")
    S["locate"] = req["id"]
    check(d.ctl_json("locate", "show", str(req["id"]))["fixes"] == 1, "one location fix")
    S["coords"] = (sim.device(lost)["latitude"], sim.device(lost)["longitude"])
    # a loan returned: EraseDevice with Return to Service
    d.ctl("person", "import", write(d, "people.csv", "external_id;kind;name;class;uai;agreement\n"
                                    "E-1;pupil;Léa Dupont;5B;%s;2024-09-02\n" % UAI))
    d.ctl("loan", "create", "--device", lent, "--person", "E-1")
    ret = d.ctl_json("loan", "return", lent, "--condition", "ok")
    check(ret["erase"]["return_to_service"] is True, "Return to Service: %r" % ret)
    S["erase"] = ret["erase"]["command"]
    S["rts_code"] = rts_code_as_delivered(d, sim, lent)
    sim.run("connect")
    check(sim.device(lent)["state"] == "erased", "the returned tablet wiped itself")
    S["uuids"] = {c["type"]: c["uuid"] for s in (lost, lent)
                  for c in d.ctl_json("command", "list", s)}


def fleet():
    if not S:
        build()
    return S


def done():
    if S.get("d"):
        S.pop("d").__exit__(None, None, None)


def sim_try(d, state, *args):
    """ardoise-sim with its own state file, not checked."""
    return Sim(d, state)(*args, expect=None)


def sim_row(sim, serial):
    db = sqlite3.connect(sim.state)
    try:
        return db.execute("SELECT d.udid, d.unlock_token, d.cert, k.pem FROM device d LEFT JOIN"
                          " key_pool k ON k.kind = d.key_kind AND k.slot = d.key_slot"
                          " WHERE d.serial = ?", (serial,)).fetchone()
    finally:
        db.close()


def sim_unlock_token(sim, serial):
    token = sim_row(sim, serial)[1]
    check(token and len(token) == 32, "the simulator's UnlockToken: %r" % token)
    return bytes(token)


def rts_code_as_delivered(d, sim, serial):
    """Asks for the next command as the tablet would (its certificate and
    key from the simulator's state file): the EraseDevice, whose
    Return-to-Service profile holds the enrolment code (the SCEP
    Challenge).  The command stays pending for the simulator."""
    udid, _, cert, key = sim_row(sim, serial)
    pem = os.path.join(d.tmp, "tablet.pem")
    with open(pem, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(bytes(cert)) + key)
    body = plistlib.dumps({"Status": "Idle", "UDID": udid})
    conn = d.connect(cert=pem)
    try:
        status, _, answer = d.request("PUT", "/mdm/connect", body=body, token=None, conn=conn,
                                      headers={"Content-Type": "application/x-apple-aspen-mdm"})
    finally:
        conn.close()
    check(status == 200 and answer, "the tablet gets its next command: %d %r" % (status, answer[:200]))
    cmd = plistlib.loads(answer)["Command"]
    check(cmd["RequestType"] == "EraseDevice", "the EraseDevice is next: %r" % cmd["RequestType"])
    profile = cmd["ReturnToService"]["MDMProfileData"]
    check(isinstance(profile, bytes), "the tablet gets the real profile, not a placeholder: %r"
          % profile[:60])
    m = re.search(rb"<key>Challenge</key>\s*<string>([^<]+)</string>", profile)
    check(m is not None, "the profile holds the SCEP challenge")
    return m.group(1).decode()


# -- what to look for ----------------------------------------------------------

def b64_forms(raw):
    """raw as it appears base64-encoded at any alignment (the middle part,
    which does not depend on the neighbouring bytes)."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw)
        out.append(enc[4 if k else 0:-4])
    return out


def coord_forms(v):
    s = "%.6f" % v
    return [s[:-1].encode()]  # 5 decimals, whatever the rounding that follows


def secrets():
    """name -> list of byte strings that must appear nowhere."""
    out = {"UnlockToken": [S["unlock_token"]] + b64_forms(S["unlock_token"])}
    for i, code in enumerate(S["bypass"]):
        out["bypass code %d" % i] = [code.encode()]
    out["latitude"] = coord_forms(S["coords"][0])
    out["longitude"] = coord_forms(S["coords"][1])
    out["RTS enrolment code"] = [S["rts_code"].encode()] + b64_forms(S["rts_code"].encode())
    return out


def found_in(data, what=None):
    """The names of the secrets found in data (whitespace removed too, for
    base64 wrapped over lines)."""
    flat = re.sub(rb"[\s]", b"", data)
    hits = []
    for name, forms in (what or secrets()).items():
        if any(f in data or f in flat for f in forms):
            hits.append(name)
    return hits


def database_bytes(d):
    dump = subprocess.run(["sqlite3", os.path.join(d.data, "ardoise.db"), ".dump"],
                          capture_output=True, timeout=60)
    check(dump.returncode == 0, "sqlite3 .dump: %r" % dump.stderr)
    # blobs are dumped as X'hex': decode them too
    blobs = b"".join(bytes.fromhex(h.decode()) for h in re.findall(rb"X'([0-9A-Fa-f]*)'", dump.stdout))
    parts = {".dump": dump.stdout + b"\n" + blobs}
    for suffix in ("", "-wal"):
        path = os.path.join(d.data, "ardoise.db" + suffix)
        if os.path.exists(path):
            with open(path, "rb") as f:
                parts["ardoise.db" + suffix] = f.read()
    return parts


# -- (a) at rest -----------------------------------------------------------------

def test_no_secret_in_the_database():
    s = fleet()
    d = s["d"]
    for name, data in database_bytes(d).items():
        hits = found_in(data)
        check(not hits, "%s holds in clear: %s" % (name, ", ".join(hits)))
    sealed = d.sqlite("SELECT count(*) FROM device WHERE unlock_token IS NOT NULL AND"
                      " bypass_code IS NOT NULL").stdout.strip()
    check(sealed in ("1", "2"), "the UnlockToken and bypass code are kept sealed: %r" % sealed)


# -- (b) in answers ----------------------------------------------------------------

def routes(s):
    lost, lent = s["lost"], s["lent"]
    out = ["/api/v1/devices", "/api/v1/devices?school=%s" % UAI, "/api/v1/audit",
           "/api/v1/locate", "/api/v1/locate/%d" % s["locate"], "/api/v1/loans",
           "/api/v1/incidents"]
    for serial in (lost, lent):
        out += ["/api/v1/devices/%s" % serial, "/api/v1/devices/%s/commands" % serial,
                "/api/v1/devices/%s/activation-lock" % serial,
                "/api/v1/devices/%s/activation-lock?reveal=1" % serial]
    for uuid in s["uuids"].values():
        out += ["/api/v1/commands/%s" % uuid, "/api/v1/commands/%s?plist=1" % uuid]
    return out


def test_no_secret_in_answers():
    s = fleet()
    d = s["d"]
    for role in ("referent", "auditor", "ati"):
        for path in routes(s):
            status, _, body = d.request("GET", path, token=s["staff"][role])
            hits = found_in(body)
            check(not hits, "%s GET %s (%d) answers %s" % (role, path, status, ", ".join(hits)))
            if "plist=1" in path:
                check(status == 403 and b"technician" in body,
                      "%s: ?plist=1 is for technicians: %d %r" % (role, status, body[:200]))
    # technicians: the plists, with the secret fields masked
    for type_, marker in (("ClearPasscode", "UnlockToken"), ("ActivationLockBypassCode", None),
                          ("DeviceLocation", None), ("EraseDevice", "MDMProfileData")):
        shown = d.api("GET", "/api/v1/commands/%s?plist=1" % s["uuids"][type_])
        text = json.dumps(shown).encode()
        hits = found_in(text)
        check(not hits, "technician, %s ?plist=1 shows %s" % (type_, ", ".join(hits)))
        check(shown["payload"] and type_ in shown["payload"], "the payload is shown: %r" % shown)
        if marker:
            check(marker in shown["payload"] and "(sealed)" in shown["payload"],
                  "%s: %s is masked: %s" % (type_, marker, shown["payload"][:600]))
    loc = d.api("GET", "/api/v1/commands/%s?plist=1" % s["uuids"]["DeviceLocation"])
    check("Latitude" in loc["result"] and "(not stored)" in loc["result"],
          "the location result says what it held, not where: %s" % loc["result"][:600])


# -- (c) the RTS code --------------------------------------------------------------

def test_rts_code_enrols_only_its_tablet():
    s = fleet()
    d, sim = s["d"], s["sim"]
    out = sim_try(d, "intruder.db", "enroll", "-n", "1", "--code", s["rts_code"],
                  "--key-pool", "1")
    check(out.returncode != 0 and "403" in out.stderr,
          "another tablet cannot enrol with the RTS code: %s %s" % (out.stdout[-300:], out.stderr[-300:]))
    sim.run("enroll", "-n", "1", "--code", s["rts_code"])
    dev = d.ctl_json("device", "show", s["lent"])
    check(dev["enrollment"] == "enrolled" and dev["school"] == UAI,
          "the erased tablet comes back with its code: %r" % dev)
    out = sim_try(d, "third.db", "enroll", "-n", "1", "--code", s["rts_code"],
                  "--key-pool", "1")
    check(out.returncode != 0, "the code is used up once its tablet enrolled")
    n = d.sqlite("SELECT count(*) FROM device").stdout.strip()
    check(n == "2", "no other tablet was enrolled: %s devices" % n)


# -- (d) location retention ----------------------------------------------------------

def test_location_results_purged_with_the_register():
    s = fleet()
    d = s["d"]
    d.ctl("locate", "close", str(s["locate"]), "--not-found")
    d.stop()
    os.environ["ARDOISE_CLOCK_OFFSET"] = str(3 * 86400)  # past retention_days = 1
    try:
        d.start()
        d.api("POST", "/api/v1/jobs/locate_purge/run")
        shown = d.ctl_json("locate", "show", str(s["locate"]))
        check(shown["locations"] == [] and shown["purged_at"], "the register is purged: %r" % shown)
        where = {"latitude": coord_forms(s["coords"][0]), "longitude": coord_forms(s["coords"][1])}
        for name, data in database_bytes(d).items():
            hits = found_in(data, where)
            check(not hits, "after the purge %s still holds the %s" % (name, " and ".join(hits)))
        for c in d.ctl_json("command", "list", s["lost"]):
            shown = d.api("GET", "/api/v1/commands/%s?plist=1" % c["uuid"])
            hits = found_in(json.dumps(shown).encode(), where)
            check(not hits, "%s %s keeps the %s" % (c["type"], c["uuid"], hits))
    finally:
        os.environ.pop("ARDOISE_CLOCK_OFFSET", None)


# -- (e) swapped sealed blobs --------------------------------------------------------

def test_swapped_sealed_blobs_refused():
    s = fleet()
    d, sim, lost = s["d"], s["sim"], s["lost"]
    try:
        out = d.sqlite("UPDATE device SET unlock_token = bypass_code, bypass_code = unlock_token"
                       " WHERE serial = '%s'" % lost)
        check(out.returncode == 0, "swap: %s" % out.stderr)
        out = d.ctl("device", "clear-passcode", lost, "--reason", "swap", expect=None)
        check(out.returncode != 0 and "does not open" in out.stderr,
              "ClearPasscode refuses a bypass code posing as the UnlockToken: %s %s"
              % (out.stdout, out.stderr))
        status, _, body = d.request("GET", "/api/v1/devices/%s/activation-lock?reveal=1" % lost)
        check(status >= 500 and b"does not open" in body and not found_in(body),
              "the reveal refuses an UnlockToken posing as the bypass code: %d %r" % (status, body[:300]))
        check(d.sqlite("UPDATE device SET unlock_token = bypass_code, bypass_code = unlock_token"
                       " WHERE serial = '%s'" % lost).returncode == 0, "swap back")
        # two queued commands, their sealed UnlockTokens swapped
        for serial in (lost, s["lent"]):
            d.ctl("device", "clear-passcode", serial, "--reason", "swap test")
        rows = d.sqlite("SELECT id, hex(sealed) FROM command WHERE type = 'ClearPasscode'"
                        " AND status = 'queued' ORDER BY id").stdout.split()
        check(len(rows) == 2 and all(r.split("|")[1] for r in rows),
              "two queued ClearPasscode with their sealed UnlockTokens: %r" % rows)
        (a, ha), (b, hb) = (r.split("|") for r in rows)
        out = d.sqlite("UPDATE command SET sealed = X'%s' WHERE id = %s;"
                       "UPDATE command SET sealed = X'%s' WHERE id = %s;" % (hb, a, ha, b))
        check(out.returncode == 0, "swap the commands' sealed secrets: %s" % out.stderr)
        sim.run("connect")
        for serial in (lost, s["lent"]):
            cmds = [c for c in d.ctl_json("command", "list", serial) if c["type"] == "ClearPasscode"]
            check(cmds[0]["status"] == "error" and "sealed" in cmds[0]["error"],
                  "%s: a swapped sealed secret is not sent: %r" % (serial, cmds[0]))
        check(d.ctl("device", "clear-passcode", lost, "--reason", "after").returncode == 0,
              "the genuine UnlockToken still works")
        sim.run("connect")
        cmds = [c for c in d.ctl_json("command", "list", lost) if c["type"] == "ClearPasscode"]
        check(cmds[0]["status"] == "acknowledged", "acknowledged: %r" % cmds[0])
    finally:
        done()


if __name__ == "__main__":
    try:
        run([test_no_secret_in_the_database, test_no_secret_in_answers,
             test_rts_code_enrols_only_its_tablet, test_location_results_purged_with_the_register,
             test_swapped_sealed_blobs_refused])
    finally:
        done()
