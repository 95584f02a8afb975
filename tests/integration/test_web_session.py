"""Signing in to the pages: passwords set through one-time links, the session
cookie and its CSRF token, throttled guessing, expiry, sign-out, the roles
seen through a session, and bearer tokens that still work as before."""
import datetime
import http.client
import json
import os
import re
import time

from fleet_common import A, B, COLLEGES, setup_fleet
from harness import Daemon, check, read_response, run

B64URL = re.compile(r"^[A-Za-z0-9_-]{43}$")
PASSWORD = "cheval correct agrafe"


def source_conn(d, source):
    """A connection from another loopback address (another client)."""
    return http.client.HTTPSConnection("127.0.0.1", d.port, context=d.ssl_context(), timeout=30,
                                       source_address=(source, 0))


def call(d, method, path, body=None, headers=None, source=None):
    """A request without a bearer token; returns (status, headers, JSON or None)."""
    conn = source_conn(d, source) if source else None
    try:
        status, h, data = d.request(method, path, body=body, headers=headers, token=None, conn=conn)
    finally:
        if conn:
            conn.close()
    try:
        return status, h, json.loads(data) if data else None
    except ValueError:
        return status, h, data


def link_token(d, link):
    """The token of a link <base>/lien/<token>, checking the base."""
    m = re.match(r"^https://localhost:%d/lien/([A-Za-z0-9_-]{43})$" % d.port, link)
    check(m is not None, "a link https://hostname:port/lien/<token>: %r" % link)
    return m.group(1)


def set_password(d, token, password, expect=200):
    status, _, body = call(d, "POST", "/api/v1/links/" + token, {"password": password})
    check(status == expect, "setting a password: expected %d, got %d: %r" % (expect, status, body))
    return body


def new_account(d, name, role, *schools, password=PASSWORD):
    """An account created with ardoisectl, its password set through its link."""
    args = ["account", "create", name, "--role", role, "--display-name", "Prénom " + name]
    for s in schools:
        args += ["--school", s]
    out = d.ctl(*args)
    m = re.search(r"^link: (\S+)$", out.stdout, re.M)
    check(m is not None and re.search(r"^token: ard_", out.stdout, re.M),
          "account create prints the token and the link: %r" % out.stdout)
    if password:
        set_password(d, link_token(d, m.group(1)), password)


class Page:
    """A browser's session: the cookie, and the CSRF token it was given."""

    def __init__(self, d, name, password=PASSWORD, source=None):
        self.d = d
        status, headers, body = call(d, "POST", "/api/v1/session",
                                     {"name": name, "password": password}, source=source)
        check(status == 200, "sign-in of %s: %d %r" % (name, status, body))
        m = re.match(r"^ardoise_session=([^;]*);", headers.get("set-cookie", ""))
        check(m is not None, "a session cookie: %r" % headers)
        self.cookie, self.session, self.set_cookie = m.group(1), body, headers["set-cookie"]
        self.csrf = body["csrf"]

    def __call__(self, method, path, body=None, csrf=True, extra=None):
        h = {"Cookie": "ardoise_session=" + self.cookie}
        if csrf is True:
            h["X-CSRF-Token"] = self.csrf
        elif csrf:
            h["X-CSRF-Token"] = csrf
        h.update(extra or {})
        return call(self.d, method, path, body, headers=h)


def audit(d, action):
    return [r for r in d.ctl_json("audit", "list") if r["action"] == action]


def refused_signin(d, name, password, source=None):
    status, headers, body = call(d, "POST", "/api/v1/session", {"name": name, "password": password},
                                 source=source)
    check(status == 401 and body["error"]["code"] == "unauthorized"
          and body["error"]["message"] == "wrong account name or password"
          and "set-cookie" not in headers,
          "one 401 for any failed sign-in (%s): %d %r" % (name, status, body))


def throttled(d, name, password, source=None):
    status, headers, body = call(d, "POST", "/api/v1/session", {"name": name, "password": password},
                                 source=source)
    check(status == 429 and body["error"]["code"] == "limit", "throttled: %d %r" % (status, body))
    wait = int(headers.get("retry-after", "0"))
    check(0 < wait <= 900, "Retry-After in seconds, at most 15 min: %r" % headers)
    check("set-cookie" not in headers, "no session while throttled")
    return wait


