"""Fleet imports: the 38-collège agreement file, UAI rules, CSV dialects,
all-or-nothing imports with every bad line reported, device filters."""
import csv
import io
import json

from fleet_common import A, B, COLLEGES, api_time, day, refused, setup_fleet, snapshot, unchanged
from harness import Daemon, check, run, write


def test_colleges_import_as_is():
    with Daemon() as d:
        out = d.ctl("school", "import", COLLEGES)
        check("38 rows: 38 to add" in out.stdout and "written" in out.stdout, out.stdout)
        schools = d.ctl_json("school", "list")
        check(len(schools) == 38, "38 collèges, got %d" % len(schools))
        with open(COLLEGES, encoding="utf-8") as f:
            expected = {r["uai"]: r for r in csv.DictReader(f)}
        for s in schools:
            e = expected[s["uai"]]
            check((s["name"], s["commune"], s["address"], s["sector"]) ==
                  (e["name"], e["commune"], e["address"], e["sector"]), "row %r vs %r" % (s, e))
        shown = d.ctl_json("school", "show", "0131611F")
        check(shown["name"] == "Clg René Cassin" and shown["commune"] == "Tarascon", shown)
        # the human table lines up accented names
        text = d.ctl("school", "list").stdout.splitlines()
        col = text[0].index("COMMUNE")
        row = next(l for l in text if "René Cassin" in l)
        check(row[col:].startswith("Tarascon"), "aligned columns:\n%s\n%s" % (text[0], row))
        # importing again adds nothing, changes nothing
        again = d.ctl_json("school", "import", COLLEGES, "--reason", "convention 2017, avenant")
        check(again["added"] == 0 and again["updated"] == 0 and again["unchanged"] == 38
              and again["written"], again)
        row = d.ctl_json("audit", "list")[-1]
        check(row["action"] == "school.import" and row["reason"] == "convention 2017, avenant"
              and row["detail"] == {"added": 0, "updated": 0, "unchanged": 38}, row)


def test_uai_rules():
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        before = snapshot(d)
        refused(d, ["school", "add", "0131266G", "--name", "X"],
                "check letter of 0131266 is F, not G")
        refused(d, ["school", "add", "131266F", "--name", "X"], "7 digits and a check letter")
        refused(d, ["school", "add", "013126AF", "--name", "X"], "7 digits and a check letter")
        refused(d, ["device", "list", "--school", "0131266A"], "check letter")
        refused(d, ["school", "add", "0131266F", "--name", "Again"], "already exists")
        unchanged(d, before, "refused school add")
        # lower case letters are normalised; 0000022 % 23 = 22 -> Z
        d.ctl("school", "add", "0000022z", "--name", "Clg Test", "--commune", "Arles")
        s = d.ctl_json("school", "show", "0000022Z")
        check(s["uai"] == "0000022Z" and s["name"] == "Clg Test", s)
        check(d.ctl_json("school", "show", "0000022z")["uai"] == "0000022Z", "lookup normalises")


