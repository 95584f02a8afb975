"""Personal data: leavers pseudonymised after [privacy]
leaver_retention_days (loans and incidents kept, names and notes gone,
audited, idempotent), `person export` (the right of access, audited), the
académie's indicators with small counts suppressed (4 vs 5, a complementary
cell, totals that give nothing back), and no INE, name or class in the
daemon's log."""
import csv
import io
import json
import re

from fleet_common import A, B, COLLEGES, day, refused, setup_fleet
from harness import Daemon, check, token_of, write

# a pupil whose id, name and class must never reach the log
INE = "0712345678X"
NAME = "Zéphyrine Quatremare"
CLASS = "4QZW"


def accounts(d):
    """One token per role: ATI of A, ATI of B, référent of A, auditor."""
    tok = {}
    for name, role, school in (("ati.a", "ati", A), ("ati.b", "ati", B),
                               ("ref.a", "referent", A), ("audit", "auditor", None)):
        args = ["account", "create", name, "--role", role] + (["--school", school] if school else [])
        tok[name] = token_of(d.ctl(*args))
    return tok


def audit_rows(d, action):
    return d.ctl_json("audit", "list", "--action", action)


def incident_of(d, serial):
    return [i for i in d.ctl_json("incident", "list") if i["device"] == serial][-1]


