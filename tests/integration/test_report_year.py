"""`report year`: the annual figures the convention asks of each collège,
from known data with exact counts, as JSON, as a table and as CSV; who may
ask for which collège; bad periods and unknown collèges."""
import csv
import io

from fleet_common import A, B, day, enrolled, refused, setup_fleet
from harness import Daemon, check, run, token_of

DEVICES = tuple(("DMPA0000000%d" % i, A) for i in range(1, 8)) + (("DMPB00000001", B),
                                                                   ("DMPB00000002", B))


def setup(d):
    """In A, within [yesterday, today]: three loans (two pupils, one
    teacher, one taken home), two returns (ok, damaged), a theft with its
    complaint, a theft without, a damage of 120 EUR asked back of the
    family and repaired; a loss five days ago (before the period); in B a
    loan and a theft (another collège)."""
    setup_fleet(d, DEVICES)
    # the collège's targets, as the 2017 file gives them (its import keeps
    # them once issue 14's imports land; set here when it did not)
    d.sqlite("UPDATE school SET pupils_equipped = 161, teachers_equipped = 34"
             " WHERE uai = '%s' AND pupils_equipped IS NULL" % A)
    enrolled(d, "DMPA00000001")  # home use needs a managed tablet
    d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use")
    d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A2")
    d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "T-A1")
    d.ctl("loan", "return", "DMPA00000002", "--condition", "ok")
    d.ctl("loan", "return", "DMPA00000003", "--condition", "damaged")
    d.ctl("incident", "declare", "--device", "DMPA00000004", "--kind", "theft", "--occurred",
          day(0), "--police-ref", "PV-13-2026-1")
    t = d.ctl_json("incident", "declare", "--device", "DMPA00000005", "--kind", "theft",
                   "--occurred", day(-1), "--police-ref", "PV-A-VENIR")
    dmg = d.ctl_json("incident", "declare", "--device", "DMPA00000006", "--kind", "damage",
                     "--occurred", day(0), "--note", "écran cassé")
    # the complaint not there yet, the cost and its reimbursement: the
    # columns of migration 14, which issue 14's incident verbs fill; this
    # branch has no verb for them yet, so the test writes them
    d.sqlite("PRAGMA ignore_check_constraints = ON;"
             " UPDATE incident SET police_ref = '' WHERE id = %d;"
             " UPDATE incident SET cost_cents = 12000, reimburse = 1 WHERE id = %d;"
             % (t["id"], dmg["id"]))
    d.ctl("incident", "close", str(dmg["id"]), "--outcome", "repaired")
    d.ctl("incident", "declare", "--device", "DMPA00000007", "--kind", "loss", "--occurred", day(-5))
    d.ctl("loan", "create", "--device", "DMPB00000001", "--person", "E-B1")
    d.ctl("incident", "declare", "--device", "DMPB00000002", "--kind", "theft", "--occurred",
          day(0), "--police-ref", "PV-13-2026-2")


def damage_from_returns(d):
    """Damage incidents a damaged return opened by itself (issue 14's loans
    work does; before it, none)."""
    return len([i for i in d.ctl_json("incident", "list", "--device", "DMPA00000003")
                if i["kind"] == "damage"])


