"""vpp_standin.py - a local stand-in for Apple's Apps and Books API
(https://vpp.itunes.apple.com/mdm/v2, /work/shared/docs/apple-services.md
§3) for the tests (a support module, not a test): HTTPS on 127.0.0.1 and an
ephemeral port with a test certificate (gdmf_standin.standin_pki()), in a
thread of the test.  Only the Python standard library.

    with VppStandin(cert, key) as v:
        stoken = v.add_token("Collège Jean Moulin")      # base64 JSON, as ASM hands it out
        v.add_asset("361309726", count=30)               # a paid app with 30 licences
        v.then(v.too_many(2))                            # the next answer
        v.url                                            # https://127.0.0.1:PORT/mdm/v2
        v.process()                                      # completes the pending events now

What it does as Apple does (§3.1-3.3): the sToken as Authorization: Bearer on
every call but GET /service/config (none or malformed: 401 9601/9722,
unknown 9601, revoked 9625, expired 9621); GET /service/config (urls,
limits, errorCodes); GET|POST /client/config (mdmInfo claimed); GET /assets
and /assignments by pages (page_size per page, pageIndex out of range 9650,
filters adamId, productType, serialNumber); POST /assets/associate and
/assets/disassociate (at most maxAssets 25 assets and maxSerialNumbers 1000
serials, else 9700/9702; missing 9718/9719; an asset not ours 9602)
answered with an eventId, processed asynchronously: GET /status?eventId=
answers PENDING until process() (or, with auto=True, the next /status
call), then COMPLETE with failures such as 9709 (not enough licences) for
the serials that got none, counts updated; unknown eventId 9708.
Errors are ErrorResponse JSON with their HTTP status, except where Apple
answers 200 with the error in the body (an invalid token, as Fleet saw:
error_in_200 = True, the default).  then(...): too_many(s) 429 9646 and
unavailable(s) 503 with Retry-After, answer(...).

Standalone: python3 vpp_standin.py CERT KEY [PORT] prints a token and serves
three apps.
"""
import base64
import json
import secrets
import sys
import threading
import time
import urllib.parse

from https_standin import HttpsStandin, Reply

BASE = "/mdm/v2"
LIMITS = {"maxAssets": 25, "maxSerialNumbers": 1000, "maxRevokeSerialNumbers": 100,
          "maxClientUserIds": 1000, "maxRevokeClientUserIds": 100, "maxUsers": 100,
          "maxNotificationLength": 512, "maxMdmIdLength": 100, "maxMdmNameLength": 100,
          "maxMdmMetadataLength": 255, "maxSubscriptions": 25}
ERRORS = {9601: "Login required", 9602: "Invalid argument", 9603: "Internal error",
          9621: "Token has expired", 9625: "Token has been revoked", 9646: "Too many requests",
          9650: "Invalid pageIndex", 9700: "Too many assets", 9702: "Too many serialNumbers",
          9708: "Invalid eventId", 9709: "Not enough licenses to complete the association",
          9718: "Missing assets", 9719: "Missing serialNumbers and clientUserIds",
          9722: "Malformed Authorization header"}
UNLIMITED = 2147483647


def make_stoken(token, exp, org):
    """The content token file ASM gives: base64 of {token, expDate, orgName}."""
    exp_s = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(exp))
    return base64.b64encode(json.dumps({"token": token, "expDate": exp_s,
                                        "orgName": org}).encode()).decode()


def _err(status, number, **info):
    b = {"errorNumber": number, "errorMessage": ERRORS.get(number, "error")}
    if info:
        b["errorInfo"] = info
    return Reply(status, b)


