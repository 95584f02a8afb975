"""test_procedures.py - the generic command routes are no way around the
procedures (issue 11, critical), and the two-person rule needs two people.

A real ardoised, two collèges, simulated iPads enrolled through SCEP; an ATI
of the first collège tries what the review found it could do: locate a
pupil's tablet, put it in Lost Mode, install a profile of its own (carrying
a root CA), remove the baseline's web filter, wipe or unlock tablets, and do
it for the whole collège in one bulk call.  Then a technician tries the
same through the generic routes, and a second technician whose token the
requester made tries to approve a geolocation request.
"""
import base64
import json

from harness import Daemon, Sim, check, run

UAI = "0131266F"
OTHER = "0132318Z"
CONFIG = "[geolocation]\napproval = two-person\n"

# a profile an ATI would like to slip in: a root CA payload
ROGUE_PROFILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadContent</key><array><dict>
<key>PayloadType</key><string>com.apple.security.root</string>
<key>PayloadIdentifier</key><string>fr.evil.root</string>
<key>PayloadUUID</key><string>6E0F8A5B-2D47-4E0B-9B7F-2E9E4C1D2A10</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadContent</key><data>MIIB</data>
</dict></array>
<key>PayloadIdentifier</key><string>fr.evil</string>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadUUID</key><string>0B7F3C2A-9D1E-4F6A-8C5B-3A2E1D0C9B8A</string>
<key>PayloadVersion</key><integer>1</integer>
</dict></plist>
"""

# what the ATI tried, each with a body for the generic route
PROCEDURE_COMMANDS = [
    ("DeviceLocation", []),
    ("EnableLostMode", ["Message=Rendez-la"]),
    ("DisableLostMode", []),
    ("PlayLostModeSound", []),
    ("InstallProfile", ["Payload=" + base64.b64encode(ROGUE_PROFILE).decode()]),
    ("RemoveProfile", ["Identifier=fr.ardoise.baseline.webfilter"]),
    ("InstallApplication", ["iTunesStoreID=361309726"]),
    ("RemoveApplication", ["Identifier=com.apple.Pages"]),
    ("ClearPasscode", ["UnlockToken=" + base64.b64encode(b"x" * 32).decode()]),
    ("EraseDevice", []),
    ("ActivationLockBypassCode", []),
]


def token_of(d, *args):
    out = d.ctl("account", "create", *args, "--json")
    return json.loads(out.stdout)["token"]


def fleet(d):
    d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
    d.ctl("school", "add", OTHER, "--name", "Clg Elie Coutarel")
    code = d.ctl_json("enroll-code", "new", "--uses", "3")["code"]
    sim = Sim(d)
    sim.run("enroll", "-n", "3", "--code", code)
    sim.run("connect")
    serials = sorted(x["serial"] for x in sim.devices())
    d.ctl("device", "move", serials[0], "--school", UAI)
    d.ctl("device", "move", serials[1], "--school", UAI)
    d.ctl("device", "move", serials[2], "--school", OTHER)
    ati = token_of(d, "--name", "ati.aubagne", "--role", "ati", "--school", UAI)
    return sim, serials, ati


def pending_types(d, serial):
    cmds = d.api("GET", "/api/v1/devices/%s/commands" % serial)
    return {c["type"] for c in cmds if c["status"] in ("queued", "sent")}


def send(d, serial, type_, params, token, reason=None):
    body = {"type": type_, "params": params}
    if reason:
        body["reason"] = reason
    return d.request("POST", "/api/v1/devices/%s/commands" % serial, body=body, token=token)


def test_ati_generic_route_refuses_procedures():
    """An ATI cannot locate, Lost-Mode, install/remove profiles or apps, wipe,
    unlock or read the bypass code through the generic route."""
    d, (sim, serials, ati) = D, FLEET
    mine = serials[0]
    before = pending_types(d, mine)
    for type_, params in PROCEDURE_COMMANDS:
        status, _, body = send(d, mine, type_, params, ati, reason="test")
        check(status == 403, "ATI %s through the generic route: expected 403, got %d %s"
              % (type_, status, body[:200]))
        msg = json.loads(body)["error"]["message"]
        check(type_ in msg and ("ardoisectl" in msg or "procedure" in msg or "catalogue" in msg),
              "the refusal names the procedure's own command: %r" % msg)
    check(pending_types(d, mine) == before, "nothing was queued: %r" % pending_types(d, mine))
    reg = d.ctl_json("locate", "register")
    check(reg == [], "no geolocation happened outside the register: %r" % reg)


def test_technician_generic_route_refuses_procedures():
    """Technicians too: a procedure's command goes through its procedure."""
    d, (sim, serials, ati) = D, FLEET
    for type_, params in PROCEDURE_COMMANDS:
        status, _, body = send(d, serials[0], type_, params, "admin", reason="test")
        check(status == 403, "technician %s through the generic route: got %d %s"
              % (type_, status, body[:200]))
    status, _, body = send(d, serials[0], "Settings",
                           ["MDMOptions.MDMOptions.ActivationLockAllowedWhileSupervised=true"],
                           "admin", reason="test")
    check(status == 403 and b"MDMOptions" in body, "Settings with MDMOptions refused: %d %s"
          % (status, body[:200]))


