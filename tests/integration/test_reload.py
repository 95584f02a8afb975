"""test_reload.py - ardoised run as systemd runs a service (issue 17, ops).

Against a real ardoised:

- readiness: with NOTIFY_SOCKET set to a Unix datagram socket the test
  listens on, READY=1 (with MAINPID and a STATUS naming the port) arrives
  only once the port answers; SIGHUP brings RELOADING=1 then READY=1,
  SIGTERM STOPPING=1; without NOTIFY_SOCKET nothing is sent anywhere;
- SIGHUP reloads: a new [log] level (debug lines appear), a [log] file moved
  away as logrotate does (a new file, 0600, gets the lines; the old one is
  not written any more), a key that needs a restart (reload_ignored, the old
  value kept), a file that no longer parses (reload_failed with file:line,
  every old value kept, the daemon serving), a kept-alive connection opened
  before the HUP still answering after it;
- [mdm] device_ca: a tablet whose identity chains to a CA that was not
  trusted is refused, accepted after the CA is added and HUP, and its
  sessions refused again once the CA is removed and HUP;
- hostile: 50 SIGHUPs in a row, a [log] file that cannot be opened (at
  start and at a reload), push turned on by a reload (reload_ignored).
"""
import os
import plistlib
import signal
import socket
import stat
import subprocess
import tempfile
import threading

from harness import Daemon, check, run, wait_until, write

CHECKIN = {"Content-Type": "application/x-apple-aspen-mdm-checkin"}
TOPIC = "com.apple.mgmt.External.ardoise"


class FileLogDaemon(Daemon):
    """A Daemon whose log is its [log] file (log_name under tmp), not the
    standard error the harness captures."""

    def __init__(self, log_name="ardoised-file.log", **kw):
        super().__init__(**kw)
        self.file_log = os.path.join(self.tmp, log_name)

    def log(self):
        try:
            with open(self.file_log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stderr_log(self):
        return Daemon.log(self)


class Notify:
    """A Unix datagram socket standing for systemd's notification socket."""

    def __init__(self, d):
        self.path = os.path.join(d.tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.got = []  # (message, what the probe saw when it arrived)
        self.probe = None
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            seen = self.probe(msg) if self.probe else None
            self.got.append((msg, seen))

    def messages(self):
        return [m for m, _ in self.got]

    def wait(self, needle, after=0):
        return wait_until(lambda: any(needle in m for m in self.messages()[after:]), 30,
                          lambda: "a notification with %r after #%d; got %r"
                          % (needle, after, self.messages()))

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def port_answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def test_notify_ready_reload_stopping():
    d = Daemon(start=False)
    with d:
        n = Notify(d)

        def probe(msg):
            # what systemd would do on READY=1: the service is up, use it
            if "READY=1" not in msg:
                return None
            port = int(msg.split("STATUS=listening on 127.0.0.1:")[1].split(",")[0])
            return port_answers(port), "event=listening" in d.log()

        n.probe = probe
        os.environ["NOTIFY_SOCKET"] = n.path
        try:
            d.start()
        finally:
            del os.environ["NOTIFY_SOCKET"]
        n.wait("READY=1")
        first = n.got[0]
        check("READY=1" in first[0], "the first notification is READY=1: %r" % n.messages())
        check("MAINPID=%d" % d.proc.pid in first[0], "with MAINPID: %r" % first[0])
        check("STATUS=listening on 127.0.0.1:%d" % d.port in first[0],
              "with a status naming the port: %r" % first[0])
        check(first[1] == (True, True),
              "READY=1 came when the port answered and the daemon said listening: %r"
              % (first[1],))
        before = len(n.got)
        d.proc.send_signal(signal.SIGHUP)
        n.wait("READY=1", after=before)
        after = n.messages()[before:]
        check("RELOADING=1" in after[0] and "MONOTONIC_USEC=" in after[0],
              "a reload starts with RELOADING=1: %r" % after)
        check(any("READY=1" in m for m in after[1:]), "and ends with READY=1: %r" % after)
        d.wait_log(r"event=reloaded ")
        d.check_serving("the reload")
        before = len(n.got)
        check(d.stop() == 0, "SIGTERM: exit 0")
        n.wait("STOPPING=1", after=before)
        n.close()


def test_no_notify_socket_no_message():
    """Without NOTIFY_SOCKET the daemon runs and reloads as before (and the
    socket a test made is left alone)."""
    d = Daemon(start=False)
    with d:
        n = Notify(d)
        os.environ.pop("NOTIFY_SOCKET", None)
        d.start()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"event=reloaded ")
        d.check_serving("a reload without systemd")
        check(n.messages() == [], "nothing sent: %r" % n.messages())
        n.close()


def reload_lines(d):
    return d.log().count("event=reloaded ") + d.log().count("event=reload_failed")


def hup_and_wait(d):
    n = reload_lines(d)
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: reload_lines(d) > n, 30, lambda: "a reload line:\n" + d.log()[-2000:])


