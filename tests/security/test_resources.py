"""test_resources.py - what an outsider can make ardoised hold (issue 11).

Memory: bodies are judged from the request's head (route, token, client
certificate) before any byte of them is read, within a process-wide budget,
and one address holds a bounded number of connections.  Descriptors: more
idle connections than descriptors neither spin the daemon nor flood its log,
it serves again when they go and still stops on SIGTERM.  TLS: ECDHE + AEAD
only for TLS 1.2, Extended Master Secret required.  Files: the database and
the data directory are private to the daemon's user.
"""
import os
import re
import resource
import select
import signal
import socket
import ssl
import stat
import subprocess
import threading
import time

from harness import Daemon, Failure, check, read_response, run, wait_until

PLAIN = os.environ.get("ARDOISE_SANITIZE", "none") in ("", "none")
MB = 1 << 20


def raise_own_nofile(n):
    """This test process holds many sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n)) if hard != resource.RLIM_INFINITY else max(soft, n)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    check(want >= n, "the test needs %d descriptors, the hard limit is %d" % (n, hard))


def proc_status(pid, key):
    """A /proc/PID/status figure in bytes (VmRSS, VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M)
    return int(m.group(1)) * 1024


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile(n):
    """preexec_fn: the daemon starts with n descriptors, soft and hard."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


# -- (a) memory before authentication ----------------------------------------

BIG = 8 * MB


def big_head(i):
    """A head announcing 8 MiB: a staff import without a token, or a tablet's
    check-in without a client certificate."""
    if i % 2:
        return (b"POST /api/v1/devices/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                b"Content-Length: %d\r\n\r\n" % BIG)
    return (b"PUT /mdm/checkin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-apple-aspen-mdm"
            b"-checkin\r\nContent-Length: %d\r\n\r\n" % BIG)


def answers(socks, timeout):
    """What each socket got within timeout: the head of a response, or what
    came before the peer closed; sockets with neither are left out (TLS 1.3
    session tickets alone do not count)."""
    got, done = {s: b"" for s in socks}, set()
    by_fd = {s.fileno(): s for s in socks}
    deadline = time.time() + timeout
    for s in socks:
        s.setblocking(False)
    while len(done) < len(socks) and time.time() < deadline:
        p = select.poll()
        for s in socks:
            if s not in done:
                p.register(s.fileno(), select.POLLIN)
        ready = {by_fd[fd] for fd, _ in p.poll(200)}
        ready.update(s for s in socks if s not in done and s.pending())
        for s in ready:
            try:
                data = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            got[s] += data
            if not data or b"\r\n\r\n" in got[s]:
                done.add(s)
    for s in socks:
        s.settimeout(30)
    return {s: got[s] for s in done}


def test_big_bodies_before_authentication():
    """1,000 unauthenticated connections each announce 8 MiB and send part of
    it: they get 401/413 from their head, the daemon stays under 150 MB and
    /healthz answers meanwhile."""
    n, part = 1000, 160 * 1024
    raise_own_nofile(n + 200)
    with Daemon() as d:
        ctx = d.ssl_context()
        socks = []
        try:
            for i in range(n):
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", d.port), timeout=30),
                                    server_hostname="127.0.0.1")
                s.sendall(big_head(i) + b"x" * 4096)
                socks.append(s)
                if i % 250 == 249:
                    check(d.healthz() == 200, "/healthz answers with %d such connections" % (i + 1))
            # a daemon that reads bodies before judging the head has answered
            # nothing: give it the rest of the part it is waiting for
            ready = answers(socks, 3)
            for s in socks:
                if s not in ready:
                    s.sendall(b"x" * part)
            check(d.healthz() == 200, "/healthz answers with %d big-body connections" % n)
            peak = proc_status(d.proc.pid, "VmHWM")
            print("     daemon peak RSS %.1f MB" % (peak / MB))
            if PLAIN:
                check(peak < 150 * MB, "daemon peak RSS %.0f MB with %d big-body connections "
                      "(limit 150 MB)" % (peak / MB, n))
            check(len(ready) == n, "every 8 MiB head is answered at once, before its body "
                  "(%d of %d within 3 s)" % (len(ready), n))
            for i, s in enumerate(socks):
                head = ready[s].split(b"\r\n", 1)[0]
                check(head == (b"HTTP/1.1 401 Unauthorized" if i % 2 else
                               b"HTTP/1.1 413 Content Too Large"),
                      "%s: %r" % (big_head(i).split(b" ")[1], ready[s][:300]))
        finally:
            for s in socks:
                s.close()
        d.check_serving("1,000 big-body connections")


def open_body(d, path, length, token=None, method="POST", sent=b""):
    """A TLS connection that sent a head announcing length bytes (and sent)."""
    s = d.raw_tls()
    auth = b"Authorization: Bearer %s\r\n" % token.encode() if token else b""
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s"
              % (method.encode(), path.encode(), auth, length, sent))
    return s


def test_body_budget():
    """Bodies in flight share a budget: unauthenticated ones may take half of it,
    the next gets 503 with Retry-After at once, while staff still get in."""
    config = "[server]\nbody_budget_bytes = 262144\nmax_anon_body_bytes = 65536\n"
    with Daemon(config=config) as d:
        held = [open_body(d, "/scep?operation=PKIOperation", 60000) for _ in range(2)]
        s = open_body(d, "/scep?operation=PKIOperation", 60000)
        s.settimeout(5)
        try:
            status, h, body = read_response(s.makefile("rb"))
        except socket.timeout:
            raise Failure("a body past the unauthenticated half of the budget got no answer")
        check(status == 503 and h.get("retry-after"), "budget spent: %d %s %s" % (status, h, body))
        # staff bodies are not crowded out by unauthenticated ones
        csv = b"serial,model,uai\n"
        st = open_body(d, "/api/v1/devices/import?dry_run=1", len(csv), token=d.token, sent=csv)
        st.settimeout(10)
        status, _, body = read_response(st.makefile("rb"))
        check(status != 503, "a staff import while anonymous bodies fill their half: %d %s"
              % (status, body[:200]))
        for c in held + [s, st]:
            c.close()
        # given back: once the held requests are gone, a new one is admitted
        def admitted():
            s = open_body(d, "/scep?operation=PKIOperation", 60000, sent=b"x" * 60000)
            s.settimeout(10)
            status, _, _ = read_response(s.makefile("rb"))
            s.close()
            return status != 503
        wait_until(admitted, 10, "the budget to be given back when requests end (503)",
                   interval=0.2)


def test_connections_per_address():
    """One address holds at most [server] max_connections_per_ip connections."""
    with Daemon(config="[server]\nmax_connections_per_ip = 20\n") as d:
        held = [d.raw_tls() for _ in range(20)]
        try:
            s = d.raw_tls()
            s.settimeout(5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = s.recv(100)
            raise Failure("a 21st connection from one address was served: %r" % got[:40])
        except (OSError, ssl.SSLError):
            pass  # refused: closed during or right after the handshake
        held.pop().close()
        wait_until(lambda: d.healthz() == 200, 10,
                   "a connection closed to make room for another", interval=0.1)
        for s in held:
            s.close()


# -- (b) descriptors -----------------------------------------------------------

def flood_idle(d, n, threads=20):
    """Opens n idle TCP connections (no byte sent) from many threads at once,
    as a crowd of clients would (both workers meet EMFILE together); returns
    them."""
    socks, lock = [], threading.Lock()

    def opener(k):
        for _ in range(k):
            try:
                s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            except OSError:
                continue
            with lock:
                socks.append(s)

    ts = [threading.Thread(target=opener, args=(n // threads,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(len(socks) == n, "only %d of %d connections could be opened" % (len(socks), n))
    return socks


def noisy_lines(d):
    return len(re.findall(r"event=(conn_refused|accept_\w+)", d.log()))


def descriptors_case(limit, n):
    """More idle connections than descriptors: no spin, no log flood, serves
    again once they go (within the handshake deadline), stops on SIGTERM."""
    raise_own_nofile(2 * n + 200)
    handshake_s = 8
    config = "[server]\nheader_timeout_ms = %d\n" % (handshake_s * 1000)
    with Daemon(config=config, preexec=nofile(limit)) as d:
        pid = d.proc.pid
        t0 = time.time()
        socks = flood_idle(d, n)
        # stimulus and measurement, not waits: the flood comes in two crowds
        # half a second apart, and the CPU is measured over 3 s of it
        time.sleep(0.5)  # let it take what it can, then a second crowd comes
        socks += flood_idle(d, n // 2)
        time.sleep(0.5)
        cpu0, w0 = cpu_seconds(pid), time.time()
        time.sleep(3)
        cpu = (cpu_seconds(pid) - cpu0) / (time.time() - w0)
        flood_s = time.time() - t0
        lines = noisy_lines(d)
        for s in socks:
            s.close()
        closed = time.time()
        check(cpu < 0.10, "daemon CPU %.0f%% while %d connections hold %d descriptors"
              % (cpu * 100, n, limit))
        check(lines <= 4 * flood_s + 10, "%d refusal/accept log lines in %.1f s" % (lines, flood_s))
        wait_until(lambda: d.healthz() == 200, handshake_s - (time.time() - closed),
                   "/healthz to be served within %d s after the %d clients closed "
                   "(RLIMIT_NOFILE %d)" % (handshake_s, n, limit), interval=0.2)
        rc = d.stop(timeout=15)
        check(rc == 0, "SIGTERM after the flood: exit %s" % rc)


def test_descriptors_1024_2000():
    descriptors_case(1024, 2000)


def test_descriptors_256_600():
    descriptors_case(256, 600)


# -- (c) TLS policy --------------------------------------------------------------

def s_client(d, *args):
    """openssl s_client against the daemon; True when the handshake succeeded."""
    out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.port,
                          "-CAfile", d.ca, "-brief"] + list(args),
                         input="", capture_output=True, text=True, timeout=30)
    return out.returncode == 0 and "CONNECTION ESTABLISHED" in out.stdout + out.stderr


def tls12_handshake(d, ems=True):
    """A TLS 1.2 handshake from Python's OpenSSL, with or without EMS."""
    ctx = ssl.create_default_context(cafile=d.ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if not ems:
        ctx.options |= 1  # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3)
    try:
        with ctx.wrap_socket(d.tcp(), server_hostname="127.0.0.1") as s:
            return s.version()
    except (ssl.SSLError, OSError):
        return None


def test_tls_policy():
    """TLS 1.2 with ECDHE and AEAD only, Extended Master Secret required; TLS 1.3
    and the clients Apple ships keep working."""
    with Daemon() as d:
        check(s_client(d, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"),
              "TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256 must work")
        check(s_client(d, "-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"),
              "TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305 must work")
        check(s_client(d, "-tls1_3"), "TLS 1.3 must work")
        for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                       "ECDHE-ECDSA-AES128-SHA256", "AES128-SHA256", "AES128-GCM-SHA256",
                       "ECDHE-RSA-AES128-SHA"):
            check(not s_client(d, "-tls1_2", "-cipher", cipher),
                  "TLS 1.2 with %s (not ECDHE+AEAD) must be refused" % cipher)
        check(not s_client(d, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"),
              "TLS 1.1 must be refused")
        check(tls12_handshake(d) == "TLSv1.2", "TLS 1.2 with EMS must work")
        check(tls12_handshake(d, ems=False) is None,
              "TLS 1.2 without Extended Master Secret must be refused")
        d.check_serving("the TLS probes")


# -- (d) file modes -----------------------------------------------------------

def test_database_modes():
    """--init makes the data directory 0700 and the database 0600 whatever the
    umask; the daemon refuses to start when group or others can read them,
    naming the file."""
    old = os.umask(0o022)
    try:
        d = Daemon(start=False)
        d.init()
    finally:
        os.umask(old)
    db = os.path.join(d.data, "ardoise.db")
    try:
        check(stat.S_IMODE(os.stat(d.data).st_mode) == 0o700,
              "--init data dir mode %o" % stat.S_IMODE(os.stat(d.data).st_mode))
        for name in os.listdir(d.data):
            if name.endswith(".pem"):
                continue  # certificates are public
            mode = stat.S_IMODE(os.stat(os.path.join(d.data, name)).st_mode)
            check(mode & 0o077 == 0, "--init made %s mode %o" % (name, mode))
        cases = [(db, 0o644, 0o600), (d.data, 0o755, 0o700)]
        wal = db + "-wal"
        with open(wal, "wb"):
            pass
        cases.append((wal, 0o640, 0o600))
        for path, bad, good in cases:
            os.chmod(path, bad)
            out = d.run_once("--listen", "127.0.0.1:0", timeout=10)
            check(out.returncode != 0 and path in out.stderr,
                  "start with %s mode %o: exit %d, %r" % (path, bad, out.returncode,
                                                          out.stderr[-300:]))
            out = d.run_once("-n")
            check(out.returncode != 0 and path in out.stderr, "-n with %s mode %o" % (path, bad))
            os.chmod(path, good)
        os.unlink(wal)
        check(d.run_once("-n").returncode == 0, "private again: -n passes")
    finally:
        subprocess.run(["rm", "-rf", d.tmp])


run([test_big_bodies_before_authentication, test_body_budget, test_connections_per_address,
     test_descriptors_1024_2000, test_descriptors_256_600, test_tls_policy,
     test_database_modes])