def test_pseudonymise_export_and_log():
    with Daemon() as d:
        setup_fleet(d)
        tok = accounts(d)
        d.ctl("person", "import", write(d, "ine.csv",
                                        "external_id;kind;name;class;uai;agreement\n"
                                        "%s;pupil;%s;%s;%s;2024-09-02\n"
                                        "E-A4;pupil;Rémi Duval;5C;%s;\n"
                                        "E-A5;pupil;Nora Lenoir;6B;%s;\n" % (INE, NAME, CLASS, A, A, A)))

        # --- the recognisable pupil goes through every operation ------
        d.ctl("person", "show", INE)
        d.ctl("person", "list", "--class", CLASS)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", INE)
        d.ctl("incident", "declare", "--device", "DMPA00000001", "--kind", "damage",
              "--occurred", day(0), "--note", "écran fissuré par %s" % NAME)
        d.ctl("device", "list", "--find", NAME.split()[1])
        # a bad import row naming them, an unknown id, a refused loan
        d.ctl("person", "import", write(d, "bad.csv", "external_id;kind;name;class;uai\n"
                                        "%s;pupil;%s;%s;%s\n%s;pupil;%s;%s;%s\n"
                                        % (INE, NAME, CLASS, A, INE, NAME, CLASS, A)), expect=1)
        refused(d, ["person", "show", INE + "Q"], "no person")
        d.api("GET", "/api/v1/nothing/%s?name=%s" % (INE, CLASS), expect=404)  # no route
        d.api("DELETE", "/api/v1/people/%s" % INE, expect=405)
        refused(d, ["loan", "create", "--device", "DMPA00000003", "--person", INE + "Q"], INE)
        d.ctl("person", "leave", INE, "--date", day(-400))

        # --- the right of access ------------------------------------
        exp = d.ctl_json("person", "export", INE)
        check(exp["person"]["id"] == INE and exp["person"]["name"] == NAME
              and exp["person"]["class"] == CLASS and exp["person"]["pseudonymised"] is None,
              "the export holds the person's row: %r" % exp["person"])
        check(exp["records_of"] is None, "a technician's export covers every collège")
        check([l["device"] for l in exp["loans"]] == ["DMPA00000001"]
              and exp["loans"][0]["home_use"] is False,
              "the export lists the loans with their tablet and home use: %r" % exp["loans"])
        check(len(exp["incidents"]) == 1 and exp["incidents"][0]["kind"] == "damage",
              "the export lists the incidents of their loans: %r" % exp["incidents"])
        actions = [a["action"] for a in exp["audit"]]
        check("loan.create" in actions and "person.leave" in actions and "person.export" in actions,
              "the export lists the audit rows about them: %r" % actions)
        check(isinstance(exp["agreements"], list), "the agreements per school year are listed")
        # the text form is JSON too (the document handed to the family)
        check(json.loads(d.ctl("person", "export", INE).stdout)["person"]["id"] == INE,
              "person export prints JSON without --json")
        check(len([r for r in audit_rows(d, "person.export") if r["target"] == INE]) == 2,
              "each export is audited (person.export)")
        # who may: the ATI of the collège, not another collège's, not a
        # référent or the auditor; an unknown id is 404
        ati = d.ctl_json("person", "export", INE, token=tok["ati.a"])
        check(ati["records_of"] == [A] and ati["person"]["id"] == INE, "the ATI of A exports: %r"
              % ati["records_of"])
        refused(d, ["person", "export", INE], "no person", token=tok["ati.b"])
        refused(d, ["person", "export", INE], "", token=tok["ref.a"])
        refused(d, ["person", "export", INE], "", token=tok["audit"])
        refused(d, ["person", "export", "NOBODY-1"], "no person")
        d.api("GET", "/api/v1/people/%s/export" % ("X" * 300), expect=404)

        # --- pseudonymisation ---------------------------------------
        # E-A2: left 400 days ago, no loan: due.  E-A3: left exactly 365
        # days ago: not yet ("more than").  E-A4: 366 days: due.  E-A5:
        # left 400 days ago, their loan ended (tablet written off after a
        # damage whose notes name them): due, notes emptied.  INE: left 400
        # days ago but the tablet is not back: held back.
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A5")
        d.ctl("incident", "declare", "--device", "DMPA00000002", "--kind", "damage",
              "--occurred", day(0), "--note", "Nora Lenoir l'a fait tomber")
        inc = incident_of(d, "DMPA00000002")
        d.ctl("incident", "close", str(inc["id"]), "--outcome", "written_off",
              "--note", "Nora Lenoir ne paiera pas")
        for pid, delta in (("E-A2", -400), ("E-A3", -365), ("E-A4", -366), ("E-A5", -400)):
            d.ctl("person", "leave", pid, "--date", day(delta))
        loans_before = len(d.ctl_json("loan", "list", "--state", "all"))

        refused(d, ["person", "pseudonymise"], "", token=tok["ati.a"])
        refused(d, ["person", "pseudonymise"], "", token=tok["audit"])
        out = d.ctl_json("person", "pseudonymise")
        check(out["pseudonymised"] == 3 and out["held_back"] == 1 and out["retention_days"] == 365,
              "three leavers pseudonymised, one held back by their loan: %r" % out)
        check(out["left_before"] == day(-365), "the cut-off is 365 days ago: %r" % out)

        people = {p["id"]: p for p in d.ctl_json("person", "list")}
        for gone in ("E-A2", "E-A4", "E-A5"):
            refused(d, ["person", "show", gone], "no person")
            refused(d, ["person", "export", gone], "no person")
        check("E-A3" in people and INE in people, "not yet due, and held back, stay as they are")
        anon = [p for p in people.values() if p["id"].startswith("anon-")]
        check(len(anon) == 3, "three people under a random id: %r" % sorted(people))
        for p in anon:
            check(re.fullmatch(r"anon-[0-9a-f]{16}", p["id"]), "anon- and 16 hex: %r" % p["id"])
            check(re.fullmatch(r"Élève parti n° \d+", p["name"]) and p["class"] == "",
                  "a neutral label and no class: %r" % p)
        check(len({p["id"] for p in anon}) == 3, "the random ids differ")
        text = json.dumps(d.ctl_json("person", "list"), ensure_ascii=False)
        for trace in ("Hugo Martin", "Rémi Duval", "Nora Lenoir", "Nora", "5C", "6B"):
            check(trace not in text, "no trace of %r in the people" % trace)
        # loans and incidents are kept, the notes naming them are gone
        check(len(d.ctl_json("loan", "list", "--state", "all")) == loans_before,
              "every loan is kept")
        kept = incident_of(d, "DMPA00000002")
        check(kept["id"] == inc["id"] and kept["kind"] == "damage" and kept["note"] == ""
              and kept["close_note"] == "", "the incident is kept, its notes emptied: %r" % kept)
        check(incident_of(d, "DMPA00000001")["note"] != "",
              "a held-back person's incident notes stay")
        # audited: one row, the count, no name nor id
        rows = audit_rows(d, "person.pseudonymise")
        check(len(rows) == 1, "one audit row for the run: %r" % rows)
        row = json.dumps(rows[0], ensure_ascii=False)
        check(rows[0]["actor"] == "admin" and '"count": 3' in json.dumps(rows[0]["detail"]),
              "the row says who and how many: %r" % rows[0])
        for trace in ("E-A2", "E-A4", "E-A5", "Hugo", "Nora", "anon-"):
            check(trace not in row, "no name or id in the audit row: %r" % row)
        # idempotent, and the daily job does the same
        again = d.ctl_json("person", "pseudonymise")
        check(again["pseudonymised"] == 0 and again["held_back"] == 1, "nothing twice: %r" % again)
        d.api("POST", "/api/v1/jobs/pseudonymise_leavers/run")
        check(len(audit_rows(d, "person.pseudonymise")) == 1, "a run that changes nothing adds no row")
        check(len([p for p in d.ctl_json("person", "list") if p["id"].startswith("anon-")]) == 3,
              "the job pseudonymises nobody twice")
        # an import cannot put a name back on a pseudonymised id
        out = d.ctl("person", "import", write(d, "back.csv", "external_id;kind;name;class;uai\n"
                                              "%s;pupil;Hugo Martin;3B;%s\n" % (anon[0]["id"], A)),
                    expect=1)
        check("pseudonymised" in out.stdout + out.stderr, "the re-import is refused: %r"
              % (out.stdout + out.stderr))
        # the tablet comes back: the held-back pupil is pseudonymised
        d.ctl("incident", "close", str(incident_of(d, "DMPA00000001")["id"]), "--outcome",
              "written_off")
        check(d.ctl_json("person", "pseudonymise")["pseudonymised"] == 1,
              "once the loan has ended, the held-back leaver goes too")
        refused(d, ["person", "export", INE], "no person")

        # --- the log --------------------------------------------------
        log = d.log()
        for trace in (INE, NAME, NAME.split()[0], NAME.split()[1], CLASS, "Hugo Martin",
                      "Nora Lenoir", "E-A2", "E-A5"):
            check(trace not in log, "%r must not appear in the daemon's log" % trace)
        check("path=/api/v1/people/:id " in log, "the request line shows the route's pattern")
        check("path=(unmatched) status=404" in log, "an unknown path is not shown either")
        check(re.search(r"event=api_error id=\S+ status=404 code=\S+ message=.*%s", log),
              "an error line shows the message's pattern")


