"""https_standin.py - what the local stand-ins of Apple's services share (a
support module, not a test): an HTTPS server on 127.0.0.1 in a thread of
the test, with the test certificate, started and stopped with the
stand-in (a context manager), and the JSON request loop of the services
that answer JSON (ADE, Apps and Books).

A stand-in subclasses HttpsStandin, sets cert and key, and either gives its
own handler class (gdmf_standin.py) or defines handle(method, path,
headers, body) -> dict/list/str/bytes (200), raising Reply(status, body,
headers) for anything else; content_type names what its answers are
labelled, as the real service labels them.
"""
import http.server
import json
import ssl
import threading


class Reply(Exception):
    """An answer other than 200: status, body (dict/list/str/bytes), headers."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class JsonHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def _serve(self, method):
        s = self.server.standin
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        try:
            status, data, headers = 200, s.handle(method, self.path, self.headers, body), {}
        except Reply as r:
            status, data, headers = r.status, r.body, r.headers
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        self.send_header("Content-Type", s.content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")


class HttpsStandin:
    handler = JsonHandler
    content_type = "application/json;charset=UTF-8"
    cert = key = None
    server = None
    port = 0

    def start(self, port=0):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self.handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.server.standin = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        self.stop()
