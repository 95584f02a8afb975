"""Loans as the convention runs them (issue 14, "Loans"): the summer
deposit without erase and its checklist per class, the summer period in
which no home-use loan starts, loan update, the guardians' agreement per
school year (withdrawal flags the loans), one tablet per pupil, home use
only on a managed tablet unless a technician overrides, a damaged return
opening its incident, a stuck return closed by mark-erased, leavers and the
daily overdue job.  Real daemon, ardoisectl and the API; ardoise-sim where
the enrolment matters."""
import csv
import datetime
import io

from fleet_common import A, B, day, enrolled, refused, school_year_start, setup_fleet, snapshot, unchanged
from harness import Daemon, Sim, check, new_code, run, token_of, write


def account(d, name, role, *schools):
    args = ["account", "create", "--name", name, "--role", role]
    for s in schools:
        args += ["--school", s]
    return token_of(d.ctl(*args))


def audit(d, action):
    return [r for r in d.ctl_json("audit", "list") if r["action"] == action]


def loan_of(d, serial):
    got = [x for x in d.ctl_json("loan", "list", "--state", "all") if x["device"] == serial]
    return got[-1] if got else None


def erase_commands(d, serial):
    return [c for c in d.ctl_json("command", "list", serial) if c["type"] == "EraseDevice"]


def csv_rows(text):
    """Rows of a CSV ardoisectl wrote, whichever separator it uses."""
    text = text.lstrip("\ufeff")
    sep = ";" if ";" in text.splitlines()[0] else ","
    return list(csv.reader(io.StringIO(text), delimiter=sep))


def test_deposit_and_campaign():
    devices = [("DMPA0000000%d" % i, A) for i in range(1, 6)] + [("DMPB00000001", B)]
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d, devices)
        ati_a, ati_b = account(d, "ati-a", "ati", A), account(d, "ati-b", "ati", B)
        ref_a = account(d, "ref-a", "referent", A)
        for dev, who in [("DMPA00000001", "E-A1"), ("DMPA00000002", "E-A2"), ("DMPA00000003", "E-A3"),
                         ("DMPA00000004", "T-A1"), ("DMPB00000001", "E-B1")]:
            d.ctl("loan", "create", "--device", dev, "--person", who)

        # refusals leave everything as it was
        before = snapshot(d)
        refused(d, ["loan", "deposit", "DMPA00000001"], "no tablet with serial or UDID 'DMPA00000001'", token=ati_b)
        refused(d, ["loan", "deposit", "DMPA00000001"], "", token=ref_a)
        refused(d, ["loan", "deposit", "DMPA00000005"], "tablet DMPA00000005 is not on loan (it is stock)")
        refused(d, ["loan", "deposit", "NOSUCHTABLET"], "no tablet with serial or UDID 'NOSUCHTABLET'")
        refused(d, ["loan", "resume", "DMPA00000001"], "is not deposited: nothing to resume")
        refused(d, ["loan", "deposit"], "missing argument", code=2)
        unchanged(d, before, "refused deposits")
        d.api("POST", "/api/v1/loans/deposit", {"device": 12}, expect=400)
        d.api("POST", "/api/v1/loans/deposit", {"device": "X" * 200}, expect=400)
        d.api("POST", "/api/v1/loans/deposit", {"device": "DMPA00000001", "reason": ["x"]}, expect=400)

        # an ATI of the collège deposits: loan suspended, tablet still on loan, nothing erased
        out = d.ctl("loan", "deposit", "DMPA00000001", "--reason", "vacances", token=ati_a)
        check("deposited at the collège" in out.stdout and "nothing erased" in out.stdout, out.stdout)
        l = loan_of(d, "DMPA00000001")
        check(l["state"] == "open" and isinstance(l["deposited"], str), l)
        check(datetime.datetime.fromisoformat(l["deposited"].replace("Z", "+00:00")) is not None, l)
        dev = d.ctl_json("device", "show", "DMPA00000001")
        check(dev["state"] == "loaned" and dev["holder"]["id"] == "E-A1", "still on loan: %r" % dev["state"])
        check(erase_commands(d, "DMPA00000001") == [], "a deposit erases nothing")
        refused(d, ["loan", "deposit", "DMPA00000001"], "is deposited already", token=ati_a)
        check("(deposited)" in d.ctl("loan", "list", "--school", A).stdout, "the list shows it")
        check("deposited at the collège since" in d.ctl("loan", "show", str(l["id"])).stdout, "show too")
        d.ctl("loan", "deposit", "DMPA00000003")
        rows = audit(d, "loan.deposit")
        check(len(rows) == 2 and rows[0]["actor"] == "ati-a" and rows[0]["reason"] == "vacances"
              and rows[0]["target"] == "DMPA00000001", rows)

        # the checklist, per class, with the counts
        c = d.ctl_json("loan", "campaign", "--school", A, "--by", day(30))
        check(c["tablets"] == 3 and c["deposited"] == 2 and c["to_collect"] == 1, c)
        k3a = [k for k in c["classes"] if k["class"] == "3A"][0]
        check(k3a["count"] == 2 and k3a["deposited"] == 2 and k3a["to_collect"] == 0, k3a)
        check(all(isinstance(x["deposited"], str) for x in k3a["loans"]), k3a)
        only = d.ctl_json("loan", "campaign", "--school", A, "--by", day(30), "--class", "3B")
        check(only["class"] == "3B" and [k["class"] for k in only["classes"]] == ["3B"]
              and only["to_collect"] == 1 and only["classes"][0]["loans"][0]["deposited"] is None, only)
        empty = d.ctl_json("loan", "campaign", "--school", A, "--by", day(30), "--class", "9Z")
        check(empty["tablets"] == 0 and empty["classes"] == [], empty)
        text = d.ctl("loan", "campaign", "--school", A, "--by", day(30), "--class", "3A").stdout
        check("2 deposited, 0 to collect" in text and "[x] E-A1" in text and "E-A2" not in text, text)
        rows = csv_rows(d.ctl("loan", "campaign", "--school", A, "--by", day(30), "--csv").stdout)
        check(rows[0][-1] == "deposited" and len(rows) == 4, rows)
        check([r[-1] != "" for r in rows[1:]] == [True, True, False], "deposited or not per row: %r" % rows)
        d.api("GET", "/api/v1/loans/campaign?school=%s&by=%s&class=%s" % (A, day(30), "C" * 40), expect=400)
        refused(d, ["loan", "campaign", "--school", A, "--by", day(30)], "", token=ati_b)

        # resume at the start of the year
        out = d.ctl("loan", "resume", "DMPA00000001", token=ati_a)
        check("resumed" in out.stdout, out.stdout)
        check(loan_of(d, "DMPA00000001")["deposited"] is None, "resumed")
        refused(d, ["loan", "resume", "DMPB00000001"], "no tablet with serial or UDID 'DMPB00000001'", token=ati_a)
        check([r["target"] for r in audit(d, "loan.resume")] == ["DMPA00000001"], audit(d, "loan.resume"))
        # a deposited tablet handed back for good goes through the return (and its erase)
        d.ctl("loan", "return", "DMPA00000003")
        check(len(erase_commands(d, "DMPA00000003")) == 1, "the return erases")
        d.ctl("audit", "verify")


