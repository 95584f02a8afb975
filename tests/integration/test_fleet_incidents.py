"""Incidents: refusals, late declarations are flagged, device states follow
(lost/stolen/repair and back, written off).  A theft declared before its
police complaint, the report time, Lost Mode on found and damage costs:
test_incident_workflows.py."""
import datetime
import zoneinfo

from harness import Daemon, check, run
from fleet_common import A, api_time, day, refused, setup_fleet, snapshot, unchanged


def state(d, serial):
    return d.ctl_json("device", "show", serial)["state"]


def test_theft_needs_police_reference():
    with Daemon() as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        before = snapshot(d)
        refused(d, ["incident", "declare", "--device", "DMPA00000001", "--kind", "fire", "--occurred", day(0)],
                "kind must be loss, theft, damage or failure")
        refused(d, ["incident", "declare", "--device", "DMPA00000001", "--kind", "loss", "--occurred", day(2)],
                "occurred is in the future")
        refused(d, ["incident", "declare", "--device", "DMPA00000001", "--kind", "loss", "--occurred", "yesterday"],
                "is not a date")
        unchanged(d, before, "refused declarations")
        check(state(d, "DMPA00000001") == "loaned", "still loaned")

        inc = d.ctl_json("incident", "declare", "--device", "DMPA00000001", "--kind", "theft",
                         "--occurred", day(0), "--police-ref", "PV 2025/001234", "--note", "vol dans le bus")
        check(inc["police_ref"] == "PV 2025/001234" and inc["holder"] == "E-A1" and not inc["late"]
              and inc["status"] == "open", inc)
        check(state(d, "DMPA00000001") == "stolen", "theft -> stolen")
        # one open incident at a time
        before = snapshot(d)
        refused(d, ["incident", "declare", "--device", "DMPA00000001", "--kind", "loss", "--occurred", day(0)],
                "already has open incident #%d (theft)" % inc["id"])
        refused(d, ["loan", "return", "DMPA00000001"], "close its incident before the return")
        unchanged(d, before, "refused while stolen")
        # found: back with its holder, the loan still open
        refused(d, ["incident", "close", str(inc["id"]), "--outcome", "repaired"],
                "outcome for a theft: found or written_off")
        out = d.ctl("incident", "close", str(inc["id"]), "--outcome", "found", "--note", "retrouvée")
        check("now loaned" in out.stdout, out.stdout)
        check(state(d, "DMPA00000001") == "loaned", "found -> loaned")
        refused(d, ["incident", "close", str(inc["id"]), "--outcome", "found"], "already closed")
        acts = [(r["action"], r["target"]) for r in d.ctl_json("audit", "list")]
        check(("incident.declare", "DMPA00000001") in acts and ("incident.close", "DMPA00000001") in acts, acts)


def test_late_and_states():
    with Daemon() as d:
        setup_fleet(d)
        out = d.ctl("incident", "declare", "--device", "DMPA00000002", "--kind", "loss", "--occurred", day(-3))
        check("LATE" in out.stdout and "flagged late" in out.stderr, (out.stdout, out.stderr))
        late = d.ctl_json("incident", "list", "--open")
        check(len(late) == 1 and late[0]["late"] and late[0]["kind"] == "loss", late)
        check(state(d, "DMPA00000002") == "lost", "loss -> lost")
        # a precise time within 48 h is not late
        d.ctl("incident", "declare", "--device", "DMPA00000003", "--kind", "damage",
              "--occurred", day(-1) + "T08:30")
        inc = [i for i in d.ctl_json("incident", "list") if i["device"] == "DMPA00000003"][0]
        # a time typed without a zone is Paris time
        occurred = api_time(inc["occurred"]).astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
        check(not inc["late"] and occurred.replace(tzinfo=None)
              == datetime.datetime.fromisoformat(day(-1) + "T08:30"), inc)
        check(state(d, "DMPA00000003") == "repair", "damage -> repair")
        d.ctl("incident", "close", str(inc["id"]), "--outcome", "repaired")
        check(state(d, "DMPA00000003") == "stock", "repaired, no loan -> stock")
        # a failure on a loaned tablet written off: retired, loan ended
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        f = d.ctl_json("incident", "declare", "--device", "DMPA00000001", "--kind", "failure", "--occurred", day(0))
        check(state(d, "DMPA00000001") == "repair", "failure -> repair")
        d.ctl("incident", "close", str(f["id"]), "--outcome", "written_off")
        dev = d.ctl_json("device", "show", "DMPA00000001")
        check(dev["state"] == "retired" and dev["holder"] is None, dev)
        check(dev["loans"][0]["state"] == "closed" and dev["loans"][0]["end_reason"] == "written_off", dev["loans"])
        check(len(dev["incidents"]) == 1 and dev["incidents"][0]["outcome"] == "written_off", dev["incidents"])
        refused(d, ["incident", "declare", "--device", "DMPA00000001", "--kind", "loss", "--occurred", day(0)],
                "retired: no incident can be declared")
        refused(d, ["incident", "show", "999"], "no incident #999")
        shown = d.ctl("incident", "show", str(f["id"])).stdout
        check("failure of tablet DMPA00000001" in shown and "written_off" in shown, shown)


if __name__ == "__main__":
    run([test_theft_needs_police_reference, test_late_and_states])
