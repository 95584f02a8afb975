"""Policies end to end: a real ardoised, tablets simulated by ardoise-sim.

A fleet enrols and converges to the baseline and its collège's extra app; a
profile edit re-installs only that profile; an unassign removes it; a tablet
moved to another collège converges to that collège's apps; a tablet whose
pupil deleted a required app gets it back as soon as its app list comes in;
a converged fleet gets nothing more.

The tablets' collège is set with sqlite3 and the move is followed by
`ardoisectl policy reconcile --school`, standing in for the fleet records'
move handler (which calls reconcile_device).
"""
import sqlite3

from harness import Daemon, Sim, check, new_code, run, write

UAI_A = "0131266F"
UAI_B = "0750001U"
BASELINE = {"fr.ardoise.baseline." + n for n in
            ("lockscreen", "notifications", "passcode", "restrictions", "webfilter")}

WIFI = """<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadIdentifier</key><string>fr.college.wifi</string>
<key>PayloadUUID</key><string>0C8E1F52-3A1B-4C2D-9E8F-7A6B5C4D3E2F</string>
<key>PayloadDisplayName</key><string>Wi-Fi du collège</string>
<key>PayloadContent</key><array><dict>
<key>PayloadType</key><string>com.apple.wifi.managed</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadIdentifier</key><string>fr.college.wifi.w</string>
<key>PayloadUUID</key><string>5F3A2B1C-0D9E-4F8A-B7C6-D5E4F3A2B1C0</string>
<key>SSID_STR</key><string>%s</string>
<key>EncryptionType</key><string>WPA2</string>
<key>Password</key><string>correct horse</string>
</dict></array></dict></plist>
"""