def conf(d, level="info", extra=""):
    return "[log]\nlevel = %s\nfile = %s\n%s" % (level, d.file_log, extra)


def test_reload_level_file_ignored_and_broken():
    d = FileLogDaemon()
    d.config_text = conf(d)
    with d:
        check(stat.S_IMODE(os.stat(d.file_log).st_mode) == 0o600, "the log file is 0600")
        check("event=listening" in d.log() and "event=listening" not in d.stderr_log(),
              "the lines go to [log] file, not to standard error")
        d.check_serving()
        check("level=debug" not in d.log(), "no debug line at level info")
        # a connection kept alive across every reload below
        keep = d.connect()
        status, _, _ = d.request("GET", "/healthz", token=None, conn=keep)
        check(status == 200, "kept-alive connection: first request")

        # a new level, a key that needs a restart
        d.write_config(conf(d, "debug", "[server]\nidle_timeout_ms = 45000\n"))
        hup_and_wait(d)
        d.wait_log(r"event=reload_ignored key=server\.idle_timeout_ms ")
        d.wait_log(r"event=reloaded changed=log\.level ")
        d.check_serving("the level reload")
        d.wait_log(r"level=debug event=(conn_open|conn_state|tls_ready)")

        # logrotate: the file moved away, then HUP
        rotated = d.file_log + ".1"
        os.rename(d.file_log, rotated)
        hup_and_wait(d)
        check(os.path.exists(d.file_log), "a new log file after the HUP")
        check(stat.S_IMODE(os.stat(d.file_log).st_mode) == 0o600, "the new file is 0600")
        check("event=reloaded" in d.log(), "the reload's line is in the new file")
        old_size = os.path.getsize(rotated)
        d.check_serving("the log file moved")
        status, _, _ = d.request("GET", "/healthz", token=None, conn=keep)
        check(status == 200, "the kept-alive connection still answers after the reloads")
        d.wait_log(r"event=request .*path=/healthz status=200")
        check(os.path.getsize(rotated) == old_size, "the moved file is not written any more")

        # a file that no longer parses: every value kept
        d.write_config(conf(d, "info") + "[server\nlisten = 0.0.0.0:1\n")
        n = d.log().count("event=reload_failed")
        d.proc.send_signal(signal.SIGHUP)
        m = d.wait_log(r"event=reload_failed error=\"([^\"]+)\" kept=every_value")
        check("ardoised.conf:4:" in m.group(1), "the failure names file:line: %r" % m.group(1))
        check(d.log().count("event=reload_failed") == n + 1, "one failure line")
        d.check_serving("a broken configuration")
        marker = len(d.log())
        d.check_serving()
        d.wait_log(r"level=debug event=")
        check("level=debug" in d.log()[marker:], "the level in use (debug) is kept")

        # an unknown level is refused as at start, same result
        d.write_config(conf(d, "loud"))
        n = reload_lines(d)
        hup_and_wait(d)
        check("event=reload_failed" in d.log() and "log.level: 'loud'" in d.log(),
              "an unknown level is a reload_failed naming the key")
        status, _, _ = d.request("GET", "/healthz", token=None, conn=keep)
        check(status == 200, "the kept-alive connection still answers")
        keep.close()


