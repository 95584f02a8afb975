"""harness.py - start a real ardoised for integration tests.

Each test file is its own process (meson runs them in parallel).  A Daemon
gets a fresh data dir under a temp dir, runs `ardoised --init`, starts the
daemon on 127.0.0.1 with port 0 and reads the bound port from its log.

    with Daemon() as d:
        out = d.ctl("whoami", "--json")          # ardoisectl as the admin
        status, headers, body = d.request("GET", "/healthz")

Paths of the built binaries come from the environment meson sets:
ARDOISED, ARDOISECTL, ARDOISE_SIM (see tests/integration/meson.build).
Only the Python standard library is used.
"""

import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ARDOISED = os.environ.get("ARDOISED", "build/daemon/ardoised")
ARDOISECTL = os.environ.get("ARDOISECTL", "build/tools/ardoisectl")
ARDOISE_SIM = os.environ.get("ARDOISE_SIM", "build/tools/ardoise-sim")
SHARED = os.environ.get("ARDOISE_SHARED",
                        os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))



def _asan_build(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:  # no binary there (a benchmark importing this file): a plain build
        return False


# True when the ardoised the tests run is an ASan build (the suite's second
# pass, where every built program runs several times slower and the pass
# is bounded by CPU): the binary carries ASan's runtime symbol.
UNDER_ASAN = _asan_build(ARDOISED)


def scaled(plain, asan):
    """The size a test uses: plain in the plain pass, asan under the
    sanitizers.  Only for a size the test does not assert on (tablets in a
    wave where a few show the behaviour, repetitions of one path): a size
    that IS the property (a page limit crossed) stays the same in both."""
    return asan if UNDER_ASAN else plain

# Test-only knobs ardoised reads once at start from its environment (set
# os.environ before Daemon.start(); inert when unset, never for production):
#   ARDOISE_CLOCK_OFFSET=S    its clock runs S seconds ahead (expiry, retention)
#   ARDOISE_TEST_GROUP_FAIL=N the Nth group commit after start rolls back
#                             instead (its held answers become 503s):
#                             test_group_commit.py
#   ARDOISE_TEST_GROUP_HOLD_MS=N each group holds the write lock N ms once
#                             open, so the other loop finds it taken:
#                             test_group_trylock.py

# --init's baseline: the source tree's (meson sets it; the benchmarks that
# import this file get it here), as an installed ardoised reads the
# installed one
os.environ.setdefault("ARDOISED_BASELINE_DIR",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                   "policies", "baseline"))


class Failure(Exception):
    pass


# Under ASan, LeakSanitizer's check at exit is half of an ardoisectl run
# (~50 ms of ~100), and a test file runs ardoisectl hundreds of times: each
# command path (verb, sub-verb, expected exit status) is leak-checked the
# first time this process runs it, not every time.
_LEAK_CHECKED = set()


def leak_check_once(env, args, expect):
    """Turns LeakSanitizer off in env for a command path already checked."""
    asan = env.get("ASAN_OPTIONS", "")
    if "detect_leaks=1" not in asan:
        return
    key = (tuple(a for a in args[:2] if not a.startswith("-")), expect)
    if key in _LEAK_CHECKED:
        env["ASAN_OPTIONS"] = asan.replace("detect_leaks=1", "detect_leaks=0")
    _LEAK_CHECKED.add(key)


def check(cond, msg):
    """Assert that survives python -O; message says what the user relies on."""
    if not cond:
        raise Failure(msg)


