"""Lock-code reset and the geolocation procedure, end to end with ardoise-sim.

A real ardoised, real simulated iPads (enrolled through SCEP, talking TLS
with their own certificates), driven through ardoisectl as staff would.
"""
import os

from fleet_common import A as UAI, B as OTHER, enrolled_sims
from harness import Daemon, check, run, token_of

CONFIG = "[geolocation]\napproval = two-person\nexpiry_hours = 1\nretention_days = 1\n"


def fleet(d, n=2):
    """n enrolled tablets of collège UAI, drained; staff accounts."""
    sim, serials = enrolled_sims(d, n, [UAI, OTHER])
    staff = {
        "tech2": token_of(d.ctl("account", "create", "--name", "tech2", "--role", "technician")),
        "ati": token_of(d.ctl("account", "create", "--name", "ati1", "--role", "ati", "--school", UAI)),
        "auditor": token_of(d.ctl("account", "create", "--name", "cnil", "--role", "auditor")),
    }
    # tech2 stands for a colleague whose token nobody else issued (the
    # two-person rule refuses a token the requester made: tests/security)
    d.sqlite("UPDATE account SET token_by = '', token_at = 0 WHERE name = 'tech2'")
    return sim, serials, staff


def command_status(d, serial, type_):
    cmds = d.ctl_json("command", "list", serial)
    mine = [c for c in cmds if c["type"] == type_]
    check(mine, "%s has a %s command: %r" % (serial, type_, cmds))
    return mine[0]["status"], mine[0]


def test_clear_passcode_scope_and_result():
    with Daemon() as d:
        sim, (mine, other), staff = fleet(d)
        check(sim.device(mine)["passcode_present"], "simulated iPads start with a lock code")
        out = d.ctl("device", "clear-passcode", mine, token=staff["ati"], expect=2)
        check("reason" in out.stderr, "a reason is required: %r" % out.stderr)
        d.ctl("device", "clear-passcode", mine, "--reason", "code oublié, élève de 5B", token=staff["ati"])
        out = d.ctl("device", "clear-passcode", other, "--reason", "x", token=staff["ati"], expect=1)
        check("404" in out.stderr and "in your collèges" in out.stderr,
              "an ATI of one collège gets 404 on another's tablet, as on an unknown one: %r" % out.stderr)
        out = d.ctl("device", "clear-passcode", mine, "--reason", "again", token=staff["ati"], expect=1)
        check("already pending" in out.stderr, "no second ClearPasscode while one is pending: %r" % out.stderr)
        sim.run("connect")
        status, cmd = command_status(d, mine, "ClearPasscode")
        check(status == "acknowledged", "ClearPasscode acknowledged: %r" % cmd)
        check(not sim.device(mine)["passcode_present"], "the tablet's lock code is gone")
        shown = d.ctl_json("command", "show", cmd["uuid"])
        check(shown["status"] == "acknowledged", "command show gives the result")
        audit = d.ctl_json("audit", "list")
        rows = [a for a in audit if a["action"] == "device.clear_passcode"]
        check(rows and rows[0]["reason"] == "code oublié, élève de 5B", "audited with its reason: %r" % rows)
        d.ctl("audit", "verify")


def test_locate_refusals():
    with Daemon(config=CONFIG) as d:
        sim, (mine, other), staff = fleet(d)
        out = d.ctl("locate", "request", mine, "--authority-ref", "PV-1", "--reason", "x",
                    token=staff["ati"], expect=1)
        check("403" in out.stderr, "ATIs cannot ask for a location: %r" % out.stderr)
        out = d.ctl("locate", "request", mine, "--incident", "999", "--reason", "perdue", expect=1)
        check("409" in out.stderr and "incident" in out.stderr, "no open incident -> 409: %r" % out.stderr)
        inc = d.ctl_json("incident", "declare", "--device", mine, "--kind", "damage", "--occurred", "2026-11-20")
        out = d.ctl("locate", "request", mine, "--incident", str(inc["id"]), "--reason", "x", expect=1)
        check("409" in out.stderr, "a damage incident does not allow geolocation: %r" % out.stderr)
        check(d.ctl_json("locate", "register") == [], "refused requests leave no register entry")


