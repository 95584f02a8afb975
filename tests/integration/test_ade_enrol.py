"""Enrolment through Automated Device Enrolment (issue 16): the tablet
POSTs its MachineInfo signed by Apple (here by the stand-in chain of
ade_standin.MachineInfoSigner, whose root is [ade] machineinfo_anchor) to
/mdm/ade/enroll.  An assigned tablet gets the signed enrolment profile; a
serial ASM did not assign, or removed, is refused 403 and the refusal
recorded; a tablet below [ade] min_os gets Apple's schema-valid 403
com.apple.softwareupdate.required (checked with mdm-schema-check), naming
min_os, or the newest version the update catalogue offers its PRODUCT when
one is loaded (the GDMF stand-in), and does not enrol, or a plain 403 when it cannot update itself; a bad signature,
another anchor, garbage and a huge body are refused with nothing stored.

With ardoise-sim ade-enroll: an assigned tablet enrols supervised and
awaiting configuration, receives the baseline, then DeviceConfigured (only
then: ade_device.configured_at set, awaiting_config cleared, audited); an
unassigned serial and a tablet below min_os do not enrol; a returned
tablet (loan, return: EraseDevice) comes back through ADE by itself at its
next session, with a new identity, keeping its collège; the generic command
route refuses DeviceConfigured; a tablet whose plan never settles is
released after [ade] await_release_minutes (its commands made to look old
with sqlite3: the clock cannot be moved), audited.

The tablets are put in ade_device with harness.ade_assign() (sqlite3 while
the daemon is stopped) until the ADE sync fills it from the stand-in.
"""
import base64
import json
import os
import plistlib
import re
import subprocess
import tempfile

from ade_standin import MachineInfoSigner
from gdmf_standin import FIXTURE, GdmfStandin, load_catalogue, standin_pki, updates_config
from harness import (Daemon, Sim, ade_assign, check, read_response, run, schema_check,
                     write)

SIGNER = MachineInfoSigner()
UAI = "0131266F"


def catalogue_daemon():
    ca, cert, key = standin_pki()
    return GdmfStandin(cert, key), ca


def config(min_os="17.4", anchor=None):
    return "[ade]\nmin_os = %s\nmachineinfo_anchor = %s\n" % (min_os, anchor or SIGNER.root)


def info(serial, os_version="17.6.1", can_update=True, **over):
    i = {"UDID": "00008103-%016X" % abs(hash(serial)), "SERIAL": serial,
         "PRODUCT": "iPad13,18", "VERSION": "21G93", "LANGUAGE": "fr"}
    if os_version:
        i["OS_VERSION"] = os_version
    if can_update is not None:
        i["MDM_CAN_REQUEST_SOFTWARE_UPDATE"] = can_update
    i.update(over)
    return i


def post(d, blob, signer=SIGNER):
    body = blob if isinstance(blob, bytes) and not blob.startswith(b"<?xml") else signer.sign(blob)
    return d.request("POST", "/mdm/ade/enroll", body=body, token=None,
                     headers={"Content-Type": "application/pkcs7-signature",
                              "Accept-Language": "fr"})


def english(body):
    e = json.loads(body)["error"]
    return e.get("message_en", e["message"])


def ade_row(d, serial):
    out = d.sqlite("SELECT coalesce(enrolled_at,0), coalesce(refused_at,0), refusal,"
                   " coalesce(configured_at,0) FROM ade_device WHERE serial='%s'" % serial)
    e, r, why, c = out.stdout.strip().split("|")
    return {"enrolled_at": int(e), "refused_at": int(r), "refusal": why, "configured_at": int(c)}


def codes(d):
    return int(d.sqlite("SELECT count(*) FROM enroll_code WHERE created_by='ade'").stdout)