def test_retention_setting():
    with Daemon(config="[privacy]\nleaver_retention_days = 10\n") as d:
        setup_fleet(d)
        d.ctl("person", "leave", "E-A2", "--date", day(-11))
        d.ctl("person", "leave", "E-A3", "--date", day(-10))
        out = d.ctl_json("person", "pseudonymise")
        check(out["pseudonymised"] == 1 and out["retention_days"] == 10,
              "the configured retention is used: %r" % out)
        d.ctl("person", "show", "E-A3")
        refused(d, ["person", "show", "E-A2"], "no person")
    for bad in ("0", "-3", "ten"):
        with Daemon(config="[privacy]\nleaver_retention_days = %s\n" % bad, start=False) as d:
            out = d.run_once("--config", d.write_config(), "-n")
            check(out.returncode != 0 and "leaver_retention_days" in out.stderr,
                  "a retention of %r is refused: %r" % (bad, out.stderr))


def read_csv(text):
    """ardoisectl's CSV, whichever separator it writes (',' or ';' with a BOM)."""
    text = text.lstrip("\ufeff")
    head = text.splitlines()[0]
    sep = ";" if head.count(";") > head.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=sep) if row]


def indicator_fleet(d):
    """A: 6e x5, 5e x5, 4e x4; 3 of A's tablets handed back.
    B: 6e x5, one loss.  All today."""
    d.ctl("school", "import", COLLEGES)
    devs = ["DMPA%08d" % i for i in range(14)] + ["DMPB%08d" % i for i in range(5)]
    d.ctl("device", "import", write(d, "devices.csv", "serial,model,uai,asset_tag\n" + "".join(
        "%s,iPad 9,%s,\n" % (s, A if s.startswith("DMPA") else B) for s in devs)))
    classes = ["6A"] * 5 + ["5 B"] * 5 + ["4eC"] * 4 + ["6D"] * 5
    rows = "".join("P-%02d;pupil;Élève Numéro%02d;%s;%s;%s\n"
                   % (i, i, c, A if i < 14 else B, "2024-09-02" if i < 2 else "")
                   for i, c in enumerate(classes))
    d.ctl("person", "import", write(d, "pupils.csv", "external_id;kind;name;class;uai;agreement\n" + rows))
    # no home use: an unenrolled tablet's would need a technician's
    # override (db_privacy's unit test counts home use)
    for i, s in enumerate(devs):
        d.ctl("loan", "create", "--device", s, "--person", "P-%02d" % i)
    for s in devs[10:13]:
        d.ctl("loan", "return", s)
    d.ctl("incident", "declare", "--device", devs[14], "--kind", "loss", "--occurred", day(0))