def test_signin_and_cookie():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        p = Page(d, "tech.marie")
        attrs = [a.strip() for a in p.set_cookie.split(";")[1:]]
        check(sorted(attrs) == ["HttpOnly", "Path=/", "SameSite=Strict", "Secure"],
              "the cookie is HttpOnly, Secure, SameSite=Strict, Path=/: %r" % p.set_cookie)
        check(B64URL.match(p.cookie) and B64URL.match(p.csrf) and p.cookie != p.csrf,
              "256-bit base64url id and CSRF token: %r %r" % (p.cookie, p.csrf))
        s = p.session
        check(s["name"] == "tech.marie" and s["role"] == "technician" and s["schools"] == []
              and s["fleet_wide"] is True and s["display_name"] == "Prénom tech.marie"
              and s["email"] is None, "the session object: %r" % s)
        check(all(s["may"][k] is True for k in ("read", "read_fleet", "loan", "incident",
                                                 "device_action", "school_policy", "admin", "audit",
                                                 "locate", "policy_read", "app_catalogue", "erase"))
              and len(s["may"]) == 12, "a technician may everything: %r" % s["may"])
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", s["expires_at"])
              and seconds(s["idle_expires_at"]) < seconds(s["expires_at"]), "expiry times: %r" % s)
        status, _, again = p("GET", "/api/v1/session")
        check(status == 200 and again["csrf"] == p.csrf and again["name"] == "tech.marie",
              "GET /session gives the session back: %r" % again)
        status, _, who = p("GET", "/api/v1/whoami")
        check(status == 200 and who["name"] == "tech.marie", "the cookie authenticates: %r" % who)
        # nothing of the session in clear in the database
        stored = d.sqlite("SELECT id_hash, csrf_hash FROM web_session").stdout
        check(p.cookie not in stored and p.csrf not in stored
              and re.match(r"^[0-9a-f]{64}\|[0-9a-f]{64}$", stored.strip()),
              "the id and the CSRF token are stored as SHA-256 only: %r" % stored)
        hashed = d.sqlite("SELECT password_hash FROM account WHERE name = 'tech.marie'").stdout
        check(hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in hashed,
              "the password is kept as its Argon2id hash: %r" % hashed)
        row = [a for a in d.ctl_json("account", "list") if a["name"] == "tech.marie"][0]
        check(row["password_set"] is True and row["last_signin_at"] and row["email"] is None
              and row["display_name"] == "Prénom tech.marie", "account list: %r" % row)
        signin = audit(d, "session.signin")
        check(len(signin) == 1 and signin[0]["actor"] == "tech.marie"
              and signin[0]["target"] == "tech.marie", "session.signin audited: %r" % signin)
        check(p.cookie not in d.log() and p.csrf not in d.log(), "no session secret in the log")


def test_wrong_password():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        new_account(d, "tech.nopass", "technician", password=None)
        new_account(d, "tech.gone", "technician")
        d.ctl("account", "update", "tech.gone", "--disable")
        refused_signin(d, "tech.marie", PASSWORD + "x")
        refused_signin(d, "tech.marie", PASSWORD.upper())
        refused_signin(d, "nobody.here", PASSWORD)
        refused_signin(d, "tech.nopass", PASSWORD)
        refused_signin(d, "tech.gone", PASSWORD)
        rows = audit(d, "session.refused")
        check([r["target"] for r in rows] == ["tech.marie", "tech.marie", "nobody.here",
                                              "tech.nopass", "tech.gone"],
              "session.refused names the account given: %r" % rows)
        whys = sorted(r["detail"]["why"] for r in rows)
        check(all(r["detail"]["address"] == "127.0.0.1" for r in rows), "with the address")
        check(whys == ["disabled account", "no password set", "unknown account", "wrong password",
                       "wrong password"], "the audit row says why: %r" % whys)
        text = json.dumps(d.ctl_json("audit", "list")) + d.log()
        check(PASSWORD not in text and PASSWORD.upper() not in text, "never the password")
        Page(d, "tech.marie")  # the right password still works (4 failures only)


