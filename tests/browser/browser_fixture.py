"""browser_fixture.py - a real ardoised with a small fleet, then one browser
test script (node --test) against it.

    browser_fixture.py [--idle-seconds N] [--max-seconds N] test_signin.mjs [node test args...]

The fleet, built through the daemon's public interfaces only (ardoisectl,
ardoise-sim, the JSON API):
  - three collèges of the real list (A = Clg N. Sarraute, B = Clg Elie
    Coutarel, C = Clg les Matagots);
  - tablets enrolled by ardoise-sim, then given a collège and an asset tag by
    an inventory import: 4 in A, 2 in B, 1 in C;
  - pupils and a teacher; a loan in progress (home use) in A, an overdue
    loan in A (its pupil left two days ago), a loan in B; an open incident
    (damage) on a tablet of A; one tablet of A left in stock;
  - one account per role: a technician, an ATI of A and B, a référent of A,
    an auditor.  Each password is set through the real invitation link
    (POST /api/v1/links/:token, contract section 1), never written in the
    database by hand.

The test script gets it all in its environment (see lib.mjs, which reads it):
ARDOISE_URL, ARDOISE_CA, ARDOISE_SERVER_CERT, ARDOISE_ADMIN_TOKEN, ARDOISECTL,
ARDOISE_ACCOUNTS (JSON: role -> {name, password, display_name, schools}),
ARDOISE_FIXTURE (JSON: schools, serials, people, loans, incident),
ARDOISE_SCREENSHOTS (the build dir's browser-screenshots/), CHROMIUM,
ARDOISE_SIM and ARDOISE_SIM_STATE (ardoise-sim and the fixture's tablets: a
test runs its `connect` for the tablets to fetch and answer their commands),
ARDOISE_IDLE_SECONDS / ARDOISE_MAX_SECONDS when given.

A missing chromium or node_modules is a failure that says how to install
them (tools/ardoise-dev does), never a skip: a browser test that did not run
did not pass.
"""
import json
import os
import secrets
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import Daemon, Failure, Sim, check, write  # noqa: E402
from fleet_common import COLLEGES, day, school_year_start  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = os.environ.get("NODE", shutil.which("node") or "node")
NODE_MODULES = os.path.join(HERE, "node_modules")
SCREENSHOTS = os.environ.get("ARDOISE_SCREENSHOTS", os.path.join(HERE, "..", "..", "build",
                                                                   "browser-screenshots"))
# the collèges, by letter
SCHOOLS = {"A": "0131266F", "B": "0132318Z", "C": "0132786H"}
TABLETS = {"A": 4, "B": 2, "C": 1}


