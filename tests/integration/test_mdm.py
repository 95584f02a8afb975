"""MDM end to end: a real ardoised, tablets simulated by ardoise-sim,
staff actions through ardoisectl.

Enrolment with a multi-use code and with a staff token, the initial
inventory drained, DeviceLock acknowledged, a second DeviceLock refused while
one is pending, cancel, NotNow while locked, Mdm-Signature mode, erase and
re-enrolment; every command plist the daemon sent, every result and the
enrolment profile pass mdm-schema-check; a client certificate from a foreign
CA is refused and the daemon keeps serving.
"""
import json
import os
import re
import subprocess
import tempfile
import time

from fleet_common import api_time
from harness import ARDOISECTL, Daemon, Sim, check, new_code, run, schema_check


def commands(d, serial):
    return d.ctl_json("command", "list", serial)


def enrolled(d, n):
    """A daemon with n simulated tablets enrolled and inventoried."""
    sim = Sim(d)
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2")
    return sim


def test_enrol_inventory_and_schemas():
    with Daemon(init_args=["--no-baseline"]) as d:  # the MDM core alone: no policy
        sim = enrolled(d, 5)
        devs = sim.devices()
        check(len(devs) == 5 and all(x["state"] == "enrolled" for x in devs),
              "5 enrolled devices: %r" % [x["state"] for x in devs])
        first = commands(d, devs[0]["serial"])
        check(sorted(c["type"] for c in first) ==
              ["ActivationLockBypassCode", "DeclarativeManagement", "DeviceInformation",
               "InstalledApplicationList", "ProfileList", "SecurityInfo"],
              "enrolment queues the inventory (and DDM, iPadOS 16+): %r" % first)
        res = sim.connect()
        check(res["devices"] == 5 and res["commands"] == 30 and res["acknowledged"] == 30
              and res["errors"] == 0, "connect drains the inventory: %r" % res)
        check(sim.connect()["commands"] == 0, "nothing left to drain")

        # every plist the daemon sent, every answer, and the enrolment profile
        tmp = tempfile.mkdtemp(dir=d.tmp)
        sent, answers = [], []
        for dev in devs:
            for c in commands(d, dev["serial"]):
                check(c["status"] == "acknowledged", "acknowledged: %r" % c)
                shown = d.ctl_json("command", "show", c["uuid"], "--plist")
                for key, bucket in (("payload", sent), ("result", answers)):
                    path = os.path.join(tmp, "%s-%s.plist" % (c["uuid"], key))
                    with open(path, "w") as f:
                        f.write(shown[key])
                    bucket.append(path)
        profile = os.path.join(tmp, "enroll.mobileconfig")
        with open(profile, "wb") as f:
            f.write(subprocess.run([ARDOISECTL,
                                    "--url", d.url, "--ca", d.ca, "--token", d.token,
                                    "enroll-profile"],
                                   capture_output=True, timeout=60, check=True).stdout)
        schema_check(sent + [profile])
        schema_check(answers)

        # bulk queueing twice: the second skips the tablets that have it pending
        first = d.ctl_json("command", "bulk", "SecurityInfo", "--all")
        second = d.ctl_json("command", "bulk", "SecurityInfo", "--all")
        check(first["queued"] == 5 and second["queued"] == 0 and second["skipped"] == 5,
              "bulk skips pending twins: %r %r" % (first, second))
        check(sim.connect()["acknowledged"] == 5, "one SecurityInfo each")


