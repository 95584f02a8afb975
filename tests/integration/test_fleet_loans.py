"""Loans: the agreement rules, returns that queue EraseDevice (with Return
to Service on iPadOS 17+), leavers, overdue loans, the summer campaign."""
import csv
import io

from harness import Daemon, check, run
from fleet_common import A, B, day, enrolled, refused, setup_fleet, snapshot, unchanged


def test_loan_rules():
    with Daemon() as d:
        setup_fleet(d)
        enrolled(d, "DMPA00000001", "DMPA00000002", "DMPA00000003")
        before = snapshot(d)
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A2", "--home-use"],
                "home use needs the guardians' signed agreement")
        refused(d, ["loan", "create", "--device", "DMPB00000001", "--person", "E-A1"],
                "a loan needs both in the same collège")
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "NOBODY"],
                "no person with id 'NOBODY'")
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--due", day(-1)],
                "due date is in the past")
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--due", "2025-02-30"],
                "is not a date DD/MM/YYYY or YYYY-MM-DD")
        refused(d, ["loan", "create", "--device", "DMPA00000001"], "--device and --person are required", code=2)
        unchanged(d, before, "refused loans")

        l = d.ctl_json("loan", "create", "--device", "DMPA00000001", "--person", "E-A1", "--home-use",
                       "--due", day(300))
        check(l["home_use"] and l["state"] == "open" and l["due"] == day(300) and l["person"] == "E-A1", l)
        check(d.ctl_json("device", "show", "DMPA00000001")["state"] == "loaned", "device loaned")
        # one open loan per device
        before = snapshot(d)
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A3"],
                "tablet DMPA00000001 is already on loan to E-A1")
        unchanged(d, before, "double loan")
        # teachers need no agreement for home use
        t = d.ctl_json("loan", "create", "--device", "DMPA00000002", "--person", "T-A1", "--home-use")
        check(t["home_use"] and t["kind"] == "teacher", t)
        # the agreement, once recorded, allows home use; teachers have none
        refused(d, ["person", "agreement", "T-A1", "--date", day(-1)], "T-A1 is a teacher")
        d.ctl("person", "agreement", "E-A2", "--date", day(-1))
        check(d.ctl_json("person", "show", "E-A2")["agreement"] == day(-1), "agreement recorded")
        d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "E-A2", "--home-use")
        d.ctl("person", "agreement", "E-A2", "--withdrawn")
        check(d.ctl_json("person", "show", "E-A2")["agreement"] is None, "agreement withdrawn")
        out = d.ctl("loan", "list", "--school", A).stdout
        check("DMPA00000001" in out and "E-A1" in out and "Léa Dupont" in out, out)
        acts = [r["action"] for r in d.ctl_json("audit", "list")]
        check(acts.count("loan.create") == 3 and acts.count("person.agreement") == 2, acts)


def erase_payload(d, serial):
    cmds = [c for c in d.ctl_json("command", "list", serial) if c["type"] == "EraseDevice"]
    check(len(cmds) == 1 and cmds[0]["status"] == "queued", "one EraseDevice queued: %r" % cmds)
    shown = d.ctl_json("command", "show", cmds[0]["uuid"], "--plist")
    return cmds[0]["uuid"], shown.get("payload", "")


def test_return_queues_erase():
    with Daemon() as d:
        setup_fleet(d)
        # SQL: what the tablets report (no staff verb sets it)
        d.sqlite("UPDATE device SET os_version = '16.7.8' WHERE serial = 'DMPA00000001';"
                 "UPDATE device SET os_version = '17.4' WHERE serial = 'DMPA00000002';")
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "T-A1")
        before = snapshot(d)
        refused(d, ["loan", "return", "DMPA00000003"], "tablet DMPA00000003 is not on loan (it is stock)")
        refused(d, ["loan", "return", "DMPA00000001", "--condition", "broken"], "condition must be ok or damaged")
        unchanged(d, before, "refused returns")

        out = d.ctl("loan", "return", "DMPA00000001", "--condition", "damaged")
        check("EraseDevice" in out.stdout and "returning" in out.stdout, out.stdout)
        dev = d.ctl_json("device", "show", "DMPA00000001")
        # damaged: a damage incident, the tablet to repair (test_loan_workflows)
        check(dev["state"] == "repair" and dev["holder"]["id"] == "E-A1", dev)
        uuid, payload = erase_payload(d, "DMPA00000001")
        check("<string>EraseDevice</string>" in payload and "ReturnToService" not in payload,
              "iPadOS 16: a plain erase\n" + payload)
        loan = dev["loans"][0]
        check(loan["state"] == "returning" and loan["erase_command"] == uuid and loan["condition"] == "damaged",
              loan)
        check(any(c["type"] == "EraseDevice" for c in dev["commands"]), "history shows the erase")
        # until the erase is acknowledged: no second return, no new loan
        before = snapshot(d)
        refused(d, ["loan", "return", "DMPA00000001"], "its erase is not acknowledged yet")
        refused(d, ["loan", "create", "--device", "DMPA00000001", "--person", "E-A3"],
                "tablet DMPA00000001 is repair, not in stock")
        unchanged(d, before, "refused while returning")

        # iPadOS 17: Return to Service, with the enrolment profile so it re-enrols
        ret = d.ctl_json("loan", "return", "DMPA00000002")
        check(ret["erase"]["return_to_service"] is True, ret)
        uuid, payload = erase_payload(d, "DMPA00000002")
        check("ReturnToService" in payload and "MDMProfileData" in payload and "<true/>" in payload,
              "iPadOS 17: Return to Service\n" + payload[:400])
        audit = [r for r in d.ctl_json("audit", "list") if r["action"] == "loan.return"]
        check(len(audit) == 2 and audit[1]["detail"]["erase_command"] == uuid and
              audit[1]["detail"]["return_to_service"] is True, audit)
        check(len(d.ctl_json("loan", "list")) == 2, "returning loans are still in progress")
        check(d.ctl_json("loan", "list", "--state", "returning")[0]["device"] == "DMPA00000001", "state filter")


