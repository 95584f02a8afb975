"""Issue 16's "done means", end to end: a real ardoised, the stand-ins of
Apple School Manager's two services (ade_standin.py, vpp_standin.py, HTTPS
with their own CA) and 500 tablets simulated by ardoise-sim as Automated
Device Enrolment tablets (120 in the ASan+UBSan pass: the same paths, a
quarter of the time).

- The 500 tablets (and one more on an old iPadOS) appear from ASM through
  `ade sync`; the fleet's enrolment profile is defined at Apple and assigned
  to every one of them; a spreadsheet puts half in collège A, half in B.
- The département's content token covers the fleet: collège A's app has
  enough licences, collège B's is short by 50.
- The tablets enrol by ADE (signed MachineInfo), supervised and awaiting
  configuration; they receive the baseline and, in A, the licensed app
  (associated at Apple before InstallApplication, PurchaseMethod 1), and
  only then DeviceConfigured releases them.  B's tablets get the baseline
  and are released without the app: the shortage is reported for B in
  `vpp status`, and no tablet of B holds a licence or the app.
- The tablet below [ade] min_os is refused with Apple's 403
  com.apple.softwareupdate.required and does not enrol.
- A returned tablet is erased and comes back through ADE by itself, in its
  collège, and is configured again.
- A retired tablet's licence is freed at Apple.
- The licences B lacked are bought: the next run associates and installs.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from ade_standin import AdeStandin, MachineInfoSigner, generate_devices  # noqa: E402
from fleet_common import A, B  # noqa: E402
from gdmf_standin import standin_pki  # noqa: E402
from harness import Daemon, Sim, check, run, scaled, write  # noqa: E402
from vpp_standin import VppStandin  # noqa: E402

CA, CERT, KEY = standin_pki()
SIGNER = MachineInfoSigner()
# 500 tablets in the plain pass; under the sanitizers (the suite's second
# pass, bounded by CPU) 40 take the same paths: more than the 16 sessions
# ardoise-sim runs at once, both collèges, a shortage in B
N = scaled(500, 40)
# B's licences short by SHORT (bought later: 60 more cover it)
SHORT = scaled(50, 15)
APP_A, APP_B = "361309726", "284910350"
BUNDLE_A, BUNDLE_B = "com.apps.store.id" + APP_A, "com.apps.store.id" + APP_B
BASELINE = {"fr.ardoise.baseline." + n for n in
            ("lockscreen", "notifications", "passcode", "restrictions", "webfilter")}


def config(ade, vpp):
    return ("[ade]\nurl = %s\nca = %s\nsync_minutes = 1440\nmin_os = 17.6\n"
            "machineinfo_anchor = %s\n"
            "[vpp]\nurl = %s\nca = %s\nsync_minutes = 0\n"
            % (ade.url, CA, SIGNER.root, vpp.url, CA))


def import_token(d, ade):
    cert = write(d, "ade-cert.pem", d.ctl("ade", "keypair").stdout)
    p7m = os.path.join(d.tmp, "token.p7m")
    with open(p7m, "wb") as f:
        f.write(ade.token_p7m(cert))
    d.ctl("ade", "token", p7m)


def vpp_run(d):
    before = d.ctl_json("vpp", "status")["last_run"]["runs"]
    d.ctl("vpp", "sync")
    deadline = time.time() + 120
    while time.time() < deadline:
        st = d.ctl_json("vpp", "status")
        if st["last_run"]["runs"] > before and not st["last_run"]["running"]:
            return st
        time.sleep(0.1)
    raise AssertionError("the licence run did not end")


def ade_enrol(d, sim, serials_file, *args, expect=0):
    return sim("ade-enroll", "--enroll-url", d.url + "/mdm/ade/enroll",
               "--signer-cert", SIGNER.leaf, "--signer-key", SIGNER.leaf_key,
               "--signer-chain", SIGNER.ca, "--serials", serials_file, "-c", "16", *args,
               expect=expect)


def connect(sim):
    out = sim("connect", "-c", "16", "--json")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ade_rows(d):
    out = d.sqlite("SELECT serial, coalesce(enrolled_at,0), coalesce(configured_at,0),"
                   " refusal FROM ade_device")
    return {r[0]: r[1:] for r in (l.split("|") for l in out.stdout.strip().splitlines())}


def on_tablets(sim):
    return {x["serial"]: x for x in sim.devices()}


def done_order(d, serial):
    """(the tablet's install commands as (id, type, status), DeviceConfigured's ids):
    ids in the queue's order."""
    out = d.sqlite("SELECT c.id, c.type, c.status FROM command c JOIN device v"
                   " ON v.id = c.device_id WHERE v.serial = '%s' ORDER BY c.id" % serial)
    rows = [(int(r[0]), r[1], r[2]) for r in
            (l.split("|") for l in out.stdout.strip().splitlines())]
    inst = [r for r in rows if r[1] in ("InstallApplication", "InstallProfile")]
    conf = [r[0] for r in rows if r[1] == "DeviceConfigured" and r[2] == "acknowledged"]
    return inst, conf