def test_locate_full_cycle_expiry_and_purge():
    with Daemon(config=CONFIG) as d:
        sim, (mine, other), staff = fleet(d)
        inc = d.ctl_json("incident", "declare", "--device", mine, "--kind", "theft", "--occurred",
                         "2026-11-23", "--police-ref", "PV-13-2026-4242")
        req = d.ctl_json("locate", "request", mine, "--incident", str(inc["id"]), "--reason",
                         "vol déclaré, plainte PV-13-2026-4242")
        check(req["state"] == "pending", "two-person approval: pending first: %r" % req)
        out = d.ctl("locate", "approve", str(req["id"]), expect=1)
        check("403" in out.stderr and "own" in out.stderr, "the requester cannot approve: %r" % out.stderr)
        req = d.ctl_json("locate", "approve", str(req["id"]), token=staff["tech2"])
        check(req["state"] == "approved" and req["decided_by"] == "tech2", "approved: %r" % req)
        sim.run("connect")
        check(sim.device(mine)["lost_mode"], "EnableLostMode reached the tablet")
        shown = d.ctl_json("locate", "show", str(req["id"]))
        check(len(shown["locations"]) == 1, "one location taken: %r" % shown)
        loc = shown["locations"][0]
        check(abs(loc["latitude"] - sim.device(mine)["latitude"]) < 1e-6, "the tablet's coordinates")
        check(shown["reads"] == 1, "the read is counted")
        d.ctl("locate", "refresh", str(req["id"]))
        sim.run("connect")
        check(d.ctl_json("locate", "show", str(req["id"]))["fixes"] == 2, "refresh adds a location")
        raw = d.sqlite("SELECT hex(sealed) FROM locate_fix").stdout
        check(("%.4f" % loc["latitude"]).encode().hex().upper() not in raw, "coordinates are sealed at rest")
        # past the time box (1 h): expired, no new location
        d.stop()
        os.environ["ARDOISE_CLOCK_OFFSET"] = str(2 * 3600)
        try:
            d.start()
            d.api("POST", "/api/v1/jobs/locate_expire/run")
            out = d.ctl("locate", "refresh", str(req["id"]), expect=1)
            check("409" in out.stderr, "no new location after the time box: %r" % out.stderr)
            check(d.ctl_json("locate", "show", str(req["id"]))["state"] == "expired", "expired")
            # retention (1 day after expiry): coordinates purged, entry kept
            d.stop()
            os.environ["ARDOISE_CLOCK_OFFSET"] = str(2 * 3600 + 2 * 86400)
            d.start()
            d.api("POST", "/api/v1/jobs/locate_purge/run")
            shown = d.ctl_json("locate", "show", str(req["id"]))
            check(shown["locations"] == [] and shown["purged_at"], "purged: %r" % shown)
            reg = d.ctl_json("locate", "register", token=staff["auditor"])
            check(len(reg) == 1 and reg[0]["fixes"] == 2 and reg[0]["requested_by"] == "admin"
                  and reg[0]["decided_by"] == "tech2" and reg[0]["reads"] >= 3,
                  "the register keeps who, why, counts: %r" % reg)
            out = d.ctl("locate", "register", token=staff["ati"], expect=1)
            check("403" in out.stderr, "ATIs do not read the register")
        finally:
            os.environ.pop("ARDOISE_CLOCK_OFFSET", None)
        actions = [a["action"] for a in d.ctl_json("audit", "list")]
        for a in ("locate.request", "locate.approve", "locate.read", "locate.refresh", "locate.purge"):
            check(a in actions, "%s is in the audit log" % a)
        d.ctl("audit", "verify")