def test_bad_rows_all_reported_nothing_written():
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        d.ctl("device", "import", write(d, "one.csv", "serial,model,uai,asset_tag\nKEEP0001,iPad,%s,K1\n" % B))
        before = snapshot(d)
        bad = ("serial,model,uai,asset_tag\n"
               "GOOD0001,iPad 9,%s,T1\n"          # 2 fine
               "GOOD0002,iPad 9,0131266G,T2\n"    # 3 wrong check letter
               "bad serial,iPad 9,%s,T3\n"        # 4 bad serial
               "GOOD0001,iPad 9,%s,T4\n"          # 5 duplicate of line 2
               "GOOD0005,iPad 9,0000022Z,T5\n"    # 6 unknown collège
               "KEEP0001,iPad 9,%s,T6\n"          # 7 at another collège
               "GOOD0007,iPad \"9\",%s,T7\n"      # 8 stray quote
               "GOOD0008,iPad,%s,T8,extra\n"      # 9 too many fields
               "GOOD0009,\"iPad\" 9,%s,T9\n"      # 10 text after a closing quote
               "\n"
               "GOOD0011,iPad 9,%s,T9\n" % (A, A, A, A, A, A, A, A))  # 12 fine
        path = write(d, "bad.csv", bad)
        out = refused(d, ["device", "import", path], "bad rows: nothing was written")
        check("8 bad rows" in out.stderr, out.stderr)
        lines = out.stdout
        for line, why in [(3, "check letter of 0131266 is F"), (4, "bad serial 'bad serial'"),
                          (5, "already on line 2"), (6, "unknown collège 0000022Z"),
                          (7, "at collège %s, not %s" % (B, A)), (8, "quote inside unquoted field"),
                          (9, "fields, but the header names 4"),
                          (10, "text after the closing quote of field 2")]:
            check("%s:%d: " % (path, line) in lines and why in lines,
                  "line %d should be reported (%s):\n%s" % (line, why, lines))
        check(":2: " not in lines and ":12: " not in lines, "good lines are not reported:\n" + lines)
        unchanged(d, before, "refused import")
        # --dry-run of a good file: the report only
        good = write(d, "good.csv", "serial,model,uai,asset_tag\nGOOD0001,iPad 9,%s,T1\n" % A)
        rep = d.ctl_json("device", "import", good, "--dry-run")
        check(rep["added"] == 1 and rep["dry_run"] and not rep["written"], rep)
        unchanged(d, before, "dry run")
        # a missing column is reported once, on the header
        out = refused(d, ["device", "import", write(d, "nohead.csv", "model,uai\nx,%s\n" % A)],
                      "1 bad row")
        check(":1: the header has no column 'serial'" in out.stdout, out.stdout)
        out = refused(d, ["device", "import", write(d, "empty.csv", "")], "1 bad row")
        check("empty" in out.stdout, out.stdout)
        out = refused(d, ["device", "import", write(d, "u16.csv", "serial\r\n".encode("utf-16"))], "1 bad row")
        check("UTF-16" in out.stdout, out.stdout)
        latin = write(d, "latin1.csv", ("serial,model,uai\nLAT10001,Modèle,%s\n" % A).encode("latin-1"))
        out = refused(d, ["device", "import", latin], "1 bad row")
        check("not UTF-8" in out.stdout and ":2: " in out.stdout, out.stdout)
        unchanged(d, before, "refused imports")


def test_csv_dialects():
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        # BOM, French headers, ';' separators, CRLF, quoted fields holding ';' and '"'
        text = ("\ufeffNuméro de série;Modèle;UAI;Asset tag\r\n"
                "SEMI0001;\"iPad; 9th gen\";%s;\"T \"\"1\"\"\"\r\n"
                ";;;\r\n"
                "SEMI0003;iPad 9;%s;T3" % (A, A.lower()))
        rep = d.ctl_json("device", "import", write(d, "semi.csv", text))
        check(rep["added"] == 2 and rep["separator"] == ";" and rep["bad_rows"] == 0, rep)
        devs = {x["serial"]: x for x in d.ctl_json("device", "list", "--school", A)}
        check(devs["SEMI0001"]["model_declared"] == "iPad; 9th gen" and devs["SEMI0001"]["asset_tag"] == 'T "1"',
              devs["SEMI0001"])
        check(devs["SEMI0003"]["school"] == A, "lower-case UAI in a CSV is normalised")
        table = d.ctl("device", "list", "--school", A).stdout
        check('iPad; 9th gen' in table and 'T "1"' in table, "the table shows decoded text:\n" + table)
        # a quoted line break is part of its field: the lines after it keep
        # their numbers (a model must be one line, so that row is refused)
        text = ("serial,model,uai\r\n"
                "BRK00001,\"iPad\r\n10\",%s\r\n"
                "BRK00002,iPad,0131266G\r\n" % A)
        out = refused(d, ["device", "import", write(d, "brk.csv", text)], "2 bad rows")
        check(":2: model and asset tag" in out.stdout and "one line" in out.stdout, out.stdout)
        check(":4: bad UAI '0131266G'" in out.stdout, "line numbers count the quoted break:\n" + out.stdout)
        # an unterminated quote is reported with the line it opened on
        out = refused(d, ["device", "import", write(d, "open.csv", "serial,model,uai\nOPEN0001,\"iPad,%s\n" % A)],
                      "1 bad row")
        check("opened on line 2 is never closed" in out.stdout, out.stdout)


