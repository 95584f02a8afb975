"""gdmf_standin.py - a local stand-in for Apple's software update catalogue
(GDMF, GET https://gdmf.apple.com/v2/pmv) for the tests (a support module,
not a test): HTTPS on 127.0.0.1 and an ephemeral port with a test
certificate, in a thread of the test, serving a fixture in the shape of
Apple's answer (tests/apple/gdmf_fixture.json by default) at /v2/pmv.

It counts the requests and can be told how to answer the next ones, in
order, before going back to the fixture:

    with GdmfStandin(cert, key) as g:
        ... "[updates]\\ncatalogue_url = %s\\ncatalogue_ca = %s\\n" % (g.url, ca) ...
        g.then(g.too_many(1), g.error(500), g.truncated(), g.invalid())
        g.requests          # requests answered so far
        g.body = b"..."     # what a 200 answers from now on

Answers: too_many(seconds) is 429 with Retry-After (None: without it);
error(status); truncated() the fixture's first half as a whole 200
answer (JSON cut short); cut() a 200 whose connection closes before the
announced length; invalid() a 200 JSON answer with a value of the wrong
type; hold() the fixture once let_go() is called; answer(status, body,
headers) anything else.  Any path but /v2/pmv
is 404.  Only the Python standard library is used.

For the tests of a daemon that reads it: standin_pki() makes a test CA and
the stand-in's certificate, updates_config(url, ca) the [updates] section
(no refresh unless asked), load_catalogue(d) runs the fetch job and waits
for the releases.

Standalone: python3 gdmf_standin.py CERT KEY [PORT] serves the fixture.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading

from https_standin import HttpsStandin

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apple",
                       "gdmf_fixture.json")
PATH = "/v2/pmv"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def do_GET(self):
        g = self.server.standin
        with g.lock:
            g.requests += 1
            g.paths.append(self.path)
            g.user_agents.append(self.headers.get("User-Agent", ""))
            plan = g.plan.pop(0) if g.plan and self.path == PATH else None
            body = g.body
        if self.path != PATH:
            plan = (404, b'{"error":"not found"}', {}, None)
        if plan is None:
            plan = (200, body, {}, None)
        if plan == "hold":  # held until the test lets it go, then the fixture
            g.held.set()
            g.release.wait(60)
            plan = (200, body, {}, None)
        status, data, headers, announced = plan
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(announced if announced is not None else len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        if announced is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (a cap, a drain): nothing to tell
            self.close_connection = True
            return
        if announced is not None:
            self.close_connection = True



def standin_pki():
    """(ca, cert, key): a fresh test CA and a certificate for 127.0.0.1 and
    localhost it issued (tests/support/tu-make-certs), in a temp directory."""
    pki = tempfile.mkdtemp(prefix="ardoise-gdmf-pki-")
    make = os.environ.get("APNS_MAKE_CERTS", "build/tests/support/tu-make-certs")
    subprocess.run([make, pki], check=True, capture_output=True)
    return tuple(os.path.join(pki, n) for n in ("ca.pem", "server.pem", "server.key"))


def updates_config(url, ca, extra=""):
    """The [updates] section of a daemon reading the stand-in at url; the
    catalogue is fetched only when a test asks (load_catalogue)."""
    return ("[updates]\ncatalogue_url = %s\ncatalogue_ca = %s\ncatalogue_refresh_hours = 0\n%s"
            % (url, ca, extra))


def load_catalogue(d):
    """Runs the daemon's fetch job and waits until it holds releases."""
    from harness import wait_until
    d.api("POST", "/api/v1/jobs/updates_catalogue/run")
    wait_until(lambda: d.api("GET", "/api/v1/updates/catalogue")["releases"] > 0, 60,
               "the catalogue")

class GdmfStandin(HttpsStandin):
    handler = _Handler

    def __init__(self, cert, key, fixture=FIXTURE):
        with open(fixture, "rb") as f:
            self.body = f.read()
        self.cert, self.key = cert, key
        self.lock = threading.Lock()
        self.plan = []
        self.requests = 0
        self.paths = []
        self.user_agents = []
        self.held, self.release = threading.Event(), threading.Event()
        self.server = None
        self.port = None

    # -- answers --------------------------------------------------------
    @staticmethod
    def answer(status, body=b"", headers=None):
        return (status, body, dict(headers or {}), None)

    def too_many(self, seconds=1):
        h = {} if seconds is None else {"Retry-After": str(seconds)}
        return (429, b'{"error":"rate limited"}', h, None)

    def error(self, status=500):
        return (status, b"<html>Internal Server Error</html>", {}, None)

    def truncated(self):
        return (200, self.body[:len(self.body) // 2], {}, None)

    def cut(self):
        half = self.body[:len(self.body) // 2]
        return (200, half, {}, len(self.body))

    def invalid(self):
        return (200, b'{"PublicAssetSets": {"iOS": [{"ProductVersion": 26.1, "Build": "23B85",'
                     b' "PostingDate": "2026-11-03", "SupportedDevices": ["iPad13,18"]}]}}',
                {}, None)

    def hold(self):
        """An answer held until let_go() (held is set when the request waits)."""
        self.held.clear()
        self.release.clear()
        return "hold"

    def let_go(self):
        self.release.set()

    def then(self, *answers):
        """The next requests to /v2/pmv get these answers, in order."""
        with self.lock:
            self.plan.extend(answers)

    # -- lifecycle -------------------------------------------------------
    @property
    def url(self):
        return "https://127.0.0.1:%d%s" % (self.port, PATH)



if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: gdmf_standin.py CERT KEY [PORT]")
    g = GdmfStandin(sys.argv[1], sys.argv[2])
    g.start(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    print("serving %s" % g.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        g.stop()