def test_locate_found_disables_lost_mode():
    with Daemon(config="[geolocation]\napproval = single\n") as d:
        sim, (mine, other), staff = fleet(d)
        req = d.ctl_json("locate", "request", other, "--authority-ref", "Réquisition gendarmerie 2026/118",
                         "--reason", "demande écrite des autorités")
        check(req["state"] == "approved", "single approval: approved at once: %r" % req)
        sim.run("connect")
        check(sim.device(other)["lost_mode"], "in lost mode")
        d.ctl("locate", "close", str(req["id"]), "--found")
        sim.run("connect")
        check(not sim.device(other)["lost_mode"], "DisableLostMode when found")
        status, _ = command_status(d, other, "DisableLostMode")
        check(status == "acknowledged", "DisableLostMode acknowledged")


def test_locate_approval_reason():
    """The approver's reason (optional) goes to the audit row the register
    page reads; a bad one is refused and leaves the request pending."""
    with Daemon(config=CONFIG) as d:
        sim, (mine, other), staff = fleet(d)
        req = d.ctl_json("locate", "request", other, "--authority-ref", "Réquisition 2026/7",
                         "--reason", "demande écrite")
        path = "/api/v1/locate/%d/approve" % req["id"]
        for bad in ({"reason": 12}, {"reason": "x" * 600}, {"reason": "a\nb"}, [1], "approve"):
            status, _, body = d.request("POST", path, body=bad, token=staff["tech2"])
            check(status == 400, "approve with %r: 400, got %d %s" % (str(bad)[:40], status, body[:200]))
        check(d.ctl_json("locate", "show", str(req["id"]))["state"] == "pending", "still pending")
        status, _, body = d.request("POST", path, body={"reason": "réquisition vérifiée"})
        check(status == 403 and b"own" in body, "the requester still cannot approve: %d %s" % (status, body))
        done = d.api("POST", path, body={"reason": "réquisition vérifiée par téléphone"}, token=staff["tech2"])
        check(done["state"] == "approved" and done["decided_by"] == "tech2", done)
        rows = d.api("GET", "/api/v1/audit?action=locate.approve", token=staff["auditor"])["rows"]
        check(len(rows) == 1 and rows[0]["reason"] == "réquisition vérifiée par téléphone"
              and rows[0]["detail"]["request"] == req["id"] and rows[0]["actor"] == "tech2",
              "the approver's reason in the audit log: %r" % rows)


def test_locate_link_counts_as_issued():
    """A password link lets whoever holds it set the password: a technician
    who made another's link cannot have that account approve its own
    request (two people, not two accounts in one hand); one's own link
    changes nothing."""
    with Daemon(config=CONFIG) as d:
        sim, (mine, other), staff = fleet(d)
        req = d.ctl_json("locate", "request", other, "--authority-ref", "Réquisition 2026/9",
                         "--reason", "demande écrite")
        d.api("POST", "/api/v1/accounts/admin/invite")  # the requester's own link
        d.api("POST", "/api/v1/accounts/tech2/password-reset")  # the requester made tech2's link
        path = "/api/v1/locate/%d/approve" % req["id"]
        status, _, body = d.request("POST", path, body={}, token=staff["tech2"])
        check(status == 403 and b"issued by the requester" in body,
              "an account whose link the requester made cannot approve: %d %s" % (status, body))
        check(d.ctl_json("locate", "show", str(req["id"]))["state"] == "pending", "still pending")
        # admin's own link left admin able to approve another's request
        d.ctl("locate", "deny", str(req["id"]), "--reason", "refait par tech2", token=staff["tech2"])
        two = d.ctl_json("locate", "request", other, "--authority-ref", "Réquisition 2026/9",
                         "--reason", "demande écrite", token=staff["tech2"])
        done = d.api("POST", "/api/v1/locate/%d/approve" % two["id"], body={})
        check(done["state"] == "approved" and done["decided_by"] == "admin", done)


if __name__ == "__main__":
    run([test_clear_passcode_scope_and_result, test_locate_refusals,
         test_locate_full_cycle_expiry_and_purge, test_locate_found_disables_lost_mode,
         test_locate_approval_reason, test_locate_link_counts_as_issued])