def test_reload_hostile():
    """A burst of SIGHUPs, a [log] file that cannot be opened (at start: the
    daemon refuses to start, naming the key; at a reload: the lines stay in
    the file they went to), push turned on by a reload (a restart does it)."""
    d = FileLogDaemon()
    d.config_text = conf(d)
    with d:
        keep = d.connect()
        check(d.request("GET", "/healthz", token=None, conn=keep)[0] == 200, "kept-alive")
        n = reload_lines(d)
        for _ in range(50):
            d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: reload_lines(d) > n, 30, "the burst's reloads")
        d.check_serving("50 SIGHUPs in a row")
        check(d.request("GET", "/healthz", token=None, conn=keep)[0] == 200,
              "the kept-alive connection survives the burst")

        bad = os.path.join(d.tmp, "no", "such", "dir", "ardoised.log")
        d.write_config("[log]\nlevel = info\nfile = %s\n" % bad)
        hup_and_wait(d)
        m = d.wait_log(r"event=reload_log_file_failed error=(\S+|\"[^\"]*\") "
                       r"kept=previous_destination")
        check(bad in m.group(1), "the failure names the file: %r" % m.group(1))
        d.check_serving("an unwritable log file")
        d.wait_log(r"event=request .*path=/healthz")  # still in the old file

        d.write_config(conf(d) + "[push]\ncert = %s\n" % d.ca)
        hup_and_wait(d)
        d.wait_log(r"event=reload_ignored key=push\.cert ")
        check(d.ctl_json("push", "status")["enabled"] is False, "push stays off until a restart")
        keep.close()
    # at start: refused, with the key named
    d2 = Daemon(start=False)
    with d2:
        bad = os.path.join(d2.tmp, "no", "such", "dir", "ardoised.log")
        d2.write_config("[log]\nfile = %s\n" % bad)
        out = d2.run_once("--config", os.path.join(d2.tmp, "ardoised.conf"), "--listen",
                          "127.0.0.1:0")
        check(out.returncode == 1 and "log.file: %s" % bad in out.stderr,
              "an unwritable [log] file stops the start: %d %r" % (out.returncode, out.stderr))


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def school_ca(d):
    """A CA of the département's own (not Ardoise's) and a tablet identity
    under it, as a second MDM's or an ADE provider's PKI would be."""
    tmp = tempfile.mkdtemp(dir=d.tmp)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=CA des tablettes du département", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp)
    write_ext = os.path.join(tmp, "ext.cnf")
    with open(write_ext, "w") as f:
        f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=tablette", "-keyout", "dev.key", "-out", "dev.csr", cwd=tmp)
    openssl("x509", "-req", "-in", "dev.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "dev.pem", cwd=tmp)
    return tmp


def send(d, tmp, message, path="/mdm/checkin"):
    conn = d.connect(cert=os.path.join(tmp, "dev.pem"), key=os.path.join(tmp, "dev.key"))
    try:
        status, _, answer = d.request("PUT", path, body=plistlib.dumps(message), token=None,
                                      conn=conn, headers=CHECKIN)
    finally:
        conn.close()
    return status, answer


def test_reload_device_ca():
    udid = "00008030-000000000000ANCHOR"
    auth = {"MessageType": "Authenticate", "UDID": udid, "SerialNumber": "DMPANCHOR001",
            "Topic": TOPIC, "OSVersion": "17.5", "BuildVersion": "21F79",
            "ProductName": "iPad13,18"}
    d = Daemon(init_args=["--no-baseline"])
    d.config_text = "[log]\nlevel = info\n"
    with d:
        tmp = school_ca(d)
        status, body = send(d, tmp, auth)
        check(status == 403 and b"not issued by a trusted device CA" in body,
              "before: an identity under an untrusted CA is refused: %d %r" % (status, body[:200]))
        # one anchor more in the file the configuration names, then HUP
        anchors = write(d, "anchors.pem", open(os.path.join(tmp, "ca.pem")).read())
        d.write_config("[log]\nlevel = info\n[mdm]\ndevice_ca = %s\n" % anchors)
        keep = d.connect()
        check(d.request("GET", "/healthz", token=None, conn=keep)[0] == 200, "kept-alive: before")
        hup_and_wait(d)
        d.wait_log(r"event=reloaded changed=mdm\.device_ca anchors=new ")
        status, body = send(d, tmp, auth)
        check(status == 200, "after HUP: the same identity authenticates: %d %r"
              % (status, body[:300]))
        check(d.request("GET", "/healthz", token=None, conn=keep)[0] == 200,
              "the kept-alive connection opened before the HUP still answers")
        # the same file again: nothing changes
        n = d.log().count("anchors=new")
        hup_and_wait(d)
        check(d.log().count("anchors=new") == n, "the same anchors: no change reported")
        # the anchor removed (the file now holds Ardoise's own CA only)
        with open(anchors, "w") as f:
            f.write(open(d.ca).read())
        hup_and_wait(d)
        check(d.log().count("anchors=new") == n + 1, "the removal is a change")
        status, body = send(d, tmp, {"Status": "Idle", "UDID": udid}, path="/mdm/connect")
        check(status == 403 and b"no longer issued by a trusted device CA" in body,
              "the tablet under the removed anchor is refused: %d %r" % (status, body[:300]))
        # an anchors file that holds no certificate: the anchors in use are kept
        with open(anchors, "w") as f:
            f.write("not a certificate\n")
        hup_and_wait(d)
        d.wait_log(r"event=reload_anchors_failed ")
        d.check_serving("an unusable anchors file")
        keep.close()


if __name__ == "__main__":
    run([test_notify_ready_reload_stopping, test_no_notify_socket_no_message,
         test_reload_level_file_ignored_and_broken, test_reload_hostile, test_reload_device_ca])
