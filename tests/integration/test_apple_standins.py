"""The two stand-ins of Apple's services (ade_standin.py, vpp_standin.py)
driven through plain HTTPS as a client would, so that the next round can
rely on them: ADE's OAuth /session (signed here with hmac/hashlib) and its
refusals, sessions expiring, protocol versions, fetch/sync cursors, device
details, profile define/get/assign, 429/503, the token's expiry and .p7m,
MachineInfo's signature; Apps and Books' tokens, pages, batches, events and
licences running out.  No ardoised: they are not wired yet.  Prints the time
of a 100,000-tablet full fetch (a figure, not an assertion).
"""
import base64
import json
import os
import plistlib
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ade_standin import (AdeStandin, MachineInfoSigner, generate_devices,  # noqa: E402
                         machine_info, oauth_signature)
from gdmf_standin import standin_pki  # noqa: E402
from vpp_standin import VppStandin  # noqa: E402

CA, CERT, KEY = standin_pki()
CTX = ssl.create_default_context(cafile=CA)
FAILED = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILED.append(what)


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPSConnection("127.0.0.1", port, context=CTX, timeout=30)

    def call(self, method, path, body=None, headers=None):
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        self.c.request(method, path, body=data, headers=headers or {})
        r = self.c.getresponse()
        raw = r.read()
        try:
            js = json.loads(raw) if raw else None
        except ValueError:
            js = None
        return r.status, js, r


def oauth_header(tok, host, ts=None, nonce=None, method="HMAC-SHA1", tamper=False, drop=None,
                 dup=False):
    p = [("oauth_consumer_key", tok["consumer_key"]), ("oauth_token", tok["access_token"]),
         ("oauth_signature_method", method), ("oauth_timestamp", str(ts or int(time.time()))),
         ("oauth_nonce", nonce or secrets.token_hex(8)), ("oauth_version", "1.0")]
    sig = oauth_signature("GET", "https://%s/session" % host, p, tok["consumer_secret"],
                          tok["access_secret"] + ("x" if tamper else ""))
    p.append(("oauth_signature", sig))
    if drop:
        p = [kv for kv in p if kv[0] != drop]
    if dup:
        p.append(p[0])
    from urllib.parse import quote
    return 'OAuth realm="ADM", ' + ", ".join('%s="%s"' % (k, quote(v, safe="-._~")) for k, v in p)


def session(cl, ade, tok=None, **kw):
    host = "127.0.0.1:%d" % ade.port
    return cl.call("GET", "/session", headers={
        "Authorization": oauth_header(tok or ade.token, host, **kw),
        "X-Server-Protocol-Version": "7"})


