"""The audit log as the technicians' and the auditor's page reads it:
GET /api/v1/audit narrowed by actor, action (or its family), target,
collège and dates or times, oldest or newest first, in keyset pages; and
every hostile query refused with a 400 that says why, the daemon serving on.
"""
import json
import urllib.parse

from fleet_common import A, B, day, setup_fleet
from harness import Daemon, check, run, token_of

UNKNOWN_UAI = "0000022Z"  # a well-formed UAI of no collège


def get(d, query, token="admin", expect=200):
    status, _, body = d.request("GET", "/api/v1/audit?" + urllib.parse.urlencode(query), token=token)
    check(status == expect, "GET /api/v1/audit?%s: expected %d, got %d: %s"
          % (urllib.parse.urlencode(query), expect, status, body[:300]))
    return json.loads(body) if body else None


def rows(d, query, token="admin"):
    """Every row the query selects, page after page (limit 2)."""
    out, after = [], None
    for _ in range(200):
        q = dict(query, limit=2)
        if after:
            q["after"] = after
        page = get(d, q, token=token)
        check(len(page["rows"]) <= 2, "a page holds at most limit rows: %r" % page)
        out += page["rows"]
        after = page["next"]
        if after is None:
            return out
    raise AssertionError("more than 200 pages")


def fleet(d):
    """Changes by two people on both collèges; the ATI's token."""
    setup_fleet(d)
    ati = token_of(d.ctl("account", "create", "--name", "ati-a", "--role", "ati", "--school", A))
    d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--reason", "rentrée")
    d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A2", token=ati)
    d.ctl("loan", "create", "--device", "DMPB00000001", "--person", "E-B1")
    d.ctl("loan", "return", "DMPA00000002", token=ati)
    d.ctl("person", "agreement", "E-A2", "--date", day(0), token=ati)
    d.ctl("incident", "declare", "--device", "DMPB00000002", "--kind", "loss", "--occurred", day(0))
    return ati


def test_filters():
    with Daemon(init_args=["--no-baseline"]) as d:
        ati = fleet(d)
        every = rows(d, {})
        ids = [r["id"] for r in every]
        check(ids == sorted(ids) and len(ids) == len(set(ids)) and len(ids) >= 12,
              "all rows, oldest first, each once across pages: %r" % ids)

        mine = rows(d, {"actor": "ati-a"})
        check([r["action"] for r in mine] == ["loan.create", "loan.return", "person.agreement"],
              "actor: the ATI's rows only: %r" % mine)
        check(rows(d, {"actor": "ati"}) == [], "actor matches the whole name, not a prefix")

        loans = rows(d, {"action": "loan"})
        check([r["action"] for r in loans] == ["loan.create"] * 3 + ["loan.return"],
              "action=loan: the family (loan.create, loan.return): %r" % loans)
        check([r["action"] for r in rows(d, {"action": "loan.return"})] == ["loan.return"], "one action")
        check(rows(d, {"action": "loa"}) == [] and rows(d, {"action": "loan%"}) == []
              and rows(d, {"action": "loan.*"}) == [],
              "an action is matched whole or by family, no wildcard")

        tablet = rows(d, {"target": "DMPA00000002"})
        check([r["action"] for r in tablet] == ["loan.create", "loan.return"]
              and all(r["target"] == "DMPA00000002" for r in tablet), "target: one tablet: %r" % tablet)

        a = rows(d, {"school": A.lower()})
        targets = {r["target"] for r in a}
        check(targets == {"DMPA00000001", "DMPA00000002", "E-A2"},
              "school=A: its tablets' and people's rows (the UAI in lower case too): %r" % a)
        b = rows(d, {"school": B})
        check({r["target"] for r in b} == {"DMPB00000001", "DMPB00000002"}, "school=B: %r" % b)
        check(rows(d, {"school": UNKNOWN_UAI}) == [], "a collège with no row")

        both = rows(d, {"school": A, "actor": "admin", "action": "loan"})
        check([(r["actor"], r["target"]) for r in both] == [("admin", "DMPA00000001")],
              "filters combine (and): %r" % both)

        check(len(rows(d, {"from": day(0), "to": day(0)})) == len(every), "today, from and to inclusive")
        fr = "/".join(reversed(day(0).split("-")))
        check(len(rows(d, {"from": fr, "to": fr})) == len(every), "today typed JJ/MM/AAAA: %s" % fr)
        check(rows(d, {"from": day(1)}) == [], "from tomorrow: nothing")
        check(rows(d, {"to": day(-1)}) == [], "to yesterday: nothing")
        check(len(rows(d, {"since": day(0)})) == len(every), "since (the CLI's) still works")
        last = every[-1]["ts"]
        at = rows(d, {"from": last})
        check(at and all(r["ts"] >= last for r in at), "from a time: rows at or after it: %r" % at)
        # from the start of today in Paris (a day), to a time; day(0) + "T00:00:00Z"
        # was midnight UTC of Paris's date: after `to` from 23:00 to 24:00 UTC
        check(rows(d, {"from": day(0), "to": every[0]["ts"]})[0]["id"] == every[0]["id"],
              "to a time: rows at or before it")

        down = rows(d, {"order": "desc"})
        check([r["id"] for r in down] == ids[::-1], "order=desc: newest first, paged: %r" % down)
        down_a = rows(d, {"order": "desc", "school": A})
        check([r["id"] for r in down_a] == [r["id"] for r in a][::-1], "desc with a filter")
        page = get(d, {"order": "desc", "limit": 3})
        check([r["id"] for r in page["rows"]] == ids[::-1][:3] and page["next"] == ids[::-1][2],
              "next is the last id shown: %r" % page)

        cli = d.ctl_json("audit", "list", "--action", "loan", "--school", A, "--actor", "ati-a",
                         "--from", day(0), "--to", day(0))
        check([(r["action"], r["target"]) for r in cli] == [("loan.create", "DMPA00000002"),
                                                            ("loan.return", "DMPA00000002")],
              "ardoisectl audit list takes the same filters: %r" % cli)
        reg = get(d, {"actor": "admin"}, token=token_of(d.ctl("account", "create", "--name", "cnil",
                                                              "--role", "auditor")))
        check(reg["rows"], "the auditor reads the log with filters")
        get(d, {"actor": "admin"}, token=ati, expect=403)
        d.check_serving("the filters")


