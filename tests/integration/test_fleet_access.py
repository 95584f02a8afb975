"""Accounts, roles and scopes (one authorisation function: an ATI of one
collège gets 404 on another's tablets, a referent 403 on any change), the
audit log and its hash chain, the fleet report."""
import csv
import io
import re

from fleet_common import A, B, COLLEGES, day, refused, setup_fleet, snapshot, unchanged
from harness import Daemon, check, run, write


def make_account(d, name, role, *schools):
    args = ["account", "create", "--name", name, "--role", role]
    for s in schools:
        args += ["--school", s]
    out = d.ctl(*args)
    m = re.search(r"^token: (ard_\S+)$", out.stdout, re.M)
    check(m is not None, "account create prints 'token: <value>': %r" % out.stdout)
    return m.group(1)


def test_accounts():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "import", COLLEGES)
        tok = make_account(d, "ati-a", "ati", A, "0132786h")
        who = d.ctl_json("whoami", token=tok)
        check(who["role"] == "ati" and who["schools"] == [A, "0132786H"], who)
        before = snapshot(d)
        refused(d, ["account", "create", "--name", "ati-a", "--role", "ati", "--school", A], "already exists")
        refused(d, ["account", "create", "--name", "x", "--role", "ati"], "needs at least one collège")
        refused(d, ["account", "create", "--name", "x", "--role", "referent"], "needs at least one collège")
        refused(d, ["account", "create", "--name", "x", "--role", "technician", "--school", A], "give no collège")
        refused(d, ["account", "create", "--name", "x", "--role", "boss"], "role must be technician")
        refused(d, ["account", "create", "--name", "x", "--role", "ati", "--school", "0000022Z"], "no collège")
        refused(d, ["account", "create", "--name", "bad name", "--role", "auditor"], "name: 1 to 64")
        unchanged(d, before, "refused account creations")
        listed = d.ctl("account", "list").stdout
        check("ati-a" in listed and tok not in listed, listed)
        check(tok not in str(d.ctl_json("audit", "list")) and tok not in d.log(), "the token is never stored in clear")
        # rotation: the old token stops working, the new one works
        out = d.ctl("token", "rotate", token=tok)
        new = re.search(r"^token: (ard_\S+)$", out.stdout, re.M).group(1)
        refused(d, ["whoami"], "unknown, rotated or disabled token", token=tok)
        check(d.ctl_json("whoami", token=new)["name"] == "ati-a", "new token works")
        refused(d, ["token", "rotate", "--account", "admin"], "role ati may not administer", token=new)
        # a technician rotates another account's token, disables accounts
        again = d.ctl_json("token", "rotate", "--account", "ati-a")
        refused(d, ["whoami"], "unknown, rotated or disabled token", token=new)
        d.ctl("account", "disable", "ati-a", "--reason", "départ")
        refused(d, ["whoami"], "unknown, rotated or disabled token", token=again["token"])
        check(d.ctl_json("account", "list")[1]["disabled"] is True, "listed as disabled")
        refused(d, ["account", "disable", "admin"], "cannot disable your own account")
        refused(d, ["account", "disable", "nobody"], "no account nobody")
        acts = [(r["action"], r["target"], r["reason"]) for r in d.ctl_json("audit", "list")]
        check(("account.disable", "ati-a", "départ") in acts and ("token.rotate", "ati-a", "") in acts, acts)