def test_throttle_per_account():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        new_account(d, "tech.paul", "technician")
        for _ in range(5):
            refused_signin(d, "tech.marie", "mauvais mot de passe")
        throttled(d, "tech.marie", PASSWORD)  # refused even with the right password
        throttled(d, "tech.marie", PASSWORD, source="127.0.0.2")  # from anywhere
        Page(d, "tech.paul")  # another account from the same address signs in
        check(len(audit(d, "session.refused")) == 5, "throttled attempts are not audited one by one")
        # once the 30 s are over, one more failure: the delay doubles
        d.stop()
        os.environ["ARDOISE_CLOCK_OFFSET"] = "31"
        try:
            d.start()
            refused_signin(d, "tech.marie", "encore faux")
            wait = throttled(d, "tech.marie", PASSWORD)
            check(45 < wait <= 60, "the delay doubled to 60 s: %d" % wait)
        finally:
            os.environ.pop("ARDOISE_CLOCK_OFFSET", None)
        # a technician resets the password: the new one works at once
        link = d.ctl_json("account", "password-reset", "tech.marie")["link"]
        set_password(d, link_token(d, link), "un tout autre mot de passe")
        Page(d, "tech.marie", "un tout autre mot de passe")


def test_throttle_per_address():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        for i in range(20):
            refused_signin(d, "inconnu.%d" % i, "mauvais mot de passe")
        throttled(d, "tech.marie", PASSWORD)
        throttled(d, "inconnu.99", "x" * 12)
        Page(d, "tech.marie", source="127.0.0.2")  # another address is not slowed down


def test_links():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "import", COLLEGES)
        out = d.ctl_json("account", "create", "--name", "referent.lambert", "--role", "referent",
                         "--school", A, "--email", "r.lambert@ac-aix-marseille.fr")
        check(out["token"].startswith("ard_") and out["link_expires_at"] and out["email"]
              == "r.lambert@ac-aix-marseille.fr" and out["password_set"] is False,
              "create answers the token and the link: %r" % out)
        first = link_token(d, out["link"])
        inv = d.ctl("account", "invite", "referent.lambert")
        token = link_token(d, re.search(r"^link: (\S+)$", inv.stdout, re.M).group(1))
        check(re.search(r"^link expires: \d{4}-\d\d-\d\d \d\d:\d\d$", inv.stdout, re.M),
              "invite prints when the link expires: %r" % inv.stdout)
        status, _, body = call(d, "GET", "/api/v1/links/" + first)
        check(status == 404, "a new link voids the older one: %d %r" % (status, body))
        status, _, info = call(d, "GET", "/api/v1/links/" + token)
        check(status == 200 and info["name"] == "referent.lambert" and info["kind"] == "invite"
              and info["display_name"] is None and info["expires_at"], "the link: %r" % info)
        for bad, why in (("court", "at least 12 characters"),
                         ("é" * 11, "at least 12 characters"),  # 22 bytes, 11 characters
                         ("Referent.Lambert", "must not be the account name"),
                         ("x" * 257, "at most 256 bytes")):
            body = set_password(d, token, bad, expect=400)
            check(why in body["error"]["message"], "refused: %r -> %r" % (bad[:20], body))
        for bad in (12345678901234, None, ["a" * 12], {"p": "a" * 12}, True):
            set_password(d, token, bad, expect=400)
        set_password(d, token, "é" * 12)  # 12 characters
        check(set_password(d, token, "é" * 12, expect=404)["error"]["message"].startswith(
            "this link is unknown, was already used or has expired"), "a link works once")
        status, _, _ = call(d, "GET", "/api/v1/links/" + token)
        check(status == 404, "a used link answers 404")
        Page(d, "referent.lambert", "é" * 12)
        rows = audit(d, "account.password_set")
        check(len(rows) == 1 and rows[0]["actor"] == "referent.lambert", "password_set audited")
        check(audit(d, "account.invite") and audit(d, "account.create"), "invite audited")
        check(first not in d.log() and token not in d.log(), "no link token in the log")
        # a password reset ends the sessions opened with the old password
        old = Page(d, "referent.lambert", "é" * 12)
        reset = link_token(d, d.ctl_json("account", "password-reset", "referent.lambert")["link"])
        status, _, info = call(d, "GET", "/api/v1/links/" + reset)
        check(info["kind"] == "reset", "a reset link: %r" % info)
        Page(d, "referent.lambert", "é" * 12)  # the old password works until the new one is set
        set_password(d, reset, "nouveau mot de passe")
        check(old("GET", "/api/v1/session")[0] == 401, "setting a password ends the sessions")
        refused_signin(d, "referent.lambert", "é" * 12)
        # a link past its 72 hours
        late = link_token(d, d.ctl_json("account", "invite", "referent.lambert")["link"])
        d.stop()
        os.environ["ARDOISE_CLOCK_OFFSET"] = str(72 * 3600 + 60)
        try:
            d.start()
            status, _, body = call(d, "GET", "/api/v1/links/" + late)
            check(status == 404, "an expired link answers 404: %r" % body)
            set_password(d, late, "encore un mot de passe", expect=404)
        finally:
            os.environ.pop("ARDOISE_CLOCK_OFFSET", None)
        # unknown and malformed links
        for t in ("A" * 43, "court", "A" * 300, "%00" * 20, "../../session"):
            status, _, _ = call(d, "GET", "/api/v1/links/" + t)
            check(status == 404, "link %r: %d" % (t[:20], status))
        d.check_serving("bad links")


