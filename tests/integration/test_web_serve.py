"""Serving the pages: the embedded files under /static/, index.html for any
page path, the browser defences on every answer of the daemon (pages,
assets, API, errors, 304), and the names a hostile client tries."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import Daemon, check, read_response, run

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(HERE, "..", "..", "daemon", "web")
EMBED = os.path.join(HERE, "..", "..", "tools", "web-embed")

# What the contract (issue 13, section 2) asks on every answer.
SECURITY = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000",
}


def file_bytes(rel):
    with open(os.path.join(WEB, rel), "rb") as f:
        return f.read()


def etag_of(data):
    return '"%s"' % hashlib.sha256(data).hexdigest()[:16]


def check_defences(headers, what, cache="no-store"):
    for k, v in SECURITY.items():
        check(headers.get(k) == v, "%s: %s must be %r, is %r" % (what, k, v, headers.get(k)))
    check(headers.get("cache-control") == cache,
          "%s: Cache-Control %r, got %r" % (what, cache, headers.get("cache-control")))


def check_json_404(d, method, path, what="no such route"):
    status, h, body = d.request(method, path, token=None)
    check(status == 404, "%s %s: 404, got %d %r" % (method, path, status, body[:200]))
    check(h.get("content-type") == "application/json", "%s %s: JSON 404: %r" % (method, path, h))
    check_defences(h, "%s %s" % (method, path))
    if method == "HEAD":
        check(body == b"", "HEAD %s: no body" % path)
        return
    err = json.loads(body)["error"]
    check(err["code"] == "not_found" and what in err["message"],
          "%s %s: error %r must say %r" % (method, path, err, what))


def test_pages_get_index():
    index = file_bytes("index.html")
    with Daemon() as d:
        for path in ("/", "/connexion", "/tablettes/ABC", "/tablettes/ABC/", "/lien/x_y-z",
                     "/documents/recu/12?imprimer=1", "/api", "/static", "/ete"):
            status, h, body = d.request("GET", path, token=None)
            check(status == 200 and body == index, "GET %s: index.html, got %d %r"
                  % (path, status, body[:100]))
            check(h.get("content-type") == "text/html; charset=utf-8",
                  "GET %s: text/html, got %r" % (path, h.get("content-type")))
            check(h.get("content-length") == str(len(index)), "GET %s: its length" % path)
            check("etag" not in h, "GET %s: index.html is not cached: no ETag" % path)
            check_defences(h, "GET " + path)


def test_index_preloads_every_module():
    """index.html names every JavaScript module for preloading, so the
    browser fetches them at once instead of one import after another (the
    first visit's time, README); a new page module must be added there."""
    index = file_bytes("index.html").decode()
    listed = re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', index)
    want = sorted(os.path.relpath(os.path.join(dp, f), WEB)
                  for dp, _, fs in os.walk(os.path.join(WEB, "js")) for f in fs
                  if f.endswith(".js") and f != "main.js")
    check(sorted(listed) == want, "index.html preloads every module but main.js: missing %r, "
          "unknown %r" % (sorted(set(want) - set(listed)), sorted(set(listed) - set(want))))
    check('<script type="module" src="/static/js/main.js"></script>' in index, "main.js runs")


def test_assets():
    main_js = file_bytes("js/main.js")
    tag = etag_of(main_js)
    with Daemon() as d:
        status, h, body = d.request("GET", "/static/js/main.js", token=None)
        check(status == 200 and body == main_js, "main.js served: %d" % status)
        check(h.get("content-type") == "text/javascript; charset=utf-8",
              "main.js type: %r" % h.get("content-type"))
        check(h.get("etag") == tag, "ETag is the SHA-256's first 16 hex: %r vs %r"
              % (h.get("etag"), tag))
        check_defences(h, "GET main.js", cache="no-cache")
        # a query string (a cache buster) changes nothing
        status, _, body = d.request("GET", "/static/js/main.js?v=2", token=None)
        check(status == 200 and body == main_js, "main.js?v=2: %d" % status)
        # every file the generator lists is embedded, byte for byte
        listed = subprocess.run([sys.executable, EMBED, "--list", WEB], capture_output=True,
                                text=True, check=True).stdout.split()
        check(len(listed) >= 2, "web-embed lists the assets: %r" % listed)
        for p in listed:
            rel = os.path.relpath(p, WEB)
            status, h, body = d.request("GET", "/static/" + rel, token=None)
            check(status == 200 and body == file_bytes(rel), "/static/%s: %d" % (rel, status))
            check(h.get("etag") == etag_of(body), "/static/%s: ETag" % rel)


def test_if_none_match():
    tag = etag_of(file_bytes("js/main.js"))
    with Daemon() as d:
        for inm in (tag, "W/" + tag, '"0000000000000000", ' + tag, "*"):
            c = d.connect()
            status, h, body = d.request("GET", "/static/js/main.js", token=None,
                                        headers={"If-None-Match": inm}, conn=c)
            check(status == 304 and body == b"", "If-None-Match %s: 304 with no body, got %d %r"
                  % (inm, status, body[:80]))
            check(h.get("etag") == tag, "the 304 names the tag: %r" % h)
            check("content-length" not in h and "content-type" not in h,
                  "a 304 announces no body: %r" % h)
            check_defences(h, "304", cache="no-cache")
            # the connection goes on after a 304: nothing was left unread
            status, _, body = d.request("GET", "/healthz", token=None, conn=c)
            check(status == 200 and b"warnings" in body, "keep-alive after a 304: %d %r"
                  % (status, body))
            c.close()
        for inm in ('"0000000000000000"', tag[:-2] + '"', tag[1:-1], "", '"' + tag):
            status, _, body = d.request("GET", "/static/js/main.js", token=None,
                                        headers={"If-None-Match": inm})
            check(status == 200 and len(body) > 0, "If-None-Match %r: the file, got %d"
                  % (inm, status))
        # index.html is never answered 304: it is not to be cached
        status, _, body = d.request("GET", "/", token=None, headers={"If-None-Match": "*"})
        check(status == 200 and body == file_bytes("index.html"), "index with INM *: %d" % status)


def test_unknown_names_are_json_404():
    with Daemon() as d:
        check_json_404(d, "GET", "/static/nope.js", "no such file")
        check_json_404(d, "GET", "/static/js/", "no such file")
        check_json_404(d, "GET", "/static/index", "no such file")
        check_json_404(d, "GET", "/static/")
        check_json_404(d, "GET", "/api/v1/nope")
        check_json_404(d, "GET", "/api/")
        check_json_404(d, "HEAD", "/api/v1/nope")
        check_json_404(d, "POST", "/api/v1/nope")
        check_json_404(d, "DELETE", "/api/v1/devices/X/nope")
        check_json_404(d, "GET", "/mdm/nope")
        check_json_404(d, "GET", "/scepx")
        check_json_404(d, "GET", "/healthz/x/y")
        # a known API path keeps its 405 and its own Allow
        status, h, _ = d.request("DELETE", "/api/v1/whoami")
        check(status == 405 and h.get("allow") == "GET, HEAD", "405 on whoami: %d %r"
              % (status, h.get("allow")))


def test_methods_on_pages():
    with Daemon() as d:
        for method, path in (("POST", "/"), ("POST", "/tablettes/ABC"), ("PUT", "/connexion"),
                             ("DELETE", "/static/js/main.js"), ("POST", "/static/nope")):
            status, h, body = d.request(method, path, body=b"{}", token=None)
            check(status == 405 and h.get("allow") == "GET, HEAD",
                  "%s %s: 405 Allow GET, HEAD, got %d %r" % (method, path, status, h.get("allow")))
            check(json.loads(body)["error"]["code"] == "unsupported", "405 is JSON: %r" % body)
            check_defences(h, "%s %s" % (method, path))


def test_head():
    with Daemon() as d:
        for path, rel, cache in (("/", "index.html", "no-store"),
                                 ("/tablettes/ABC", "index.html", "no-store"),
                                 ("/static/js/main.js", "js/main.js", "no-cache")):
            s = d.raw_tls()
            s.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
            status, h, body = read_response(s.makefile("rb"), head=True)
            rest = s.recv(100)
            s.close()
            check(status == 200 and body == b"" and rest == b"", "HEAD %s: no body, got %d %r"
                  % (path, status, rest))
            check(h.get("content-length") == str(len(file_bytes(rel))),
                  "HEAD %s: the GET's length, got %r" % (path, h.get("content-length")))
            check_defences(h, "HEAD " + path, cache=cache)


def test_defences_on_api_answers():
    with Daemon() as d:
        status, h, _ = d.request("GET", "/api/v1/whoami")
        check(status == 200, "whoami: %d" % status)
        check_defences(h, "GET whoami")
        status, h, _ = d.request("GET", "/api/v1/whoami", token=None)
        check(status == 401 and "www-authenticate" in h, "401 without a token: %d" % status)
        check_defences(h, "401")
        status, h, _ = d.request("GET", "/api/v1/whoami", token="ard_nope")
        check(status == 401, "401 with a bad token: %d" % status)
        check_defences(h, "401 bad token")
        status, h, _ = d.request("GET", "/healthz", token=None)
        check(status == 200, "healthz")
        check_defences(h, "healthz")
        # an answer written before any route (the head too large: 431)
        s = d.raw_tls()
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        status, h, body = read_response(s.makefile("rb"))
        s.close()
        check(status == 431 and b"error" in body, "431 for a huge head: %d %r" % (status, body))
        check_defences(h, "431")
        d.check_serving("a huge head")


def test_traversal_refused():
    with Daemon() as d:
        for path in ("/static/../meson.build", "/static/%2e%2e/meson.build", "/static/%2e%2e/x",
                     "/static//etc/passwd", "/static/js/../index.html", "/static/./index.html",
                     "/static/js%2fmain.js", "/static/js/main.js%00", "/static/js/main.js/",
                     "/static/..%2f..%2fmeson.build", "/static/JS/MAIN.JS",
                     "/static/web.c", "/static/meson.build", "/static/\\js\\main.js"):
            status, h, body = d.request("GET", path, token=None)
            check(status == 404 and b'"error"' in body,
                  "GET %s: refused, got %d %r" % (path, status, body[:120]))
            check(b"<html" not in body and b"getElementById" not in body,
                  "GET %s: no file content" % path)
            check_defences(h, "GET " + path)
        d.check_serving("traversal attempts")


def test_long_paths():
    with Daemon() as d:
        # past the router's room for a path's parameters: a defined 404
        for path in ("/static/" + "a" * 3000 + ".js", "/tablettes/" + "A" * 600,
                     "/api/v1/" + "x" * 5000):
            status, h, body = d.request("GET", path, token=None)
            check(status == 404 and b'"error"' in body, "long %s...: 404, got %d"
                  % (path[:20], status))
            check_defences(h, "long path")
        # a page path the router can hold still gets the page
        status, _, body = d.request("GET", "/tablettes/" + "A" * 400, token=None)
        check(status == 200 and body == file_bytes("index.html"), "page with a 400-char path")
        # past the head limit: 431, and the daemon serves on
        s = d.raw_tls()
        s.sendall(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status, h, _ = read_response(s.makefile("rb"))
        s.close()
        check(status in (414, 431), "a 20000-byte path: %d" % status)
        check_defences(h, "huge path")
        d.check_serving("long paths")


def embed(src, out_c, *extra):
    return subprocess.run([sys.executable, EMBED, src, out_c] + list(extra),
                          capture_output=True, text=True)


def test_generator():
    tmp = tempfile.mkdtemp(prefix="ardoise-web-")
    try:
        src = os.path.join(tmp, "web")
        files = {"index.html": b"<!doctype html>", "js/pages/b.js": b"export {};\n",
                 "js/a.js": b"", "img/logo.svg": b"<svg/>", "img/x.png": bytes(range(256)),
                 "css/ardoise.css": b"body{}", "README.md": b"no", "READMEtoo": b"no",
                 "meson.build": b"no", "web.c": b"no", "web.h": b"no", ".hidden.js": b"no",
                 "node_modules/m/index.js": b"no", ".git/x.js": b"no"}
        for rel, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "wb") as f:
                f.write(data)
        listed = subprocess.run([sys.executable, EMBED, "--list", src], capture_output=True,
                                text=True, check=True).stdout.split()
        want = ["css/ardoise.css", "img/logo.svg", "img/x.png", "index.html", "js/a.js",
                "js/pages/b.js"]
        check([os.path.relpath(p, src) for p in listed] == want, "listed: %r" % listed)
        one, two = os.path.join(tmp, "1.c"), os.path.join(tmp, "2.c")
        check(embed(src, one, "--depfile", one + ".d").returncode == 0, "generates")
        check(embed(src, two).returncode == 0, "generates again")
        text = open(one, "rb").read()
        check(text == open(two, "rb").read(), "same input, same bytes")
        check(tmp.encode() not in text, "no absolute path in the C")
        for rel in want:
            check(('"%s"' % rel).encode() in text, "%s embedded" % rel)
            check(etag_of(files[rel])[1:-1].encode() in text, "%s: its ETag" % rel)
        check(b"node_modules" not in text and b"README" not in text and b"hidden" not in text,
              "the ignored files are not embedded")
        check(b'"image/svg+xml"' in text and b'"image/png"' in text, "types by extension")
        dep = open(one + ".d").read()
        check(dep.startswith(one + ":") and os.path.join(src, "js", "pages") in dep,
              "the depfile names the files and the folders: %r" % dep)
        # a file no URL reaches, or of no known type: the build stops
        for bad in ("js/a b.js", "notes.txt", "js/été.js"):
            with open(os.path.join(src, bad), "wb") as f:
                f.write(b"x")
            out = embed(src, two)
            check(out.returncode == 1 and bad in out.stderr, "%s refused: %r" % (bad, out.stderr))
            os.unlink(os.path.join(src, bad))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run([test_pages_get_index, test_index_preloads_every_module, test_assets, test_if_none_match, test_unknown_names_are_json_404,
         test_methods_on_pages, test_head, test_defences_on_api_answers, test_traversal_refused,
         test_long_paths, test_generator])