def test_ati_keeps_harmless_commands():
    """The ATI keeps DeviceInformation, RestartDevice, DeviceLock with a reason."""
    d, (sim, serials, ati) = D, FLEET
    mine, other = serials[0], serials[2]
    for type_ in ("DeviceInformation", "RestartDevice"):
        status, _, body = send(d, mine, type_, [], ati)
        check(status == 201, "ATI %s: %d %s" % (type_, status, body[:200]))
    status, _, body = send(d, mine, "DeviceLock", ["Message=Rendez-la au CDI"], ati)
    check(status == 400 and b"reason" in body, "DeviceLock without a reason: %d %s"
          % (status, body[:200]))
    status, _, body = send(d, mine, "DeviceLock", ["Message=Rendez-la au CDI"], ati,
                           reason="tablette non rendue")
    check(status == 201, "DeviceLock with a reason: %d %s" % (status, body[:200]))
    status, _, body = send(d, other, "DeviceInformation", [], ati)
    check(status in (403, 404), "another collège's tablet: %d" % status)
    rows = [r for r in d.ctl_json("audit", "list") if r["action"] == "command.send"]
    locks = [r for r in rows if "DeviceLock" in json.dumps(r)]
    check(locks and any(r.get("reason") == "tablette non rendue" for r in locks),
          "the DeviceLock's reason is in its audit row: %r" % locks)
    status, _, body = send(d, mine, "Settings", ["DeviceName.DeviceName=ipad"], ati,
                           reason="nom")
    check(status == 403, "Settings is for technicians: %d" % status)


def test_bulk_is_for_technicians():
    """One bulk call located every tablet of the collège: bulk is technicians only,
    and takes only the harmless types too."""
    d, (sim, serials, ati) = D, FLEET
    for type_ in ("DeviceLocation", "DeviceInformation"):
        status, _, body = d.request("POST", "/api/v1/commands/bulk", token=ati,
                                    body={"type": type_, "params": [], "school": UAI})
        check(status == 403, "ATI bulk %s: %d %s" % (type_, status, body[:200]))
    check("DeviceLocation" not in pending_types(d, serials[0]), "nothing located")
    status, _, body = d.request("POST", "/api/v1/commands/bulk",
                                body={"type": "DeviceLocation", "params": [], "school": UAI})
    check(status == 403, "technician bulk DeviceLocation: %d" % status)
    out = d.ctl_json("command", "bulk", "SecurityInfo", "--school", UAI)
    check(out["queued"] == 2, "technician bulk of a harmless command: %r" % out)


