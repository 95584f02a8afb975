"""Hostile and odd clients against a real ardoised: every case must get a
clear answer or a prompt close, and the daemon must keep serving after it.

One daemon with small limits and short timeouts serves most tests, in order,
so the last check also proves it survived all of them; the idle-timeout,
client-certificate and logging tests use a second daemon that logs at debug.
"""
import concurrent.futures
import json
import os
import random
import re
import select
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

from harness import Daemon, Failure, check, read_response, read_until_closed, run, wait_until

LIMITS = """[server]
header_timeout_ms = 500
body_timeout_ms = 500
idle_timeout_ms = 10000
max_header_bytes = 2048
max_body_bytes = 4096
"""

D = None   # the main daemon (set in main)
DBG = None  # debug-logging daemon with a short idle timeout


def tls(d=None, **kw):
    return (d or D).raw_tls(**kw)


def exchange(raw, d=None, n=1):
    """Sends raw bytes on a new TLS connection; reads n responses."""
    s = tls(d)
    try:
        s.sendall(raw)
        f = s.makefile("rb")
        return [read_response(f) for _ in range(n)]
    finally:
        s.close()


def closed_within(sock, seconds):
    """True when the peer closes sock within `seconds` (data read is discarded)."""
    sock.settimeout(seconds)
    try:
        read_until_closed(sock)
        return True
    except socket.timeout:
        return False


def error_code(body):
    e = json.loads(body)["error"]
    check(set(e) == {"code", "message"} and e["message"], "JSON error shape: %r" % body)
    return e["code"]


LOG_LINE = re.compile(r'ts=\S+ level=(debug|info|warn|error) event=[a-z_]+'
                      r'( \w+=(\S+|"(?:[^"\\]|\\.)*"))*$')


