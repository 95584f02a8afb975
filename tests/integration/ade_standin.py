"""ade_standin.py - a local stand-in for Apple's Automated Device Enrolment
API (https://mdmenrollment.apple.com, /work/shared/docs/apple-services.md
§2) for the tests (a support module, not a test): HTTPS on 127.0.0.1 and an
ephemeral port with a test certificate (gdmf_standin.standin_pki()), in a
thread of the test.  Only the Python standard library, and the openssl
command for the server token's S/MIME file and the MachineInfo signature.

    with AdeStandin(cert, key) as ade:
        tok = ade.token                     # consumer_key ... access_token_expiry
        p7m = ade.token_p7m("mdm-cert.pem")  # what ASM hands out for that certificate
        ade.add_devices(generate_devices(1000))
        ade.modify("SERIAL", color="blue"); ade.delete("SERIAL")
        ade.then(ade.too_many(2), ade.unavailable(5))   # the next answers
        ade.url                              # https://127.0.0.1:PORT

What it checks, as Apple does (§2.2-2.6):
- GET /session: OAuth 1.0a, HMAC-SHA1 only; 400 for a missing, duplicated
  or unsupported parameter or method; 401 for a bad consumer key, an unknown
  or expired access token (the token's access_token_expiry), a bad
  signature, a timestamp outside the window (300 s) or a nonce used again;
  403 ACCESS_DENIED / T_C_NOT_SIGNED when told (deny = ...).  Answer
  {"auth_session_token": ...}.
- every other call: X-ADM-Auth-Session known and not expired (session_seconds,
  the stand-in's clock: advance(seconds)), else 401 UNAUTHORIZED and the
  client must call /session again; X-Server-Protocol-Version an integer
  (missing: 1; what each version adds is answered only from that version:
  device_family/os 2, account org_* 3, os "iPadOS" 7, THROTTLED 9,
  retry_after_seconds 10), not an integer: 400.
- POST /server/devices (fetch: cursor, more_to_follow, limit 100 by default,
  at most 1000; a finished cursor again: 400 EXHAUSTED_CURSOR),
  POST /devices/sync (cursor required; older than 7 days: 400
  EXPIRED_CURSOR; not ours: 400 INVALID_CURSOR), POST /devices (details,
  NOT_ACCESSIBLE for serials not on this server), POST /profile (define,
  checked field by field), POST|PUT /profile/devices (assign, at most 1000,
  SUCCESS / NOT_ACCESSIBLE / FAILED / THROTTLED per serial),
  DELETE /profile/devices, GET /profile?profile_uuid=, GET /account.
  Bad JSON: 400 MALFORMED_REQUEST_BODY.  Error bodies are short quoted
  strings ("EXPIRED_CURSOR"), as depsim answers them.
- then(...) answers the next requests (any path) before the checks:
  too_many(s) 429 and unavailable(s) 503 with Retry-After, answer(...).

The profile error names (CONFIG_NAME_REQUIRED, CONFIG_URL_INVALID,
FLAGS_INVALID, ...) and the 400 for a bad protocol version or an assign
above 1000 serials are Apple's documentation or our choice where the brief
is silent; the doc's §8 lists what is unconfirmed.

MachineInfo (§2.7): MachineInfoSigner(dir) makes a stand-in "Apple Inc. Root
CA", a device CA under it and an expired leaf; sign(info) returns the DER CMS
SignedData (SHA-1/RSA, certificates included) over the XML plist, as an
iPad POSTs it to the profile's url.  machine_info(serial, ...) builds the dict.

Standalone: python3 ade_standin.py CERT KEY [PORT [DEVICES]] serves DEVICES
generated tablets (1000 by default) and prints the server token.
"""
import base64
import hashlib
import hmac
import json
import os
import plistlib
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from https_standin import HttpsStandin, Reply

SESSION_PATH = "/session"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
CURSOR_DAYS = 7
TIMESTAMP_WINDOW = 300
HIGHEST_VERSION = 10

MODELS = [("iPad (10th generation)", "iPad13,18"), ("iPad (9th generation)", "iPad12,1"),
          ("iPad Air (5th generation)", "iPad13,16"), ("iPad (A16)", "iPad15,7")]