def test_device_erase_procedure():
    """EraseDevice outside a loan return: a technician's `device erase --reason`,
    audited; ATIs refused; no reason refused."""
    d, (sim, serials, ati) = D, FLEET
    out = d.ctl("device", "erase", serials[1], "--reason", "x", token=ati, expect=1)
    check("403" in out.stderr, "ATI cannot erase: %r" % out.stderr)
    status, _, body = d.request("POST", "/api/v1/devices/%s/erase" % serials[1], body={})
    check(status == 400 and b"reason" in body, "a reason is required: %d %s" % (status, body))
    res = d.ctl_json("device", "erase", serials[1], "--reason", "tablette remise au parc")
    check(res["type"] == "EraseDevice" and res["status"] == "queued", "queued: %r" % res)
    rows = [r for r in d.ctl_json("audit", "list") if r["action"] == "device.erase"]
    check(len(rows) == 1 and rows[0]["reason"] == "tablette remise au parc",
          "the erase is audited with its reason: %r" % rows)
    sim.run("connect")
    dev = [x for x in sim.devices() if x["serial"] == serials[1]][0]
    check(dev["state"] in ("erased", "enrolled"), "the tablet was wiped: %r" % dev)


def test_two_person_rule_needs_two_people():
    """A technician who made another account (and so holds its token) cannot
    approve their own request as that account; nor can a token issued today."""
    d, (sim, serials, ati) = D, FLEET
    puppet = token_of(d, "--name", "tech.puppet", "--role", "technician")
    inc = d.ctl_json("incident", "declare", "--device", serials[0], "--kind", "theft",
                     "--occurred", "2026-11-23", "--police-ref", "PV-13-2026-4242")
    req = d.ctl_json("locate", "request", serials[0], "--incident", str(inc["id"]),
                     "--reason", "vol déclaré")
    out = d.ctl("locate", "approve", str(req["id"]), token=puppet, expect=1)
    check("403" in out.stderr and "issued" in out.stderr,
          "a token the requester issued cannot approve: %r" % out.stderr)
    # the puppet rotates its own token: still the requester's
    rot = d.ctl_json("token", "rotate", token=puppet)
    out = d.ctl("locate", "approve", str(req["id"]), token=rot["token"], expect=1)
    check("403" in out.stderr, "rotating it oneself changes nothing: %r" % out.stderr)
    # a third technician rotates it: a fresh token, not for 24 h
    third = token_of(d, "--name", "tech.third", "--role", "technician")
    # SQL: a token nobody here issued (no verb makes one, by design)
    d.sqlite("UPDATE account SET token_by = '', token_at = 0 WHERE name = 'tech.third'")
    rot = json.loads(d.ctl("token", "rotate", "--account", "tech.puppet", "--json",
                           token=third).stdout)
    out = d.ctl("locate", "approve", str(req["id"]), token=rot["token"], expect=1)
    check("403" in out.stderr and "24 h" in out.stderr, "a fresh token waits a day: %r" % out.stderr)
    check(d.ctl_json("locate", "show", str(req["id"]))["state"] == "pending", "still pending")
    # a day later (the issue time moved back), the colleague approves
    d.sqlite("UPDATE account SET token_at = token_at - 90000 WHERE name = 'tech.puppet'")
    res = d.ctl_json("locate", "approve", str(req["id"]), token=rot["token"])
    check(res["state"] == "approved", "approved by a real second person: %r" % res)


D = FLEET = None


def main():
    global D, FLEET
    # one daemon and one fleet for every test (enrolment is the slow part);
    # the erase and the two-person test come last: they change the fleet
    with Daemon(config=CONFIG) as d:
        D, FLEET = d, fleet(d)
        run(TESTS)


TESTS = [
    test_ati_generic_route_refuses_procedures,
    test_technician_generic_route_refuses_procedures,
    test_ati_keeps_harmless_commands,
    test_bulk_is_for_technicians,
    test_device_erase_procedure,
    test_two_person_rule_needs_two_people,
]

if __name__ == "__main__":
    main()