def test_device_filters_and_moves():
    with Daemon() as d:
        setup_fleet(d)
        now = "strftime('%s','now')"  # SQL: what the tablets report (no staff verb sets it)
        d.sqlite("UPDATE device SET last_seen = %s - 40*86400, os_version = '16.7.2' WHERE serial = 'DMPA00000001';"
                 "UPDATE device SET last_seen = %s - 10*86400, os_version = '17.4.1' WHERE serial = 'DMPA00000002';"
                 "UPDATE device SET last_seen = %s - 3600, os_version = '17.10' WHERE serial = 'DMPA00000003';" % (now, now, now))
        serials = lambda *a: sorted(x["serial"] for x in d.ctl_json("device", "list", *a))
        check(serials("--school", A) == ["DMPA00000001", "DMPA00000002", "DMPA00000003"], serials("--school", A))
        check(serials("--school", A, "--not-seen-days", "30") == ["DMPA00000001"], "not seen 30 days")
        check(serials("--school", A, "--not-seen-days", "7") == ["DMPA00000001", "DMPA00000002"], "not seen 7 days")
        check(serials("--not-seen-days", "7") == ["DMPA00000001", "DMPA00000002", "DMPB00000001", "DMPB00000002"],
              "never seen counts as not seen: %r" % serials("--not-seen-days", "7"))
        check(serials("--os-below", "17.5") == ["DMPA00000001", "DMPA00000002"], "17.10 is not below 17.5")
        check(serials("--os-below", "17") == ["DMPA00000001"], "os below 17")
        check(serials("--state", "loaned") == [], "no loans yet")
        row = d.ctl_json("device", "list", "--school", A)[0]
        for k in ("serial", "udid", "school", "state", "model", "os_version", "last_seen"):
            check(k in row, "device list --json has %s: %r" % (k, row))
        api_time(row["last_seen"])
        refused(d, ["device", "list", "--state", "gone"], "unknown state 'gone'")
        refused(d, ["device", "list", "--os-below", "x"], "os_below must be a version")
        # move and retire
        d.ctl("device", "move", "DMPA00000003", "--school", B, "--reason", "rééquilibrage")
        check(d.ctl_json("device", "show", "DMPA00000003")["school"] == B, "moved")
        refused(d, ["device", "move", "DMPA00000003", "--school", B], "already at collège")
        refused(d, ["device", "move", "DMPA00000003", "--school", "0000022Z"], "no collège 0000022Z")
        refused(d, ["device", "show", "NOPE0000"], "no tablet with serial or UDID 'NOPE0000'")
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        before = snapshot(d)
        refused(d, ["device", "move", "DMPA00000001", "--school", B], "is on loan: return it first")
        refused(d, ["device", "retire", "DMPA00000001"], "is on loan")
        unchanged(d, before, "refused move/retire")
        d.ctl("device", "retire", "DMPA00000002", "--reason", "écran HS")
        check(d.ctl_json("device", "show", "DMPA00000002")["state"] == "retired", "retired")
        refused(d, ["device", "retire", "DMPA00000002"], "is retired")
        refused(d, ["loan", "create", "--device", "DMPA00000002", "--person", "E-A2"], "retired, not in stock")
        audit = d.ctl_json("audit", "list")
        moves = [r for r in audit if r["action"] == "device.move"]
        check(len(moves) == 1 and moves[0]["target"] == "DMPA00000003" and moves[0]["reason"] == "rééquilibrage"
              and moves[0]["detail"] == {"from": A, "to": B}, moves)


def test_lists_span_pages():
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        n = 5100  # pages hold 5000
        d.ctl("device", "import", write(d, "many.csv", "serial,uai\n" + "".join(
            "PAGE%05d,%s\n" % (i, A if i % 2 else B) for i in range(n))))
        d.ctl("person", "import", write(d, "many-people.csv", "id,kind,name,class,uai\n" + "".join(
            "P%05d,pupil,Élève %d,6A,%s\n" % (i, i, A) for i in range(n))))
        devs = d.ctl_json("device", "list")
        check(len(devs) == n and len({x["serial"] for x in devs}) == n, "%d devices over 2 pages" % len(devs))
        check(len(d.ctl_json("device", "list", "--school", A)) == n // 2, "filtered")
        check(len(d.ctl("device", "list").stdout.splitlines()) == n + 1, "table: header + one line each")
        people = d.ctl_json("person", "list")
        check(len(people) == n and len({p["id"] for p in people}) == n, "%d people over 2 pages" % len(people))
        page = d.api("GET", "/api/v1/devices?limit=2")
        check(len(page["devices"]) == 2 and isinstance(page["next"], int), page)
        rest = d.api("GET", "/api/v1/devices?limit=10000&after=%d" % page["next"])
        check(len(rest["devices"]) == n - 2 and rest["next"] is None, "second page: %d" % len(rest["devices"]))
        status, _, body = d.request("GET", "/api/v1/devices?limit=abc")
        check(status == 400 and b"limit must be a whole number" in body, body)


if __name__ == "__main__":
    run([test_colleges_import_as_is, test_uai_rules, test_bad_rows_all_reported_nothing_written,
         test_csv_dialects, test_device_filters_and_moves, test_lists_span_pages])