def test_done_means():
    with AdeStandin(CERT, KEY) as ade, VppStandin(CERT, KEY, auto=True) as vpp, \
            Daemon(config=config(ade, vpp)) as d:
        devs = generate_devices(N)
        old = generate_devices(1, start=N)
        ade.add_devices(devs + old)
        serials = [x["serial_number"] for x in devs]
        old_serial = old[0]["serial_number"]
        in_a, in_b = serials[:N // 2], serials[N // 2:]

        # the tablets appear from ASM; the fleet's profile is assigned to all
        d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
        d.ctl("school", "add", B, "--name", "Clg Elie Coutarel")
        import_token(d, ade)
        d.ctl("ade", "profile", "add", "Ardoise collèges", "--department",
              "Département des Bouches-du-Rhône", "--support-phone", "+33 4 13 31 13 13")
        r = json.loads(d.ctl("ade", "sync", "--json").stdout)
        check(r["error"] is None and r["new"] == N + 1, "the tablets from ASM: %r" % r)
        profiles = list(ade.profiles.values())
        check(len(profiles) == 1 and profiles[0]["await_device_configured"] is True
              and profiles[0]["is_mdm_removable"] is False
              and profiles[0]["url"].endswith(":%d/mdm/ade/enroll" % d.port), "the profile: %r" % profiles)
        assigned = [s for s in serials + [old_serial] if ade.devices[s].get("profile_uuid")]
        check(len(assigned) == N + 1, "the profile assigned to every tablet: %d" % len(assigned))
        rows = "serial,model,uai,asset_tag\n" + "".join(
            "%s,iPad,%s,T-%s\n" % (s, A if s in in_a else B, s[-4:]) for s in serials)
        d.ctl("device", "import", write(d, "devices.csv", rows))
        n_a = d.sqlite("SELECT count(*) FROM device WHERE school='%s'" % A).stdout.strip()
        check(n_a == str(N // 2), "the spreadsheet put %s tablets in A" % n_a)

        # the département's token; A's app covered, B's short by SHORT
        stoken = vpp.add_token("Département des Bouches-du-Rhône")
        vpp.add_asset(APP_A, count=N // 2 + 10)
        vpp.add_asset(APP_B, count=N // 2 - SHORT)
        d.ctl("vpp", "token", "add", write(d, "dep.vpptoken", stoken + "\n"), "--scope", "fleet")
        d.ctl("app", "add", "--bundle-id", BUNDLE_A, "--store-id", APP_A, "--name", "Pronote")
        d.ctl("app", "add", "--bundle-id", BUNDLE_B, "--store-id", APP_B, "--name", "Éduc'Arte")
        d.ctl("policy", "assign", "app:" + BUNDLE_A, "--scope", "school:" + A)
        d.ctl("policy", "assign", "app:" + BUNDLE_B, "--scope", "school:" + B)

        # the tablets enrol by ADE; the one below min_os is refused
        sim = Sim(d)
        ade_enrol(d, sim, write(d, "serials.txt", "\n".join(serials) + "\n"), "--os-version",
                  "18.6")
        out = ade_enrol(d, sim, write(d, "old.txt", old_serial + "\n"), "--os-version", "17.5")
        t = on_tablets(sim)
        check(old_serial not in t or not t[old_serial].get("enrolled"), "the old tablet did not enrol")
        check("1 told to update first" in out.stdout, "the old tablet was told to update: %s"
              % out.stdout)
        told = [x for x in sim.devices() if x["serial"] == old_serial]
        check(told and "17.6" in json.dumps(told[0].get("ade")), "update to 17.6: %r" % told)
        refusal = ade_rows(d)[old_serial][2]
        check("softwareupdate" in refusal or "17.6" in refusal, "refusal recorded: %r" % refusal)
        awaiting = d.sqlite("SELECT count(*) FROM device WHERE awaiting_config=1").stdout.strip()
        check(awaiting == str(N), "every tablet awaits its configuration: %s" % awaiting)

        # sessions, licence runs, sessions: until every tablet is released
        for _ in range(8):
            connect(sim)
            vpp_run(d)
            connect(sim)
            rows = ade_rows(d)
            if all(int(rows[s][1]) for s in serials):
                break
        rows = ade_rows(d)
        left = [s for s in serials if not int(rows[s][1])]
        check(not left, "every tablet configured: %d left" % len(left))
        t = on_tablets(sim)
        for s in serials:
            profs = {p["identifier"] for p in t[s]["profiles"]}
            apps = {a["identifier"] for a in t[s]["apps"]}
            check(BASELINE <= profs, "%s holds the baseline: %r" % (s, profs))
            check(not t[s].get("awaiting_configuration"), "%s released" % s)
            if s in in_a:
                check(BUNDLE_A in apps, "%s (A) has its licensed app: %r" % (s, apps))
            else:
                check(BUNDLE_B not in apps, "%s (B) does not have the short app" % s)
        for s in (in_a[0], in_a[-1], in_b[0]):
            inst, conf = done_order(d, s)
            check(len(conf) == 1 and inst and all(r[2] == "acknowledged" for r in inst)
                  and max(r[0] for r in inst) < conf[0],
                  "%s: DeviceConfigured queued after every install acknowledged: %r %r"
                  % (s, inst, conf))
        st = d.ctl_json("vpp", "status", "--school", B)
        short = json.dumps(st)
        check(APP_B in short and str(SHORT) in short
              and any(w["adam_id"] == APP_B and w["school"] == B and w["missing"] == SHORT
                      for w in st["waiting"]), "B's shortage reported: %s" % short[:2000])
        fr = d.ctl("vpp", "status", lang="fr_FR.UTF-8").stdout
        check("il manque %d licences" % SHORT in fr, fr)
        held_b = [a for a in vpp.tokens[stoken]["assignments"] if a["adamId"] == APP_B]
        check(not held_b, "no licence of B's app associated: %r" % held_b[:3])
        held_a = {a["serialNumber"] for a in vpp.tokens[stoken]["assignments"]
                  if a["adamId"] == APP_A}
        check(held_a == set(in_a), "A's tablets hold A's app's licences at Apple: %d" % len(held_a))

        # a returned tablet: erased, back through ADE by itself, configured again
        back = in_a[1]
        d.ctl("person", "import", write(d, "people.csv",
                                         "external_id;kind;name;class;uai;agreement\n"
                                         "E-1;pupil;Léa Dupont;5B;%s;2024-09-02\n" % A))
        d.ctl("loan", "create", "--device", back, "--person", "E-1")
        d.ctl("loan", "return", back, "--condition", "ok")
        fp = "SELECT cert_fp FROM device WHERE serial = '%s'" % back
        first_fp = d.sqlite(fp).stdout.strip()
        codes = "SELECT count(*) FROM enroll_code WHERE created_by = 'ade'"
        n_codes = int(d.sqlite(codes).stdout)
        for _ in range(4):
            connect(sim)
        dev = d.ctl_json("device", "show", back)
        check(int(d.sqlite(codes).stdout) == n_codes + 1,
              "the erased tablet asked ADE for its profile again")
        check(d.sqlite(fp).stdout.strip() not in ("", first_fp), "with a new identity")
        check(dev["school"] == A and dev["state"] == "stock" and dev["enrollment"] == "enrolled",
              "back in A, in stock, enrolled: %r" % dev)
        inst, conf = done_order(d, back)
        check(len(conf) == 2 and BUNDLE_A in {a["identifier"] for a in on_tablets(sim)[back]["apps"]},
              "configured again, with its licensed app: %r" % conf)

        # a retired tablet's licence is freed at Apple
        gone = in_a[2]
        d.ctl("device", "retire", gone, "--reason", "écran cassé")
        vpp_run(d)
        held_a = {a["serialNumber"] for a in vpp.tokens[stoken]["assignments"]
                  if a["adamId"] == APP_A}
        check(gone not in held_a and len(held_a) == N // 2 - 1,
              "the retired tablet's licence freed at Apple: %d held" % len(held_a))

        # B's licences bought: the next run associates and installs
        with vpp.lock:
            asset = vpp.tokens[stoken]["assets"][(APP_B, "STDQ")]
            asset["availableCount"] += 60
            asset["totalCount"] += 60
        vpp_run(d)
        connect(sim)
        t = on_tablets(sim)
        check(all(BUNDLE_B in {a["identifier"] for a in t[s]["apps"]} for s in in_b),
              "B's tablets got the app once the licences were bought")
        d.ctl("audit", "verify")


if __name__ == "__main__":
    run([test_done_means])
