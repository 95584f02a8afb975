"""Incidents as the convention runs them: a theft declared at once and its
police complaint added later (complaint missing, overdue after 48 h), the
48 h rule measured from the report to the collège, a loss or theft found
ending Lost Mode and its geolocation request (with ardoise-sim), and a
damage's cost and reimbursement, in the incident and the fleet report."""
import datetime
import re

from fleet_common import A, B, day, enrolled_sims, refused, setup_fleet, snapshot, unchanged
from harness import Daemon, check, run, token_of


def account(d, name, role, *schools):
    args = ["account", "create", "--name", name, "--role", role]
    for s in schools:
        args += ["--school", s]
    return token_of(d.ctl(*args))


def parse_time(text):
    """An API time (ISO 8601, any offset) as an aware datetime."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def audit_rows(d, action):
    return [r for r in d.ctl_json("audit", "list") if r["action"] == action]


def test_theft_before_its_complaint():
    with Daemon() as d:
        setup_fleet(d)
        ati = account(d, "ati-a", "ati", A)
        ref = account(d, "ref-a", "referent", A)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        inc = d.ctl_json("incident", "declare", "--device", "DMPA00000001", "--kind", "theft",
                         "--occurred", day(0), "--note", "vol à la sortie", token=ati)
        check(inc["complaint_missing"] and not inc["complaint_overdue"] and inc["police_ref"] == ""
              and inc["complaint_date"] is None, "a theft without its complaint: %r" % inc)
        check(d.ctl_json("device", "show", "DMPA00000001")["state"] == "stolen", "stolen at once")
        shown = d.ctl("incident", "show", str(inc["id"])).stdout
        check("complaint missing" in shown and "OVERDUE" not in shown, shown)
        # a theft reported three days ago, its complaint still missing: overdue
        old = d.ctl_json("incident", "declare", "--device", "DMPA00000002", "--kind", "theft",
                         "--occurred", day(-3), "--reported", day(-3))
        check(old["complaint_missing"] and old["complaint_overdue"], old)
        d.ctl_json("incident", "declare", "--device", "DMPA00000003", "--kind", "loss", "--occurred", day(0))
        missing = d.ctl_json("incident", "list", "--complaint-missing")
        check(sorted(i["id"] for i in missing) == sorted([inc["id"], old["id"]]),
              "--complaint-missing lists the two thefts, not the loss: %r" % missing)
        table = d.ctl("incident", "list", "--complaint-missing").stdout
        check(table.count("complaint missing") == 2, table)
        check(len(d.ctl_json("incident", "list", "--complaint-missing", token=ref)) == 2, "the référent reads them")

        # refusals leave it as it was
        before = snapshot(d)
        path = "/api/v1/incidents/%d/update" % inc["id"]
        for args, said in (
                (["--complaint-date", day(1)], "complaint_date is in the future"),
                (["--complaint-date", day(-1)], "complaint_date is before the event"),
                (["--complaint-date", "31/02/2026"], "is not a date"),
                (["--police-ref", ""], "police_ref cannot be emptied"),
                (["--police-ref", "x" * 600], "police_ref"),
                ([], "nothing to change"),
                (["--cost", "10"], "cost and reimburse are for a damage, not a theft")):
            refused(d, ["incident", "update", str(inc["id"])] + args, said)
        for bad in ({"police_ref": 12}, {"complaint_date": ["2026-01-01"]}, {"reimburse": "yes"}, [1]):
            status, _, body = d.request("POST", path, body=bad)
            check(status == 400, "update with %r: 400, got %d %s" % (bad, status, body[:200]))
        refused(d, ["incident", "update", "999", "--police-ref", "PV"], "no incident #999")
        refused(d, ["incident", "update", str(inc["id"]), "--police-ref", "PV"], "role referent may not",
                token=ref)
        unchanged(d, before, "refused updates")

        # the reference alone, then the day: the complaint is complete
        up = d.ctl_json("incident", "update", str(inc["id"]), "--police-ref", "PV 13-2026-0042", token=ati)
        check(up["police_ref"] == "PV 13-2026-0042" and up["complaint_missing"], "the day is missing still: %r" % up)
        out = d.ctl("incident", "update", str(inc["id"]), "--complaint-date", day(0), token=ati)
        check("updated: complaint_date" in out.stdout and "complaint missing" not in out.stdout, out.stdout)
        shown = d.ctl_json("incident", "show", str(inc["id"]))
        check(not shown["complaint_missing"] and not shown["complaint_overdue"], shown)
        check(datetime.date.fromisoformat(shown["complaint_date"][:10]) == datetime.date.fromisoformat(day(0)),
              "the complaint's day: %r" % shown["complaint_date"])
        check([i["id"] for i in d.ctl_json("incident", "list", "--complaint-missing")] == [old["id"]],
              "only the other theft is still missing its complaint")
        rows = audit_rows(d, "incident.update")
        check(len(rows) == 2 and all(r["actor"] == "ati-a" and r["target"] == "DMPA00000001" for r in rows), rows)
        changes = [r["detail"]["changes"] for r in rows]
        check(changes[0]["police_ref"] == {"from": "", "to": "PV 13-2026-0042"}
              and set(changes[1]) == {"complaint_date"} and changes[1]["complaint_date"]["from"] is None, changes)
        d.ctl("audit", "verify")


def test_late_from_the_report():
    with Daemon() as d:
        setup_fleet(d)
        ati_b = account(d, "ati-b", "ati", B)
        # the event 4 days ago, the family told the collège 3 days later: late
        late = d.ctl_json("incident", "declare", "--device", "DMPA00000001", "--kind", "loss",
                          "--occurred", day(-4) + "T09:00", "--reported", day(-1) + "T10:00")
        check(late["late"], "reported 73 h after the event: late %r" % late)
        gap = parse_time(late["reported"]) - parse_time(late["occurred"])
        check(gap == datetime.timedelta(hours=73), "reported 73 h after the event: %r" % late)
        # told within 48 h, typed days later: not late
        ok = d.ctl_json("incident", "declare", "--device", "DMPA00000002", "--kind", "damage",
                        "--occurred", day(-3) + "T08:00", "--reported", day(-2) + "T17:30")
        check(not ok["late"], "reported 33 h after: not late, however late it is typed: %r" % ok)
        gap = parse_time(ok["reported"]) - parse_time(ok["occurred"])
        check(gap == datetime.timedelta(hours=33, minutes=30), ok)
        check(parse_time(ok["declared"]) > parse_time(ok["reported"]), "declared (typed) and reported differ")
        # without --reported: now
        now = d.ctl_json("incident", "declare", "--device", "DMPA00000003", "--kind", "failure", "--occurred", day(0))
        check(abs((parse_time(now["reported"]) - parse_time(now["declared"])).total_seconds()) < 5, now)

        before = snapshot(d)
        base = ["incident", "declare", "--device", "DMPB00000001", "--kind", "loss", "--occurred", day(-2)]
        refused(d, base + ["--reported", day(-3)], "reported is before the event")
        refused(d, base + ["--reported", day(2)], "reported is in the future")
        refused(d, base + ["--reported", "hier"], "reported: 'hier' is not a date")
        status, _, body = d.request("POST", "/api/v1/incidents",
                                    body={"device": "DMPB00000001", "kind": "loss", "occurred": day(-2), "reported": 5})
        check(status == 400, "reported as a number: %d %s" % (status, body[:200]))
        # correcting the report: a reason, and late follows
        path = ["incident", "update", str(ok["id"]), "--reported", day(-1) + "T09:00"]
        refused(d, path, "correcting reported needs a reason")
        refused(d, ["incident", "update", str(ok["id"]), "--reported", day(-4), "--reason", "x"],
                "reported is before the event")
        refused(d, path + ["--reason", "erreur"], "no incident #%d in your collèges" % ok["id"], token=ati_b)
        unchanged(d, before, "refused report times")
        up = d.ctl_json("incident", "update", *(path[2:] + ["--reason", "la famille a appelé le lendemain"]))
        check(up["late"] and up["changes"]["late"] == {"from": False, "to": True}, up)
        row = audit_rows(d, "incident.update")[-1]
        check(row["reason"] == "la famille a appelé le lendemain" and row["detail"]["changes"]["late"]["to"], row)
        check(d.ctl_json("incident", "show", str(late["id"]))["late"], "the other one keeps its flag")


def test_damage_cost_and_reimbursement():
    with Daemon() as d:
        setup_fleet(d)
        ref = account(d, "ref-a", "referent", A)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        base = ["incident", "declare", "--device", "DMPA00000001", "--kind", "damage", "--occurred", day(0)]
        before = snapshot(d)
        for bad in ("-5", "abc", "100000,01", "45,505", "1e3", "45,", ",50", "12 345", "4 5"):
            refused(d, base + ["--cost", bad], "cost: '%s' is not an amount in euros" % bad)
        refused(d, base + ["--reimburse", "--no-reimburse"], "give --reimburse or --no-reimburse, not both", code=2)
        refused(d, ["incident", "declare", "--device", "DMPA00000002", "--kind", "loss", "--occurred", day(0),
                    "--reimburse"], "cost and reimburse are for a damage, not a loss")
        for bad in ({"cost": 45.5}, {"cost": "x" * 40}, {"reimburse": 1}):
            body = dict({"device": "DMPA00000001", "kind": "damage", "occurred": day(0)}, **bad)
            status, _, data = d.request("POST", "/api/v1/incidents", body=body)
            check(status == 400, "declare with %r: 400, got %d %s" % (bad, status, data[:200]))
        unchanged(d, before, "refused costs")

        inc = d.ctl_json(*(base + ["--cost", "45,50", "--reimburse"]))
        check(inc["cost_cents"] == 4550 and inc["reimburse"] is True, inc)
        shown = d.ctl("incident", "show", str(inc["id"])).stdout
        check("45,50 €" in shown and "reimbursement asked" in shown, shown)
        check("45,50 €" in d.ctl("incident", "list").stdout, "the list shows the cost")
        two = d.ctl_json("incident", "declare", "--device", "DMPA00000002", "--kind", "damage",
                         "--occurred", day(0), "--cost", "100000")
        check(two["cost_cents"] == 10000000 and two["reimburse"] is False, two)
        d.ctl_json("incident", "declare", "--device", "DMPB00000001", "--kind", "damage", "--occurred", day(0),
                   "--cost", "12.5 €", "--reimburse")
        d.ctl_json("incident", "declare", "--device", "DMPA00000003", "--kind", "failure", "--occurred", day(0))
        rep = d.ctl_json("report", "fleet")
        a = [s for s in rep["schools"] if s["uai"] == A][0]
        b = [s for s in rep["schools"] if s["uai"] == B][0]
        check((a["damages"], a["damage_cost_cents"], a["reimbursements"]) == (2, 10004550, 1), a)
        check((b["damages"], b["damage_cost_cents"], b["reimbursements"]) == (1, 1250, 1), b)
        check((rep["total"]["damages"], rep["total"]["damage_cost_cents"]) == (3, 10005800), rep["total"])
        check([s["uai"] for s in d.ctl_json("report", "fleet", token=ref)["schools"]] == [A], "référent: its collège")
        text = d.ctl("report", "fleet", "--school", A).stdout
        check(re.search(r"100045,50", text), "the table in euros: %s" % text)

        # the invoice comes after the repair: update on a closed incident
        d.ctl("incident", "close", str(inc["id"]), "--outcome", "repaired")
        up = d.ctl_json("incident", "update", str(inc["id"]), "--cost", "60.00", "--no-reimburse")
        check(up["cost_cents"] == 6000 and up["reimburse"] is False and up["status"] == "closed", up)
        check(up["changes"]["cost_cents"] == {"from": 4550, "to": 6000}
              and up["changes"]["reimburse"] == {"from": True, "to": False}, up["changes"])
        up = d.ctl_json("incident", "update", str(two["id"]), "--cost", "")
        check(up["cost_cents"] is None, "an empty cost removes it: %r" % up)
        refused(d, ["incident", "update", str(two["id"]), "--cost", "-1"], "is not an amount in euros")
        refused(d, ["incident", "update", str(two["id"]), "--reimburse"], "role referent may not", token=ref)
        rows = audit_rows(d, "incident.update")
        check(len(rows) == 2 and rows[0]["detail"]["incident"] == inc["id"], rows)


SIM_CONFIG = "[geolocation]\napproval = two-person\nexpiry_hours = 1\nretention_days = 1\n"


def sim_fleet(d, n=3):
    """n enrolled tablets of collège A; a second technician; an ATI of A."""
    sim, serials = enrolled_sims(d, n, [A])
    tech2 = account(d, "tech2", "technician")
    d.sqlite("UPDATE account SET token_by = '', token_at = 0 WHERE name = 'tech2'")
    return sim, serials, tech2, account(d, "ati-a", "ati", A), account(d, "ati-b", "ati", B)


def statuses(d, serial, type_):
    return [c["status"] for c in d.ctl_json("command", "list", serial) if c["type"] == type_]


def test_found_ends_lost_mode_and_geolocation():
    with Daemon(config=SIM_CONFIG) as d:
        sim, (one, two, three), tech2, ati, ati_b = sim_fleet(d)
        # 1. Lost Mode on the tablet, its request approved: found ends both
        inc = d.ctl_json("incident", "declare", "--device", one, "--kind", "theft", "--occurred", day(0))
        req = d.ctl_json("locate", "request", one, "--incident", str(inc["id"]), "--reason", "vol déclaré")
        d.ctl_json("locate", "approve", str(req["id"]), token=tech2)
        sim.run("connect")
        check(sim.device(one)["lost_mode"], "EnableLostMode reached the tablet")
        refused(d, ["incident", "close", str(inc["id"]), "--outcome", "found"], "no incident #%d in your collèges"
                % inc["id"], token=ati_b)
        check(d.ctl_json("locate", "show", str(req["id"]))["state"] == "approved", "an out-of-scope ATI changed nothing")
        out = d.ctl("incident", "close", str(inc["id"]), "--outcome", "found", "--note", "rendue au collège", token=ati)
        check("geolocation request %d: approved -> closed" % req["id"] in out.stdout
              and "Lost Mode will end when the tablet next checks in" in out.stdout, out.stdout)
        shown = d.ctl_json("locate", "show", str(req["id"]))
        check(shown["state"] == "closed" and shown["outcome"] == "found" and shown["purge_after"], shown)
        check(statuses(d, one, "DisableLostMode") == ["queued"], "DisableLostMode queued")
        rows = audit_rows(d, "locate.close")
        check(len(rows) == 1 and rows[0]["actor"] == "ati-a" and rows[0]["detail"]["incident"] == inc["id"]
              and "found" in rows[0]["reason"], rows)
        sim.run("connect")
        check(not sim.device(one)["lost_mode"], "the tablet left Lost Mode")
        check(statuses(d, one, "DisableLostMode") == ["acknowledged"], "DisableLostMode acknowledged")
        out = d.ctl("locate", "refresh", str(req["id"]), expect=1)
        check("409" in out.stderr, "no new location after found: %r" % out.stderr)

        # 2. approved but the tablet has not checked in: EnableLostMode pending
        inc = d.ctl_json("incident", "declare", "--device", two, "--kind", "loss", "--occurred", day(0))
        req = d.ctl_json("locate", "request", two, "--incident", str(inc["id"]), "--reason", "perdue")
        d.ctl_json("locate", "approve", str(req["id"]), token=tech2)
        check(statuses(d, two, "EnableLostMode") == ["queued"], "EnableLostMode pending")
        done = d.ctl_json("incident", "close", str(inc["id"]), "--outcome", "found")
        check(done["lost_mode"] == "ending" and done["geolocation"] == [{"id": req["id"], "from": "approved",
                                                                         "state": "closed"}], done)
        check(statuses(d, two, "DeviceLocation") == ["canceled"], "no location is asked of a found tablet")
        sim.run("connect")
        check(not sim.device(two)["lost_mode"], "enabled then disabled, in order: off")
        check(d.ctl_json("locate", "show", str(req["id"]))["fixes"] == 0, "no location taken")

        # 3. a request still waiting for its second approval: denied; no Lost Mode to end
        inc = d.ctl_json("incident", "declare", "--device", three, "--kind", "loss", "--occurred", day(0))
        req = d.ctl_json("locate", "request", three, "--incident", str(inc["id"]), "--reason", "perdue")
        done = d.ctl_json("incident", "close", str(inc["id"]), "--outcome", "found")
        check(done["lost_mode"] == "off" and done["still_open"] == []
              and done["geolocation"] == [{"id": req["id"], "from": "pending", "state": "denied"}], done)
        shown = d.ctl_json("locate", "show", str(req["id"]))
        check(shown["state"] == "denied" and "found" in shown["deny_reason"], shown)
        check(statuses(d, three, "DisableLostMode") == [], "nothing to end")
        out = d.ctl("locate", "approve", str(req["id"]), token=tech2, expect=1)
        check("409" in out.stderr, "a denied request cannot be approved any more: %r" % out.stderr)

        # 4. written off: Lost Mode stays (the tablet is gone), the request too
        inc = d.ctl_json("incident", "declare", "--device", three, "--kind", "theft", "--occurred", day(0),
                         "--police-ref", "PV-1", "--complaint-date", day(0))
        check(not inc["complaint_missing"], inc)
        req = d.ctl_json("locate", "request", three, "--incident", str(inc["id"]), "--reason", "vol")
        d.ctl_json("locate", "approve", str(req["id"]), token=tech2)
        done = d.ctl_json("incident", "close", str(inc["id"]), "--outcome", "written_off")
        check("lost_mode" not in done and d.ctl_json("locate", "show", str(req["id"]))["state"] == "approved", done)
        d.ctl("audit", "verify")


if __name__ == "__main__":
    run([test_theft_before_its_complaint, test_late_from_the_report, test_damage_cost_and_reimbursement,
         test_found_ends_lost_mode_and_geolocation])