def test_device_lock_cancel_notnow():
    with Daemon(init_args=["--no-baseline"]) as d:  # the MDM core alone: no policy
        sim = enrolled(d, 2)
        sim.connect()
        dev = sim.devices()[0]
        serial, udid = dev["serial"], dev["udid"]

        out = d.ctl("command", "send", serial, "DeviceLock", "Message=Rendez la tablette au CDI",
                    "--reason", "tablette non rendue")
        check("queued DeviceLock" in out.stdout, out.stdout)
        again = d.ctl("command", "send", serial, "DeviceLock", "Message=encore", "--reason", "x",
                      expect=1)
        check("already pending" in again.stderr and again.stderr.count("\n") == 1,
              "a second DeviceLock is refused with one clear line: %r" % again.stderr)
        res = sim.connect("--device", udid)
        check(res["acknowledged"] == 1, "DeviceLock answered: %r" % res)
        lock = [c for c in commands(d, serial) if c["type"] == "DeviceLock"][0]
        check(lock["status"] == "acknowledged", "DeviceLock acknowledged: %r" % lock)
        shown = d.ctl_json("command", "show", lock["uuid"], "--plist")
        check("MessageResult" in shown["result"] and "Success" in shown["result"],
              "the result says Success: %s" % shown["result"][:400])
        # one time format across the API: ISO 8601 with the offset of the
        # server's zone (Europe/Paris), or null; the same command reads the
        # same in its list, its own route and the tablet's
        iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
        times = {k: v for k, v in shown.items() if k.endswith("_at")}
        check(len(times) == 4 and times["created_at"] and times["done_at"]
              and all(v is None or (iso.match(v) and api_time(v)) for v in times.values()),
              "command times are ISO 8601: %r" % times)
        history = [c for c in d.ctl_json("device", "show", serial)["commands"]
                   if c["uuid"] == lock["uuid"]]
        check(history and history[0]["created_at"] == times["created_at"] == lock["created_at"],
              "the same created_at in every route: %r %r" % (history, times))
        out = d.ctl("command", "show", lock["uuid"]).stdout
        check(re.search(r"created_at\s+\d{4}-\d\d-\d\d \d\d:\d\d\n", out),
              "people read YYYY-MM-DD HH:MM: %r" % out)

        queued = d.ctl_json("command", "send", serial, "ProfileList")
        canceled = d.ctl_json("command", "cancel", queued["uuid"])
        check(canceled["status"] == "canceled", "cancel: %r" % canceled)
        check(sim.connect("--device", udid)["commands"] == 0, "a canceled command is not sent")
        d.ctl("command", "cancel", queued["uuid"], expect=1)

        # locked: NotNow keeps the command; unlocked: it runs
        sim("lock", udid)
        queued = d.ctl_json("command", "send", serial, "ProfileList")
        res = sim.connect("--device", udid)
        check(res["notnow"] == 1, "a locked iPad answers NotNow: %r" % res)
        check(d.ctl_json("command", "show", queued["uuid"])["status"] == "notnow", "kept queued")
        sim("unlock", udid)
        check(sim.connect("--device", udid)["acknowledged"] == 1, "sent again once unlocked")
        check(d.ctl_json("command", "show", queued["uuid"])["status"] == "acknowledged", "done")


def test_sign_mode_and_enroll_token():
    with Daemon(init_args=["--no-baseline"]) as d:  # the MDM core alone: no policy
        sim = Sim(d)
        sim("enroll", "-n", "2", "--enroll-token", d.token, "--signed-profile", "--key-pool", "2")
        devs = sim.devices()
        check(len(devs) == 2, "two devices enrolled with a staff token: %r" % devs)
        res = sim.connect("--sign")
        check(res["acknowledged"] == 12 and res["errors"] == 0 and res["sign"],
              "inventory through Mdm-Signature: %r" % res)
        d.ctl("command", "send", devs[1]["serial"], "SecurityInfo")
        res = sim.connect("--keepalive", "-c", "1")
        check(res["acknowledged"] == 1 and res["errors"] == 0,
              "identity by Mdm-Signature alone on a shared connection: %r" % res)


