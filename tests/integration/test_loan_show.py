"""One loan by its number (GET /api/v1/loans/:id, `ardoisectl loan show`),
what the printable agreement and receipt are filled from: the same JSON as
the list, for whoever may read the loans of its collège; an unknown number
and one of another collège answer alike; hostile ids are 404s.
"""
from fleet_common import A, B, enrolled, refused, setup_fleet
from harness import Daemon, check, run, token_of


def test_show_and_scope():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        enrolled(d, "DMPA00000001")
        mine = d.ctl_json("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use")
        other = d.ctl_json("loan", "create", "--device", "DMPB00000001", "--person", "E-B1")
        shown = d.ctl_json("loan", "show", str(mine["id"]))
        listed = [x for x in d.ctl_json("loan", "list") if x["id"] == mine["id"]]
        check(listed and shown == listed[0], "the same JSON as the list: %r / %r" % (shown, listed))
        check(shown["home_use"] is True and shown["name"] == "Léa Dupont" and shown["class"] == "3A"
              and shown["school"] == A and shown["device"] == "DMPA00000001" and shown["asset_tag"] == "T-001",
              "what the agreement prints: %r" % shown)
        check(d.ctl_json("loan", "show", "#%d" % mine["id"])["id"] == mine["id"], "#N works too")

        d.ctl("loan", "return", "DMPA00000001", "--condition", "damaged")
        back = d.api("GET", "/api/v1/loans/%d" % mine["id"])
        check(back["state"] == "returning" and back["condition"] == "damaged" and back["returned"]
              and back["returned_by"] == "admin" and back["erase_command"],
              "what the receipt prints: %r" % back)

        ati = token_of(d.ctl("account", "create", "--name", "ati-a", "--role", "ati", "--school", A))
        ref = token_of(d.ctl("account", "create", "--name", "ref-a", "--role", "referent", "--school", A))
        aud = token_of(d.ctl("account", "create", "--name", "cnil", "--role", "auditor"))
        for tok in (ati, ref, aud):
            check(d.api("GET", "/api/v1/loans/%d" % mine["id"], token=tok)["id"] == mine["id"],
                  "whoever reads the collège's loans reads one")
        out = refused(d, ["loan", "show", str(other["id"])], "no loan %d in your collèges" % other["id"],
                      token=ati)
        unknown = refused(d, ["loan", "show", "999999"], "no loan 999999 in your collèges", token=ati)
        check("404" in out.stderr and "404" in unknown.stderr,
              "another collège's loan answers like an unknown one: %r / %r" % (out.stderr, unknown.stderr))
        check(d.api("GET", "/api/v1/loans/%d" % other["id"], token=aud)["school"] == B, "fleet-wide roles")


def test_hostile_ids():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        for bad in ("0", "-1", "+1", "%201", "1x", "0x1", "1e3", "9223372036854775808",
                    "99999999999999999999999999", "%00", "1%00", "abc", "1.0", "x" * 3000):
            status, _, body = d.request("GET", "/api/v1/loans/" + bad)
            check(status == 404 or (status in (400, 414, 431) and len(bad) > 1000),
                  "/api/v1/loans/%s: 404, got %d %s" % (bad[:40], status, body[:200]))
        status, _, _ = d.request("GET", "/api/v1/loans/1", token=None)
        check(status == 401, "no token: 401, got %d" % status)
        status, _, _ = d.request("DELETE", "/api/v1/loans/1")
        check(status == 405, "a loan is not deleted: 405, got %d" % status)
        check(d.api("GET", "/api/v1/loans/campaign?school=%s&by=2030-01-01" % A)["school"] == A,
              "the campaign route is still the campaign")
        d.check_serving("hostile loan ids")


if __name__ == "__main__":
    run([test_show_and_scope, test_hostile_ids])