def fleet(d, n):
    """n tablets enrolled and through their first sessions; the first half
    in collège A, the rest in B.  Returns (sim, {serial: device})."""
    sim = Sim(d)
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2")
    devs = sim.devices()
    serials = [x["serial"] for x in devs]
    # SQL: moves behind the daemon's back (`device move` would reconcile each at once)
    d.sqlite("INSERT INTO school(uai,name,created_at) VALUES ('%s','A',0),('%s','B',0);"
             "UPDATE device SET school='%s' WHERE serial IN (%s);"
             "UPDATE device SET school='%s' WHERE serial IN (%s);"
             % (UAI_A, UAI_B, UAI_A, ",".join("'%s'" % s for s in serials[:n // 2]),
                UAI_B, ",".join("'%s'" % s for s in serials[n // 2:])))
    return sim, serials


def on_device(sim):
    """{serial: (profiles {identifier: uuid}, apps set)} as the tablets hold them."""
    return {x["serial"]: ({p["identifier"]: p["uuid"] for p in x["profiles"]},
                          {a["identifier"] for a in x["apps"]}) for x in sim.devices()}


def connect(sim):
    r = sim.connect()
    check(r["errors"] == 0 and r["command_errors"] == 0, "sessions without errors: %r" % r)
    return r


def status(d, *args):
    return d.ctl_json("policy", "status", *args)


def test_fleet_converges_then_follows_changes():
    with Daemon() as d:
        sim, serials = fleet(d, 6)
        a_side, b_side = serials[:3], serials[3:]
        # enrolment queued the baseline after the inventory; one session each
        r = connect(sim)
        # inventory (with bypass escrow), DeclarativeManagement (iPadOS 17.5), baseline
        check(r["commands"] == 6 * (6 + 5), "inventory, DDM and baseline: %r" % r)
        held = on_device(sim)
        uuids = {p["identifier"]: p["payload_uuid"] for p in d.ctl_json("profile", "list")}
        for s in serials:
            got = {k: v for k, v in held[s][0].items() if k in BASELINE}
            check(got == {k: uuids[k] for k in BASELINE}, "%s holds the baseline: %r" % (s, held[s][0]))
        st = status(d)
        check(st["converged"] == 6 and st["pending"] == 0 and st["failing"] == 0, "converged: %r" % st)

        # collège A adds an app
        d.ctl("app", "add", "--bundle-id", "fr.college.pronote", "--name", "Pronote")
        a = d.ctl_json("policy", "assign", "app:fr.college.pronote", "--scope", "school:" + UAI_A)
        check(a["reconcile"]["queued"] == 3, "three tablets in A: %r" % a)
        connect(sim)
        held = on_device(sim)
        check(all("fr.college.pronote" in held[s][1] for s in a_side) and
              not any("fr.college.pronote" in held[s][1] for s in b_side), "app only in A")
        check(status(d)["converged"] == 6, "converged again")
        r = d.ctl_json("policy", "reconcile")
        check(r["queued"] == 0 and r["converged"] == 6, "a converged fleet gets nothing: %r" % r)

        # a profile for the fleet, then an edit: only that profile goes again
        d.ctl("profile", "add", write(d, "wifi.mobileconfig", WIFI % "COLLEGE"))
        d.ctl("policy", "assign", "profile:wifi", "--scope", "fleet")
        connect(sim)
        before = {c["uuid"] for s in serials for c in d.ctl_json("command", "list", s)}
        up = d.ctl_json("profile", "update", "wifi", write(d, "wifi2.mobileconfig", WIFI % "COLLEGE-5G"))
        check(up["reconcile"]["queued"] == 6, "one command per tablet: %r" % up)
        r = connect(sim)
        check(r["commands"] == 6, "six commands in the wave: %r" % r)
        for s in serials:
            new = [c for c in d.ctl_json("command", "list", s) if c["uuid"] not in before]
            check([c["type"] for c in new] == ["InstallProfile"] and new[0]["status"] == "acknowledged",
                  "%s: only the edited profile: %r" % (s, new))
        held = on_device(sim)
        check(all(held[s][0]["fr.college.wifi"] == up["payload_uuid"] for s in serials),
              "the tablets hold the new version")
        check(status(d)["converged"] == 6, "converged after the edit")

        # unassign: removed from the tablets
        d.ctl("policy", "unassign", "profile:wifi", "--scope", "fleet")
        connect(sim)
        held = on_device(sim)
        check(not any("fr.college.wifi" in held[s][0] for s in serials), "profile removed everywhere")
        check(all(BASELINE <= set(held[s][0]) for s in serials), "baseline untouched")

        # a tablet moves from A to B: converges to B's apps
        d.ctl("app", "add", "--bundle-id", "fr.college.b.atlas", "--name", "Atlas")
        d.ctl("policy", "assign", "app:fr.college.b.atlas", "--scope", "school:" + UAI_B)
        connect(sim)
        mover = a_side[0]
        # SQL: a move behind the daemon's back (`device move` reconciles at once)
        out = d.sqlite("UPDATE device SET school='%s' WHERE serial='%s'" % (UAI_B, mover))
        check(out.returncode == 0 and not out.stderr, "the move is written: %r" % out.stderr)
        r = d.ctl_json("policy", "reconcile", "--school", UAI_B)
        check(r["queued"] == 2, "the mover: remove A's app, install B's: %r" % r)
        connect(sim)
        held = on_device(sim)
        check("fr.college.b.atlas" in held[mover][1] and "fr.college.pronote" not in held[mover][1],
              "moved tablet holds B's apps: %r" % sorted(held[mover][1]))
        check(status(d)["converged"] == 6, "converged after the move")

        # a pupil deletes a required app; its next app list brings it back
        victim = b_side[0]
        udid = [x["udid"] for x in sim.devices() if x["serial"] == victim][0]
        state = sqlite3.connect(sim.state)
        state.execute("DELETE FROM app WHERE identifier='fr.college.b.atlas' AND device_id="
                      "(SELECT id FROM device WHERE udid=?)", (udid,))
        state.commit()
        state.close()
        check("fr.college.b.atlas" not in on_device(sim)[victim][1], "app deleted on the tablet")
        # at once: the install's acknowledgement and this list may fall in the
        # same second (the planner orders them by command, not by time)
        d.ctl("command", "send", victim, "InstalledApplicationList")
        r = sim.connect("--device", udid)
        check(r["commands"] == 2, "the list, then the install in the same session: %r" % r)
        check("fr.college.b.atlas" in on_device(sim)[victim][1], "the app is back")
        check(status(d)["converged"] == 6, "converged in the end")

        # staff views agree with the tablets
        show = d.ctl_json("policy", "show", "--device", mover)
        items = {i["identifier"]: i for i in show["items"]}
        check(items["fr.college.b.atlas"]["scopes"] == ["school:" + UAI_B] and
              all(i["state"] == "installed" for i in show["items"]), "policy show: %r" % show)
        rep = d.ctl_json("report", "apps", "--school", UAI_B)
        stock = {a["identifier"] for a in rep["unapproved"]}
        check("fr.college.b.atlas" not in stock and "fr.college.pronote" not in stock
              and not any(a.startswith("com.apple.") for a in stock),
              "neither assigned nor Apple's own apps are reported: %r" % sorted(stock))


def test_reenrolment_starts_afresh():
    """An erased tablet enrols again: the baseline is installed anew even
    though the server had recorded it as installed before the erase."""
    with Daemon() as d:
        sim = Sim(d)
        sim("enroll", "-n", "1", "--code", new_code(d, 2), "--key-pool", "2")
        connect(sim)
        serial = sim.devices()[0]["serial"]
        check(BASELINE <= set(on_device(sim)[serial][0]), "baseline installed")
        d.ctl("device", "erase", serial, "--reason", "remise à zéro")
        connect(sim)
        sim("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "2")
        check(not (BASELINE & set(on_device(sim)[serial][0])), "erased: no profile left")
        connect(sim)
        check(BASELINE <= set(on_device(sim)[serial][0]), "baseline installed again")
        check(status(d)["converged"] == 1, "converged")


if __name__ == "__main__":
    run([test_fleet_converges_then_follows_changes, test_reenrolment_starts_afresh])