def summer_span():
    """[loans] summer holding today (its MM-DD..MM-DD)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    a, b = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    if a.year != today.year or b.year != today.year:
        a = b = today
    return "%s..%s" % (a.strftime("%m-%d"), b.strftime("%m-%d"))


def test_summer_period_and_config():
    for bad, why in [("13-01..08-31", "not a real day"), ("07-05-08-31", "expected MM-DD..MM-DD"),
                     ("08-31..07-05", "comes after the last"), ("02-30..03-01", "not a real day")]:
        with Daemon(start=False, config="[loans]\nsummer = %s\n" % bad) as d:
            out = d.run_once("--config", d.write_config(), "-n")
            check(out.returncode != 0 and "loans.summer" in out.stderr and why in out.stderr
                  and ":2:" in out.stderr, "%s: %r" % (bad, out.stderr))
    with Daemon(start=False, config="[loans]\nsummer = \nteacher_max = 0\n") as d:
        out = d.run_once("--config", d.write_config(), "-n")
        check(out.returncode == 0 and "teacher_max = 0" in out.stdout, out.stdout + out.stderr)

    conf = "[loans]\nsummer = %s\nteacher_max = 2\n" % summer_span()
    with Daemon(config=conf, init_args=["--no-baseline"]) as d:
        setup_fleet(d, [("DMPA0000000%d" % i, A) for i in range(1, 5)])
        enrolled(d, "DMPA00000001", "DMPA00000002", "DMPA00000003")
        before = snapshot(d)
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use"],
                "no home-use loan starts in the summer deposit period (%s)" % summer_span())
        unchanged(d, before, "a home-use loan in summer")
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        refused(d, ["loan", "update", "DMPA00000001", "--home-use"], "summer deposit period")
        check(loan_of(d, "DMPA00000001")["home_use"] is False, "still school-only")
        # teachers: two here ([loans] teacher_max = 2), not three
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "T-A1")
        d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "T-A1")
        refused(d, ["loan", "create", "--device", "DMPA00000004", "--person", "T-A1"],
                "T-A1 already has 2 tablet(s) on loan, the most a teacher may hold")


def test_update_agreement_and_one_per_pupil():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        enrolled(d, "DMPA00000001", "DMPA00000002", "DMPA00000003", "DMPB00000001")
        ati_a, ati_b = account(d, "ati-a", "ati", A), account(d, "ati-b", "ati", B)
        ref_a = account(d, "ref-a", "referent", A)
        year = int(school_year_start()[:4])

        # the agreement: per school year, never in the future
        before = snapshot(d)
        refused(d, ["person", "agreement", "E-A2", "--signed", day(1)], "the signing date is in the future")
        refused(d, ["person", "agreement", "E-A2", "--signed", "2026-02-30"], "")
        refused(d, ["person", "agreement", "E-A2", "--signed", day(-1), "--year", str(year + 2)],
                "year must be a whole number from")
        refused(d, ["person", "agreement", "E-A2", "--signed", day(-1), "--year", "deux"], "--year", code=2)
        refused(d, ["person", "agreement", "E-A2", "--withdraw"], "no agreement of school year %d-%d" % (year, year + 1))
        refused(d, ["person", "agreement", "E-A2", "--signed", day(-1), "--withdraw"], "give one of", code=2)
        refused(d, ["person", "agreement", "E-A2", "--signed", day(-1)], "no person with id 'E-A2'", token=ati_b)
        refused(d, ["person", "agreement", "E-A2", "--signed", day(-1)], "", token=ref_a)
        refused(d, ["person", "agreement", "NOBODY", "--signed", day(-1)], "no person with id 'NOBODY'")
        unchanged(d, before, "refused agreements")
        d.api("POST", "/api/v1/people/E-A2/agreement", {"date": day(-1), "year": "2026"}, expect=400)

        # last year's signature does not allow home use this year
        out = d.ctl("person", "agreement", "E-A2", "--signed", "%d-06-15" % year, "--year", str(year - 1))
        check("%d-%d" % (year - 1, year) in out.stdout, out.stdout)
        check(d.ctl_json("person", "show", "E-A2")["agreement"] is None, "not this year's")
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A2")
        refused(d, ["loan", "update", "DMPA00000001", "--home-use"],
                "home use needs the guardians' signed agreement of school year %d-%d, not recorded for E-A2"
                % (year, year + 1))
        # signed this year, after the loan began: home use through update
        d.ctl("person", "agreement", "E-A2", "--signed", day(-1), token=ati_a)
        check(d.ctl_json("person", "show", "E-A2")["agreement"] == day(-1), "this year's signature shown")
        l = d.ctl_json("loan", "update", "DMPA00000001", "--home-use", "--due", day(100), token=ati_a)
        check(l["home_use"] is True and l["due"] == day(100) and l["flag"] == "", l)
        rows = audit(d, "loan.update")
        check(len(rows) == 1 and rows[0]["detail"]["home_use"] is True and rows[0]["actor"] == "ati-a", rows)

        # withdrawn: home use turned school-only, flagged where loans are listed
        out = d.ctl("person", "agreement", "E-A2", "--withdraw", "--reason", "courrier des parents", token=ati_a)
        check("1 home-use loan(s) turned school-only" in out.stdout, out.stdout)
        l = loan_of(d, "DMPA00000001")
        check(l["home_use"] is False and l["flag"] == "agreement_withdrawn", l)
        check(d.ctl_json("loan", "show", str(l["id"]))["flag"] == "agreement_withdrawn", "show has it")
        check("agreement_withdrawn" in d.ctl("loan", "list").stdout, "the CLI list shows the flag")
        check("agreement withdrawn" in d.ctl("loan", "show", str(l["id"])).stdout, "and show")
        check(d.ctl_json("person", "show", "E-A2")["agreement"] is None, "withdrawn")
        refused(d, ["person", "agreement", "E-A2", "--withdraw"], "withdrawn already")
        refused(d, ["loan", "update", "DMPA00000001", "--home-use"], "withdrawn for E-A2")
        # an update clears the flag; home use again once signed again
        l = d.ctl_json("loan", "update", "DMPA00000001", "--due", day(50))
        check(l["flag"] == "" and l["home_use"] is False and l["due"] == day(50), l)
        d.ctl("person", "agreement", "E-A2", "--signed", day(0))
        check(d.ctl_json("loan", "update", "DMPA00000001", "--home-use")["home_use"] is True, "home use again")
        l = d.ctl_json("loan", "update", "DMPA00000001", "--school-only")
        check(l["home_use"] is False, l)
        ag = audit(d, "person.agreement")
        check([r["detail"]["withdrawn"] for r in ag] == [False, False, True, False]
              and ag[2]["reason"] == "courrier des parents" and ag[2]["detail"]["loans_school_only"] == 1
              and ag[0]["detail"]["year"] == year - 1, ag)

        # update's refusals
        before = snapshot(d)
        refused(d, ["loan", "update", "DMPA00000001"], "give --home-use, --school-only or --due", code=2)
        refused(d, ["loan", "update", "DMPA00000001", "--home-use", "--school-only"], "not both", code=2)
        refused(d, ["loan", "update", "DMPA00000001", "--due", day(-3)], "the due date is in the past")
        refused(d, ["loan", "update", "DMPA00000001", "--due", "demain"], "")
        refused(d, ["loan", "update", "DMPA00000002", "--due", day(3)], "tablet DMPA00000002 is not on loan")
        refused(d, ["loan", "update", "DMPA00000001", "--due", day(3)], "no tablet with serial", token=ati_b)
        refused(d, ["loan", "update", "DMPA00000001", "--due", day(3)], "", token=ref_a)
        unchanged(d, before, "refused updates")
        d.api("POST", "/api/v1/loans/update", {"device": "DMPA00000001", "home_use": "yes"}, expect=400)
        d.api("POST", "/api/v1/loans/update", {"device": "DMPA00000001"}, expect=400)

        # the import's agreement column: the school year of its date; never in the future
        before = snapshot(d)
        out = refused(d, ["person", "import", write(d, "future.csv", "external_id;kind;name;class;uai;agreement\n"
                                                    "E-A9;pupil;Zoé Roux;3A;%s;%s\n" % (A, day(2)))],
                      "1 bad row")
        check("agreement '%s' is in the future" % day(2) in out.stdout, out.stdout)
        unchanged(d, before, "an agreement in the future")
        d.ctl("person", "import", write(d, "years.csv", "external_id;kind;name;class;uai;agreement\n"
                                        "E-A8;pupil;Paul Roux;4B;%s;%d-09-10\n"
                                        "E-A9;pupil;Zoé Roux;3A;%s;%s\n" % (A, year - 1, A, school_year_start())))
        check(d.ctl_json("person", "show", "E-A8")["agreement"] is None, "last year's: recorded, not shown")
        check(d.ctl_json("person", "show", "E-A9")["agreement"] == school_year_start(), "this year's shown")
        refused(d, ["loan", "create", "--device", "DMPA00000003", "--person", "E-A8", "--home-use"],
                "not recorded for E-A8")
        # withdrawing last year's: recorded, this year's loans untouched
        out = d.ctl("person", "agreement", "E-A8", "--withdraw", "--year", str(year - 1))
        check("of %d-%d withdrawn; 0 home-use loan(s)" % (year - 1, year) in out.stdout, out.stdout)

        # one tablet per pupil at a time
        before = snapshot(d)
        refused(d, ["loan", "create", "--device", "DMPA00000002", "--person", "E-A2"],
                "E-A2 already has a tablet on loan: one tablet per pupil at a time")
        # teachers: one by default ([loans] teacher_max = 1)
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "T-A1")
        refused(d, ["loan", "create", "--device", "DMPA00000003", "--person", "T-A1"],
                "T-A1 already has 1 tablet(s) on loan, the most a teacher may hold")
        status, _, body = d.request("POST", "/api/v1/loans", {"device": "DMPA00000003", "person": "E-A2"})
        check(status == 409, "409 for a second loan: %d %s" % (status, body))
        # the return frees the pupil for another tablet
        d.ctl("loan", "return", "DMPA00000001")
        d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "E-A2")
        d.ctl("audit", "verify")


def test_unenrolled_override_and_mark_erased():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        ati_a, ati_b = account(d, "ati-a", "ati", A), account(d, "ati-b", "ati", B)
        ref_a = account(d, "ref-a", "referent", A)
        before = snapshot(d)
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use"],
                "tablet DMPA00000001 is not enrolled")
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use",
                    "--override-reason", "prêt d'urgence"],
                "only a technician may lend an unenrolled tablet for home use", token=ati_a)
        d.api("POST", "/api/v1/loans", {"device": "DMPA00000001", "person": "E-A1", "home_use": True,
                                        "override_reason": 5}, expect=400)
        d.api("POST", "/api/v1/loans", {"device": "DMPA00000001", "person": "E-A1", "home_use": True,
                                        "override_reason": "x" * 5000}, expect=400)
        unchanged(d, before, "refused unenrolled home use")
        # school-only needs no management; a technician overrides with a reason
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A3", token=ati_a)
        l = d.ctl_json("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use",
                       "--override-reason", "prêt d'urgence, inscription demain")
        check(l["home_use"] is True, l)
        row = [r for r in audit(d, "loan.create") if r["target"] == "DMPA00000001"][0]
        check(row["reason"] == "prêt d'urgence, inscription demain"
              and row["detail"]["override_reason"] == "prêt d'urgence, inscription demain", row)

        # a return whose erase never comes: stuck "returning"
        before = snapshot(d)
        refused(d, ["device", "mark-erased", "DMPA00000001", "--reason", "jamais inscrite"],
                "tablet DMPA00000001 has no return waiting for its erase (it is loaned)")
        refused(d, ["device", "mark-erased", "DMPA00000003", "--reason", "x"], "has no return waiting")
        unchanged(d, before, "mark-erased without a return")
        d.ctl("loan", "return", "DMPA00000001")
        d.ctl("loan", "return", "DMPA00000002", "--condition", "damaged")
        check(d.ctl_json("device", "show", "DMPA00000001")["state"] == "returning", "stuck")
        before = snapshot(d)
        refused(d, ["device", "mark-erased", "DMPA00000001"], "--reason is required", code=2)
        refused(d, ["device", "mark-erased", "DMPA00000001", "--reason", "x"], "", token=ati_a)
        refused(d, ["device", "mark-erased", "DMPA00000001", "--reason", "x"], "", token=ati_b)
        refused(d, ["device", "mark-erased", "DMPA00000001", "--reason", "x"], "", token=ref_a)
        refused(d, ["device", "mark-erased", "NOSUCH", "--reason", "x"], "no tablet with serial or UDID 'NOSUCH'")
        unchanged(d, before, "refused mark-erased")
        d.api("POST", "/api/v1/devices/DMPA00000001/mark-erased", {"reason": 3}, expect=400)
        d.api("POST", "/api/v1/devices/DMPA00000001/mark-erased", {"reason": "x" * 5000}, expect=400)
        out = d.ctl("device", "mark-erased", "DMPA00000001", "--reason", "jamais inscrite, effacée à la main")
        check("stock" in out.stdout, out.stdout)
        l = loan_of(d, "DMPA00000001")
        check(l["state"] == "closed" and l["end_reason"] == "erased", l)
        check(d.ctl_json("device", "show", "DMPA00000001")["state"] == "stock", "back in stock")
        rows = audit(d, "device.mark_erased")
        check(len(rows) == 1 and rows[0]["reason"] == "jamais inscrite, effacée à la main"
              and rows[0]["detail"]["state"] == "stock", rows)
        # the damaged one: in repair (its incident), the loan closed
        d.ctl("device", "mark-erased", "DMPA00000002", "--reason", "écran cassé, ne démarre plus")
        check(d.ctl_json("device", "show", "DMPA00000002")["state"] == "repair", "damaged: repair")
        check(loan_of(d, "DMPA00000002")["state"] == "closed", "closed")
        helped = d.ctl("device", "mark-erased", "--help", expect=None)
        check("retire or move" in helped.stdout + helped.stderr, "the help names the other way out")
        d.ctl("audit", "verify")


def test_leaver_and_overdue_job():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        ati_a, ati_b = account(d, "ati-a", "ati", A), account(d, "ati-b", "ati", B)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A3")
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A1", "--due", day(200))
        before = snapshot(d)
        refused(d, ["person", "leave", "E-A3", "--on", day(-1)], "no person with id 'E-A3'", token=ati_b)
        refused(d, ["person", "leave", "E-A3", "--on", "31/02/2026"], "")
        refused(d, ["person", "leave", "E-A3"], "--on is required", code=2)
        unchanged(d, before, "refused leave")

        # leaving yesterday: due yesterday, overdue today; the tablets to collect are listed
        out = d.ctl("person", "leave", "E-A3", "--on", day(-1), token=ati_a)
        check("tablets the collège must collect" in out.stdout and "DMPA00000001" in out.stdout
              and "T-001" in out.stdout, out.stdout)
        j = d.api("POST", "/api/v1/people/E-A1/leave", {"date": day(0)})
        check(j["collect"] == [{"loan": j["collect"][0]["loan"], "device": "DMPA00000002", "asset_tag": "T-002",
                                "deposited": None}] and j["left"] == day(0), j)
        l = loan_of(d, "DMPA00000002")
        check(l["due"] == day(0) and not l["overdue"], "due today, overdue from tomorrow: %r" % l)
        l = loan_of(d, "DMPA00000001")
        check(l["due"] == day(-1) and l["overdue"] and l["overdue_since"] is None, l)

        # the daily job marks it once, audited by "system", nothing personal in the log line
        d.api("POST", "/api/v1/jobs/loans_overdue/run")
        l = loan_of(d, "DMPA00000001")
        check(isinstance(l["overdue_since"], str), l)
        check(loan_of(d, "DMPA00000002")["overdue_since"] is None, "not overdue yet")
        rows = audit(d, "loan.overdue")
        check(len(rows) == 1 and rows[0]["actor"] == "system" and rows[0]["target"] == "DMPA00000001", rows)
        line = d.wait_log(r"event=loans_overdue [^\n]*").group(0)
        check("count=1" in line and "E-A3" not in line and "Bernard" not in line and "3A" not in line, line)
        d.api("POST", "/api/v1/jobs/loans_overdue/run")
        check(len(audit(d, "loan.overdue")) == 1, "marked once")
        # a deposited loan is not overdue (the tablet is at the collège)
        d.ctl("loan", "deposit", "DMPA00000001")
        check(not loan_of(d, "DMPA00000001")["overdue"], "deposited: not overdue")
        check(d.ctl_json("loan", "list", "--overdue") == [], "nor in the overdue list")
        fleet = [r for r in d.ctl_json("report", "fleet")["schools"] if r["uai"] == A]
        check(fleet[0]["overdue"] == 0, "nor in the fleet report: %r" % fleet)
        dash = d.ctl_json("dashboard", "--school", A)
        check(dash["schools"][0]["loans"]["overdue"] == 0, "nor on the dashboard: %r" % dash["schools"][0])


def test_enrolled_tablet_and_damaged_return_with_sim():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
        code = new_code(d, 2)
        sim = Sim(d)
        sim("enroll", "-n", "1", "--code", code)
        sim("connect")
        serial = sim.devices()[0]["serial"]
        d.ctl("device", "move", serial, "--school", A)
        d.ctl("person", "import", write(d, "people.csv",
                                         "external_id;kind;name;class;uai;agreement\n"
                                         "E-1;pupil;Léa Dupont;5B;%s;%s\n" % (A, school_year_start())))
        # enrolled: home use without any override
        d.ctl("loan", "create", "--device", serial, "--person", "E-1", "--home-use")
        d.ctl("loan", "deposit", serial)
        d.ctl("loan", "resume", serial)
        sim("connect")
        check(sim.devices()[0]["state"] != "erased", "a deposit and resume erase nothing")
        out = d.ctl("loan", "return", serial, "--condition", "damaged")
        check("damage incident #" in out.stdout and "repair" in out.stdout, out.stdout)
        inc = d.ctl_json("incident", "list")
        check(len(inc) == 1 and inc[0]["kind"] == "damage" and inc[0]["status"] == "open", inc)
        sim("connect")
        check(sim.devices()[0]["state"] == "erased", "the tablet wiped itself: %r" % sim.devices()[0])
        dev = d.ctl_json("device", "show", serial)
        check(dev["state"] == "repair", "damaged: repair, not stock, once erased: %r" % dev["state"])
        check(loan_of(d, serial)["state"] == "closed", "the loan is closed")
        acts = [r["action"] for r in d.ctl_json("audit", "list")]
        check(acts.count("incident.declare") == 1 and "loan.erased" in acts, acts)
        d.ctl("incident", "close", str(inc[0]["id"]), "--outcome", "repaired")
        check(d.ctl_json("device", "show", serial)["state"] == "stock", "repaired: stock")
        d.ctl("audit", "verify")


if __name__ == "__main__":
    run([test_deposit_and_campaign, test_summer_period_and_config, test_update_agreement_and_one_per_pupil,
         test_unenrolled_override_and_mark_erased, test_leaver_and_overdue_job,
         test_enrolled_tablet_and_damaged_return_with_sim])