def test_ati_scope():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPB00000002", "--person", "E-B1")
        ati = make_account(d, "ati-a", "ati", A)
        before = snapshot(d)
        # another collège's records: answered as if they did not exist, its UAI never named
        for args, what in ((["device", "show", "DMPB00000001"], "tablet with serial or UDID 'DMPB00000001'"),
                           (["loan", "create", "--device", "DMPB00000001", "--person", "E-B1"],
                            "tablet with serial or UDID 'DMPB00000001'"),
                           (["loan", "return", "DMPB00000002"], "tablet with serial or UDID 'DMPB00000002'"),
                           (["incident", "declare", "--device", "DMPB00000001", "--kind", "loss", "--occurred", day(0)],
                            "tablet with serial or UDID 'DMPB00000001'"),
                           (["person", "show", "E-B1"], "person with id 'E-B1'"),
                           (["person", "leave", "E-B1", "--date", day(0)], "person with id 'E-B1'")):
            out = refused(d, args, "no %s in your collèges" % what, token=ati)
            check("HTTP 404" in out.stderr and B not in out.stderr, "404 for %s: %s" % (args, out.stderr))
        # a collège it names itself: its lists are refused
        for args in (["device", "list", "--school", B],
                     ["loan", "list", "--school", B],
                     ["loan", "campaign", "--school", B, "--by", day(10)],
                     ["report", "fleet", "--school", B]):
            out = refused(d, args, "that collège is outside the scope of account ati-a (ati)", token=ati)
            check("HTTP 403" in out.stderr, "403 for %s: %s" % (args, out.stderr))
        for args in (["device", "move", "DMPA00000001", "--school", B],
                     ["device", "retire", "DMPA00000001"],
                     ["device", "import", write(d, "x.csv", "serial,uai\nXXXX0001,%s\n" % A)],
                     ["school", "add", "0000022Z", "--name", "X"],
                     ["account", "create", "--name", "x", "--role", "auditor"],
                     ["audit", "list"]):
            out = refused(d, args, "role ati may not", token=ati)
            check("HTTP 403" in out.stderr, "403 for %s: %s" % (args, out.stderr))
        # a person file naming another collège is refused as a whole
        out = refused(d, ["person", "import", write(d, "p.csv", "id,kind,name,class,uai\nN1,pupil,N,3A,%s\nN2,pupil,M,3A,%s\n" % (A, B))],
                      "1 bad row", token=ati)
        check("outside the scope of account ati-a" in out.stdout and ":3: " in out.stdout, out.stdout)
        unchanged(d, before, "refused ATI actions")
        # within its collège, the ATI works
        check(sorted(x["serial"] for x in d.ctl_json("device", "list", token=ati)) ==
              ["DMPA00000001", "DMPA00000002", "DMPA00000003"], "an ATI lists its collège only")
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", token=ati)
        d.ctl("incident", "declare", "--device", "DMPA00000002", "--kind", "damage", "--occurred", day(0), token=ati)
        d.ctl("loan", "return", "DMPA00000001", token=ati)
        d.ctl("person", "import", write(d, "pa.csv", "id,kind,name,class,uai\nN1,pupil,N,3A,%s\n" % A), token=ati)
        rows = [r for r in d.ctl_json("audit", "list") if r["actor"] == "ati-a"]
        check([r["action"] for r in rows] == ["loan.create", "incident.declare", "loan.return", "person.import"], rows)


