#!/usr/bin/env python3
"""SCEP interoperability with an independent implementation: micromdm/scep
(Debian package `scep`: scepclient, scepserver; Go, fullsailor/pkcs7).

  1. scepclient enrols against our codec (scep_tool serve) behind a tiny
     HTTP front end on 127.0.0.1; the issued certificate must verify against
     our CA.  A wrong challenge must get no certificate.
  2. Our client (scep_tool request/response) enrols against scepserver on
     127.0.0.1 with AES-128, AES-256, DES3 and DES.

Exits 77 (meson: skipped) with a visible message when the scep package or
openssl is absent.  Usage: scep_micromdm.py PATH/TO/scep_tool
"""
import base64
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

TIMEOUT = 60


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def run(argv, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(argv, capture_output=True, **kw)


def make_handler(tool, cadir, challenge):
    with open(os.path.join(cadir, "ca.pem")) as f:
        ca_der = ssl.PEM_cert_to_DER_cert(f.read())

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("http: " + (fmt % args) + "\n")

        def reply(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def pkioperation(self, msg):
            p = run([tool, "serve", cadir, challenge], input=msg)
            sys.stderr.write(p.stderr.decode(errors="replace"))
            if p.returncode != 0:
                self.reply(400, "text/plain", b"bad request\n")
            else:
                self.reply(200, "application/x-pki-message", p.stdout)

        def do_GET(self):
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            op = q.get("operation", [""])[0]
            if op == "GetCACaps":
                caps = run([tool, "caps"]).stdout
                self.reply(200, "text/plain", caps)
            elif op == "GetCACert":
                self.reply(200, "application/x-x509-ca-cert", ca_der)
            elif op == "PKIOperation":
                self.pkioperation(base64.b64decode(q.get("message", [""])[0]))
            else:
                self.reply(404, "text/plain", b"unknown operation\n")

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            if n > 64 * 1024:
                self.reply(413, "text/plain", b"too large\n")
                return
            self.pkioperation(self.rfile.read(n))

    return Handler


def scepclient_against_us(tool, tmp):
    cadir = os.path.join(tmp, "ours")
    os.mkdir(cadir)
    p = run([tool, "init-ca", cadir])
    assert p.returncode == 0, p.stderr
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(tool, cadir, "s3cret"))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/scep" % srv.server_address[1]
    failures = 0
    try:
        # scepclient keeps csr.pem and self.pem beside its key and reuses
        # them: one directory per enrolment
        d1 = os.path.join(tmp, "client1")
        os.mkdir(d1)
        key = os.path.join(d1, "client.key")
        cert = os.path.join(d1, "client.pem")
        p = run(["scepclient", "-server-url", url, "-challenge", "s3cret",
                 "-private-key", key, "-certificate", cert, "-cn", "micromdm-client"], cwd=d1)
        sys.stderr.write(p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace"))
        if p.returncode != 0 or not os.path.exists(cert):
            print("FAIL: scepclient could not enrol against our server")
            failures += 1
        else:
            v = run(["openssl", "verify", "-CAfile", os.path.join(cadir, "ca.pem"),
                     "-purpose", "sslclient", cert])
            subj = run(["openssl", "x509", "-noout", "-subject", "-in", cert]).stdout.decode()
            if v.returncode != 0 or "micromdm-client" not in subj:
                print("FAIL: certificate from our server does not verify: %s %s"
                      % (v.stdout, v.stderr))
                failures += 1
            else:
                print("ok: scepclient enrolled against our server (%s)" % subj.strip())
        # a wrong challenge gets a FAILURE CertRep and no certificate
        d2 = os.path.join(tmp, "client2")
        os.mkdir(d2)
        key2 = os.path.join(d2, "client.key")
        cert2 = os.path.join(d2, "client.pem")
        p = run(["scepclient", "-server-url", url, "-challenge", "wrong",
                 "-private-key", key2, "-certificate", cert2, "-cn", "intruder"], cwd=d2)
        if p.returncode == 0 and os.path.exists(cert2):
            print("FAIL: scepclient got a certificate with a wrong challenge")
            failures += 1
        else:
            out = (p.stdout + p.stderr).decode(errors="replace").strip().splitlines()
            print("ok: scepclient refused with a wrong challenge: %s" % (out[0] if out else ""))
    finally:
        srv.shutdown()
    return failures


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def us_against_scepserver(tool, tmp):
    depot = os.path.join(tmp, "depot")
    p = run(["scepserver", "ca", "-init", "-depot", depot, "-keySize", "2048"], cwd=tmp)
    assert p.returncode == 0, p.stderr
    port = free_port()
    log = open(os.path.join(tmp, "scepserver.log"), "wb")
    proc = subprocess.Popen(["scepserver", "-depot", depot, "-port", str(port),
                             "-challenge", "s3cret", "-allowrenew", "0"],
                            stdout=log, stderr=log, cwd=tmp)
    failures = 0
    try:
        if not wait_port(port, proc):
            print("FAIL: scepserver did not start")
            return 1
        url = "http://127.0.0.1:%d/scep" % port
        with urllib.request.urlopen(url + "?operation=GetCACert", timeout=TIMEOUT) as r:
            ca_der = r.read()
        ca_pem = os.path.join(tmp, "theirs-ca.pem")
        with open(ca_pem, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(ca_der))
        for cipher in ("aes128", "aes256", "des3", "des"):
            key = os.path.join(tmp, "dev-%s.key" % cipher)
            ss = os.path.join(tmp, "dev-%s-ss.pem" % cipher)
            p = run([tool, "request", ca_pem, key, ss, "ardoise-" + cipher, "s3cret", cipher])
            if p.returncode != 0:
                print("FAIL: request %s: %s" % (cipher, p.stderr.decode()))
                failures += 1
                continue
            req = urllib.request.Request(url + "?operation=PKIOperation", data=p.stdout,
                                         headers={"Content-Type": "application/octet-stream"})
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                    rep = r.read()
            except Exception as e:  # noqa: BLE001 - report any HTTP failure
                print("FAIL: scepserver refused our %s request: %s" % (cipher, e))
                failures += 1
                continue
            p = run([tool, "response", ca_pem, key, ss], input=rep)
            if p.returncode != 0 or b"BEGIN CERTIFICATE" not in p.stdout:
                print("FAIL: reading scepserver's CertRep (%s): %s" % (cipher, p.stderr.decode()))
                failures += 1
                continue
            cert = os.path.join(tmp, "dev-%s.pem" % cipher)
            with open(cert, "wb") as f:
                f.write(p.stdout)
            v = run(["openssl", "verify", "-CAfile", ca_pem, cert])
            if v.returncode != 0:
                print("FAIL: scepserver's certificate does not verify (%s)" % cipher)
                failures += 1
            else:
                print("ok: our client enrolled against scepserver with %s" % cipher)
        # wrong challenge: scepserver answers FAILURE, we read it as such
        key = os.path.join(tmp, "bad.key")
        ss = os.path.join(tmp, "bad-ss.pem")
        p = run([tool, "request", ca_pem, key, ss, "intruder", "wrong", "aes128"])
        req = urllib.request.Request(url + "?operation=PKIOperation", data=p.stdout)
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            rep = r.read()
        p = run([tool, "response", ca_pem, key, ss], input=rep)
        if p.returncode != 3:
            print("FAIL: scepserver's FAILURE CertRep read as rc=%d: %s"
                  % (p.returncode, p.stderr.decode()))
            failures += 1
        else:
            print("ok: scepserver's FAILURE CertRep read as failure (%s)"
                  % p.stderr.decode().strip())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    return failures


def main():
    if len(sys.argv) != 2:
        print("usage: scep_micromdm.py SCEP_TOOL")
        return 2
    tool = os.path.abspath(sys.argv[1])
    for prog in ("scepclient", "scepserver", "openssl"):
        if shutil.which(prog) is None:
            skip("%s not installed (Debian package `scep` / `openssl`); "
                 "SCEP interoperability with micromdm/scep not tested" % prog)
    tmp = tempfile.mkdtemp(prefix="ardoise-scep-interop-")
    try:
        failures = scepclient_against_us(tool, tmp)
        failures += us_against_scepserver(tool, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