def test_first_admin_link():
    """--init prints the first technician's one-time link: the pages need no
    token to start with (tools/ardoise-dev run shows it)."""
    with Daemon(init_args=["--no-baseline"]) as d:
        m = re.search(r"^link: /lien/([A-Za-z0-9_-]{43})$", d.init_out, re.M)
        check(m is not None, "--init prints 'link: /lien/<token>': %r" % d.init_out)
        stored = d.sqlite("SELECT token_hash FROM account_link").stdout
        check(m.group(1) not in stored, "the link is stored as its hash only")
        status, _, info = call(d, "GET", "/api/v1/links/" + m.group(1))
        check(status == 200 and info["name"] == "admin" and info["kind"] == "invite",
              "the admin's invitation: %r" % info)
        set_password(d, m.group(1), PASSWORD)
        p = Page(d, "admin")
        check(p.session["role"] == "technician", "the admin signs in: %r" % p.session)
        set_password(d, m.group(1), PASSWORD, expect=404)


def test_public_url_in_links():
    with Daemon(config="[server]\npublic_url = https://ardoise.departement13.fr/\n",
                init_args=["--no-baseline"]) as d:
        out = d.ctl_json("account", "create", "tech.x", "--role", "technician")
        check(re.match(r"^https://ardoise\.departement13\.fr/lien/[A-Za-z0-9_-]{43}$", out["link"]),
              "the link uses [server] public_url: %r" % out["link"])


def test_csrf():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        new_account(d, "tech.paul", "technician")
        p = Page(d, "tech.marie")
        other = Page(d, "tech.paul")
        change = {"display_name": "Paul Nouveau"}
        for token, what in ((False, "no token"), ("A" * 43, "a wrong token"),
                            (other.csrf, "another session's token"), (p.csrf + "x", "a longer token"),
                            (p.csrf.lower(), "the token in another case")):
            status, _, body = p("POST", "/api/v1/accounts/tech.paul/update", change, csrf=token)
            check(status == 403 and body["error"]["code"] == "forbidden"
                  and "CSRF" in body["error"]["message"], "%s: %d %r" % (what, status, body))
            status, _, _ = p("DELETE", "/api/v1/session", csrf=token)
            check(status == 403, "sign-out without the token (%s): %d" % (what, status))
        check(p("GET", "/api/v1/session")[0] == 200, "the session survives refused requests")
        row = [a for a in d.ctl_json("account", "list") if a["name"] == "tech.paul"][0]
        check(row["display_name"] == "Prénom tech.paul", "nothing changed without the token")
        check(not audit(d, "account.update"), "no audit row for refused changes")
        status, _, body = p("POST", "/api/v1/accounts/tech.paul/update", change)
        check(status == 200 and body["display_name"] == "Paul Nouveau", "with the token: %r" % body)
        rows = audit(d, "account.update")
        check(len(rows) == 1 and rows[0]["actor"] == "tech.marie", "done as the session's account")