def test_endpoint_answers():
    with Daemon(config=config()) as d:
        d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
        ade_assign(d, ["ADEOK0000001", "ADEOLD000001", "ADEOLD000002"], school=UAI)
        ade_assign(d, ["ADEGONE00001"], removed=True)
        # assigned: the signed profile, a code made for that serial
        st, h, body = post(d, info("ADEOK0000001"))
        check(st == 200 and h["content-type"] == "application/x-apple-aspen-config",
              "assigned tablet: %d %r %r" % (st, h, body[:200]))
        check(b"fr.ardoise.enroll" in body and body[:1] == b"\x30", "a CMS-signed profile")
        check(ade_row(d, "ADEOK0000001")["enrolled_at"] > 0, "enrolled_at set")
        check(codes(d) == 1, "one code by ade")
        serial_of = d.sqlite("SELECT serial FROM enroll_code WHERE created_by='ade'").stdout
        check(serial_of.strip() == "ADEOK0000001", "the code is bound to the serial")
        # the same MachineInfo replayed: still one live code for the tablet
        blob = SIGNER.sign(info("ADEOK0000001"))
        for _ in range(4):
            check(post(d, blob)[0] == 200, "a replay is answered as the tablet would be")
        check(codes(d) == 1, "a replayed MachineInfo leaves one code, not one a request")
        # not assigned
        st, _, body = post(d, info("NOTASSIGNED1"))
        check(st == 403 and "Apple School Manager" in english(body),
              "unassigned: %d %r" % (st, body))
        # removed from Ardoise in ASM: refused and recorded
        st, _, body = post(d, info("ADEGONE00001"))
        check(st == 403, "removed: %d %r" % (st, body))
        row = ade_row(d, "ADEGONE00001")
        check(row["refused_at"] > 0 and "no longer assigned" in row["refusal"], "recorded: %r" % row)
        check(row["enrolled_at"] == 0, "not enrolled")
        # below min_os, can update: Apple's 403, schema-valid
        st, h, body = post(d, info("ADEOLD000001", os_version="17.1"))
        check(st == 403 and h["content-type"].startswith("application/json"),
              "below min_os: %d %r" % (st, h))
        doc = json.loads(body)
        check(doc["code"] == "com.apple.softwareupdate.required"
              and doc["details"] == {"OSVersion": "17.4"} and "17.4" in doc["message"],
              "the version to install: %r" % doc)
        path = os.path.join(d.tmp, "su.json")
        with open(path, "wb") as f:
            f.write(body)
        schema_check([path], "--kind", "error")
        row = ade_row(d, "ADEOLD000001")
        check(row["enrolled_at"] == 0 and "update required to iPadOS 17.4" in row["refusal"],
              "refused, recorded: %r" % row)
        # below min_os, cannot update (flag false / absent: before iPadOS 17)
        for i in (info("ADEOLD000002", os_version="17.1", can_update=False),
                  info("ADEOLD000002", os_version=None, can_update=None)):
            st, h, body = post(d, i)
            check(st == 403 and "error" in json.loads(body), "cannot update: %d %r" % (st, body))
        check("cannot update itself" in ade_row(d, "ADEOLD000002")["refusal"], "recorded")
        check(codes(d) == 1, "no code for any refusal")
        # GET with the blob in x-apple-aspen-deviceinfo (the web-view flow)
        b64 = base64.b64encode(SIGNER.sign(info("ADEOK0000001"))).decode()
        st, h, body = d.request("GET", "/mdm/ade/enroll", token=None,
                                headers={"x-apple-aspen-deviceinfo": b64})
        check(st == 200 and h["content-type"] == "application/x-apple-aspen-config",
              "web-view flow: %d" % st)
        st, _, _ = d.request("GET", "/mdm/ade/enroll", token=None,
                             headers={"x-apple-aspen-deviceinfo": "!!!!" + b64[4:]})
        check(st == 400, "bad base64: %d" % st)