def client_hello():
    """The first flight of a real TLS client, as bytes."""
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def rst_close(sock):
    """Closes with a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- HTTP semantics --------------------------------------------------------

def test_keepalive_reuse():
    c = D.connect()
    socks = set()
    for _ in range(5):
        status, _, body = D.request("GET", "/healthz", token=None, conn=c)
        check(status == 200 and json.loads(body)["status"] == "ok", "healthz: %r" % body)
        socks.add(id(c.sock))
    c.close()
    check(len(socks) == 1, "five requests must share one connection")
    m = D.wait_log(r"event=request id=(\S+)\.5 method=GET path=/healthz")
    for i in range(1, 5):
        check(("id=%s.%d " % (m.group(1), i)) in D.log(), "request %d on the same connection" % i)
    D.check_serving()


def test_head():
    c = D.connect()
    status, h, body = D.request("HEAD", "/healthz", token=None, conn=c)
    check(status == 200 and body == b"", "HEAD: %d %r" % (status, body))
    status, _, body = D.request("GET", "/healthz", token=None, conn=c)  # framing intact
    check(status == 200 and b"ok" in body, "GET after HEAD on one connection: %d" % status)
    check(h.get("content-length") == str(len(body)), "HEAD's Content-Length is GET's: %r" % h)
    c.close()
    D.check_serving()


def test_404():
    # (a path outside /api/, /mdm/... is a page: index.html, test_web_serve)
    status, h, body = D.request("GET", "/api/no/such/route", token=None)
    check(status == 404 and error_code(body) == "not_found", "404: %d %r" % (status, body))
    check(h.get("content-type") == "application/json", "JSON errors: %r" % h)
    status, _, _ = D.request("GET", "/healthzz", token=None)
    check(status == 404, "a longer path is another route: %d" % status)
    D.check_serving()


def test_405():
    for method, path, allow in (("POST", "/healthz", "GET, HEAD"),
                                ("DELETE", "/healthz", "GET, HEAD"),
                                ("PUT", "/api/v1/whoami", "GET, HEAD"),
                                ("GET", "/scep/../mdm/checkin", None),
                                ("DELETE", "/mdm/checkin", "PUT")):
        status, h, body = D.request(method, path, body=b"{}", token=None)
        if allow is None:  # not a route at all
            check(status in (400, 404), "%s %s: %d" % (method, path, status))
            continue
        check(status == 405, "%s %s: expected 405, got %d" % (method, path, status))
        check(h.get("allow") == allow, "%s %s: Allow %r, want %r" % (method, path,
                                                                     h.get("allow"), allow))
        error_code(body)
    D.check_serving()


def test_401():
    status, h, body = D.request("GET", "/api/v1/whoami", token=None)
    check(status == 401 and error_code(body) == "unauthorized", "no token: %d %r" % (status, body))
    check(h.get("www-authenticate", "").startswith("Bearer"), "401 names the scheme: %r" % h)
    for auth in ("Bearer ard_" + "A" * 43, "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer " + D.token[:-1],
                 "Bearer " + D.token + "x"):
        status, _, body = D.request("GET", "/api/v1/whoami", headers={"Authorization": auth},
                                    token=None)
        check(status == 401, "Authorization %r: expected 401, got %d" % (auth[:20], status))
    status, _, body = D.request("GET", "/api/v1/whoami",
                                headers={"Authorization": "bearer " + D.token}, token=None)
    check(status == 200, "the scheme name is case-insensitive: %d" % status)
    D.check_serving()


def test_400_garbage_request():
    for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n",
                b"GET http://elsewhere/ HTTP/1.1\r\n\r\n", b"\x00\x01\x02\x03\r\n\r\n"):
        s = tls()
        s.sendall(raw)
        f = s.makefile("rb")
        status, h, body = read_response(f)
        check(status == 400 and h.get("connection") == "close", "%r: %d %r" % (raw, status, h))
        check(closed_within(s, 2), "the connection is closed after a 400")
        s.close()
    D.check_serving()


def test_query_strings():
    status, _, _ = D.request("GET", "/healthz?x=1&y=%20&z", token=None)
    check(status == 200, "a query does not change the route: %d" % status)
    status, _, body = D.request("GET", "/api/v1/whoami?school=0131266F&q=a+b%2F")
    check(status == 200 and json.loads(body)["name"] == "admin", "whoami with a query: %d" % status)
    D.check_serving()


def test_pipelined():
    raw = (b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
           b"GET /api/nope HTTP/1.1\r\nHost: a\r\n\r\n"
           b"HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
           b"GET /api/v1/whoami HTTP/1.1\r\nAuthorization: Bearer " + D.token.encode() + b"\r\n\r\n")
    s = tls()
    s.sendall(raw)
    f = s.makefile("rb")
    first = read_response(f)
    got = [first[0], read_response(f)[0]]
    status, h, _ = read_response(f, head=True)
    # the GET answer's length, and no body: the next answer follows at once
    check(h.get("content-length") == first[1].get("content-length"),
          "HEAD gives the GET answer's length: %r" % h)
    got.append(status)
    got.append(read_response(f)[0])
    check(got == [200, 404, 200, 200], "pipelined answers in order: %r" % got)
    s.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
    status, h, _ = read_response(f)
    check(status == 200 and h.get("connection") == "close", "Connection: close honoured")
    check(closed_within(s, 2), "closed after Connection: close")
    s.close()
    D.check_serving()


def test_chunked_body():
    raw = (b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n"
           b"GET /healthz HTTP/1.1\r\n\r\n")
    got = [r[0] for r in exchange(raw, n=2)]
    check(got == [405, 200], "a chunked body is framed, the next request follows: %r" % got)
    D.check_serving()


def test_413_content_length():
    s = tls()
    s.sendall(b"POST /healthz HTTP/1.1\r\nContent-Length: 4097\r\n\r\n")  # no body sent
    status, h, body = read_response(s.makefile("rb"))
    check(status == 413 and h.get("connection") == "close", "413 before the body: %d" % status)
    check(closed_within(s, 2), "closed after 413")
    s.close()
    status, _, _ = D.request("POST", "/healthz", body=b"x" * 4096, token=None)
    check(status == 405, "a body of exactly the limit is read (then 405): %d" % status)
    D.check_serving()


def test_expect_100_continue():
    """A client that waits for leave to send its body (curl over 1 MiB) hears
    "100 Continue" once the body is admitted, and the refusal instead when it
    is not."""
    s = tls()
    s.sendall(b"POST /healthz HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
    f = s.makefile("rb")
    interim = f.readline() + f.readline()
    check(interim == b"HTTP/1.1 100 Continue\r\n\r\n", "the go-ahead before the body: %r" % interim)
    s.sendall(b"0123456789")
    status, _, _ = read_response(f)
    check(status == 405, "then the answer to the whole request: %d" % status)
    s.close()
    s = tls()
    s.sendall(b"POST /healthz HTTP/1.1\r\nContent-Length: 4097\r\nExpect: 100-continue\r\n\r\n")
    status, h, _ = read_response(s.makefile("rb"))
    check(status == 413, "a body over the limit is refused, never invited: %d" % status)
    s.close()
    D.check_serving()


def test_413_chunked():
    s = tls()
    s.sendall(b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    status = None
    try:
        for _ in range(10):
            s.sendall(b"400\r\n" + b"z" * 1024 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass  # the server may close before we finish sending
    status, h, _ = read_response(s.makefile("rb"))
    check(status == 413, "chunked body over the limit: %d" % status)
    s.close()
    D.check_serving()


def test_431():
    s = tls()
    s.sendall(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n")
    status, h, _ = read_response(s.makefile("rb"))
    check(status == 431 and h.get("connection") == "close", "huge header: %d" % status)
    s.close()
    s = tls()
    s.sendall(b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(100)) + b"\r\n")
    status, _, _ = read_response(s.makefile("rb"))
    check(status == 431, "too many headers: %d" % status)
    s.close()
    D.check_serving()


def server_rx_queue(d, client_port):
    """Bytes the daemon has not read yet on the connection from client_port
    (the kernel's receive queue, /proc/net/tcp)."""
    want = (":%04X" % d.port, ":%04X" % client_port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(want[0]) and fields[2].endswith(want[1]):
                return int(fields[4].split(":")[1], 16)
    raise Failure("connection from port %d not found in /proc/net/tcp" % client_port)


def server_rx_queue_gone(d, client_port):
    """True when the daemon's end of the connection from client_port is
    closed (not in /proc/net/tcp, or no longer ESTABLISHED)."""
    want = (":%04X" % d.port, ":%04X" % client_port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(want[0]) and fields[2].endswith(want[1]):
                return fields[3] != "01"  # 01 = ESTABLISHED
    return True


# pipelined requests whose ~1 KB answers (a 404 naming the path) fill the
# kernel's buffers and the daemon's 1 MB queue in a few thousand
UNREAD_BATCH = (b"GET /api/" + b"p" * 476 + b" HTTP/1.1\r\n\r\n") * 1000


def cpu_ticks(d):
    with open("/proc/%d/stat" % d.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_quiet(d, timeout=30):
    """Waits until the daemon stops using CPU for a while (five samples
    0.1 s apart alike); one still busy after timeout is left to the
    caller's check."""
    ticks = []

    def still():
        ticks.append(cpu_ticks(d))
        return len(ticks) >= 5 and len(set(ticks[-5:])) == 1
    try:
        wait_until(still, timeout, "the daemon to go quiet", interval=0.1)
    except Failure:
        pass


def test_unread_answers_stop_reading():
    """A client that pipelines requests and never reads the answers must not
    make the daemon queue answers without bound: it stops reading instead,
    and resumes when the client reads.  (A loaded machine may take long
    to settle: idle_timeout_ms, the deadline of a client that reads
    nothing, is 2 min here.)

    One thread sends and reads, without blocking: OpenSSL does not allow
    one connection to be read and written from two threads at once (a
    writer thread beside the reader broke the connection now and then,
    a few answers before the end)."""
    # each answer is a ~1 KB 404 (its message names the path), so that
    # a few thousand requests fill the kernel's buffers and the 1 MB queue
    n = 14000
    requests = UNREAD_BATCH * (n // 1000)
    with Daemon(workers=1, config="[server]\nidle_timeout_ms = 120000\n") as q:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # a slow reader
        raw.connect(("127.0.0.1", q.port))
        s = q.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
        s.setblocking(False)
        sent = 0

        def send_some():
            """Sends until the kernel takes no more; True when all is sent."""
            nonlocal sent
            while sent < len(requests):
                try:
                    sent += s.send(requests[sent:sent + 16384])
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    return False
            return True

        # send without reading until nothing more goes out for 2 s: the
        # daemon has stopped reading (or, on a fast machine, all is sent)
        while not send_some():
            if not select.select([], [s], [], 2)[1]:
                break
        wait_quiet(q)
        check(server_rx_queue(q, s.getsockname()[1]) > 0,
              "the daemon kept reading requests whose answers were not read")
        got, tail, deadline = 0, b"", time.monotonic() + 120
        while got < n:  # now read (and send the rest): every answer arrives
            check(time.monotonic() < deadline, "%d answers of %d after 2 min" % (got, n))
            more = sent < len(requests)
            r, w, _ = select.select([s], [s] if more else [], [], 5)
            if w:
                send_some()
            while r or s.pending():
                r = None
                try:
                    data = tail + s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                got += data.count(b"HTTP/1.1 404 Not Found\r\n")
                tail = data[-24:] if not data.endswith(b"\r\n") else b""
                check(len(data) > len(tail), "connection closed after %d answers" % got)
        check(got == n and sent == len(requests), "%d answers for %d requests" % (got, n))
        s.close()
        q.check_serving("a client that does not read")
    D.check_serving()


def test_unread_answers_deadline():
    """A client that stops reading its answers altogether is closed once
    idle_timeout_ms passes without it taking one."""
    with Daemon(workers=1, config="[server]\nidle_timeout_ms = 1000\n") as q:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.connect(("127.0.0.1", q.port))
        s = q.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")

        def write():
            try:
                for _ in range(14):
                    s.sendall(UNREAD_BATCH)
            except OSError:
                pass  # closed by the daemon: what is expected
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        wait_until(lambda: "state=answers_unread" in q.log(), 60,
                   "the daemon to close a connection whose answers are not read")
        port = s.getsockname()[1]
        wait_until(lambda: server_rx_queue_gone(q, port), 10,
                   "the daemon's end of the connection to close")
        s.close()
        q.check_serving("a client that stopped reading")
    D.check_serving()


# -- TLS level -------------------------------------------------------------

def test_tls_garbage():
    rnd = random.Random(7)
    for size in (1, 5, 300, 20000):
        s = D.tcp()
        if size < 20000:
            s.sendall(bytes(rnd.getrandbits(8) for _ in range(size)))
        else:  # a whole handshake record of random bytes
            s.sendall(bytes([0x16, 3, 1, 0x40, 0]) + os.urandom(0x4000))
        if size >= 5:  # a whole record header: refused at once, not at a timeout
            t0 = time.time()
            check(closed_within(s, 5), "garbage of %d bytes: connection not closed" % size)
            check(time.time() - t0 < 0.45, "garbage closed at once, took %.2fs" % (time.time() - t0))
        s.close()
    check(re.search(r"event=tls_error conn=\S+ peer=127\.0\.0\.1:\d+ error=", D.log()),
          "TLS errors are logged with the peer")
    D.check_serving("TLS garbage")


def test_plain_http_to_tls_port():
    s = D.tcp()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    s.settimeout(5)
    data = read_until_closed(s)
    s.close()
    check(b"HTTP/1.1 200" not in data and b"ok" not in data, "no plaintext answer: %r" % data[:80])
    D.check_serving("plain HTTP on the TLS port")


def test_abrupt_disconnects():
    hello = client_hello()
    base = D.open_sockets()
    for i in range(100):
        kind = i % 5
        if kind == 0:  # connect and vanish
            D.tcp().close()
        elif kind == 1:  # half a ClientHello, then FIN
            s = D.tcp()
            s.sendall(hello[:len(hello) // 2])
            s.close()
        elif kind == 2:  # half a ClientHello, then RST
            s = D.tcp()
            s.sendall(hello[:len(hello) // 2])
            rst_close(s)
        else:  # handshake done, half a request, then FIN or RST
            s = tls()
            s.sendall(b"POST /healthz HTTP/1.1\r\nContent-Length: 100\r\n\r\nhalf" if kind == 3
                      else b"GET /heal")
            if kind == 3:
                s.close()
            else:
                rst_close(s)
    D.check_serving("100 abrupt disconnects")
    wait_until(lambda: D.open_sockets() <= base, 5, lambda: "every connection to be freed: %d "
               "sockets open, %d before" % (D.open_sockets(), base))


def test_200_concurrent_keepalive():
    base = D.open_sockets()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        conns = list(pool.map(lambda _: tls(), range(200)))
    check(D.open_sockets() >= base + 200, "200 connections open at once")
    files = [s.makefile("rb") for s in conns]
    for rnd in range(2):
        for s in conns:  # every request is in flight before any answer is read
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        for f in files:
            status, _, body = read_response(f)
            check(status == 200 and b"ok" in body, "round %d: %d" % (rnd, status))
    for f, s in zip(files, conns):
        f.close()  # a socket stays open while a file made from it is
        s.close()
    D.check_serving("200 concurrent connections")
    wait_until(lambda: D.open_sockets() <= base, 5, lambda: "connections to be freed: %d "
               "sockets open, %d before" % (D.open_sockets(), base))


# -- timeouts --------------------------------------------------------------

def test_handshake_timeout():
    s = D.tcp()  # connects and says nothing
    t0 = time.time()
    check(closed_within(s, 5), "a silent client is closed")
    took = time.time() - t0
    check(0.3 < took < 3, "closed by header_timeout_ms=500, took %.2fs" % took)
    s.close()
    s = D.tcp()  # half a handshake, then silence
    s.sendall(client_hello()[:40])
    t0 = time.time()
    check(closed_within(s, 5) and time.time() - t0 < 3, "a stalled handshake is closed")
    s.close()
    s = D.tcp()  # a handshake trickled byte by byte does not extend the deadline
    s.settimeout(0.05)
    t0, closed = time.time(), False
    for b in client_hello()[:200]:
        try:
            s.send(bytes([b]))
            closed = s.recv(1) == b""
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if closed:
            break
    check(closed and time.time() - t0 < 2, "a trickled handshake is closed at the deadline")
    s.close()
    D.check_serving()


def test_max_connections():
    with Daemon(workers=1, config="[server]\nmax_connections = 5\n") as q:
        conns = [q.raw_tls() for _ in range(5)]
        extra = q.tcp()
        check(closed_within(extra, 2), "a 6th connection is closed at once")
        extra.close()
        check("reason=max_connections" in q.log(), "the refusal is logged")
        conns.pop().close()
        # the freed slot is usable again
        wait_until(lambda: q.healthz() == 200, 5, "the connection slot to be freed")
        for c in conns:
            c.close()


def test_slow_headers_408():
    s = tls()
    t0 = time.time()
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    s.settimeout(0.1)
    data = b""
    for i in range(50):  # one header every 100 ms: trickling must not extend the deadline
        try:
            s.sendall(b"X-Slow-%d: y\r\n" % i)
            data += s.recv(4096)
            if data:
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            break
    took = time.time() - t0
    check(data.startswith(b"HTTP/1.1 408 "), "408 for slow headers: %r" % data[:40])
    check(took < 2, "answered at the header deadline, took %.2fs" % took)
    s.close()
    D.check_serving("a slow client")


def test_stalled_body_408():
    s = tls()
    s.sendall(b"POST /healthz HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789")
    t0 = time.time()
    s.settimeout(5)
    data = read_until_closed(s)
    took = time.time() - t0
    check(data.startswith(b"HTTP/1.1 408 ") or data == b"", "408 or close: %r" % data[:40])
    check(0.3 < took < 3, "closed by body_timeout_ms=500, took %.2fs" % took)
    s.close()
    D.check_serving("a stalled body")


def test_idle_timeout():
    c = DBG.connect()
    status, _, _ = DBG.request("GET", "/healthz", token=None, conn=c)
    check(status == 200, "healthz")
    t0 = time.time()
    check(closed_within(c.sock, 5), "an idle keep-alive connection is closed")
    check(time.time() - t0 < 3, "idle close took %.2fs" % (time.time() - t0))
    c.close()
    DBG.check_serving()


# -- client certificates ---------------------------------------------------

def openssl(*args):
    out = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, "openssl %s: %s" % (" ".join(args), out.stderr))


def make_client_cert(tmp, name, ca_pem, ca_key):
    key, csr, pem = (os.path.join(tmp, name + ext) for ext in (".key", ".csr", ".pem"))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-set_serial",
            str(random.randrange(1 << 60)), "-days", "2", "-out", pem)
    return pem, key


def test_client_certificates():
    with tempfile.TemporaryDirectory() as tmp:
        fca_key, fca_pem = os.path.join(tmp, "fca.key"), os.path.join(tmp, "fca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", fca_key, "-out", fca_pem, "-subj", "/CN=Foreign CA", "-days", "2")
        cases = [
            ("none", None, None),
            ("foreign CA", *make_client_cert(tmp, "foreign-device", fca_pem, fca_key)),
            ("own CA", *make_client_cert(tmp, "own-device", DBG.ca,
                                         os.path.join(DBG.data, "ca.key"))),
        ]
        for what, cert, key in cases:
            presented = DBG.log().count("client_cert=1")
            c = DBG.connect(cert=cert, key=key)
            status, _, body = DBG.request("GET", "/healthz", token=None, conn=c)
            check(status == 200, "client certificate %s: healthz %d" % (what, status))
            status, _, body = DBG.request("GET", "/api/v1/whoami", conn=c)
            check(status == 200, "client certificate %s: staff route %d %r" % (what, status, body))
            c.close()
            # tls_ready is logged at the handshake, before any answer
            check(DBG.log().count("client_cert=1") == presented + (cert is not None),
                  "client certificate %s: the daemon saw %s certificate" % (what, "no" if cert else "a"))
    DBG.check_serving("client certificates")


# -- logs ------------------------------------------------------------------

def test_secrets_never_logged():
    forged = "ard_" + "Q" * 43
    for token in (DBG.token, forged):
        DBG.request("GET", "/api/v1/whoami", token=token)
        DBG.request("GET", "/healthz", token=token)
    exchange(b"GET /api/v1/whoami HTTP/1.1\r\nAuthorization: Bearer " + DBG.token.encode() +
             b"\r\nX-Token: " + DBG.token.encode() + b"\r\n\r\n", d=DBG)
    log = DBG.log()
    check("level=debug" in log, "the daemon logs at debug")
    for secret in (DBG.token, DBG.token[4:], forged[4:]):
        check(secret not in log, "a bearer token appears in the log")
    with open(os.path.join(DBG.data, "ca.key")) as f:
        key_line = f.read().splitlines()[1]
    check(key_line not in log, "key material appears in the log")
    for line in log.splitlines():
        check(LOG_LINE.match(line), "log lines are key=value: %r" % line)


# -- the end ---------------------------------------------------------------

def test_survived_everything():
    D.check_serving("all hostile tests")
    check("level=error" not in D.log(), "no error logged: %s"
          % [l for l in D.log().splitlines() if "level=error" in l][:3])
    rc = D.stop()
    check(rc == 0, "SIGTERM after the hostile tests exits 0, got %s" % rc)


def main():
    global D, DBG
    with Daemon(config=LIMITS) as D, \
            Daemon(config="[server]\nidle_timeout_ms = 300\n[log]\nlevel = debug\n") as DBG:
        try:
            run([test_keepalive_reuse, test_head, test_404, test_405, test_401,
             test_400_garbage_request, test_query_strings, test_pipelined, test_chunked_body,
             test_413_content_length, test_expect_100_continue, test_413_chunked, test_431,
             test_tls_garbage, test_plain_http_to_tls_port, test_abrupt_disconnects,
             test_200_concurrent_keepalive, test_unread_answers_stop_reading,
             test_unread_answers_deadline,
             test_max_connections, test_handshake_timeout, test_slow_headers_408, test_stalled_body_408,
             test_idle_timeout, test_client_certificates, test_secrets_never_logged,
             test_survived_everything])
        except SystemExit as e:  # leave the with blocks normally: no log dump on success
            code = e.code
    sys.exit(code)


if __name__ == "__main__":
    main()