COLORS = ["SILVER", "SPACE GRAY", "BLUE", "PINK"]
PROFILE_BOOLS = ("is_supervised", "is_mandatory", "is_mdm_removable", "await_device_configured",
                 "allow_pairing", "is_multi_user", "is_return_to_service",
                 "do_not_use_profile_from_backup", "auto_advance_setup")
PROFILE_STRINGS = ("profile_name", "url", "department", "support_phone_number",
                   "support_email_address", "language", "region", "org_magic",
                   "configuration_web_url")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def generate_devices(n, start=0, prefix="DMQ", when=1788220800):
    """n tablets as ASM shows them (serial, model, description, colour, order
    number, assignment date), serials PREFIX + 9 base-36 digits from start.
    The order number is ASM's (CSV export), not a field of the API's Device:
    it is kept in "_order_number" and never answered.  ~0.3 s for 100,000."""
    digits = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"[:34]
    out = []
    date = iso(when)
    for i in range(start, start + n):
        v, s = i, []
        for _ in range(9):
            v, r = divmod(v, 34)
            s.append(digits[r])
        model, product = MODELS[i % len(MODELS)]
        out.append({"serial_number": prefix + "".join(reversed(s)), "model": model,
                    "description": "%s WI-FI 64GB %s" % (model.upper(), COLORS[i % 4]),
                    "color": COLORS[i % 4], "asset_tag": "", "device_family": "iPad",
                    "os": "iPadOS", "device_assigned_date": date,
                    "device_assigned_by": "achats@ac-exemple.fr", "profile_status": "empty",
                    "profile_uuid": "", "_order_number": "CMD%07d" % (i // 250),
                    "_product": product})
    return out


def _enc(s):
    return urllib.parse.quote(str(s), safe="-._~")


def oauth_signature(method, url, params, consumer_secret, access_secret):
    """RFC 5849 HMAC-SHA1 over the base string (params without oauth_signature)."""
    norm = "&".join("%s=%s" % kv for kv in sorted((_enc(k), _enc(v)) for k, v in params))
    base = "&".join((method.upper(), _enc(url), _enc(norm)))
    key = "%s&%s" % (_enc(consumer_secret), _enc(access_secret))
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


def _parse_oauth(header):
    """[(key, value)] of an Authorization: OAuth header, or None."""
    if not header or not header.startswith("OAuth "):
        return None
    out = []
    for part in header[6:].split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            return None
        k, v = part.split("=", 1)
        if len(v) < 2 or v[0] != '"' or v[-1] != '"':
            return None
        out.append((urllib.parse.unquote(k.strip()), urllib.parse.unquote(v[1:-1])))
    return out


def _hex_cursor(*fields):
    return ":".join(str(f) for f in fields).encode().hex()


def _unhex_cursor(c):
    try:
        if not isinstance(c, str) or not c or len(c) > 1000:
            return None
        f = bytes.fromhex(c).decode().split(":")
        if len(f) != 5 or f[0] not in ("f", "s"):
            return None
        return f[0], int(f[1]), int(f[2]), float(f[3]), f[4]
    except ValueError:
        return None


def _err(status, code):
    return Reply(status, json.dumps(code))


class AdeStandin(HttpsStandin):
    content_type = "application/json;charset=UTF8"

    def __init__(self, cert, key, session_seconds=3600, token_days=365):
        self.cert, self.key = cert, key
        self.lock = threading.Lock()
        self.offset = 0.0
        self.session_seconds = session_seconds
        self.token = None
        self.issue_token(days=token_days)
        self.sessions = {}           # token -> expiry
        self.nonces = set()          # (timestamp, nonce)
        self.deny = None             # "ACCESS_DENIED" | "T_C_NOT_SIGNED"
        self.rotate = False          # a new X-ADM-Auth-Session on every answer
        self.plan = []
        self.requests = []           # (method, path, protocol version)
        self.devices = {}            # serial -> device (assigned to this server)
        self.order = []              # serials in fetch order
        self.events = []             # (op_type, op_date, snapshot)
        self.profiles = {}
        self.fail_serials = set()    # assign answers FAILED
        self.throttle_serials = set()  # assign answers THROTTLED (v9+)
        self.retry_after_seconds = 60
        self.cursor_days = CURSOR_DAYS  # a test may shorten it: the next cursors expire
        self.epoch = secrets.token_hex(4)  # cursors of another server are INVALID
        self.server = None
        self.port = None

    # -- the test's side --------------------------------------------------
    def now(self):
        return time.time() + self.offset

    def advance(self, seconds):
        """Moves the stand-in's clock (sessions, cursors, token expiry)."""
        with self.lock:
            self.offset += seconds

    def issue_token(self, days=365):
        """A new server token (the old one stops working), as ASM gives it."""
        self.token = {"consumer_key": "CK_" + secrets.token_hex(40),
                      "consumer_secret": "CS_" + secrets.token_hex(20),
                      "access_token": "AT_O" + secrets.token_hex(30) + "O" + secrets.token_hex(10),
                      "access_secret": "AS_" + secrets.token_hex(20),
                      "access_token_expiry": iso(self.now() + days * 86400)}
        self.sessions = {}
        return dict(self.token)

    def token_p7m(self, cert_pem):
        """The .p7m file ASM gives for a server whose public certificate is
        cert_pem: S/MIME EnvelopedData with the JSON between BEGIN/END
        MESSAGE lines wrapped at 78 columns under text/plain headers."""
        js = json.dumps(self.token)
        wrapped = "\r\n".join(js[i:i + 78] for i in range(0, len(js), 78))
        inner = ("Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                 "-----BEGIN MESSAGE-----\r\n%s\r\n-----END MESSAGE-----\r\n" % wrapped)
        der = subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc",
                              "-outform", "DER", cert_pem], input=inner.encode(),
                             capture_output=True, check=True).stdout
        b64 = base64.encodebytes(der).decode().replace("\n", "\r\n")
        return ("Content-Type: application/pkcs7-mime; name=\"smime.p7m\"; "
                "smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n"
                "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
                + b64).encode()

    def add_devices(self, devices):
        """Assigns tablets to this MDM server in ASM (sync: added)."""
        t = iso(self.now())
        with self.lock:
            for d in devices:
                s = d["serial_number"]
                if s not in self.devices:
                    self.order.append(s)
                self.devices[s] = d
                self.events.append(("added", t, d))

    def modify(self, serial, **fields):
        with self.lock:
            d = dict(self.devices[serial], **fields)
            self.devices[serial] = d
            self.events.append(("modified", iso(self.now()), d))

    def delete(self, serial):
        """Unassigns a tablet from this server in ASM (sync: deleted)."""
        with self.lock:
            d = self.devices.pop(serial)
            self.events.append(("deleted", iso(self.now()), d))

    @staticmethod
    def answer(status, body=b"", headers=None):
        return Reply(status, body, dict(headers or {}))

    def too_many(self, seconds=1):
        return Reply(429, b"", {} if seconds is None else {"Retry-After": str(seconds)})

    def unavailable(self, seconds=1):
        return Reply(503, b"", {} if seconds is None else {"Retry-After": str(seconds)})

    def then(self, *answers):
        with self.lock:
            self.plan.extend(answers)

    # -- the service -------------------------------------------------------
    def handle(self, method, path, headers, body):
        u = urllib.parse.urlsplit(path)
        with self.lock:
            self.requests.append((method, u.path, headers.get("X-Server-Protocol-Version")))
            plan = self.plan.pop(0) if self.plan else None
        if plan is not None:
            raise plan
        v = headers.get("X-Server-Protocol-Version")
        if v is None:
            version = 1
        elif v.isdigit() and 1 <= int(v) <= 99:
            version = int(v)
        else:
            raise _err(400, "INVALID_PROTOCOL_VERSION")
        if u.path == SESSION_PATH and method == "GET":
            return self._session(headers)
        sess = headers.get("X-ADM-Auth-Session")
        with self.lock:
            exp = self.sessions.get(sess)
            if exp is None or exp <= self.now():
                self.sessions.pop(sess, None)
                raise _err(401, "UNAUTHORIZED")
            if self.deny:
                raise _err(403, self.deny)
            extra = {}
            if self.rotate:
                del self.sessions[sess]
                sess = secrets.token_hex(32)
                self.sessions[sess] = self.now() + self.session_seconds
                extra = {"X-ADM-Auth-Session": sess}
            routes = {("GET", "/account"): self._account,
                      ("POST", "/server/devices"): self._fetch,
                      ("POST", "/devices/sync"): self._sync,
                      ("POST", "/devices"): self._details,
                      ("POST", "/profile"): self._define,
                      ("GET", "/profile"): self._get_profile,
                      ("POST", "/profile/devices"): self._assign,
                      ("PUT", "/profile/devices"): self._assign,
                      ("DELETE", "/profile/devices"): self._remove}
            fn = routes.get((method, u.path))
            if fn is None:
                raise Reply(404, json.dumps("NOT_FOUND"), extra)
            if method in ("POST", "PUT", "DELETE"):
                try:
                    req = json.loads(body or b"null")
                except ValueError:
                    req = None
                if not isinstance(req, dict):
                    raise Reply(400, json.dumps("MALFORMED_REQUEST_BODY"), extra)
            else:
                req = dict(urllib.parse.parse_qsl(u.query))
            try:
                out = fn(req, version)
            except Reply as r:
                r.headers.update(extra)
                raise
            if extra:
                raise Reply(200, json.dumps(out), extra)
            return out

    def _session(self, headers):
        params = _parse_oauth(headers.get("Authorization"))
        if params is None:
            raise _err(400, "MISSING_OAUTH_PARAMETERS")
        keys = [k for k, _ in params]
        if len(keys) != len(set(keys)):
            raise _err(400, "DUPLICATE_OAUTH_PARAMETERS")
        p = dict(params)
        need = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp",
                "oauth_nonce", "oauth_signature")
        if any(k not in p for k in need):
            raise _err(400, "MISSING_OAUTH_PARAMETERS")
        if p["oauth_signature_method"] != "HMAC-SHA1":
            raise _err(400, "UNSUPPORTED_SIGNATURE_METHOD")
        if p.get("oauth_version", "1.0") != "1.0":
            raise _err(400, "UNSUPPORTED_OAUTH_VERSION")
        tok = self.token
        with self.lock:
            now = self.now()
            if p["oauth_consumer_key"] != tok["consumer_key"]:
                raise _err(401, "UNAUTHORIZED")
            if p["oauth_token"] != tok["access_token"]:
                raise _err(401, "UNAUTHORIZED")
            if iso(now) >= tok["access_token_expiry"]:
                raise _err(401, "UNAUTHORIZED")  # the token expired: a new one from ASM
            if not p["oauth_timestamp"].isdigit() or \
                    abs(int(p["oauth_timestamp"]) - now) > TIMESTAMP_WINDOW:
                raise _err(401, "UNAUTHORIZED")
            url = "https://%s%s" % (headers.get("Host", "").lower(), SESSION_PATH)
            signed = [(k, v) for k, v in params if k not in ("oauth_signature", "realm")]
            want = oauth_signature("GET", url, signed, tok["consumer_secret"], tok["access_secret"])
            if not hmac.compare_digest(want, p["oauth_signature"]):
                raise _err(401, "UNAUTHORIZED")
            n = (p["oauth_timestamp"], p["oauth_nonce"])
            if n in self.nonces:
                raise _err(401, "UNAUTHORIZED")
            self.nonces.add(n)
            if self.deny:
                raise _err(403, self.deny)
            s = secrets.token_hex(32)
            self.sessions[s] = now + self.session_seconds
        return {"auth_session_token": s}

    def _account(self, req, version):
        a = {"server_name": "Ardoise stand-in", "server_uuid": "1A2B3C4D-0000-4000-8000-ADE000000001",
             "admin_id": "admin@ac-exemple.fr", "facilitator_id": "admin@ac-exemple.fr",
             "org_name": "Département stand-in", "org_email": "dsi@ac-exemple.fr",
             "org_phone": "+33 1 23 45 67 89", "org_address": "1 rue de l'École, 75000 Paris"}
        if version >= 3:
            lim = {"default": DEFAULT_LIMIT, "maximum": MAX_LIMIT}
            a.update({"org_id": "1234567", "org_id_hash": hashlib.sha256(b"1234567").hexdigest(),
                      "org_type": "edu", "org_version": "v2",
                      "urls": [{"uri": "/server/devices", "http_method": ["POST"], "limit": lim},
                               {"uri": "/devices/sync", "http_method": ["POST"], "limit": lim},
                               {"uri": "/profile/devices", "http_method": ["POST", "PUT"],
                                "limit": {"default": MAX_LIMIT, "maximum": MAX_LIMIT}}]})
        return a

    def _shape(self, d, version):
        out = {k: v for k, v in d.items() if not k.startswith("_")}
        if version < 2:
            out.pop("device_family", None)
            out.pop("os", None)
        elif version < 7 and out.get("os") == "iPadOS":
            out["os"] = "iOS"
        return out

    def _limit(self, req):
        lim = req.get("limit", DEFAULT_LIMIT)
        if not isinstance(lim, int) or isinstance(lim, bool) or lim < 1:
            raise _err(400, "MALFORMED_REQUEST_BODY")
        return min(lim, MAX_LIMIT)

    def _fetch(self, req, version):
        lim = self._limit(req)
        now = self.now()
        c = req.get("cursor")
        if c is None or c == "":
            pos, seq = 0, len(self.events)
        else:
            cur = _unhex_cursor(c)
            if cur is None or cur[0] != "f" or cur[4] != self.epoch:
                raise _err(400, "INVALID_CURSOR")
            _, pos, seq, issued, _ = cur
            if now - issued > self.cursor_days * 86400:
                raise _err(400, "EXPIRED_CURSOR")
            if pos >= len(self.order):
                raise _err(400, "EXHAUSTED_CURSOR")
        page = []
        while pos < len(self.order) and len(page) < lim:
            d = self.devices.get(self.order[pos])
            pos += 1
            if d is not None:
                page.append(self._shape(d, version))
        more = any(s in self.devices for s in self.order[pos:])
        if not more:
            pos = len(self.order)
        return {"cursor": _hex_cursor("f", pos, seq, now, self.epoch), "devices": page,
                "fetched_until": iso(now), "more_to_follow": more}

    def _sync(self, req, version):
        lim = self._limit(req)
        now = self.now()
        cur = _unhex_cursor(req.get("cursor"))
        if cur is None or cur[4] != self.epoch:
            raise _err(400, "INVALID_CURSOR")
        _, _, seq, issued, _ = cur
        if now - issued > self.cursor_days * 86400:
            raise _err(400, "EXPIRED_CURSOR")
        if seq > len(self.events):
            raise _err(400, "INVALID_CURSOR")
        page = []
        for op, when, d in self.events[seq:seq + lim]:
            x = self._shape(d, version)
            x["op_type"], x["op_date"] = op, when
            page.append(x)
        seq += len(page)
        return {"cursor": _hex_cursor("s", 0, seq, now, self.epoch), "devices": page,
                "fetched_until": iso(now), "more_to_follow": seq < len(self.events)}

    def _serials(self, req, limit=None):
        s = req.get("devices")
        if not isinstance(s, list) or not s or not all(isinstance(x, str) for x in s):
            raise _err(400, "MALFORMED_REQUEST_BODY")
        if limit is not None and len(s) > limit:
            raise _err(400, "MALFORMED_REQUEST_BODY")
        return s

    def _details(self, req, version):
        out = {}
        for s in self._serials(req, MAX_LIMIT):
            d = self.devices.get(s)
            if d is None:
                out[s] = {"response_status": "NOT_ACCESSIBLE"}
            else:
                out[s] = dict(self._shape(d, version), response_status="SUCCESS")
        return {"devices": out}

    def _define(self, req, version):
        name = req.get("profile_name")
        if not isinstance(name, str) or not name.strip():
            raise _err(400, "CONFIG_NAME_REQUIRED")
        url = req.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith("https://")
                                or len(url) <= len("https://")):
            raise _err(400, "CONFIG_URL_INVALID")
        cw = req.get("configuration_web_url")
        if cw is not None and (not isinstance(cw, str) or not cw.startswith("https://")):
            raise _err(400, "CONFIG_URL_INVALID")
        for k in PROFILE_BOOLS:
            if k in req and not isinstance(req[k], bool):
                raise _err(400, "FLAGS_INVALID")
        for k, code in (("department", "DEPARTMENT_INVALID"),
                        ("support_phone_number", "SUPPORT_PHONE_INVALID"),
                        ("support_email_address", "SUPPORT_EMAIL_INVALID"),
                        ("org_magic", "MAGIC_INVALID"), ("language", "CONFIG_INVALID"),
                        ("region", "CONFIG_INVALID")):
            if k in req and (not isinstance(req[k], str) or len(req[k]) > 255):
                raise _err(400, code)
        e = req.get("support_email_address")
        if e and "@" not in e:
            raise _err(400, "SUPPORT_EMAIL_INVALID")
        skip = req.get("skip_setup_items", [])
        if not isinstance(skip, list) or not all(isinstance(x, str) for x in skip):
            raise _err(400, "CONFIG_INVALID")
        for k, code in (("anchor_certs", "ANCHOR_CERTIFICATE_INVALID"),
                        ("supervising_host_certs", "SUPERVISING_CERTIFICATE_INVALID")):
            certs = req.get(k, [])
            if not isinstance(certs, list):
                raise _err(400, code)
            for c in certs:
                try:
                    der = base64.b64decode(c, validate=True)
                except (ValueError, TypeError):
                    raise _err(400, code)
                if not der.startswith(b"\x30"):  # a DER SEQUENCE
                    raise _err(400, code)
        devs = req.get("devices", [])
        if not isinstance(devs, list) or not all(isinstance(x, str) for x in devs) or \
                len(devs) > MAX_LIMIT:
            raise _err(400, "MALFORMED_REQUEST_BODY")
        pid = uuid.uuid4().hex.upper()
        prof = {k: v for k, v in req.items() if k != "devices"}
        self.profiles[pid] = prof
        return {"profile_uuid": pid, "devices": self._assign_serials(pid, devs, version)}

    def _assign_serials(self, pid, serials, version):
        out = {}
        t = iso(self.now())
        for s in serials:
            d = self.devices.get(s)
            if d is None:
                out[s] = "NOT_ACCESSIBLE"
            elif s in self.fail_serials:
                out[s] = "FAILED"
            elif s in self.throttle_serials:
                out[s] = "THROTTLED" if version >= 9 else "FAILED"
            else:
                d = dict(d, profile_status="assigned", profile_uuid=pid, profile_assign_time=t)
                self.devices[s] = d
                self.events.append(("modified", t, d))
                out[s] = "SUCCESS"
        return out

    def _assign(self, req, version):
        pid = req.get("profile_uuid")
        serials = self._serials(req, MAX_LIMIT)
        if not isinstance(pid, str) or pid not in self.profiles:
            raise _err(400, "PROFILE_NOT_FOUND")
        out = {"profile_uuid": pid, "devices": self._assign_serials(pid, serials, version)}
        if version >= 10 and "THROTTLED" in out["devices"].values():
            out["retry_after_seconds"] = self.retry_after_seconds
        return out

    def _remove(self, req, version):
        out = {}
        t = iso(self.now())
        for s in self._serials(req, MAX_LIMIT):
            d = self.devices.get(s)
            if d is None:
                out[s] = "NOT_ACCESSIBLE"
            else:
                d = dict(d, profile_status="removed", profile_uuid="")
                self.devices[s] = d
                self.events.append(("modified", t, d))
                out[s] = "SUCCESS"
        return {"devices": out}

    def _get_profile(self, req, version):
        pid = req.get("profile_uuid")
        if not pid or pid not in self.profiles:
            raise _err(400, "PROFILE_NOT_FOUND")
        return dict(self.profiles[pid], profile_uuid=pid)

    # -- lifecycle -------------------------------------------------------
    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port