def test_hostile_machine_info():
    with Daemon(config=config()) as d:
        ade_assign(d, ["ADEOK0000001"])
        other = MachineInfoSigner()
        good = SIGNER.sign(info("ADEOK0000001"))
        bad = [("another root", other.sign(info("ADEOK0000001")), 400),
               ("not signed", plistlib.dumps(info("ADEOK0000001")), 400),
               ("tampered", good.replace(b"ADEOK0000001", b"ADEOK0000002"), 400),
               ("truncated", good[:len(good) // 2], 400),
               ("garbage", os.urandom(3000), 400),
               ("empty", b"", 400),
               ("a hostile serial", SIGNER.sign(info("A' OR 1=1--")), 400),
               ("a serial of the wrong type", SIGNER.sign(info("X", SERIAL=12)), 400)]
        for what, blob, want in bad:
            st, _, body = d.request("POST", "/mdm/ade/enroll", body=blob, token=None,
                                    headers={"Content-Type": "application/pkcs7-signature"})
            check(st == want, "%s: expected %d, got %d %r" % (what, want, st, body[:200]))
        s = d.raw_tls()  # a huge body: refused from its head, before it is read
        s.sendall(b"POST /mdm/ade/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 204800\r\n"
                  b"Content-Type: application/pkcs7-signature\r\n\r\n" + b"\x30" * 1024)
        st, _, _ = read_response(s.makefile("rb"))
        s.close()
        check(st == 413, "huge body: %d" % st)
        check(codes(d) == 0 and ade_row(d, "ADEOK0000001")["enrolled_at"] == 0,
              "nothing stored for any of them")
        check(d.alive(), "the daemon is still up")
    # no anchor configured: every ADE enrolment refused, clearly
    with Daemon(config="[ade]\nmin_os = 17.0\n") as d:
        ade_assign(d, ["ADEOK0000001"])
        st, _, body = post(d, info("ADEOK0000001"))
        check(st == 503 and "not set up" in english(body),
              "no anchor: %d %r" % (st, body))
        check("machineinfo_anchor" in d.log(), "the log says which key to set")


def ade_sim(d, sim, *args, expect=0):
    return sim("ade-enroll", "--enroll-url", d.url + "/mdm/ade/enroll", "--signer-cert",
               SIGNER.leaf, "--signer-key", SIGNER.leaf_key, "--signer-chain", SIGNER.ca,
               *args, expect=expect)


def awaiting(d, serial):
    return int(d.sqlite("SELECT awaiting_config FROM device WHERE serial='%s'" % serial).stdout)


def commands(d, serial):
    return d.ctl_json("command", "list", serial)


def settle(d, sim, serial):
    """Sessions until DeviceConfigured is acknowledged (a few at most)."""
    for _ in range(5):
        sim.connect()
        if ade_row(d, serial)["configured_at"]:
            return
    check(False, "DeviceConfigured never acknowledged: %r" % commands(d, serial))


def test_sim_enrols_is_configured_and_comes_back():
    with Daemon(config=config()) as d:
        d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
        ade_assign(d, ["ADE000000001", "ADE000000002", "OLD000000001"], school=UAI)
        sim = Sim(d)
        out = ade_sim(d, sim, "-n", "2", "--serial-prefix", "ADE", "--os-version", "17.6")
        check("2 of 2 devices enrolled through ADE" in out.stdout, out.stdout)
        serial = "ADE000000001"
        dev = sim.device(serial)
        check(dev["state"] == "enrolled" and dev["supervised"] and dev["awaiting_configuration"],
              "enrolled, supervised, awaiting configuration: %r" % dev)
        check(awaiting(d, serial) == 1, "the daemon knows it awaits configuration")
        check(ade_row(d, serial)["configured_at"] == 0, "not configured yet")
        first_cert = d.sqlite("SELECT cert_fp FROM device WHERE serial='%s'" % serial).stdout
        settle(d, sim, serial)
        dev = sim.device(serial)
        held = {p["identifier"] for p in dev["profiles"]}
        check(not dev["awaiting_configuration"], "released from Setup Assistant: %r" % dev)
        check({"fr.ardoise.baseline.passcode", "fr.ardoise.baseline.restrictions"} <= held,
              "the baseline was installed first: %r" % held)
        cmds = commands(d, serial)
        conf = [c for c in cmds if c["type"] == "DeviceConfigured"]
        check(len(conf) == 1 and conf[0]["status"] == "acknowledged", "once: %r" % conf)
        check(cmds[0]["type"] == "DeviceConfigured", "sent last, after the baseline: %r"
              % [c["type"] for c in cmds])
        installs = [c for c in cmds if c["type"] == "InstallProfile"]
        check(installs and all(c["status"] == "acknowledged" for c in installs),
              "every baseline profile acknowledged: %r" % installs)
        check(awaiting(d, serial) == 0, "awaiting_config cleared")
        shown = d.ctl_json("device", "show", serial)["ade"]
        check(shown["assigned"] and shown["enrolled_at"] and shown["configured_at"]
              and shown["refused_at"] is None, "the tablet's page says it came through ADE: %r"
              % shown)
        text = d.ctl("device", "show", serial, lang="fr_FR.UTF-8").stdout
        check("Apple School Manager (inscription automatisée)" in text
              and re.search(r"inscrite par ADE le \d\d/\d\d/\d{4} \d\d:\d\d, configurée "
                            r"\d\d/\d\d/\d{4}", text),
              "in French, dates JJ/MM/AAAA: %s" % text)
        audit = [a for a in d.ctl_json("audit", "list") if a["action"] == "device.configured"]
        check(len(audit) == 2, "both tablets' DeviceConfigured audited: %r" % audit)
        # staff cannot send DeviceConfigured through the generic route
        st, _, body = d.request("POST", "/api/v1/devices/%s/commands" % serial,
                                body={"type": "DeviceConfigured", "reason": "essai"})
        check(st == 403 and b"ADE" in body, "generic route: %d %r" % (st, body))
        # below min_os: told to update, not enrolled; unassigned: refused
        out = ade_sim(d, sim, "--serials", serials_file(d, ["OLD000000001"]),
                      "--os-version", "17.1")
        check("1 told to update first" in out.stdout, out.stdout)
        old = sim.device("OLD000000001")
        check(old["state"] != "enrolled" and old["ade"]["refusal"] == "update required to 17.4",
              "recorded by the tablet: %r" % old)
        shown = d.ctl_json("device", "show", "OLD000000001")["ade"]
        check(shown["enrolled_at"] is None and "update required" in shown["refusal"],
              "and by Ardoise: %r" % shown)
        out = ade_sim(d, sim, "-n", "1", "--serial-prefix", "NOPE", expect=1)
        check("403" in out.stderr and "Apple School Manager" in out.stderr, out.stderr)
        # a loan and its return: the erase, then back through ADE by itself
        d.ctl("person", "import", write(d, "people.csv",
                                         "external_id;kind;name;class;uai;agreement\n"
                                         "E-1;pupil;Léa Dupont;5B;%s;2024-09-02\n" % UAI))
        d.ctl("loan", "create", "--device", serial, "--person", "E-1")
        d.ctl("loan", "return", serial, "--condition", "ok")
        sim.connect()  # the erase: acknowledged, then the tablet wipes itself
        check(sim.device(serial)["state"] in ("erased", "enrolled"), "erased")
        settle(d, sim, serial)  # comes back through ADE, configured again
        dev = d.ctl_json("device", "show", serial)
        check(dev["school"] == UAI and dev["state"] == "stock",
              "same record, same collège, back in stock: %r" % dev)
        again = d.sqlite("SELECT cert_fp FROM device WHERE serial='%s'" % serial).stdout
        check(again.strip() and again != first_cert, "a new identity after the erase")
        check(sim.device(serial)["state"] == "enrolled", "enrolled again")
        confs = [c for c in commands(d, serial) if c["type"] == "DeviceConfigured"]
        check(len(confs) == 2, "configured again after the re-enrolment: %r" % confs)
        d.ctl("audit", "verify")


def serials_file(d, serials):
    return write(d, "serials.txt", "\n".join(serials) + "\n")


def test_stuck_tablet_is_released():
    with Daemon(config=config() + "await_release_minutes = 30\n") as d:
        ade_assign(d, ["ADE000000001"])
        sim = Sim(d)
        ade_sim(d, sim, "-n", "1", "--serial-prefix", "ADE", "--os-version", "17.6")
        serial = "ADE000000001"
        sim("lock", sim.device(serial)["udid"])  # answers NotNow: nothing settles
        sim.connect()
        check(awaiting(d, serial) == 1 and not [c for c in commands(d, serial)
                                                if c["type"] == "DeviceConfigured"],
              "a locked tablet is not released while its commands wait")
        d.api("POST", "/api/v1/jobs/ade_configure/run")
        check(not [c for c in commands(d, serial) if c["type"] == "DeviceConfigured"],
              "not before await_release_minutes")
        # SQL: the clock cannot be moved; the tablet's commands are made 31 minutes old
        d.sqlite("UPDATE command SET created_at = created_at - 1860,"
                 " done_at = done_at - 1860; UPDATE device SET enrolled_at = enrolled_at - 1860")
        d.api("POST", "/api/v1/jobs/ade_configure/run")
        conf = [c for c in commands(d, serial) if c["type"] == "DeviceConfigured"]
        check(len(conf) == 1, "released: %r" % conf)
        audit = [a for a in d.ctl_json("audit", "list")
                 if a["action"] == "device.configure_released"]
        check(len(audit) == 1 and "await_release_minutes" in audit[0]["reason"],
              "the release says why: %r" % audit)
        sim("unlock", sim.device(serial)["udid"])
        settle(d, sim, serial)
        check(awaiting(d, serial) == 0, "released")


def test_update_to_the_catalogue_newest():
    """With Apple's update catalogue loaded (the stand-in's fixture), the
    403 names the newest iPadOS it offers the tablet's PRODUCT, not
    min_os; schema-valid again."""
    g, ca = catalogue_daemon()
    with open(FIXTURE) as f:
        releases = json.load(f)["PublicAssetSets"]["iOS"]
    newest = max((r["ProductVersion"] for r in releases if "iPad13,18" in r["SupportedDevices"]
                  and not r.get("ExpirationDate")),
                 key=lambda v: [int(x) for x in v.split(".")])
    with g, Daemon(config=config() + updates_config(g.url, ca)) as d:
        load_catalogue(d)
        ade_assign(d, ["OLD000000001"])
        st, _, body = post(d, info("OLD000000001", os_version="17.1"))
        doc = json.loads(body)
        check(st == 403 and doc["details"]["OSVersion"] == newest and newest in doc["message"],
              "the catalogue's newest for iPad13,18 (%s): %d %r" % (newest, st, doc))
        path = os.path.join(d.tmp, "su.json")
        with open(path, "wb") as f:
            f.write(body)
        schema_check([path], "--kind", "error")


if __name__ == "__main__":
    run([test_endpoint_answers, test_hostile_machine_info, test_sim_enrols_is_configured_and_comes_back,
         test_stuck_tablet_is_released, test_update_to_the_catalogue_newest])