def prerequisites():
    """Chromium, node and the pinned npm packages are there, or a Failure that
    says how to get them."""
    fix = "run tools/ardoise-dev test (it installs chromium and runs npm ci in tests/browser)"
    check(os.access(CHROMIUM, os.X_OK), "no chromium at %s: %s" % (CHROMIUM, fix))
    check(shutil.which(NODE) is not None, "no node (%s): %s" % (NODE, fix))
    with open(os.path.join(HERE, "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    for pkg in ("playwright-core", "axe-core"):
        want = lock["node_modules/" + pkg]["version"]
        try:
            with open(os.path.join(NODE_MODULES, pkg, "package.json")) as f:
                have = json.load(f)["version"]
        except FileNotFoundError:
            raise Failure("%s is not installed in %s: %s" % (pkg, NODE_MODULES, fix))
        check(have == want, "%s %s is installed, package-lock.json pins %s: %s" % (pkg, have, want, fix))


def colleges_csv(d):
    """The three collèges' lines of the real list, in a CSV of their own."""
    with open(COLLEGES, encoding="utf-8") as f:
        lines = f.read().splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split(",", 1)[0] in SCHOOLS.values()]
    check(len(keep) == 1 + len(SCHOOLS), "the collèges %s are in %s" % (sorted(SCHOOLS.values()), COLLEGES))
    return write(d, "colleges.csv", "\n".join(keep) + "\n")


def enrol_tablets(d):
    """Tablets enrolled by ardoise-sim, then placed by an inventory import;
    returns {letter: [serials]}."""
    n = sum(TABLETS.values())
    code = d.ctl_json("enroll-code", "new", "--uses", str(n))["code"]
    sim = Sim(d)
    # two RSA keys shared by the tablets (each still has its own certificate): a
    # pool of 64, the default, takes ten seconds to generate
    sim("enroll", "-n", str(n), "--code", code, "--key-pool", "2")
    sim("connect")
    serials = sorted(x["serial"] for x in sim.devices())
    check(len(serials) == n, "ardoise-sim enrolled %d tablets: %r" % (n, serials))
    placed, rows = {}, "serial,model,uai,asset_tag\n"
    for letter, count in TABLETS.items():
        placed[letter] = serials[:count]
        serials = serials[count:]
        for i, s in enumerate(placed[letter]):
            rows += "%s,iPad 9,%s,CD13-%s%02d\n" % (s, SCHOOLS[letter], letter, i + 1)
    d.ctl("device", "import", write(d, "devices.csv", rows))
    return placed, sim


def signed(delta):
    """An agreement signed delta days ago, in this school year (home use
    needs this year's)."""
    return max(day(delta), school_year_start())


PEOPLE = [  # external_id, kind, name, class, letter, agreement
    ("E-A1", "pupil", "Léa Dupont", "3A", "A", signed(-90)),
    ("E-A2", "pupil", "Hugo Martin", "3B", "A", signed(-90)),
    ("E-A3", "pupil", "Inès Bernard", "3A", "A", signed(-80)),
    ("T-A1", "teacher", "Mme Durand", "", "A", ""),
    ("E-B1", "pupil", "Jules Petit", "4C", "B", signed(-60)),
    ("E-C1", "pupil", "Chloé Garnier", "5D", "C", signed(-60)),
]


def people_and_loans(d, tablets):
    rows = "external_id;kind;name;class;uai;agreement\n" + "".join(
        "%s;%s;%s;%s;%s;%s\n" % (i, k, n, c, SCHOOLS[s], a) for i, k, n, c, s, a in PEOPLE)
    d.ctl("person", "import", write(d, "people.csv", rows))
    a = tablets["A"]
    loans = {
        "open": d.ctl_json("loan", "create", "--device", a[0], "--person", "E-A1", "--home-use"),
        "overdue": d.ctl_json("loan", "create", "--device", a[1], "--person", "E-A2"),
        "other_school": d.ctl_json("loan", "create", "--device", tablets["B"][0], "--person", "E-B1"),
    }
    # Hugo left two days ago: his loan is due since then
    d.ctl("person", "leave", "E-A2", "--date", day(-2), "--reason", "déménagement")
    over = d.ctl_json("loan", "list", "--overdue")
    check([x["device"] for x in over] == [a[1]], "one overdue loan, %s: %r" % (a[1], over))
    incident = d.ctl_json("incident", "declare", "--device", a[2], "--kind", "damage",
                          "--occurred", day(0), "--note", "écran fissuré")
    return ({k: {"id": v["id"], "serial": v["device"], "person": v["person"]} for k, v in loans.items()},
            {"id": incident["id"], "serial": a[2], "kind": "damage"})


ROLES = [  # role, account name, display name, collèges
    ("technician", "technicienne", "Claire Martin", []),
    ("ati", "ati-sud", "Karim Benali", ["A", "B"]),
    ("referent", "referent-sarraute", "Sophie Lambert", ["A"]),
    ("auditor", "auditrice", "Anne Roux", []),
]


def link_token(link):
    """The token at the end of an invitation link (.../lien/<token>)."""
    check(isinstance(link, str) and "/lien/" in link, "an invitation link: %r" % (link,))
    return link.rsplit("/lien/", 1)[1]


def accounts(d):
    """One account per role, each password set through its invitation link."""
    out = {}
    for role, name, display, letters in ROLES:
        made = d.api("POST", "/api/v1/accounts", expect=201, body=
                     {"name": name, "role": role, "display_name": display,
                      "schools": [SCHOOLS[x] for x in letters]})
        token = link_token(made.get("link"))
        # a non-ASCII character: the length is counted in characters, the form sends UTF-8
        password = "Ardoise-é-" + secrets.token_urlsafe(12)
        got = d.api("POST", "/api/v1/links/" + token, {"password": password}, token=None)
        check(got.get("name") == name, "the link sets %s's password: %r" % (name, got))
        out[role] = {"name": name, "password": password, "display_name": display,
                     "schools": [SCHOOLS[x] for x in letters]}
    return out


def config(idle, maximum):
    # durations other than config.c's defaults (30 and 90 days): the
    # families' notice must print these, read from the daemon
    text = "[geolocation]\nretention_days = 45\n[mdm]\ncommand_retention_days = 120\n"
    if idle is None and maximum is None:
        return text
    text += "[web]\n"
    if idle is not None:
        text += "session_idle_seconds = %d\n" % idle
    if maximum is not None:
        text += "session_max_seconds = %d\n" % maximum
    return text


def run_node(d, script, node_args, env):
    """node --test on script (in this folder); its exit status."""
    cmd = [NODE, "--test", "--test-reporter=spec"] + node_args + [os.path.join(HERE, script)]
    sys.stdout.flush()
    return subprocess.run(cmd, cwd=HERE, env=env, timeout=900).returncode


def parse_args(argv):
    idle = maximum = None
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        check(argv, "%s wants a number" % opt)
        if opt == "--idle-seconds":
            idle = int(argv.pop(0))
        elif opt == "--max-seconds":
            maximum = int(argv.pop(0))
        else:
            raise Failure("unknown option %s" % opt)
    check(argv and argv[0].endswith(".mjs"), "usage: browser_fixture.py [--idle-seconds N] "
          "[--max-seconds N] test_x.mjs [node test args...]")
    return idle, maximum, argv[0], argv[1:]


def main(argv):
    idle, maximum, script, node_args = parse_args(list(argv))
    prerequisites()
    os.makedirs(SCREENSHOTS, exist_ok=True)
    with Daemon(config=config(idle, maximum)) as d:
        d.ctl("school", "import", colleges_csv(d))
        tablets, sim = enrol_tablets(d)
        loans, incident = people_and_loans(d, tablets)
        fixture = {
            "schools": SCHOOLS,
            "tablets": tablets,
            "stock": tablets["A"][3],
            "people": [{"id": p[0], "kind": p[1], "name": p[2], "class": p[3],
                        "school": SCHOOLS[p[4]]} for p in PEOPLE],
            "loans": loans,
            "incident": incident,
        }
        env = dict(os.environ, ARDOISE_URL=d.url, ARDOISE_CA=d.ca,
                   ARDOISE_SERVER_CERT=os.path.join(d.data, "server.pem"),
                   ARDOISE_ADMIN_TOKEN=d.token,
                   ARDOISECTL=os.path.abspath(os.environ.get("ARDOISECTL", "build/tools/ardoisectl")),
                   ARDOISE_ACCOUNTS=json.dumps(accounts(d)), ARDOISE_FIXTURE=json.dumps(fixture),
                   ARDOISE_SCREENSHOTS=os.path.abspath(SCREENSHOTS), CHROMIUM=CHROMIUM,
                   ARDOISE_SIM=os.path.abspath(os.environ.get("ARDOISE_SIM", "build/tools/ardoise-sim")),
                   ARDOISE_SIM_STATE=sim.state)
        if idle is not None:
            env["ARDOISE_IDLE_SECONDS"] = str(idle)
        if maximum is not None:
            env["ARDOISE_MAX_SECONDS"] = str(maximum)
        rc = run_node(d, script, node_args, env)
        d.check_serving("the browser tests")
        # the daemon's log comes out with the failure (Daemon.__exit__)
        check(rc == 0, "node --test %s exited %d" % (script, rc))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Failure as e:
        print("FAIL %s: %s" % (" ".join(sys.argv[1:]), e))
        sys.exit(1)
