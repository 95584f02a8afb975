"""Import previews (POST /api/v1/{devices,people,schools}/import?dry_run=1,
`ardoisectl NOUN import --dry-run`): the same checks as the import, what
would be created, updated or left as it is, every bad line, and nothing
written: no record, no audit row.  A preview is refused to whoever may not
import, and a scoped account's preview reports the rows outside its
collèges."""
import json

from fleet_common import A, B, COLLEGES, refused, setup_fleet, snapshot, unchanged
from harness import Daemon, check, run, token_of, write


def preview(d, noun, text, token="admin", expect=200):
    status, _, body = d.request("POST", "/api/v1/%s/import?dry_run=1" % noun, body=text.encode(),
                                headers={"Content-Type": "text/csv"}, token=token)
    check(status == expect, "%s preview: %d %s" % (noun, status, body[:300]))
    return json.loads(body)


def test_preview_says_what_would_change():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        before = snapshot(d)
        rows = ("serial,model,uai,asset_tag\n"
                "DMPA00000001,iPad 9,%s,T-001\n"     # 2 as it is
                "DMPA00000002,iPad 10,%s,\n"         # 3 a new model
                "NEW00001,iPad 10,%s,N1\n"           # 4 new
                "bad serial,iPad,%s,\n"              # 5 bad
                "DMPB00000001,iPad 9,%s,\n"          # 6 at another collège
                "NEW00001,iPad 10,%s,N1\n"           # 7 twice
                "NEW00002,iPad,0131266G,\n" % (A, A, A, A, A, A))  # 8 bad UAI
        rep = preview(d, "devices", rows)
        check((rep["would_create"], rep["would_update"], rep["unchanged"]) == (1, 1, 1)
              and rep["dry_run"] and not rep["written"] and rep["bad_rows"] == 4 and rep["rows"] == 7,
              "what would change: %r" % rep)
        lines = {e["line"]: e["message"] for e in rep["errors"]}
        check(sorted(lines) == [5, 6, 7, 8] and "bad serial" in lines[5] and B in lines[6]
              and "already on line 4" in lines[7] and "check letter" in lines[8], "every bad line: %r" % lines)
        unchanged(d, before, "a device preview")
        # the CLI: the bad lines, a failure; a good file: the summary
        path = write(d, "devices.csv", rows)
        out = refused(d, ["device", "import", path, "--dry-run"], "4 bad rows: nothing was written")
        check(":5: bad serial" in out.stdout and ":8: bad UAI" in out.stdout, out.stdout)
        good = write(d, "good.csv", "\n".join(rows.splitlines()[:4]) + "\n")
        out = d.ctl("device", "import", good, "--dry-run")
        check("3 rows: 1 to add, 1 to update, 1 unchanged (dry run: nothing written)" in out.stdout, out.stdout)
        rep = d.ctl_json("device", "import", good, "--dry-run")
        check(rep["would_create"] == 1 and rep["errors"] == [], rep)
        unchanged(d, before, "CLI previews")
        # people and collèges
        people = ("external_id;kind;name;class;uai\n"
                  "E-A1;pupil;Léa Dupont;3A;%s\n"      # as it is
                  "E-A2;pupil;Hugo Martin;4B;%s\n"     # changes class
                  "E-A9;pupil;Nina Roux;6C;%s\n"       # new
                  "E-A8;boss;X;;%s\n" % (A, A, A, A))  # bad kind
        rep = preview(d, "people", people)
        check((rep["would_create"], rep["would_update"], rep["unchanged"], rep["bad_rows"]) == (1, 1, 1, 1)
              and rep["errors"][0]["line"] == 5, "people: %r" % rep)
        rep = preview(d, "schools", open(COLLEGES, encoding="utf-8").read())
        check((rep["would_create"], rep["would_update"], rep["unchanged"]) == (0, 0, 38), "schools: %r" % rep)
        rep = preview(d, "schools", "uai,name\n0000022Z,Clg Nouveau\n0131266F,Clg N. Sarraute (nouveau nom)\n"
                      "0000022A,Mauvais\n")
        check((rep["would_create"], rep["would_update"], rep["bad_rows"]) == (1, 1, 1), "schools: %r" % rep)
        unchanged(d, before, "people and school previews")
        # the real import then does what the preview said, and its audit row says so
        d.ctl("person", "import", write(d, "p.csv", "\n".join(people.splitlines()[:4]) + "\n"))
        row = d.ctl_json("audit", "list")[-1]
        check(row["action"] == "person.import" and row["detail"] == {"added": 1, "updated": 1, "unchanged": 1},
              row)
        check(not [r for r in d.ctl_json("audit", "list") if "preview" in r["action"]],
              "previews write no audit row")


def test_preview_refusals():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        ati = token_of(d.ctl("account", "create", "--name", "ati-a", "--role", "ati", "--school", A))
        ref = token_of(d.ctl("account", "create", "--name", "ref-a", "--role", "referent", "--school", A))
        before = snapshot(d)
        preview(d, "devices", "serial,uai\nX0000001,%s\n" % A, token=ati, expect=403)
        preview(d, "schools", "uai,name\n0000022Z,X\n", token=ati, expect=403)
        preview(d, "people", "id,kind,name,uai\nN1,pupil,N,%s\n" % A, token=ref, expect=403)
        rep = preview(d, "people", "id,kind,name,class,uai\nN1,pupil,N,3A,%s\nN2,pupil,M,3A,%s\n"
                      "E-B1,pupil,Jules Petit,4C,%s\n" % (A, B, A), token=ati)
        lines = {e["line"]: e["message"] for e in rep["errors"]}
        check(rep["would_create"] == 1 and sorted(lines) == [3, 4] and "outside the scope" in lines[3]
              and "a person of a collège outside your scope" in lines[4], "ATI preview: %r" % rep)
        # hostile files: answered, nothing written
        status, _, _ = d.request("POST", "/api/v1/devices/import?dry_run=1", body=b"serial,uai\n",
                                 headers={"Content-Type": "application/json"})
        check(status == 415, "not CSV: %d" % status)
        rep = preview(d, "devices", "")
        check(rep["bad_rows"] == 1 and "empty" in rep["errors"][0]["message"], rep)
        rep = preview(d, "devices", "serial,uai\n" + "".join("Z%07d,0000000A\n" % i for i in range(3000)))
        check(rep["bad_rows"] == 3000 and len(rep["errors"]) == 1000 and rep["would_create"] == 0,
              "every bad line counted, the first 1,000 listed: %r" % {k: rep[k] for k in rep if k != "errors"})
        status, _, body = d.request("POST", "/api/v1/devices/import?dry_run=1&reason=%01", body=b"serial\n",
                                    headers={"Content-Type": "text/csv"})
        check(status == 400 and b"reason" in body, "a bad reason: %d %s" % (status, body))
        unchanged(d, before, "refused previews")
        d.check_serving("hostile previews")


if __name__ == "__main__":
    run([test_preview_says_what_would_change, test_preview_refusals])