def wait_until(predicate, timeout=15, what="the condition", interval=0.02):
    """Polls predicate() until it returns a true value, and returns that
    value; after timeout seconds raises Failure naming what (a string, or
    a function returning one: called then, e.g. to show the last log lines).
    The one way a test waits: never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure("timed out after %gs waiting for %s"
                          % (timeout, what() if callable(what) else what))
        time.sleep(interval)


def write(d, name, text):
    """Writes text (str: UTF-8, bytes: as is) into the daemon's temp dir;
    returns the path."""
    path = os.path.join(d.tmp, name)
    with open(path, "wb") as f:
        f.write(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def token_of(out):
    """The token `ardoisectl account create` printed."""
    m = re.search(r"^token: (\S+)$", out.stdout, re.M)
    check(m is not None, "account create prints 'token: <value>': %r" % out.stdout)
    return m.group(1)


def new_code(d, uses):
    """A new enrolment code for uses tablets."""
    return d.ctl_json("enroll-code", "new", "--uses", str(uses))["code"]


SCHEMA_CHECK = os.path.join(SHARED, "tools", "mdm-schema-check")


def schema_check(paths, *args):
    """tools/mdm-schema-check on the plist files at paths (iOS 17.5)."""
    out = subprocess.run([SCHEMA_CHECK, "--os-version", "17.5"] + list(args) + paths,
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, "mdm-schema-check failed:\n" + out.stdout[-4000:] + out.stderr)


class Daemon:
    def __init__(self, config="", workers=2, init_args=(), start=True, keep=False, preexec=None):
        self.tmp = tempfile.mkdtemp(prefix="ardoise-it-")
        self.data = os.path.join(self.tmp, "data")
        self.config_text = config
        self.workers = workers
        self.init_args = list(init_args)
        self.start_now = start
        self.keep = keep
        self.preexec = preexec  # run in the daemon's process before exec (e.g. setrlimit)
        self.proc = None
        self.port = None
        self.token = None
        self.log_path = os.path.join(self.tmp, "ardoised.log")

    # -- lifecycle ---------------------------------------------------------
    def init(self):
        out = subprocess.run([ARDOISED, "--data-dir", self.data, "--init"] + self.init_args,
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, "ardoised --init failed: " + out.stderr)
        m = re.search(r"^token: (\S+)$", out.stdout, re.M)
        check(m is not None, "--init printed no 'token:' line: " + out.stdout)
        self.token = m.group(1)
        self.init_out = out.stdout
        return out

    def write_config(self, text=None, name="ardoised.conf"):
        """Writes text (default: the Daemon's config) to a file in tmp; returns its path."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(self.config_text if text is None else text)
        return path

    def start(self, extra=()):
        args = [ARDOISED, "--data-dir", self.data, "--listen", "127.0.0.1:0",
                "--workers", str(self.workers)]
        if self.config_text:
            args += ["--config", self.write_config()]
        args += list(extra)
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=self.preexec)
        def listening():
            if self.proc.poll() is not None:
                raise Failure("ardoised exited at start (%d): %s" % (self.proc.returncode, self.log()))
            return re.search(r"event=listening addr=127\.0\.0\.1:(\d+)", self.log())
        m = wait_until(listening, 30, lambda: "ardoised to start: " + self.log())
        self.port = int(m.group(1))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise Failure("ardoised did not stop within %ds after %s" % (timeout, sig))
        self.logf.close()
        self.proc = None
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def run_once(self, *args, timeout=20):
        """Runs `ardoised --data-dir DATA ARGS` expecting it to exit by itself
        (-n, refused start-ups); returns the CompletedProcess (text)."""
        try:
            out = subprocess.run([ARDOISED, "--data-dir", self.data] + list(args),
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("ardoised %s did not exit within %ds" % (" ".join(args), timeout))
        # a refused start-up exits non-zero anyway: do not let a sanitizer report hide there
        check("Sanitizer" not in out.stderr and "runtime error:" not in out.stderr,
              "ardoised %s: %s" % (" ".join(args), out.stderr[-3000:]))
        return out

    def wait_log(self, pattern, timeout=10):
        """Waits until the log matches the regex; returns the match."""
        return wait_until(lambda: re.search(pattern, self.log()), timeout,
                          lambda: "the log to show %r; last lines:\n%s"
                          % (pattern, "\n".join(self.log().splitlines()[-20:])), interval=0.01)

    def open_sockets(self):
        """Number of sockets the daemon holds, listeners included (Linux /proc)."""
        n = 0
        fd_dir = "/proc/%d/fd" % self.proc.pid
        for fd in os.listdir(fd_dir):
            try:
                n += os.readlink(os.path.join(fd_dir, fd)).startswith("socket:")
            except FileNotFoundError:  # closed meanwhile
                pass
        return n

    def healthz(self):
        """Status of GET /healthz on a fresh connection, None when it fails."""
        try:
            status, _, _ = self.request("GET", "/healthz", token=None)
            return status
        except (OSError, http.client.HTTPException):
            return None

    def check_serving(self, what=""):
        """The daemon is still up and answers /healthz."""
        check(self.alive(), "ardoised died%s: %s" % (" after " + what if what else "",
                                                     "\n".join(self.log().splitlines()[-20:])))
        status = self.healthz()
        check(status == 200, "/healthz answered %s%s" % (status, " after " + what if what else ""))

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __enter__(self):
        self.init()
        if self.start_now:
            self.start()
        return self

    def __exit__(self, et, ev, tb):
        try:
            rc = self.stop()
            if et is None and rc not in (0, None):
                raise Failure("ardoised exited %s at the end of the test" % rc)
        finally:
            if et is not None:
                sys.stderr.write("---- ardoised log (last 60 lines) ----\n")
                sys.stderr.write("\n".join(self.log().splitlines()[-60:]) + "\n")
            if not self.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)

    # -- clients -----------------------------------------------------------
    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def ca(self):
        return os.path.join(self.data, "ca.pem")

    def ssl_context(self, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def connect(self, **kw):
        """A keep-alive HTTPS connection (http.client)."""
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(**kw),
                                           timeout=30)

    def request(self, method, path, body=None, headers=None, token="admin", conn=None):
        """One request; returns (status, headers dict lower-cased, body bytes)."""
        h = dict(headers or {})
        if token == "admin":
            token = self.token
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        own = conn is None
        c = conn or self.connect()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def api(self, method, path, body=None, token="admin", expect=200):
        status, _, data = self.request(method, path, body=body, token=token)
        check(status == expect, "%s %s: expected %d, got %d: %s" % (method, path, expect, status, data[:300]))
        return json.loads(data) if data else None

    def raw_tls(self, cert=None, key=None):
        """A TLS socket for hand-written requests."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        return self.ssl_context(cert, key).wrap_socket(s, server_hostname="127.0.0.1")

    def tcp(self, timeout=30):
        """A plain TCP socket to the daemon's port (no TLS)."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def ctl(self, *args, token="admin", expect=0, input=None, lang="C"):
        """Runs ardoisectl; returns the CompletedProcess (checked against expect).
        Under the locale lang: "C" (English, what most tests read) even when
        the suite runs under fr_FR.UTF-8; a test of the French passes
        lang="fr_FR.UTF-8"; None leaves the environment's locale variables as
        they are (a test of LC_TIME against LANG)."""
        env = dict(os.environ, ARDOISE_URL=self.url, ARDOISE_CA=self.ca)
        if lang is not None:
            env.update(LANG=lang, LC_ALL=lang)
            env.pop("LANGUAGE", None)
        env.pop("ARDOISE_TOKEN", None)
        if token == "admin":
            token = self.token
        if token:
            env["ARDOISE_TOKEN"] = token
        leak_check_once(env, args, expect)
        out = subprocess.run([ARDOISECTL] + list(args), capture_output=True, text=True, env=env,
                             input=input, timeout=120)
        if expect is not None:
            check(out.returncode == expect,
                  "ardoisectl %s: expected exit %d, got %d\nstdout: %s\nstderr: %s"
                  % (" ".join(args), expect, out.returncode, out.stdout[:2000], out.stderr[:2000]))
        return out

    def ctl_json(self, *args, token="admin"):
        out = self.ctl(*(list(args) + ["--json"]), token=token)
        return json.loads(out.stdout)

    def sqlite(self, sql):
        """Runs SQL on the daemon's database with the sqlite3 CLI: for tests
        that play an attacker tampering with the file, or read what is
        stored to assert it is sealed; setup goes through ardoisectl.
        Waits up to 20 s for the daemon's write lock, as the daemon's own
        connections do (without it, a write that meets one of the daemon's
        fails at once with "database is locked")."""
        out = subprocess.run(["sqlite3", "-cmd", ".timeout 20000",
                              os.path.join(self.data, "ardoise.db"), sql],
                             capture_output=True, text=True, timeout=60)
        return out