def test_expiry():
    config = "[web]\nsession_idle_seconds = 60\nsession_max_seconds = 120\n"
    with Daemon(config=config, init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        idle = Page(d, "tech.marie")
        used = Page(d, "tech.marie")
        check(seconds(used.session["expires_at"]) - seconds(used.session["idle_expires_at"]) == 60,
              "absolute 120 s and idle 60 s from the same moment: %r" % used.session)
        try:
            for offset, idle_ok, used_ok in ((50, True, True), (100, False, True), (121, False, False)):
                d.stop()
                os.environ["ARDOISE_CLOCK_OFFSET"] = str(offset)
                d.start()
                if offset == 50:  # only `used` is used at +50 s
                    check(used("GET", "/api/v1/session")[0] == 200, "valid at +50 s")
                    continue
                status, headers, body = idle("GET", "/api/v1/whoami")
                check((status == 200) == idle_ok, "unused session at +%d s: %d" % (offset, status))
                if not idle_ok:
                    check(body["error"]["code"] == "unauthorized"
                          and "Max-Age=0" in headers.get("set-cookie", ""),
                          "an expired session answers 401 and clears the cookie: %r" % headers)
                status, _, _ = used("GET", "/api/v1/session")
                check((status == 200) == used_ok, "used session at +%d s: %d" % (offset, status))
        finally:
            os.environ.pop("ARDOISE_CLOCK_OFFSET", None)
        left = d.sqlite("SELECT count(*) FROM web_session").stdout.strip()
        check(left == "0", "expired sessions are deleted: %s left" % left)


def seconds(iso):
    """An API time as seconds since the epoch."""
    return datetime.datetime.fromisoformat(iso).timestamp()


def test_signout():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        p = Page(d, "tech.marie")
        other = Page(d, "tech.marie")
        status, headers, body = p("DELETE", "/api/v1/session")
        check(status == 200 and body == {"signed_out": True}, "signed out: %r" % body)
        cookie = headers.get("set-cookie", "")
        check(cookie.startswith("ardoise_session=;") and "Max-Age=0" in cookie,
              "the cookie is cleared: %r" % cookie)
        for path in ("/api/v1/session", "/api/v1/whoami"):
            status, _, body = p("GET", path)
            check(status == 401, "%s after sign-out: %d %r" % (path, status, body))
        check(p("DELETE", "/api/v1/session")[0] == 401, "signing out twice")
        check(other("GET", "/api/v1/session")[0] == 200, "the person's other session lives on")
        rows = audit(d, "session.signout")
        check(len(rows) == 1 and rows[0]["actor"] == "tech.marie", "sign-out audited: %r" % rows)


def test_roles_through_sessions():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        new_account(d, "ref.sarraute", "referent", A)
        new_account(d, "ref.deux", "referent", A, B)  # a référent may cover several collèges
        new_account(d, "ati.aubagne", "ati", A)
        ref = Page(d, "ref.sarraute")
        check(ref.session["schools"] == [A] and ref.session["fleet_wide"] is False,
              "the référent's collège: %r" % ref.session)
        may = ref.session["may"]
        check(may["read"] and may["policy_read"] and not any(
            may[k] for k in ("read_fleet", "loan", "incident", "device_action", "school_policy",
                             "admin", "audit", "locate", "app_catalogue", "erase")),
              "a référent reads: %r" % may)
        ati = Page(d, "ati.aubagne").session["may"]
        check(ati["loan"] and ati["device_action"] and ati["app_catalogue"] and ati["school_policy"]
              and not ati["admin"]
              and not ati["erase"], "an ATI's may: %r" % ati)
        check(ref("GET", "/api/v1/devices/DMPA00000001")[0] == 200, "own collège's tablet")
        status, _, body = ref("GET", "/api/v1/devices/DMPB00000001")
        check(status == 404 and "in your collèges" in body["error"]["message"] and B not in str(body),
              "another collège's tablet is not found: %r" % body)
        before = d.ctl_json("account", "list")
        for method, path, body in (("POST", "/api/v1/accounts", {"name": "x.y", "role": "technician"}),
                                   ("POST", "/api/v1/accounts/ati.aubagne/update", {"enabled": False}),
                                   ("POST", "/api/v1/accounts/admin/password-reset", {}),
                                   ("POST", "/api/v1/devices/DMPA00000001/lock", {"reason": "x"})):
            status, _, answer = ref(method, path, body)
            check(status == 403 and answer["error"]["code"] == "forbidden",
                  "a référent's session may not %s %s: %d %r" % (method, path, status, answer))
        check(d.ctl_json("account", "list") == before, "refused requests changed nothing")
        two = Page(d, "ref.deux")
        check(two("GET", "/api/v1/devices/DMPB00000001")[0] == 200, "a référent of two collèges")
        # a technician narrows the collèges: the session sees it at once
        d.ctl("account", "update", "ref.deux", "--school", A, "--reason", "mutation")
        check(two("GET", "/api/v1/devices/DMPB00000001")[0] == 404, "B is out of scope now")
        check(two("GET", "/api/v1/session")[2]["schools"] == [A], "the session shows it")
        # disabling ends the sessions, enabling lets the person sign in again
        d.ctl("account", "update", "ref.deux", "--disable")
        check(two("GET", "/api/v1/session")[0] == 401, "a disabled account's session ends")
        refused_signin(d, "ref.deux", PASSWORD)
        d.ctl("account", "update", "ref.deux", "--enable")
        Page(d, "ref.deux")


def test_account_update_and_cli():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "import", COLLEGES)
        new_account(d, "ati.x", "ati", A)
        out = d.ctl_json("account", "update", "ati.x", "--school", A, "--school", B,
                         "--display-name", "Ati X", "--email", "ati.x@ac-aix-marseille.fr")
        check(out["schools"] == [A, B] and out["display_name"] == "Ati X"
              and out["email"] == "ati.x@ac-aix-marseille.fr", "updated: %r" % out)
        for args, err in ((["--email", "pas-une-adresse"], "not an e-mail address"),
                          (["--email", "a@b"], "not an e-mail address"),
                          (["--display-name", "x" * 129], "at most 128 characters"),
                          (["--school", "0000022Z"], "no collège"),
                          ([], "nothing to change"),
                          (["--enable", "--disable"], "not both")):
            code = 2 if err == "not both" else 1
            o = d.ctl("account", "update", "ati.x", *args, expect=code)
            check(err in o.stderr, "%r: %r" % (args, o.stderr))
        o = d.ctl("account", "update", "admin", "--disable", expect=1)
        check("cannot disable your own account" in o.stderr, o.stderr)
        o = d.ctl("account", "update", "nobody", "--enable", expect=1)
        check("no account nobody" in o.stderr, o.stderr)
        status, _, body = call(d, "POST", "/api/v1/accounts/ati.x/update", {"schools": []},
                               headers={"Authorization": "Bearer " + d.token})
        check(status == 400 and "at least one collège" in body["error"]["message"], "%r" % body)
        for bad in ({"enabled": "yes"}, {"schools": "0131266F"}, {"display_name": 12},
                    {"email": ["a@b.fr"]}, {"display_name": "a\nb"}):
            status, _, body = call(d, "POST", "/api/v1/accounts/ati.x/update", bad,
                                   headers={"Authorization": "Bearer " + d.token})
            check(status == 400, "%r: %d %r" % (bad, status, body))
        d.ctl("account", "update", "ati.x", "--disable")
        o = d.ctl("account", "invite", "ati.x", expect=1)
        check("disabled" in o.stderr, "no link for a disabled account: %r" % o.stderr)
        o = d.ctl("account", "create", "--role", "ati", expect=2)
        check("NAME" in o.stderr, o.stderr)
        for verb in ("create", "invite", "password-reset", "update"):
            h = d.ctl("account", verb, "--help").stdout
            check("Usage: ardoisectl account " + verb in h and "--json" in h, h)
        check("--display-name" in d.ctl("account", "create", "--help").stdout, "create --help")
        listed = d.ctl("account", "list").stdout
        check("LAST SIGN-IN" in listed and "PASSWORD" in listed, listed)
        rows = audit(d, "account.update")
        check(len(rows) == 2 and rows[0]["detail"]["schools"] == [A, B]
              and rows[1]["detail"] == {"enabled": False}, "account.update audited: %r" % rows)