def test_ade():
    with AdeStandin(CERT, KEY) as ade:
        cl = Client(ade.port)
        ade.add_devices(generate_devices(250))
        tok = ade.token
        # /session and its refusals
        st, js, _ = session(cl, ade)
        check(st == 200 and js["auth_session_token"], "ADE /session signed HMAC-SHA1 gives a session")
        sess = js["auth_session_token"]
        h = {"X-ADM-Auth-Session": sess, "X-Server-Protocol-Version": "7",
             "Content-Type": "application/json;charset=UTF8"}
        check(session(cl, ade, tamper=True)[0] == 401, "ADE bad signature: 401")
        check(session(cl, ade, ts=int(time.time()) - 3600)[0] == 401, "ADE old timestamp: 401")
        ts, n = int(time.time()), "nonce-once"
        check(session(cl, ade, ts=ts, nonce=n)[0] == 200, "ADE a fresh nonce: 200")
        check(session(cl, ade, ts=ts, nonce=n)[0] == 401, "ADE the same nonce again: 401")
        check(session(cl, ade, method="PLAINTEXT")[0] == 400, "ADE PLAINTEXT: 400")
        check(session(cl, ade, drop="oauth_nonce")[0] == 400, "ADE missing nonce: 400")
        check(session(cl, ade, dup=True)[0] == 400, "ADE duplicated parameter: 400")
        check(session(cl, ade, tok=dict(tok, consumer_key="CK_other"))[0] == 401,
              "ADE unknown consumer key: 401")
        check(cl.call("GET", "/session")[0] == 400, "ADE no Authorization: 400")
        ade.deny = "T_C_NOT_SIGNED"
        st, js, _ = session(cl, ade)
        check(st == 403 and js == "T_C_NOT_SIGNED", "ADE terms not signed: 403 T_C_NOT_SIGNED")
        st, js, _ = cl.call("GET", "/account", headers=h)
        check(st == 403 and js == "T_C_NOT_SIGNED", "ADE terms not signed on a call: 403")
        ade.deny = None
        # account, protocol versions
        st, js, _ = cl.call("GET", "/account", headers=h)
        check(st == 200 and js["org_type"] == "edu" and js["urls"], "ADE /account v7 with org_*")
        st, js, _ = cl.call("GET", "/account", headers=dict(h, **{"X-Server-Protocol-Version": "1"}))
        check(st == 200 and "org_id" not in js, "ADE /account v1 without org_*")
        check(cl.call("GET", "/account", headers=dict(h, **{"X-Server-Protocol-Version": "x"}))[0]
              == 400, "ADE bad protocol version: 400")
        check(cl.call("GET", "/account", headers=dict(h, **{"X-ADM-Auth-Session": "nope"}))[0]
              == 401, "ADE unknown session: 401")
        # fetch with pages
        seen, cursor, pages = [], None, 0
        while True:
            st, js, _ = cl.call("POST", "/server/devices",
                                {"limit": 100} if cursor is None else {"cursor": cursor, "limit": 100},
                                headers=h)
            pages += 1
            seen += [d["serial_number"] for d in js["devices"]]
            cursor = js["cursor"]
            if not js["more_to_follow"]:
                break
        check(len(seen) == 250 and len(set(seen)) == 250 and pages == 3,
              "ADE fetch: 250 tablets in 3 pages of 100")
        check(all("op_type" not in d for d in js["devices"]) and js["devices"][0]["os"] == "iPadOS"
              and "_order_number" not in js["devices"][0], "ADE fetch: no op_type, os iPadOS (v7)")
        st, js, _ = cl.call("POST", "/server/devices", {"cursor": cursor}, headers=h)
        check(st == 400 and js == "EXHAUSTED_CURSOR", "ADE fetch with a finished cursor: EXHAUSTED_CURSOR")
        st, js, _ = cl.call("POST", "/server/devices", {"limit": 5000}, headers=h)
        check(st == 200 and len(js["devices"]) == 250 and not js["more_to_follow"],
              "ADE limit above 1000 is capped")
        check(cl.call("POST", "/server/devices", {"limit": "10"}, headers=h)[0] == 400,
              "ADE limit of the wrong type: 400")
        check(cl.call("POST", "/server/devices", b"{not json", headers=h)[1]
              == "MALFORMED_REQUEST_BODY", "ADE bad JSON: MALFORMED_REQUEST_BODY")
        # sync
        serials = seen
        ade.add_devices(generate_devices(2, start=1000))
        ade.modify(serials[0], color="BLUE")
        ade.delete(serials[1])
        st, js, _ = cl.call("POST", "/devices/sync", {"cursor": cursor}, headers=h)
        ops = sorted((d["op_type"], d["serial_number"]) for d in js["devices"])
        check(st == 200 and [o for o, _ in ops] == ["added", "added", "deleted", "modified"]
              and all("op_date" in d for d in js["devices"]), "ADE sync: added, modified, deleted")
        sync_cursor = js["cursor"]
        st, js, _ = cl.call("POST", "/devices/sync", {"cursor": sync_cursor}, headers=h)
        check(st == 200 and js["devices"] == [] and not js["more_to_follow"], "ADE sync: nothing new")
        check(cl.call("POST", "/devices/sync", {}, headers=h)[1] == "INVALID_CURSOR",
              "ADE sync without cursor: INVALID_CURSOR")
        check(cl.call("POST", "/devices/sync", {"cursor": "zz"}, headers=h)[1] == "INVALID_CURSOR",
              "ADE sync with a foreign cursor: INVALID_CURSOR")
        # details
        st, js, _ = cl.call("POST", "/devices", {"devices": [serials[0], serials[1], "NOPE"]},
                            headers=h)
        d = js["devices"]
        check(d[serials[0]]["response_status"] == "SUCCESS" and d[serials[0]]["color"] == "BLUE"
              and d[serials[1]]["response_status"] == "NOT_ACCESSIBLE"
              and d["NOPE"]["response_status"] == "NOT_ACCESSIBLE", "ADE details per serial")
        # profile
        prof = {"profile_name": "Ardoise collèges", "url": "https://mdm.example.fr/ade/enroll",
                "is_mdm_removable": False, "await_device_configured": True,
                "skip_setup_items": ["AppleID", "Siri"], "department": "Département",
                "anchor_certs": [base64.b64encode(b"\x30\x03\x02\x01\x01").decode()]}
        for bad, code in ((dict(prof, profile_name=""), "CONFIG_NAME_REQUIRED"),
                          (dict(prof, url="http://x"), "CONFIG_URL_INVALID"),
                          (dict(prof, is_mdm_removable="no"), "FLAGS_INVALID"),
                          (dict(prof, anchor_certs=["!!"]), "ANCHOR_CERTIFICATE_INVALID"),
                          (dict(prof, support_email_address="x"), "SUPPORT_EMAIL_INVALID"),
                          (dict(prof, skip_setup_items="Siri"), "CONFIG_INVALID")):
            st, js, _ = cl.call("POST", "/profile", bad, headers=h)
            check(st == 400 and js == code, "ADE profile refused: %s" % code)
        st, js, _ = cl.call("POST", "/profile", prof, headers=h)
        pid = js["profile_uuid"]
        check(st == 200 and len(pid) == 32, "ADE profile defined: profile_uuid")
        st, js, _ = cl.call("GET", "/profile?profile_uuid=" + pid, headers=h)
        check(st == 200 and js["profile_name"] == "Ardoise collèges" and js["profile_uuid"] == pid,
              "ADE GET /profile?profile_uuid=")
        check(cl.call("GET", "/profile?profile_uuid=X", headers=h)[1] == "PROFILE_NOT_FOUND",
              "ADE unknown profile: PROFILE_NOT_FOUND")
        ade.fail_serials.add(serials[2])
        ade.throttle_serials.add(serials[3])
        st, js, _ = cl.call("PUT", "/profile/devices", {"profile_uuid": pid, "devices": [
            serials[0], serials[1], serials[2], serials[3]]}, headers=dict(
                h, **{"X-Server-Protocol-Version": "10"}))
        check(st == 200 and js["devices"] == {serials[0]: "SUCCESS", serials[1]: "NOT_ACCESSIBLE",
                                              serials[2]: "FAILED", serials[3]: "THROTTLED"}
              and js["retry_after_seconds"] == 60, "ADE assign: per-serial results, retry_after")
        check(cl.call("POST", "/profile/devices", {"profile_uuid": pid,
                                                   "devices": ["S"] * 1001}, headers=h)[0] == 400,
              "ADE assign of 1001 serials: 400")
        st, js, _ = cl.call("POST", "/devices", {"devices": [serials[0]]}, headers=h)
        check(js["devices"][serials[0]]["profile_status"] == "assigned", "ADE assigned shows")
        st, js, _ = cl.call("DELETE", "/profile/devices", {"devices": [serials[0], "NOPE"]},
                            headers=h)
        check(st == 200 and js["devices"] == {serials[0]: "SUCCESS", "NOPE": "NOT_ACCESSIBLE"},
              "ADE DELETE /profile/devices per serial")
        st, js, _ = cl.call("POST", "/devices", {"devices": [serials[0]]}, headers=h)
        check(js["devices"][serials[0]]["profile_status"] == "removed", "ADE removed shows")
        check(cl.call("POST", "/profile/devices", {"profile_uuid": "X", "devices": [serials[0]]},
                      headers=h)[1] == "PROFILE_NOT_FOUND", "ADE assign to an unknown profile")
        # rate limits
        ade.then(ade.too_many(2), ade.unavailable(5))
        st, _, r = cl.call("GET", "/account", headers=h)
        check(st == 429 and r.getheader("Retry-After") == "2", "ADE 429 with Retry-After")
        st, _, r = cl.call("GET", "/account", headers=h)
        check(st == 503 and r.getheader("Retry-After") == "5", "ADE 503 with Retry-After")
        # session rotation, expiry
        ade.rotate = True
        st, _, r = cl.call("GET", "/account", headers=h)
        new = r.getheader("X-ADM-Auth-Session")
        check(st == 200 and new and new != sess, "ADE rotates X-ADM-Auth-Session")
        check(cl.call("GET", "/account", headers=h)[0] == 401, "ADE the old session: 401")
        ade.rotate = False
        h["X-ADM-Auth-Session"] = new
        ade.advance(3601)
        check(cl.call("GET", "/account", headers=h)[0] == 401, "ADE session expired: 401")
        st, js, _ = session(cl, ade, ts=int(ade.now()))
        h["X-ADM-Auth-Session"] = js["auth_session_token"]
        check(cl.call("GET", "/account", headers=h)[0] == 200, "ADE renewed session works")
        ade.advance(8 * 86400)
        st, js, _ = session(cl, ade, ts=int(ade.now()))
        h["X-ADM-Auth-Session"] = js["auth_session_token"]
        st, js, _ = cl.call("POST", "/devices/sync", {"cursor": sync_cursor}, headers=h)
        check(st == 400 and js == "EXPIRED_CURSOR", "ADE cursor older than 7 days: EXPIRED_CURSOR")
        ade.advance(365 * 86400)
        check(session(cl, ade, ts=int(ade.now()))[0] == 401, "ADE token expired: /session 401")
        # the token file
        d = tempfile.mkdtemp(prefix="ardoise-ade-tok-")
        k, c = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=ardoise", "-keyout", k, "-out", c], check=True,
                       capture_output=True)
        tok = ade.issue_token()
        p7m = ade.token_p7m(c)
        check(p7m.startswith(b"Content-Type: application/pkcs7-mime") and
              b"smime-type=enveloped-data" in p7m, "ADE .p7m S/MIME headers")
        out = subprocess.run(["openssl", "smime", "-decrypt", "-inkey", k, "-recip", c],
                             input=p7m, capture_output=True, check=True).stdout.decode()
        body = out.split("\r\n\r\n", 1)[1]
        js = json.loads("".join(ln for ln in body.splitlines() if not ln.startswith("-----")))
        check(js == tok and "-----BEGIN MESSAGE-----" in body, "ADE .p7m decrypts to the token")
        check(session(cl, ade, tok=tok, ts=int(ade.now()))[0] == 200, "ADE the new token works")


