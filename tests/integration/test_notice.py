"""The information notice's values (GET /api/v1/notice): what the families'
notice on personal data states is what the daemon applies, read from its
configuration, without an account (families have none); nothing personal
or secret is in it, and the route takes nothing but GET.
"""
import json

from harness import Daemon, check, run

CONFIG = """[mdm]
organization = Département des Bouches-du-Rhône
command_retention_days = 120
command_expiry_days = 21
[geolocation]
retention_days = 45
approval = single
[privacy]
leaver_retention_days = 200
[push]
passphrase = not-in-the-notice
"""

KEYS = {"organization", "geolocation_retention_days", "command_retention_days",
        "command_expiry_days", "geolocation_approval", "leaver_retention_days"}


def get_notice(d, token=None, headers=None):
    status, h, body = d.request("GET", "/api/v1/notice", token=token, headers=headers)
    check(status == 200, "GET /api/v1/notice: 200, got %d %r" % (status, body[:300]))
    check(h.get("content-type") == "application/json", "JSON: %r" % h)
    return json.loads(body)


def test_configured_values_without_a_token():
    with Daemon(config=CONFIG) as d:
        got = get_notice(d)
        check(got == {"organization": "Département des Bouches-du-Rhône",
                      "geolocation_retention_days": 45, "command_retention_days": 120,
                      "command_expiry_days": 21, "geolocation_approval": "single",
                      "leaver_retention_days": 200},
              "the configured values, and nothing else: %r" % got)
        check(get_notice(d, token="admin") == got, "the same with a token")
        check(get_notice(d, headers={"Authorization": "Bearer ard_" + "A" * 43}) == got,
              "a wrong token does not stop a public page")
        raw = d.request("GET", "/api/v1/notice", token=None)[2].decode()
        for secret in ("not-in-the-notice", d.token, "admin", "push", "ca.pem"):
            check(secret not in raw, "nothing secret nor personal: %r in %r" % (secret, raw))
        d.check_serving()


def test_defaults():
    with Daemon() as d:
        got = get_notice(d)
        check(set(got) == KEYS, "only the notice's keys: %r" % sorted(got))
        check(got["geolocation_retention_days"] == 30 and got["command_retention_days"] == 90
              and got["command_expiry_days"] == 30 and got["geolocation_approval"] == "two-person"
              and got["leaver_retention_days"] == 365
              and got["organization"] == "Département", "the defaults of config.c: %r" % got)


def test_hostile():
    with Daemon(config=CONFIG) as d:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            for token in (None, "admin"):
                status, h, body = d.request(method, "/api/v1/notice", body=b'{"retention_days": 1}',
                                            token=token)
                check(status == 405, "%s /api/v1/notice: 405, got %d %r" % (method, status, body[:200]))
                check(h.get("allow") == "GET, HEAD", "%s: Allow %r" % (method, h.get("allow")))
        status, h, body = d.request("HEAD", "/api/v1/notice", token=None)
        check(status == 200 and body == b"", "HEAD: 200 without a body, got %d" % status)
        # one trailing slash is the same route (router.c, for every route)
        check(d.request("GET", "/api/v1/notice/", token=None)[0] == 200, "the trailing slash")
        for path in ("/api/v1/notice//", "/api/v1/notice/x", "/api/v1/noticex"):
            status, _, _ = d.request("GET", path, token=None)
            check(status in (401, 404), "%s is not the notice: %d" % (path, status))
        status, _, body = d.request("GET", "/api/v1/notice?organization=x&" + "a=b&" * 500, token=None)
        check(status in (200, 414, 431), "a long query string: %d" % status)
        if status == 200:
            check(json.loads(body)["organization"] == "Département des Bouches-du-Rhône",
                  "the query changes nothing: %r" % body)
        check(get_notice(d)["geolocation_retention_days"] == 45, "nothing changed the values")
        d.check_serving("hostile notice requests")


if __name__ == "__main__":
    run([test_configured_values_without_a_token, test_defaults, test_hostile])