def test_exact_figures():
    with Daemon() as d:
        setup(d)
        extra = damage_from_returns(d)
        rep = d.ctl_json("report", "year", "--school", A, "--from", day(-1), "--to", day(0))
        check(rep["school"] == {"uai": A, "name": "Clg N. Sarraute"}, rep["school"])
        check(rep["from"].startswith(day(-1)) and rep["to"].startswith(day(0)), rep)
        check(rep["loans"] == {"started": 3, "tablets": 3, "pupils": 2, "teachers": 1, "home_use": 1},
              "loans: %r" % rep["loans"])
        check(rep["returns"] == {"total": 2, "ok": 1, "damaged": 1}, "returns: %r" % rep["returns"])
        check(rep["incidents"] == {"total": 3 + extra, "loss": 0, "theft": 2, "damage": 1 + extra,
                                   "failure": 0, "late": 0},
              "incidents of the period (the loss of 5 days ago is not): %r" % rep["incidents"])
        check(rep["repairs"] == 1, "repairs: %r" % rep["repairs"])
        check(rep["thefts"] == {"total": 2, "with_complaint": 1, "without_complaint": 1},
              "thefts: %r" % rep["thefts"])
        check(rep["damage"]["cost_cents"] >= 12000 and rep["damage"]["reimbursements_asked"] == 1
              and rep["damage"]["reimbursements_cents"] == 12000, "damage: %r" % rep["damage"])
        if extra == 0:
            check(rep["damage"]["cost_cents"] == 12000, rep["damage"])
        check(rep["equipment"] == {"pupils_target": 161, "teachers_target": 34, "tablets": 7,
                                   "pupils_equipped": 1, "teachers_equipped": 0},
              "targets against the fleet: %r" % rep["equipment"])
        # the period's edges: from the day of the loss, it counts; after, nothing happened
        wider = d.ctl_json("report", "year", "--school", A, "--from", day(-5), "--to", day(0))
        check(wider["incidents"]["loss"] == 1 and wider["incidents"]["total"] == 4 + extra, wider)
        later = d.ctl_json("report", "year", "--school", A, "--from", day(1), "--to", day(30))
        check(later["loans"]["started"] == 0 and later["incidents"]["total"] == 0
              and later["returns"]["total"] == 0 and later["repairs"] == 0, later)
        check(later["equipment"]["tablets"] == 7, "the fleet is now, whatever the period")
        b = d.ctl_json("report", "year", "--school", B, "--from", day(-1), "--to", day(0))
        check(b["loans"]["started"] == 1 and b["thefts"] == {"total": 1, "with_complaint": 1,
                                                             "without_complaint": 0}, b)
        check(b["equipment"]["pupils_target"] == 191 or b["equipment"]["pupils_target"] is None, b)

        # people read it as a table, spreadsheets as CSV
        out = d.ctl("report", "year", "--school", A, "--from", day(-1), "--to", day(0)).stdout
        check("Clg N. Sarraute" in out and ("loans started" in out or "prêts" in out.lower()), out)
        text = d.ctl("report", "year", "--school", A, "--from", day(-1), "--to", day(0), "--csv").stdout
        text = text.lstrip("\ufeff")
        sep = ";" if text.split("\n", 1)[0].count(";") else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        check(rows[0] == ["uai", "from", "to", "figure", "value"], rows[0])
        got = {r[3]: r[4] for r in rows[1:] if r}
        check(got["loans.started"] == "3" and got["thefts.without_complaint"] == "1"
              and got["damage.reimbursements_cents"] == "12000" and got["equipment.pupils_target"] == "161"
              and got["repairs"] == "1" and all(r[0] == A for r in rows[1:] if r),
              "the CSV carries the same figures: %r" % got)
        check(len(got) == 25, "every figure a line: %d" % len(got))


def test_who_and_bad_input():
    with Daemon() as d:
        setup(d)
        tok = {"ati_a": token_of(d.ctl("account", "create", "--name", "ati.a", "--role", "ati",
                                       "--school", A)),
               "ref_a": token_of(d.ctl("account", "create", "--name", "ref.a", "--role", "referent",
                                       "--school", A)),
               "ati_b": token_of(d.ctl("account", "create", "--name", "ati.b", "--role", "ati",
                                       "--school", B)),
               "auditor": token_of(d.ctl("account", "create", "--name", "cnil", "--role", "auditor"))}
        period = ["--from", day(-1), "--to", day(0)]
        mine = d.ctl_json("report", "year", "--school", A, *period, token=tok["ati_a"])
        check(mine["loans"]["started"] == 3, "an ATI reads its collège's year")
        check(d.ctl_json("report", "year", "--school", A, *period, token=tok["ref_a"]) == mine,
              "so does its référent, the same figures")
        refused(d, ["report", "year", "--school", A] + period, "no collège %s in your collèges" % A,
                token=tok["ati_b"])
        refused(d, ["report", "year", "--school", "0132786H"] + period,
                "no collège 0132786H in your collèges", token=tok["ati_b"])
        out = d.ctl("report", "year", "--school", A, *period, token=tok["auditor"], expect=1)
        check("403" in out.stderr, "the auditor is refused: %r" % out.stderr)
        # unknown or malformed collèges, as a technician
        for uai in ("0130003H", "XYZ", "0131266F'--", "é" * 40):
            out = d.ctl("report", "year", "--school", uai, *period, expect=1)
            check("404" in out.stderr or "400" in out.stderr, "%r: %r" % (uai, out.stderr))
        # bad periods
        for args, why in ((["--from", "2026-13-01", "--to", day(0)], "is not a date"),
                          (["--from", "hier", "--to", day(0)], "is not a date"),
                          (["--from", day(-1), "--to", "2026-02-30"], "is not a date"),
                          (["--from", day(1), "--to", day(-1)], "from is after to"),
                          (["--from", "1" * 200, "--to", day(0)], "")):
            out = d.ctl("report", "year", "--school", A, *args, expect=1)
            check("400" in out.stderr and why in out.stderr, "%r: %r" % (args, out.stderr))
        refused(d, ["report", "year", "--school", A, "--from", day(-1)],
                "--school, --from and --to are required", code=2)
        for q in ("school=%s&from=%s" % (A, day(-1)), "from=%s&to=%s" % (day(-1), day(0)),
                  "school=%s&from=%s&to=%s&from=x" % (A, day(-1), day(0))):
            status, _, body = d.request("GET", "/api/v1/reports/year?" + q)
            check(status in (200, 400), "%s: %d %s" % (q, status, body[:200]))
            if "from=x" not in q:
                check(status == 400, "%s: 400, got %d" % (q, status))
        status, _, _ = d.request("POST", "/api/v1/reports/year?school=%s" % A)
        check(status == 405, "read-only route: %d" % status)
        d.check_serving()


if __name__ == "__main__":
    run([test_exact_figures, test_who_and_bad_input])