def bench_fetch():
    t0 = time.time()
    devs = generate_devices(100000)
    gen = time.time() - t0
    with AdeStandin(CERT, KEY) as ade:
        ade.add_devices(devs)
        cl = Client(ade.port)
        js = session(cl, ade)[1]
        h = {"X-ADM-Auth-Session": js["auth_session_token"], "X-Server-Protocol-Version": "7"}
        t0 = time.time()
        n, cursor, pages = 0, None, 0
        while True:
            js = cl.call("POST", "/server/devices",
                         {"limit": 1000} if cursor is None else {"cursor": cursor, "limit": 1000},
                         headers=h)[1]
            n += len(js["devices"])
            pages += 1
            cursor = js["cursor"]
            if not js["more_to_follow"]:
                break
        el = time.time() - t0
    check(n == 100000, "ADE full fetch of 100,000 tablets")
    print("figure: generating 100,000 tablets %.2f s; full fetch %d pages of 1000 %.2f s"
          % (gen, pages, el), flush=True)


def test_machine_info():
    s = MachineInfoSigner()
    der = s.sign(machine_info("DMQ000000001", product="iPad13,18", os_version="17.6.1"))
    base = ["openssl", "cms", "-verify", "-inform", "DER", "-CAfile", s.root, "-purpose", "any"]
    r = subprocess.run(base + ["-no_check_time"], input=der, capture_output=True)
    info = plistlib.loads(r.stdout) if r.returncode == 0 else {}
    check(info.get("SERIAL") == "DMQ000000001" and info.get("MDM_CAN_REQUEST_SOFTWARE_UPDATE"),
          "MachineInfo verifies against the stand-in root without time check")
    r = subprocess.run(base, input=der, capture_output=True)
    check(r.returncode != 0, "MachineInfo signer is expired (time check refuses)")
    other = MachineInfoSigner()
    r = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-CAfile", other.root,
                        "-no_check_time", "-purpose", "any"], input=der, capture_output=True)
    check(r.returncode != 0, "MachineInfo refused against another root")