HOSTILE = [
    ({"from": "2026-13-45"}, "from"),
    ({"from": "hier"}, "from"),
    ({"to": "31/02/2026"}, "to"),
    ({"to": "2026-12-31T10:00+25:00"}, "to"),
    ({"to": "99999-01-01"}, "to"),
    ({"from": "2026-01-01T25:00:00Z"}, "from"),
    ({"since": "2026-02-30"}, "since"),
    ({"from": "2026-06-02", "to": "2026-06-01"}, "from is after to"),
    ({"after": "9223372036854775808"}, "after"),
    ({"after": "-1"}, "after"),
    ({"after": "1e9"}, "after"),
    ({"limit": "10001"}, "limit"),
    ({"limit": "99999999999999999999999"}, "limit"),
    ({"actor": "a" * 129}, "actor"),
    ({"actor": "admin\nforged"}, "actor"),
    ({"action": "x" * 5000}, "action"),
    ({"target": "T" * 257}, "target"),
    ({"target": "DMPA\x0000000001"}, "target"),
    ({"school": "0131266A"}, "check letter"),
    ({"school": "nowhere"}, "UAI"),
    ({"school": "0" * 40}, "school"),
    ({"order": "sideways"}, "order"),
]


def test_hostile_queries():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        for query, why in HOSTILE:
            body = get(d, query, expect=400)
            msg = body["error"]["message"]
            check(why in msg, "%r refused saying %r: %r" % (query, why, msg))
        # injection and wildcards are plain text that matches nothing
        for text in ("' OR 1=1 --", "%", "_", "admin' --", "*"):
            for key in ("actor", "action", "target"):
                check(get(d, {key: text})["rows"] == [], "%s=%r matches nothing" % (key, text))
        # the longest accepted values are accepted, not cut
        check(get(d, {"actor": "a" * 128})["rows"] == [], "a 128-byte actor is a name like another")
        check(get(d, {"target": "T" * 256})["rows"] == [], "a 256-byte target")
        status, _, _ = d.request("GET", "/api/v1/audit?actor=" + "a" * 20000)
        check(400 <= status < 500, "a query longer than the head's cap is refused: %d" % status)
        referent = token_of(d.ctl("account", "create", "--name", "ref-a", "--role", "referent",
                                  "--school", A))
        get(d, {"school": A}, token=referent, expect=403)
        get(d, {}, token=None, expect=401)
        d.check_serving("hostile audit queries")


if __name__ == "__main__":
    run([test_filters, test_hostile_queries])