def ade_assign(d, serials, school=None, removed=False):
    """Tablets Apple School Manager assigned to Ardoise, written as the ADE
    sync writes them (a device row in stock, its ade_device row) with the
    sqlite3 CLI while the daemon is stopped (it is started again after):
    the technician's way until `ade sync` fills ade_device from ASM.  A
    serial already known keeps its device row (collège, state, loans);
    removed marks them no longer assigned (ASM's "deleted")."""
    running = d.alive()
    if running:
        d.stop()
    rows = "".join(
        "INSERT OR IGNORE INTO device(serial, school, created_at, updated_at)"
        " VALUES ('%s', %s, unixepoch(), unixepoch());"
        "INSERT INTO ade_device(device_id, serial, op_type, seen_at, created_at, removed_at)"
        " SELECT id, serial, 'added', unixepoch(), unixepoch(), %s FROM device"
        " WHERE serial = '%s' ON CONFLICT(serial) DO UPDATE SET removed_at = excluded.removed_at;"
        % (s, "'%s'" % school if school else "NULL", "unixepoch()" if removed else "NULL", s)
        for s in serials)
    out = subprocess.run(["sqlite3", os.path.join(d.data, "ardoise.db")],  # on stdin: any size
                         input="BEGIN;" + rows + "COMMIT;", capture_output=True, text=True,
                         timeout=120)
    check(out.returncode == 0 and out.stderr == "", "ade_assign: " + out.stderr)
    if running:
        d.start()