class VppStandin(HttpsStandin):
    def __init__(self, cert, key, page_size=100, auto=False, error_in_200=True):
        self.cert, self.key = cert, key
        self.lock = threading.Lock()
        self.page_size = page_size
        self.auto = auto
        self.error_in_200 = error_in_200
        self.tokens = {}      # sToken -> {"exp", "org", "revoked", "uid", "mdmInfo", "assets", ...}
        self.events = {}      # eventId -> dict
        self.plan = []
        self.requests = []
        self.server = None
        self.port = None

    # -- the test's side --------------------------------------------------
    def add_token(self, org="Collège stand-in", days=365, exp=None):
        """A new content token (sToken) for one location; returns it."""
        t = make_stoken(secrets.token_urlsafe(48), exp if exp is not None
                        else time.time() + days * 86400, org)
        with self.lock:
            self.tokens[t] = {"org": org, "exp": exp if exp is not None else time.time() + days * 86400,
                              "revoked": False, "uid": str(secrets.randbelow(10**10)),
                              "mdmInfo": None, "assets": {}, "assignments": [], "version": 1}
        return t

    def revoke(self, stoken):
        with self.lock:
            self.tokens[stoken]["revoked"] = True

    def add_asset(self, adam_id, count=None, stoken=None, product="App", pricing="STDQ",
                  device_assignable=True, revocable=True):
        """An asset bought for the location; count None: a free app (unlimited)."""
        with self.lock:
            for t in ([stoken] if stoken else list(self.tokens)):
                self.tokens[t]["assets"][(adam_id, pricing)] = {
                    "adamId": adam_id, "pricingParam": pricing, "productType": product,
                    "assignedCount": 0, "availableCount": UNLIMITED if count is None else count,
                    "retiredCount": 0, "totalCount": UNLIMITED if count is None else count,
                    "deviceAssignable": device_assignable, "revocable": revocable,
                    "supportedPlatforms": ["iOS", "iPadOS"]}

    def too_many(self, seconds=1):
        return Reply(429, {"errorNumber": 9646, "errorMessage": ERRORS[9646]},
                      {} if seconds is None else {"Retry-After": str(seconds)})

    def unavailable(self, seconds=1):
        return Reply(503, b"", {} if seconds is None else {"Retry-After": str(seconds)})

    @staticmethod
    def answer(status, body=b"", headers=None):
        return Reply(status, body, dict(headers or {}))

    def then(self, *answers):
        with self.lock:
            self.plan.extend(answers)

    def process(self):
        """Completes every pending event (Apple's asynchronous work)."""
        with self.lock:
            for e in self.events.values():
                if e["eventStatus"] == "PENDING":
                    self._complete(e)

    # -- the service -------------------------------------------------------
    def handle(self, method, path, headers, body):
        u = urllib.parse.urlsplit(path)
        with self.lock:
            self.requests.append((method, u.path))
            plan = self.plan.pop(0) if self.plan else None
        if plan is not None:
            raise plan
        if not u.path.startswith(BASE + "/"):
            raise Reply(404, b"")
        route = u.path[len(BASE):]
        if route == "/service/config" and method == "GET":
            return {"urls": {k: "%s%s" % (self.url, p) for k, p in (
                        ("clientConfig", "/client/config"), ("getAssets", "/assets"),
                        ("getAssignments", "/assignments"), ("associateAssets", "/assets/associate"),
                        ("disassociateAssets", "/assets/disassociate"), ("status", "/status"))},
                    "limits": dict(LIMITS),
                    "errorCodes": [{"errorNumber": k, "errorMessage": m} for k, m in ERRORS.items()],
                    "notificationTypes": ["ASSET_MANAGEMENT", "ASSET_COUNT", "USER_MANAGEMENT",
                                          "USER_ASSOCIATED", "TEST_NOTIFICATION"]}
        with self.lock:
            tok = self._auth(headers.get("Authorization"))
            common = {"uId": tok["uid"], "tokenExpirationDate": time.strftime(
                "%Y-%m-%dT%H:%M:%S+0000", time.gmtime(tok["exp"]))}
            q = dict(urllib.parse.parse_qsl(u.query))
            if method == "POST":
                try:
                    req = json.loads(body or b"null")
                except ValueError:
                    req = None
                if not isinstance(req, dict):
                    raise _err(400, 9602)
            routes = {("GET", "/client/config"): lambda: self._client_config(tok),
                      ("POST", "/client/config"): lambda: self._set_config(tok, req),
                      ("GET", "/assets"): lambda: self._assets(tok, q),
                      ("GET", "/assignments"): lambda: self._assignments(tok, q),
                      ("POST", "/assets/associate"): lambda: self._event(tok, req, "ASSOCIATE"),
                      ("POST", "/assets/disassociate"): lambda: self._event(tok, req,
                                                                             "DISASSOCIATE"),
                      ("GET", "/status"): lambda: self._status(tok, q)}
            fn = routes.get((method, route))
            if fn is None:
                raise Reply(404, b"")
            out = fn()
            out.update(common)
            if tok["mdmInfo"] is not None:
                out.setdefault("mdmInfo", tok["mdmInfo"])
            return out

    def _auth(self, header):
        if not header:
            raise _err(401, 9601)
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise _err(401, 9722)
        tok = self.tokens.get(header[7:].strip())
        if tok is None:
            raise Reply(200, {"errorNumber": 9601, "errorMessage": ERRORS[9601]}) \
                if self.error_in_200 else _err(401, 9601)
        if tok["revoked"]:
            raise _err(401, 9625)
        if tok["exp"] <= time.time():
            raise _err(401, 9621)
        return tok

    def _client_config(self, tok):
        return {"countryISO2ACode": "FR", "defaultPlatform": "volumestore",
                "locationName": tok["org"], "notificationUrl": "", "notificationAuthToken": "",
                "subscribedNotificationTypes": [], "websiteURL": "https://school.apple.com",
                "mdmInfo": tok["mdmInfo"] or {}}

    def _set_config(self, tok, req):
        m = req.get("mdmInfo")
        if m is not None:
            if not isinstance(m, dict) or not isinstance(m.get("id"), str) or \
                    not isinstance(m.get("name"), str) or \
                    len(m["id"]) > LIMITS["maxMdmIdLength"] or \
                    len(m["name"]) > LIMITS["maxMdmNameLength"] or \
                    len(str(m.get("metadata", ""))) > LIMITS["maxMdmMetadataLength"]:
                raise _err(400, 9602)
            tok["mdmInfo"] = {"id": m["id"], "name": m["name"], "metadata": m.get("metadata", "")}
        return self._client_config(tok)

    def _page(self, items, q, key):
        pages = max(1, -(-len(items) // self.page_size))
        pi = q.get("pageIndex", "0")
        if not pi.isdigit() or int(pi) >= pages:
            raise _err(400, 9650)
        pi = int(pi)
        out = {"currentPageIndex": pi, "totalPages": pages, "size": len(items),
               key: items[pi * self.page_size:(pi + 1) * self.page_size]}
        if pi + 1 < pages:
            out["nextPageIndex"] = pi + 1
        return out

    def _assets(self, tok, q):
        items = [dict(a) for a in tok["assets"].values()
                 if q.get("adamId") in (None, a["adamId"])
                 and q.get("productType") in (None, a["productType"])
                 and q.get("pricingParam") in (None, a["pricingParam"])]
        out = self._page(items, q, "assets")
        out["versionId"] = str(tok["version"])
        return out

    def _assignments(self, tok, q):
        items = [dict(a) for a in tok["assignments"]
                 if q.get("adamId") in (None, a["adamId"])
                 and q.get("serialNumber") in (None, a["serialNumber"])]
        out = self._page(items, q, "assignments")
        out["versionId"] = str(tok["version"])
        return out

    def _event(self, tok, req, kind):
        assets = req.get("assets")
        serials = req.get("serialNumbers")
        if not isinstance(assets, list) or not assets:
            raise _err(400, 9718)
        if not isinstance(serials, list) or not serials:
            raise _err(400, 9719)
        if len(assets) > LIMITS["maxAssets"]:
            raise _err(400, 9700)
        if len(serials) > LIMITS["maxSerialNumbers"]:
            raise _err(400, 9702)
        if not all(isinstance(s, str) and s for s in serials):
            raise _err(400, 9602)
        keys = []
        for a in assets:
            if not isinstance(a, dict) or not isinstance(a.get("adamId"), str):
                raise _err(400, 9602)
            k = (a["adamId"], a.get("pricingParam", "STDQ"))
            if k not in tok["assets"]:
                raise _err(400, 9602, assets=[a])
            keys.append(k)
        eid = str(secrets.randbelow(10**12))
        self.events[eid] = {"tok": tok, "keys": keys, "serials": list(serials),
                            "eventType": kind, "eventStatus": "PENDING",
                            "numRequested": len(keys) * len(serials), "numCompleted": 0,
                            "failures": []}
        return {"eventId": eid}

    def _complete(self, e):
        tok, fails, done = e["tok"], {}, 0
        for k in e["keys"]:
            a = tok["assets"][k]
            for s in e["serials"]:
                held = [x for x in tok["assignments"]
                        if x["serialNumber"] == s and (x["adamId"], x["pricingParam"]) == k]
                if e["eventType"] == "ASSOCIATE":
                    if held:
                        done += 1
                        continue
                    if a["availableCount"] <= 0:
                        fails.setdefault(k, []).append(s)
                        continue
                    a["availableCount"] -= 1
                    a["assignedCount"] += 1
                    tok["assignments"].append({"adamId": k[0], "pricingParam": k[1],
                                               "serialNumber": s})
                else:
                    for x in held:
                        tok["assignments"].remove(x)
                        a["availableCount"] += 1
                        a["assignedCount"] -= 1
                done += 1
        tok["version"] += 1
        e["numCompleted"] = done
        e["failures"] = [{"errorNumber": 9709, "errorMessage": ERRORS[9709],
                          "errorInfo": {"assets": [{"adamId": k[0], "pricingParam": k[1]}],
                                        "serialNumbers": s}} for k, s in fails.items()]
        e["eventStatus"] = "COMPLETE" if done else "FAILED"

    def _status(self, tok, q):
        e = self.events.get(q.get("eventId", ""))
        if e is None or e["tok"] is not tok:
            raise _err(400, 9708)
        if self.auto and e["eventStatus"] == "PENDING":
            out = self._status_body(e)
            self._complete(e)
            return out
        return self._status_body(e)

    @staticmethod
    def _status_body(e):
        out = {k: e[k] for k in ("eventStatus", "eventType", "numRequested", "numCompleted")}
        if e["failures"]:
            out["failures"] = e["failures"]
        return out

    # -- lifecycle -------------------------------------------------------
    @property
    def url(self):
        return "https://127.0.0.1:%d%s" % (self.port, BASE)



if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: vpp_standin.py CERT KEY [PORT]")
    v = VppStandin(sys.argv[1], sys.argv[2], auto=True)
    print(v.add_token(), flush=True)
    v.add_asset("361309726", count=30)
    v.add_asset("284882215", count=None)
    v.add_asset("1108187098", count=5)
    v.start(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    print("serving %s" % v.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        v.stop()