def test_bearer_unchanged():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        auth = {"Authorization": "Bearer " + d.token}
        status, _, who = call(d, "GET", "/api/v1/whoami", headers=auth)
        check(status == 200 and who["name"] == "admin", "bearer: %r" % who)
        status, _, body = call(d, "POST", "/api/v1/accounts/tech.marie/update",
                               {"display_name": "Marie"}, headers=auth)
        check(status == 200, "a bearer change needs no CSRF token: %r" % body)
        p = Page(d, "tech.marie")
        both = dict(auth, Cookie="ardoise_session=" + p.cookie)
        status, _, who = call(d, "GET", "/api/v1/whoami", headers=both)
        check(status == 200 and who["name"] == "admin", "the bearer token wins over a cookie")
        status, _, body = call(d, "GET", "/api/v1/session", headers=auth)
        check(status == 401, "a bearer token has no session: %r" % body)
        status, _, body = call(d, "GET", "/api/v1/whoami", headers={"Authorization": "Bearer nope"})
        check(status == 401, "a wrong bearer token is refused as before")
        status, _, body = call(d, "GET", "/api/v1/whoami")
        check(status == 401 and "session cookie" in body["error"]["message"], "%r" % body)
        d.ctl("whoami")


def test_hostile():
    with Daemon(init_args=["--no-baseline"]) as d:
        new_account(d, "tech.marie", "technician")
        # a password of 10 MB, a large body to a link: refused from the head
        # (64 KiB unauthenticated), before any byte of it is read
        for path, length in (("/api/v1/session", 10485760), ("/api/v1/links/" + "A" * 43, 70000)):
            s = d.raw_tls()
            s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n{\"password\":\"" % (path.encode(), length))
            status, _, body = read_response(s.makefile("rb"))
            s.close()
            check(status == 413 and (length > 8388608 or b"65536" in body),
                  "%d bytes to %s: %d %r" % (length, path, status, body))
        for body, status in ((b"{", 400), (b"[]", 400), (b"\"x\"", 400), (b"", 400),
                             (b"{\"name\":\"tech.marie\",\"name\":\"x\",\"password\":\"y\"}", 400)):
            st, _, _ = call(d, "POST", "/api/v1/session", body, {"Content-Type": "application/json"})
            check(st == status, "body %r: %d" % (body, st))
        for bad in ({"name": "tech.marie"}, {"password": PASSWORD}, {"name": 1, "password": PASSWORD},
                    {"name": "tech.marie", "password": 123456789012345},
                    {"name": "tech.marie", "password": None},
                    {"name": "tech.marie", "password": [PASSWORD]},
                    {"name": "tech.marie", "password": {"x": PASSWORD}},
                    {"name": "x" * 65, "password": PASSWORD},
                    {"name": "tech.marie", "password": "p" * 257},
                    {"name": "tech.marie\n", "password": PASSWORD}):
            st, _, body = call(d, "POST", "/api/v1/session", bad)
            check(st == 400, "%r: %d %r" % (str(bad)[:60], st, body))
        st, _, body = call(d, "POST", "/api/v1/session",
                           json.dumps({"name": "tech.marie", "password": PASSWORD}).encode(),
                           {"Content-Type": "text/plain"})
        check(st == 415, "a form-encodable type is refused: %d %r" % (st, body))
        # cookie garbage
        for cookie in ("ardoise_session=" + "A" * 5000, "ardoise_session=", "ardoise_session",
                       ";;;==;", "ardoise_session=" + "A" * 43, "ardoise_session=%s" % ("é" * 20),
                       "x=1; ardoise_session=\x01\x02", "ardoise_session=../../etc/passwd",
                       "a=b" * 2000):
            st, h, body = call(d, "GET", "/api/v1/whoami", headers={"Cookie": cookie})
            if "\x01" in cookie:  # control characters: the HTTP parser refuses the head
                check(st == 400, "cookie %r: %d" % (cookie[:30], st))
            else:
                check(st == 401 and "Max-Age=0" in h.get("set-cookie", ""),
                      "cookie %r: 401, the cookie cleared: %d %r" % (cookie[:30], st, h))
        p = Page(d, "tech.marie")
        for cookie in ("ardoise_session=%s;ardoise_session=x" % p.cookie,
                       "theme=dark; ardoise_session=%s; lang=fr" % p.cookie):
            st, _, who = call(d, "GET", "/api/v1/whoami", headers={"Cookie": cookie})
            check(st == 200 and who["name"] == "tech.marie", "cookie among others %r: %d" % (cookie, st))
        off = p.cookie[:-1] + ("B" if p.cookie.endswith("A") else "A")
        st, _, _ = call(d, "GET", "/api/v1/whoami", headers={"Cookie": "ardoise_session=" + off})
        check(st == 401, "a cookie one character off: %d" % st)
        d.check_serving("hostile sign-ins")
        check(p("GET", "/api/v1/session")[0] == 200, "the session still works")


if __name__ == "__main__":
    run([test_signin_and_cookie, test_wrong_password, test_throttle_per_account, test_first_admin_link,
         test_throttle_per_address, test_links, test_public_url_in_links, test_csrf, test_expiry,
         test_signout, test_roles_through_sessions, test_account_update_and_cli,
         test_bearer_unchanged, test_hostile])