# -- MachineInfo (§2.7) ----------------------------------------------------
def machine_info(serial, udid=None, product="iPad13,18", version="23B85", os_version="26.1",
                 can_update=True, language="fr"):
    """The MachineInfo dict an iPad sends (required keys, then iOS 17+ ones)."""
    info = {"UDID": udid or secrets.token_hex(20), "SERIAL": serial, "PRODUCT": product,
            "VERSION": version, "LANGUAGE": language}
    if os_version is not None:
        info.update({"OS_VERSION": os_version, "MDM_CAN_REQUEST_SOFTWARE_UPDATE": can_update,
                     "SOFTWARE_UPDATE_DEVICE_ID": product})
    return info


_CA_CONF = """[ca]
default_ca = d
[d]
database = %(dir)s/index.txt
new_certs_dir = %(dir)s
serial = %(dir)s/serial
policy = p
copy_extensions = none
[p]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_leaf]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class MachineInfoSigner:
    """A stand-in of Apple's device attestation chain in dir: root.pem
    ("Apple Inc. Root CA", the trust anchor the enrolment endpoint holds),
    device-ca.pem (an intermediate) and an expired leaf (2019-2020, as the
    doc says Apple's signer is); sign() is what the tablet POSTs."""

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="ardoise-machineinfo-")
        d = self.dir
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(_CA_CONF % {"dir": d})
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        self.root = os.path.join(d, "root.pem")
        self.ca = os.path.join(d, "device-ca.pem")
        self.leaf = os.path.join(d, "leaf.pem")
        self.leaf_key = os.path.join(d, "leaf.key")
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
        conf = os.path.join(d, "ca.cnf")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "7300",
            "-subj", "/C=US/O=Apple Inc./OU=Apple Certification Authority/CN=Apple Inc. Root CA",
            "-keyout", os.path.join(d, "root.key"), "-out", self.root, "-config", conf,
            "-extensions", "v3_ca")
        run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
            "/C=US/O=Apple Inc./OU=Apple iPhone/CN=Apple iPhone Device CA",
            "-keyout", os.path.join(d, "device-ca.key"), "-out", os.path.join(d, "ca.csr"))
        run("openssl", "ca", "-batch", "-config", conf, "-notext", "-md", "sha256",
            "-cert", self.root, "-keyfile", os.path.join(d, "root.key"), "-extensions", "v3_ca",
            "-days", "7000", "-in", os.path.join(d, "ca.csr"), "-out", self.ca)
        run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
            "/CN=Apple iPhone OS Provisioning Profile Signing", "-keyout", self.leaf_key,
            "-out", os.path.join(d, "leaf.csr"))
        run("openssl", "ca", "-batch", "-config", conf, "-notext", "-md", "sha1",
            "-cert", self.ca, "-keyfile", os.path.join(d, "device-ca.key"),
            "-extensions", "v3_leaf", "-startdate", "20190101000000Z",
            "-enddate", "20200101000000Z", "-in", os.path.join(d, "leaf.csr"), "-out", self.leaf)

    def sign(self, info):
        """DER CMS SignedData (SHA-1, signer and intermediate included) over
        the XML plist of info (a dict, or bytes sent as they are)."""
        data = info if isinstance(info, bytes) else plistlib.dumps(info, fmt=plistlib.FMT_XML)
        return subprocess.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-md", "sha1",
                               "-outform", "DER", "-signer", self.leaf, "-inkey", self.leaf_key,
                               "-certfile", self.ca, "-nosmimecap"], input=data,
                              capture_output=True, check=True).stdout


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: ade_standin.py CERT KEY [PORT [DEVICES]]")
    a = AdeStandin(sys.argv[1], sys.argv[2])
    a.add_devices(generate_devices(int(sys.argv[4]) if len(sys.argv) > 4 else 1000))
    a.start(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    print("serving %s" % a.url, flush=True)
    print(json.dumps(a.token), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        a.stop()