def test_leaving_and_overdue():
    with Daemon() as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A3")
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A1", "--due", day(200))
        check(d.ctl_json("loan", "list", "--overdue") == [], "nothing overdue yet")
        out = d.ctl("person", "leave", "E-A3", "--date", day(-2), "--reason", "déménagement")
        check("1 open loan" in out.stdout, out.stdout)
        over = d.ctl_json("loan", "list", "--overdue")
        check([l["device"] for l in over] == ["DMPA00000001"] and over[0]["due"] == day(-2) and over[0]["overdue"],
              over)
        check("OVERDUE" in d.ctl("loan", "list", "--overdue").stdout, "human list flags it")
        before = snapshot(d)
        refused(d, ["loan", "create", "--device", "DMPA00000003", "--person", "E-A3"],
                "E-A3 left the collège on %s" % day(-2))
        unchanged(d, before, "loan to a leaver")
        # leaving later: the loan becomes due on the last day, not later
        d.ctl("person", "leave", "E-A1", "--date", day(10))
        l = [x for x in d.ctl_json("loan", "list") if x["person"] == "E-A1"][0]
        check(l["due"] == day(10) and not l["overdue"], l)
        d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "T-A1")
        d.ctl("person", "leave", "T-A1", "--date", day(5))
        d.ctl("loan", "return", "DMPA00000003")
        check(d.ctl_json("person", "show", "E-A3")["left"] == day(-2), "leaving date shown")


def test_summer_campaign():
    devices = [("DMPA0000000%d" % i, A) for i in range(1, 6)] + [("DMPB00000001", B)]
    with Daemon() as d:
        setup_fleet(d, devices)
        for dev, who in [("DMPA00000001", "E-A1"), ("DMPA00000002", "E-A2"), ("DMPA00000003", "E-A3"),
                         ("DMPA00000004", "T-A1"), ("DMPB00000001", "E-B1")]:
            d.ctl("loan", "create", "--device", dev, "--person", who)
        d.ctl("loan", "return", "DMPA00000003")  # E-A3 brought it back
        c = d.ctl_json("loan", "campaign", "--school", A, "--by", day(30))
        check(c["tablets"] == 2 and [k["class"] for k in c["classes"]] == ["3A", "3B"], c)
        check([l["person"] for l in c["classes"][0]["loans"]] == ["E-A1"] and c["classes"][0]["count"] == 1, c)
        check(c["classes"][1]["loans"][0]["device"] == "DMPA00000002", c)
        text = d.ctl("loan", "campaign", "--school", A, "--by", day(30)).stdout
        check("class 3A (1)" in text and "class 3B (1)" in text and "T-A1" not in text, text)
        rows = list(csv.reader(io.StringIO(d.ctl("loan", "campaign", "--school", A, "--by", day(30), "--csv").stdout.lstrip("\ufeff")), delimiter=";"))
        check(rows[0][:4] == ["class", "person", "name", "device"] and len(rows) == 3, rows)
        check(rows[1][:4] == ["3A", "E-A1", "Léa Dupont", "DMPA00000001"], rows)
        # loans made after the date are not part of a past campaign
        check(d.ctl_json("loan", "campaign", "--school", A, "--by", day(-1))["tablets"] == 0, "past date")
        refused(d, ["loan", "campaign", "--school", A], "--school and --by are required", code=2)
        refused(d, ["loan", "campaign", "--school", "0131266X", "--by", day(1)], "check letter")


if __name__ == "__main__":
    run([test_loan_rules, test_return_queues_erase, test_leaving_and_overdue, test_summer_campaign])