def test_erase_and_reenrol():
    with Daemon(init_args=["--no-baseline"]) as d:  # the MDM core alone: no policy
        sim = enrolled(d, 1)
        sim.connect()
        dev = sim.devices()[0]
        d.ctl("device", "erase", dev["serial"], "--reason", "test de remise à zéro")
        check(sim.connect()["acknowledged"] == 1, "erase acknowledged")
        after = sim.devices()[0]
        check(after["state"] == "erased" and not after["passcode_present"]
              and len(after["profiles"]) == 0, "the tablet is wiped: %r" % after)
        out = d.sqlite("SELECT enrollment FROM device WHERE serial = '%s'" % dev["serial"])
        check(out.stdout.strip() == "unenrolled", "the daemon unenrolled it: %r" % out.stdout)
        sim("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "2")
        again = sim.devices()
        check(len(again) == 1 and again[0]["udid"] == dev["udid"]
              and again[0]["state"] == "enrolled", "the same tablet enrols again: %r" % again)
        check(sim.connect()["acknowledged"] == 6,
              "a new inventory (bypass escrow, DeclarativeManagement) after re-enrolment")


def test_keepalive_connection_stays_open():
    """A connection that keeps carrying requests (a TLS-terminating proxy, or
    --keepalive) is not closed by the idle deadline of its first answer."""
    with Daemon(init_args=["--no-baseline"], config="[server]\nidle_timeout_ms = 400\n") as d:
        conn = d.connect()
        for i in range(8):
            status, _, _ = d.request("GET", "/healthz", token=None, conn=conn)
            check(status == 200, "request %d on the same connection: %d" % (i, status))
            time.sleep(0.15)  # the stimulus, not a wait: 8 requests span 3 idle deadlines
        conn.close()
        sim = enrolled(d, 3)
        res = sim.connect("--keepalive", "-c", "1")
        # the initial inventory: 6 commands each (DeclarativeManagement: iPadOS 17.5)
        check(res["errors"] == 0 and res["acknowledged"] == 18, "keep-alive sessions: %r" % res)


def test_threaded_simulator():
    """ardoise-sim -j 2: two event loops, each with its own OpenSSL contexts."""
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = enrolled(d, 4)
        res = sim.connect("-j", "2", "-c", "4")
        # the initial inventory: 6 commands each (DeclarativeManagement: iPadOS 17.5)
        check(res["errors"] == 0 and res["acknowledged"] == 24 and res["threads"] == 2,
              "two threads: %r" % res)


def test_bench_phases_and_variants():
    """ardoise-sim bench: enrols the missing tablets itself, one JSON line per
    phase with the server's and its own CPU; TLS resumption works across the
    daemon's workers (one shared session cache), keep-alive and signatures."""
    with Daemon(init_args=["--no-baseline"]) as d:
        sim = Sim(d)
        pid = str(d.proc.pid)

        def bench(*args):
            out = sim("bench", "-n", "6", "-c", "3", "--token", d.token, "--server-pid", pid,
                      *args)
            return {p["phase"]: p for p in map(json.loads, out.stdout.strip().splitlines())}

        phases = bench()
        check({"enrol", "drain", "queue", "sessions"} <= set(phases), "phases: %r" % phases)
        s = phases["sessions"]
        check(s["devices"] == 6 and s["acknowledged"] == 6 and s["errors"] == 0,
              "one command per tablet: %r" % s)
        for key in ("sessions_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_session",
                    "server_peak_rss_mb", "sim_cpu_us_per_session"):
            check(s.get(key, 0) > 0, "%s in %r" % (key, s))
        # Idle (the command), Acknowledged (nothing more): two requests on
        # one connection, one full handshake, counted for other tools
        check(s["requests"] == 12 and s["requests_per_session"] == 2.0
              and s["handshakes_full"] == 6 and s["handshakes_resumed"] == 0
              and s["handshakes_per_session"] == 1.0, "requests and handshakes: %r" % s)
        s = bench("--resume")["sessions"]
        check(s["resumed"] == 6 and s["acknowledged"] == 6, "every session resumed: %r" % s)
        check(s["handshakes_resumed"] == 6 and s["handshakes_full"] == 0
              and s["resumed_handshakes_per_session"] == 1.0, "resumed handshakes: %r" % s)
        s = bench("--keepalive")["sessions"]
        check(s["acknowledged"] == 6 and s["errors"] == 0 and s["sign"], "keep-alive: %r" % s)
        check(s["requests"] == 12 and 1 <= s["handshakes_full"] <= 3,
              "keep-alive: one handshake per connection (3 in flight): %r" % s)
        s = bench("--sign")["sessions"]
        check(s["acknowledged"] == 6 and s["errors"] == 0, "signed sessions: %r" % s)
        s = bench("--like-ipad")["sessions"]
        check(s["acknowledged"] == 6 and s["errors"] == 0 and s["sign"] and s["like_ipad"]
              and s["requests_per_session"] == 2.0 and s["handshakes_per_session"] == 1.0,
              "as iPads: %r" % s)
        # --queue-each: the wave's own tablets get the command, one request
        # each; a tablet of another state file (the rest of a generated
        # fleet) gets nothing
        other = Sim(d, "other.db")
        other("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "1")
        other.connect()
        p = bench("--queue-each", "--command", "DeviceInformation")
        check(p["queue"]["devices"] == 6 and p["sessions"]["acknowledged"] == 6
              and p["sessions"]["errors"] == 0, "queued per tablet: %r" % p)
        got = other.connect()
        check(got["commands"] == 0 and got["errors"] == 0,
              "the tablet outside the wave got nothing: %r" % got)


def test_scep_ciphers_through_a_worker():
    """SCEP requests encrypted with single DES and DES3 (old clients; DES
    needs OpenSSL's legacy provider), AES-128 and AES-256, through a real
    worker (ap_scep runs in the global OpenSSL context, not the worker's),
    to the daemon's RSA CA."""
    tool = os.environ.get("SCEP_TOOL", "build/tests/interop/scep_tool")
    with Daemon(init_args=["--no-baseline"]) as d:
        code = new_code(d, 4)
        tmp = tempfile.mkdtemp(dir=d.tmp)
        for cipher in ("des", "des3", "aes128", "aes256"):
            key, ss = os.path.join(tmp, cipher + ".key"), os.path.join(tmp, cipher + ".ss")
            req = subprocess.run([tool, "request", d.ca, key, ss, "Ardoise device", code, cipher],
                                 capture_output=True, check=True, timeout=60).stdout
            status, h, rep = d.request("POST", "/scep?operation=PKIOperation", body=req,
                                       token=None,
                                       headers={"Content-Type": "application/x-pki-message"})
            check(status == 200, "%s: PKIOperation %d %r" % (cipher, status, rep[:200]))
            got = subprocess.run([tool, "response", d.ca, key, ss], input=rep,
                                 capture_output=True, timeout=60)
            check(got.returncode == 0 and b"BEGIN CERTIFICATE" in got.stdout,
                  "%s: a certificate comes back: %r" % (cipher, got.stderr[-300:]))


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def test_foreign_ca_refused():
    with Daemon(init_args=["--no-baseline"]) as d:  # the MDM core alone: no policy
        sim = enrolled(d, 1)
        udid = sim.devices()[0]["udid"]
        tmp = tempfile.mkdtemp(dir=d.tmp)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-subj", "/CN=Rogue CA", "-days", "2", "-keyout", "ca.key",
                "-out", "ca.pem", cwd=tmp)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=rogue", "-keyout", "dev.key", "-out", "dev.csr", cwd=tmp)
        openssl("x509", "-req", "-in", "dev.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", "dev.pem", cwd=tmp)
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict>"
                "<key>Status</key><string>Idle</string><key>UDID</key><string>%s</string>"
                "</dict></plist>" % udid).encode()
        conn = d.connect(cert=os.path.join(tmp, "dev.pem"), key=os.path.join(tmp, "dev.key"))
        status, _, answer = d.request("PUT", "/mdm/connect", body=body, token=None, conn=conn,
                                      headers={"Content-Type": "application/x-apple-aspen-mdm"})
        conn.close()
        check(status in (401, 403), "foreign certificate refused, got %d %r" % (status, answer))
        check(b"unrecognized.device" not in answer, "never the unenrol body for a refusal")
        status, _, _ = d.request("GET", "/healthz", token=None)
        check(status == 200 and d.alive(), "the daemon keeps serving")
        check(sim.connect()["errors"] == 0, "real tablets still work")


if __name__ == "__main__":
    run([test_enrol_inventory_and_schemas, test_device_lock_cancel_notnow,
         test_sign_mode_and_enroll_token, test_erase_and_reenrol, test_keepalive_connection_stays_open,
         test_foreign_ca_refused, test_threaded_simulator, test_scep_ciphers_through_a_worker,
         test_bench_phases_and_variants])