def test_vpp():
    with VppStandin(CERT, KEY, page_size=2) as v:
        cl = Client(v.port)
        tok = v.add_token("Collège Jean Moulin")
        js = json.loads(base64.b64decode(tok))
        check(set(js) == {"token", "expDate", "orgName"} and js["expDate"].endswith("+0000"),
              "VPP sToken: base64 JSON token, expDate, orgName")
        v.add_asset("1", count=2)
        v.add_asset("2", count=None)
        v.add_asset("3", count=10)
        v.add_asset("4", count=1, product="Book")
        b = "/mdm/v2"
        h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
        st, js, _ = cl.call("GET", b + "/service/config")
        check(st == 200 and js["limits"]["maxSerialNumbers"] == 1000 and js["errorCodes"],
              "VPP /service/config without auth")
        st, js, _ = cl.call("GET", b + "/client/config")
        check(st == 401 and js["errorNumber"] == 9601, "VPP no token: 401 9601")
        st, js, _ = cl.call("GET", b + "/client/config", headers={"Authorization": "Basic x"})
        check(st == 401 and js["errorNumber"] == 9722, "VPP malformed Authorization: 9722")
        st, js, _ = cl.call("GET", b + "/client/config", headers={"Authorization": "Bearer bogus"})
        check(st == 200 and js["errorNumber"] == 9601, "VPP invalid token: error in a 200 body")
        old = v.add_token(exp=time.time() - 10)
        st, js, _ = cl.call("GET", b + "/assets", headers={"Authorization": "Bearer " + old})
        check(st == 401 and js["errorNumber"] == 9621, "VPP expired token: 9621")
        rv = v.add_token()
        v.revoke(rv)
        st, js, _ = cl.call("GET", b + "/assets", headers={"Authorization": "Bearer " + rv})
        check(st == 401 and js["errorNumber"] == 9625, "VPP revoked token: 9625")
        st, js, _ = cl.call("POST", b + "/client/config", {"mdmInfo": {
            "id": "ardoise-1", "name": "Ardoise", "metadata": ""}}, headers=h)
        check(st == 200 and js["mdmInfo"]["id"] == "ardoise-1" and js["locationName"]
              == "Collège Jean Moulin", "VPP claims the location with mdmInfo")
        st, js, _ = cl.call("GET", b + "/assets", headers=h)
        check(js["mdmInfo"]["id"] == "ardoise-1" and js["tokenExpirationDate"] and js["uId"],
              "VPP every answer carries mdmInfo, tokenExpirationDate, uId")
        got = []
        pi = None
        while True:
            st, js, _ = cl.call("GET", b + "/assets" + ("" if pi is None else "?pageIndex=%d" % pi),
                                headers=h)
            got += js["assets"]
            pi = js.get("nextPageIndex")
            if pi is None:
                break
        check(len(got) == 4 and js["totalPages"] == 2, "VPP /assets by pages")
        check([a["totalCount"] for a in got if a["adamId"] == "2"] == [2147483647],
              "VPP a free app is unlimited")
        check(cl.call("GET", b + "/assets?pageIndex=9", headers=h)[1]["errorNumber"] == 9650,
              "VPP pageIndex out of range: 9650")
        st, js, _ = cl.call("GET", b + "/assets?productType=Book", headers=h)
        check([a["adamId"] for a in js["assets"]] == ["4"], "VPP /assets filter productType")
        # associate, asynchronously, licences running out
        serials = ["S%03d" % i for i in range(3)]
        st, js, _ = cl.call("POST", b + "/assets/associate", {
            "assets": [{"adamId": "1", "pricingParam": "STDQ"}], "serialNumbers": serials},
            headers=h)
        eid = js["eventId"]
        check(st == 200 and eid, "VPP associate answers an eventId")
        st, js, _ = cl.call("GET", b + "/status?eventId=" + eid, headers=h)
        check(js["eventStatus"] == "PENDING" and js["eventType"] == "ASSOCIATE", "VPP status PENDING")
        v.process()
        st, js, _ = cl.call("GET", b + "/status?eventId=" + eid, headers=h)
        check(js["eventStatus"] == "COMPLETE" and js["numCompleted"] == 2 and
              js["failures"][0]["errorNumber"] == 9709 and
              js["failures"][0]["errorInfo"]["serialNumbers"] == ["S002"],
              "VPP status COMPLETE, 9709 for the serial without a licence")
        st, js, _ = cl.call("GET", b + "/assets?adamId=1", headers=h)
        a = js["assets"][0]
        check(a["assignedCount"] == 2 and a["availableCount"] == 0, "VPP licence counts")
        st, js, _ = cl.call("GET", b + "/assignments?serialNumber=S000", headers=h)
        check([x["adamId"] for x in js["assignments"]] == ["1"], "VPP /assignments filter serial")
        st, js, _ = cl.call("POST", b + "/assets/disassociate", {
            "assets": [{"adamId": "1"}], "serialNumbers": ["S000"]}, headers=h)
        v.process()
        st, js, _ = cl.call("GET", b + "/assets?adamId=1", headers=h)
        check(js["assets"][0]["availableCount"] == 1, "VPP disassociate gives the licence back")
        # batches and hostile bodies
        for body, code in (({"assets": [{"adamId": "3"}] * 26, "serialNumbers": ["A"]}, 9700),
                           ({"assets": [{"adamId": "3"}], "serialNumbers": ["A"] * 1001}, 9702),
                           ({"serialNumbers": ["A"]}, 9718), ({"assets": [{"adamId": "3"}]}, 9719),
                           ({"assets": [{"adamId": "999"}], "serialNumbers": ["A"]}, 9602)):
            st, js, _ = cl.call("POST", b + "/assets/associate", body, headers=h)
            check(st == 400 and js["errorNumber"] == code, "VPP associate refused: %d" % code)
        st, js, _ = cl.call("POST", b + "/assets/associate", b"[", headers=h)
        check(st == 400 and js["errorNumber"] == 9602, "VPP bad JSON: 9602")
        st, js, _ = cl.call("GET", b + "/status?eventId=nope", headers=h)
        check(st == 400 and js["errorNumber"] == 9708, "VPP unknown eventId: 9708")
        st, js, _ = cl.call("POST", b + "/assets/associate", {
            "assets": [{"adamId": "3"}], "serialNumbers": ["S%04d" % i for i in range(1000)]},
            headers=h)
        check(st == 200, "VPP associate of 1000 serials accepted")
        v.auto = True
        st, js, _ = cl.call("POST", b + "/assets/associate", {
            "assets": [{"adamId": "2"}], "serialNumbers": ["A1"]}, headers=h)
        eid = js["eventId"]
        first = cl.call("GET", b + "/status?eventId=" + eid, headers=h)[1]["eventStatus"]
        second = cl.call("GET", b + "/status?eventId=" + eid, headers=h)[1]
        check(first == "PENDING" and second["eventStatus"] == "COMPLETE" and
              second["numCompleted"] == 1 and "failures" not in second,
              "VPP auto: PENDING once, then COMPLETE (free app, unlimited)")
        other = v.add_token("Autre collège")
        st, js, _ = cl.call("GET", b + "/status?eventId=" + eid,
                            headers={"Authorization": "Bearer " + other})
        check(st == 400 and js["errorNumber"] == 9708, "VPP another location's eventId: 9708")
        v.then(v.too_many(3), v.unavailable(7))
        st, js, r = cl.call("GET", b + "/assets", headers=h)
        check(st == 429 and js["errorNumber"] == 9646 and r.getheader("Retry-After") == "3",
              "VPP 429 9646 with Retry-After")
        st, js, r = cl.call("GET", b + "/assets", headers=h)
        check(st == 503 and r.getheader("Retry-After") == "7", "VPP 503 with Retry-After")


if __name__ == "__main__":
    t0 = time.time()
    test_ade()
    test_machine_info()
    test_vpp()
    bench_fetch()
    print("%d failed, %.1f s" % (len(FAILED), time.time() - t0))
    sys.exit(1 if FAILED else 0)