def test_indicators():
    with Daemon() as d:
        indicator_fleet(d)
        tok = accounts(d)
        rep = d.ctl_json("report", "indicators", "--from", day(-1), "--to", day(0))
        check(rep["threshold"] == 5 and "suppress" in rep["suppression"], "the rule is stated")
        sch = {s["uai"]: s for s in rep["schools"]}
        a, b = sch[A]["loans_started"], sch[B]["loans_started"]
        # 5 is shown, 4 is not; the 6e (5) is suppressed as well, or the
        # total (14) minus 5e would give the 4e back
        check(a["5e"] == 5 and a["4e"] is None, "5 shown, 4 suppressed: %r" % a)
        check(a["6e"] is None and "6e" in a["suppressed"] and "4e" in a["suppressed"],
              "a complementary cell is suppressed: %r" % a)
        check(a["total"] == 14, "the collège's total is given: %r" % a)
        hidden = 14 - sum(v for k, v in a.items() if k not in ("total", "suppressed") and v)
        check(hidden >= 5 and len(a["suppressed"]) >= 2,
              "what the total leaves is spread over 2+ cells adding up to 5+: %r" % a)
        check(b["total"] == 5 and all(b[l] is None for l in rep["levels"]),
              "B's five 6e loans: every cell under 5 or complementary: %r" % b)
        h = sch[A]["home_use_loans"]
        check(h["total"] is None and "total" in h["suppressed"], "a total under 5 is suppressed: %r" % h)
        check(rep["total"]["loans_started"] == {"total": 19, "suppressed": False},
              "the académie's total when every collège's is given: %r" % rep["total"])
        check(rep["total"]["returns"]["total"] is None and rep["total"]["returns"]["suppressed"],
              "no académie total when a collège's total is suppressed")
        check(rep["total"]["home_use_loans"]["total"] is None, "nor for home use")
        check(sch[B]["incidents_loss"]["none"] is None and sch[B]["incidents_loss"]["total"] is None,
              "one loss: suppressed")
        # no personal data at all
        text = json.dumps(rep, ensure_ascii=False)
        for trace in ("P-0", "Numéro", "6A", "5 B", "4eC", "6D"):
            check(trace not in text, "no personal data in the indicators (%r)" % trace)

        # CSV: suppressed cells empty, which ones said on the line
        text = d.ctl("report", "indicators", "--from", day(0), "--to", day(0), "--csv").stdout
        lines = read_csv(text)
        check(lines[0][:4] == ["uai", "name", "measure", "6e"] and lines[0][-1] == "suppressed",
              "the CSV header: %r" % lines[0])
        line = [l for l in lines if l[0] == A and l[2] == "loans_started"][0]
        check(line[3] == "" and line[4] == "5" and line[5] == "" and line[10] == "14",
              "6e empty, 5e 5, 4e empty, total 14: %r" % line)
        check(line[11].split() == a["suppressed"], "the line says what is suppressed: %r" % line)
        for trace in ("P-0", "Numéro", "4eC"):
            check(trace not in text, "no personal data in the CSV")
        human = d.ctl("report", "indicators", "--from", day(0), "--to", day(0)).stdout
        check("suppressed" in human and "*" in human, "the text output states the rule")

        # a period without the loans: nothing listed
        old = d.ctl_json("report", "indicators", "--from", day(-30), "--to", day(-2))
        check(old["schools"] == [], "no collège without events: %r" % old["schools"])

        # who may: technicians and the auditor
        d.ctl_json("report", "indicators", "--from", day(0), "--to", day(0), token=tok["audit"])
        for who in ("ati.a", "ref.a"):
            refused(d, ["report", "indicators", "--from", day(0), "--to", day(0)], "",
                    token=tok[who])
        # bad input
        refused(d, ["report", "indicators", "--from", day(0), "--to", day(-1)], "before")
        refused(d, ["report", "indicators", "--from", "2026-02-30", "--to", day(0)], "from")
        refused(d, ["report", "indicators", "--from", "demain", "--to", day(0)], "from")
        refused(d, ["report", "indicators", "--from", day(0)], "--to", code=2)
        d.api("GET", "/api/v1/reports/indicators?from=%s" % day(0), expect=400)
        d.api("GET", "/api/v1/reports/indicators?from=%s&to=%s" % ("9" * 40, day(0)), expect=400)


if __name__ == "__main__":
    test_pseudonymise_export_and_log()
    test_retention_setting()
    test_indicators()
    print("ok")