class Sim:
    """ardoise-sim on one state file (in the daemon's temp dir), against one
    daemon: sim("enroll", "-n", "3", "--code", code), sim.devices()."""

    def __init__(self, d, name="sim.db"):
        self.d = d
        self.state = os.path.join(d.tmp, name)

    def __call__(self, *args, expect=0):
        cmd = [ARDOISE_SIM, "--url", self.d.url, "--ca", self.d.ca, "--state", self.state]
        out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300)
        if expect is not None:
            check(out.returncode == expect,
                  "ardoise-sim %s: expected exit %d, got %d\nstdout: %s\nstderr: %s"
                  % (" ".join(args), expect, out.returncode, out.stdout[-2000:],
                     out.stderr[-2000:]))
        return out

    run = __call__

    def devices(self):
        return json.loads(self("list", "--json").stdout)

    def device(self, serial):
        return [x for x in self.devices() if x["serial"] == serial][0]

    def connect(self, *args):
        """One session per tablet; the run's summary (commands, acknowledged...)."""
        out = self("connect", "--json", *args)
        return json.loads(out.stdout.strip().splitlines()[-1])


def read_response(f, head=False):
    """Reads one HTTP/1.1 response from a binary file object (sock.makefile("rb")).
    Returns (status, headers dict lower-cased, body bytes); the body is
    framed by Content-Length (no body when absent, nor after a HEAD: pass
    head=True)."""
    line = f.readline()
    if not line:
        raise Failure("connection closed before a response")
    parts = line.decode("latin-1").split(" ", 2)
    check(len(parts) >= 2 and parts[0] == "HTTP/1.1", "bad status line %r" % line)
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head else int(headers.get("content-length", "0"))
    return int(parts[1]), headers, f.read(n) if n else b""


def read_until_closed(sock, limit=1 << 20):
    """Reads until the peer closes (clean or not); returns the bytes read."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            break
        if not chunk:
            break
        data += chunk
    return data


def _cpu():
    """User+system CPU of this process and of its children waited for (the
    daemons, ardoisectl, ardoise-sim, openssl): what a case costs the
    machine, which the suite's passes on 2 cores are bounded by."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(tests):
    """Runs test functions in order; prints one line each; exit status 1 on failure."""
    failed = 0
    for t in tests:
        t0, c0 = time.time(), _cpu()
        try:
            t()
            print("ok   %s (%.2fs, CPU %.2fs)" % (t.__name__, time.time() - t0, _cpu() - c0))
        except Exception as e:  # report and continue with the next test
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
        sys.stdout.flush()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