def test_referent_read_only():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPB00000002", "--person", "E-B1")
        inc = d.ctl_json("incident", "declare", "--device", "DMPB00000001", "--kind", "failure", "--occurred", day(0))
        ref = make_account(d, "ref-b", "referent", B)
        aud = make_account(d, "audit", "auditor")
        before = snapshot(d)
        writes = (["school", "import", COLLEGES],
                  ["school", "add", "0000022Z", "--name", "X"],
                  ["device", "import", write(d, "x.csv", "serial,uai\nXXXX0001,%s\n" % B)],
                  ["device", "move", "DMPB00000001", "--school", A],
                  ["device", "retire", "DMPB00000001"],
                  ["person", "import", write(d, "p.csv", "id,kind,name,class,uai\nN1,pupil,N,3A,%s\n" % B)],
                  ["person", "leave", "E-B1", "--date", day(0)],
                  ["person", "agreement", "E-B1", "--withdrawn"],
                  ["loan", "create", "--device", "DMPB00000001", "--person", "E-B1"],
                  ["loan", "return", "DMPB00000002"],
                  ["incident", "declare", "--device", "DMPB00000002", "--kind", "loss", "--occurred", day(0)],
                  ["incident", "close", str(inc["id"]), "--outcome", "repaired"],
                  ["account", "create", "--name", "x", "--role", "auditor"],
                  ["account", "disable", "audit"],
                  ["token", "rotate", "--account", "admin"])
        for token, role in ((ref, "referent"), (aud, "auditor")):
            for args in writes:
                out = refused(d, args, "role %s may not" % role, token=token)
                check("HTTP 403" in out.stderr, "403 for %s %s: %s" % (role, args, out.stderr))
        unchanged(d, before, "refused writes by referent and auditor")
        # the referent reads its collège only
        check(sorted(x["serial"] for x in d.ctl_json("device", "list", token=ref)) == ["DMPB00000001", "DMPB00000002"],
              "referent sees its collège")
        check(d.ctl_json("device", "show", "DMPB00000002", token=ref)["holder"]["id"] == "E-B1", "who holds which tablet")
        check(len(d.ctl_json("loan", "list", token=ref)) == 1, "loans of its collège")
        check(len(d.ctl_json("incident", "list", "--open", token=ref)) == 1, "incidents of its collège")
        check([s["uai"] for s in d.ctl_json("school", "list", token=ref)] == [B], "its collège only")
        refused(d, ["device", "show", "DMPA00000001"], "no tablet with serial or UDID 'DMPA00000001' in your collèges",
                token=ref)
        refused(d, ["audit", "list"], "role referent may not read the audit log", token=ref)
        # the auditor reads the audit log and the whole fleet
        check(len(d.ctl_json("audit", "list", token=aud)) > 5, "auditor reads the audit log")
        check("intact" in d.ctl("audit", "verify", token=aud).stdout, "auditor verifies")
        check(len(d.ctl_json("device", "list", token=aud)) == 5, "auditor sees the fleet")


def tampered(edit, expect_row):
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        for who in ("E-A1", "E-A2"):
            d.ctl("loan", "create", "--device", "DMPA0000000%s" % who[-1], "--person", who)
        rows = d.ctl_json("audit", "list")
        # 1 is the keyed chain's anchor, 2 the first account's creation by --init,
        # 3-6 the status subscriptions and the fleet's activation (DDM)
        check([r["id"] for r in rows] == list(range(1, 12)), rows)
        check("audit log intact: 11 rows" in d.ctl("audit", "verify").stdout, "intact before")
        # the triggers refuse edits...
        out = d.sqlite("UPDATE audit SET reason = 'x' WHERE id = 2;")
        check(out.returncode != 0 and "append-only" in out.stderr, "trigger: %r" % out.stderr)
        out = d.sqlite("DELETE FROM audit WHERE id = 11;")
        check(out.returncode != 0 and "append-only" in out.stderr, "trigger: %r" % out.stderr)
        # ... so a tamperer drops them first
        out = d.sqlite("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; " + edit)
        check(out.returncode == 0, out.stderr)
        out = refused(d, ["audit", "verify"], "audit log broken at row %d" % expect_row)
        v = d.ctl("audit", "verify", "--json", expect=1)
        check('"first_bad_id": %d' % expect_row in v.stdout and '"intact": false' in v.stdout, v.stdout)


def test_audit_detects_edited_row():
    tampered("UPDATE audit SET target = 'DMPA00000009' WHERE id = 10;", 10)


def test_audit_detects_deleted_middle_row():
    tampered("DELETE FROM audit WHERE id = 9;", 10)


def test_audit_detects_deleted_last_row():
    tampered("DELETE FROM audit WHERE id = 11;", 11)


def test_audit_rows_and_since():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--reason", "rentrée")
        rows = d.ctl_json("audit", "list")
        ddm = ["ddm.declaration.add", "ddm.assign"] * 2  # the status subscriptions, activated
        check([r["action"] for r in rows] == ["audit.rekey", "init"] + ddm + [
            "school.import", "device.import", "person.import", "loan.create"], rows)
        last = rows[-1]
        check(last["actor"] == "admin" and last["target"] == "DMPA00000001" and last["reason"] == "rentrée"
              and last["ts"].startswith(day(0)) and last["detail"]["person"] == "E-A1", last)
        check("Léa" not in str(last), "no names in the audit log (it cannot be purged): %r" % last)
        check(rows[7]["detail"] == {"added": 5, "updated": 0, "unchanged": 0}, rows[7])
        check(len(d.ctl_json("audit", "list", "--since", day(0))) == 10, "since today")
        check(d.ctl_json("audit", "list", "--since", day(1)) == [], "since tomorrow")
        check("loan.create" in d.ctl("audit", "list").stdout, "human list")


def test_fleet_report():
    devices = [("DMPA0000000%d" % i, A) for i in range(1, 6)] + [("DMPB00000001", B), ("DMPB00000002", B)]
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d, devices)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A2")
        d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "E-A3")
        d.ctl("person", "leave", "E-A3", "--date", day(-1))                 # overdue
        d.ctl("loan", "return", "DMPA00000002")                                 # returning
        d.ctl("incident", "declare", "--device", "DMPA00000004", "--kind", "loss", "--occurred", day(0))
        d.ctl("device", "retire", "DMPA00000005")
        now = "strftime('%s','now')"  # SQL: what the tablets report (no staff verb sets it)
        d.sqlite("UPDATE device SET last_seen = %s - 10*86400 WHERE serial = 'DMPA00000001';"
                 "UPDATE device SET last_seen = %s - 40*86400 WHERE serial = 'DMPA00000003';"
                 "UPDATE device SET last_seen = %s WHERE serial IN ('DMPA00000004','DMPB00000001','DMPB00000002');"
                 % (now, now, now))
        rep = d.ctl_json("report", "fleet")
        check(len(rep["schools"]) == 38, "one row per collège")
        a = next(s for s in rep["schools"] if s["uai"] == A)
        check(a["devices"] == 5 and a["by_state"] == {"stock": 0, "loaned": 2, "returning": 1, "repair": 0,
                                                       "lost": 1, "stolen": 0, "retired": 1}, a)
        check((a["loans_open"], a["loans_returning"], a["overdue"], a["incidents_open"]) == (2, 1, 1, 1), a)
        # not retired: 1 seen 10 d ago, 3 seen 40 d ago, 2 never, 4 now
        check((a["not_seen_7d"], a["not_seen_30d"], a["never_seen"]) == (3, 2, 1), a)
        b = next(s for s in rep["schools"] if s["uai"] == B)
        check(b["devices"] == 2 and b["by_state"]["stock"] == 2 and b["not_seen_7d"] == 0, b)
        check(rep["total"]["devices"] == 7 and rep["total"]["overdue"] == 1, rep["total"])
        one = d.ctl_json("report", "fleet", "--school", A)
        check(len(one["schools"]) == 1 and one["schools"][0] == a, one)
        rows = list(csv.DictReader(io.StringIO(d.ctl("report", "fleet", "--csv", "--csv-sep", ",").stdout.lstrip("\ufeff"))))
        ra = next(r for r in rows if r["uai"] == A)
        check(len(rows) == 38 and ra["loaned"] == "2" and ra["overdue"] == "1" and ra["not_seen_30d"] == "2"
              and ra["name"] == "Clg N. Sarraute", ra)
        text = d.ctl("report", "fleet").stdout
        check("TOTAL" in text and "Clg N. Sarraute" in text, text[:500])
        ref = make_account(d, "ref-a", "referent", A)
        check([s["uai"] for s in d.ctl_json("report", "fleet", token=ref)["schools"]] == [A], "referent: its collège")


if __name__ == "__main__":
    run([test_accounts, test_ati_scope, test_referent_read_only, test_audit_detects_edited_row,
         test_audit_detects_deleted_middle_row, test_audit_detects_deleted_last_row, test_audit_rows_and_since,
         test_fleet_report])
