"""The README's tour ("A tour of a working day") runs as written.

The tour's `sh` blocks are read from README.md at test time, so the tour
cannot drift from what the code does.  They run, every line in one bash
with `set -eE -o pipefail`, against a fresh ardoised, from a directory laid
out as the tour's first lines expect of a checkout where `tools/ardoise-dev
run` serves: `var/ca.pem`, `var/admin.token`, `var/audit.head`,
`build/tools/ardoisectl`, `build/tools/ardoise-sim`, `build/tools/po` and
`tools/samples` (links to the built files, the daemon's data dir and the
source tree).  The one change made to the text: the daemon's port (the
harness binds port 0) replaces 8443 in the tour's one URL.

The daemon's clock is 2 December 2026, 10:00 in Paris (ARDOISE_CLOCK_OFFSET),
the school year the tour's dates belong to.  The tour runs under the
suite's locale (English in the plain pass, French under fr_FR.UTF-8), so
both passes prove that what it captures (`code:`, `token:`, `--json`) reads
the same in both.  A failing line is reported with its README line number
and its output.
"""
import datetime
import os
import re
import subprocess

from harness import ARDOISECTL, ARDOISE_SIM, Daemon, check, run

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
os.environ["ARDOISE_CLOCK_OFFSET"] = str(int((NOW - datetime.datetime.now(UTC)).total_seconds()))

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
README = os.path.join(SRC, "README.md")
TOUR_URL = "https://127.0.0.1:8443"
UAI = "0131266F"
FRENCH = os.environ.get("LC_ALL", os.environ.get("LANG", "")).startswith("fr")  # days JJ/MM/AAAA


def tour_blocks(text):
    """The `sh` blocks of the section "A tour of a working day" up to "## What
    it does": a list of (README line number, line)."""
    lines = text.split("\n")
    starts = [i for i, l in enumerate(lines) if l == "## A tour of a working day"]
    check(len(starts) == 1, "README.md has one section 'A tour of a working day'")
    out, inside = [], False
    for i in range(starts[0] + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            check(line == "## What it does", "the tour ends at '## What it does', not %r" % line)
            break
        if not inside and line == "```sh":
            inside = True
        elif inside and line == "```":
            inside = False
        elif inside:
            out.append((i + 1, line))
    check(not inside, "the tour's last sh block is closed")
    return out


def tour_script(blocks, url):
    """The bash script: before each command line, its README line number (a
    marker on stderr and in $__line for the ERR trap); comment lines and
    blank lines kept as they are."""
    n_url = sum(line.count(TOUR_URL) for _, line in blocks)
    check(n_url == 1, "the tour names its URL (%s) once, found %d" % (TOUR_URL, n_url))
    out = ["set -eE -o pipefail",
           "trap 'echo \"@@ FAILED README.md:$__line (exit $?)\" >&2' ERR"]
    for no, line in blocks:
        if line.strip() and not line.lstrip().startswith("#"):
            out.append("__line=%d; echo '@@ README.md:%d' >&2" % (no, no))
        out.append(line.replace(TOUR_URL, url))
    return "\n".join(out) + "\n"


def checkout(d):
    """A directory laid out as the tour expects of a checkout running
    `tools/ardoise-dev run` against d; returns its path."""
    top = os.path.join(d.tmp, "checkout")
    for sub in ("var", "build/tools", "tools"):
        os.makedirs(os.path.join(top, sub), exist_ok=True)
    with open(os.path.join(top, "var", "admin.token"), "w") as f:
        f.write(d.token + "\n")
    os.symlink(d.ca, os.path.join(top, "var", "ca.pem"))
    os.symlink(os.path.join(d.data, "audit.head"), os.path.join(top, "var", "audit.head"))
    os.symlink(os.path.abspath(ARDOISECTL), os.path.join(top, "build", "tools", "ardoisectl"))
    os.symlink(os.path.abspath(ARDOISE_SIM), os.path.join(top, "build", "tools", "ardoise-sim"))
    po = os.environ.get("ARDOISE_LOCALEDIR")
    if po:
        os.symlink(os.path.abspath(po), os.path.join(top, "build", "tools", "po"))
    os.symlink(os.path.join(SRC, "tools", "samples"), os.path.join(top, "tools", "samples"))
    return top


def run_tour(d, top, script):
    """Runs the script in top; returns (exit status, output)."""
    path = os.path.join(d.tmp, "tour.sh")
    with open(path, "w") as f:
        f.write(script)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ARDOISE_") or k == "ARDOISE_CLOCK_OFFSET"}
    env["TZ"] = "Europe/Paris"
    out = subprocess.run(["bash", path], cwd=top, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=240)
    return out.returncode, out.stdout


def failed_line(output):
    """The README line number and output of the command that failed."""
    m = re.search(r"^@@ FAILED README\.md:(\d+) \(exit (\d+)\)$", output, re.M)
    if m is None:
        return None, output[-3000:]
    marker = "@@ README.md:%s\n" % m.group(1)
    return int(m.group(1)), output[output.rfind(marker) + len(marker):m.start()]


def output_of(blocks, output, command):
    """What the tour's line starting with command printed."""
    nos = [no for no, line in blocks if line.startswith(command)]
    check(len(nos) == 1, "the tour runs %r once" % command)
    start = output.index("@@ README.md:%d\n" % nos[0])
    start = output.index("\n", start) + 1
    end = output.find("@@ README.md:", start)
    return output[start:end if end >= 0 else len(output)]


def test_the_tour_runs_as_written():
    with open(README, encoding="utf-8") as f:
        blocks = tour_blocks(f.read())
    check(len(blocks) > 60, "the tour has its commands: %d lines" % len(blocks))
    with Daemon() as d:
        top = checkout(d)
        rc, output = run_tour(d, top, tour_script(blocks, d.url))
        if rc != 0:
            no, what = failed_line(output)
            text = dict(blocks).get(no, "?")
            raise AssertionError("the tour fails at README.md:%s (exit %d):\n  %s\n%s"
                                 % (no, rc, text, what[-3000:]))
        check("Sanitizer" not in output and "runtime error:" not in output,
              "no sanitizer report in the tour's output: " + output[-3000:])

        # what the tour did, read back (JSON: the same under any locale)
        devices = {x["serial"]: x for x in d.ctl_json("device", "list")}
        check(len(devices) == 9, "8 tablets imported and 1 enrolled: %r" % sorted(devices))
        ipad = [s for s, x in devices.items() if x.get("enrollment") == "enrolled"
                or s not in ("DMPXK1A2Q1GC", "DMPXK1A2Q1GD", "DMPXK1A2Q1GF", "DMPXK1A2Q1GG",
                             "F9FXP2B3R7HK", "F9FXP2B3R7HL", "GG7YT4C5S2JM", "GG7YT4C5S2JN")]
        check(len(ipad) == 1, "one simulated iPad: %r" % ipad)
        ipad = ipad[0]
        check(devices[ipad]["school"] == UAI, "the iPad moved to the collège: %r" % devices[ipad])
        people = {p["id"]: p for p in d.ctl_json("person", "list")}
        check(people["120412345AB"]["name"] == "Hélène Dupont",
              "names with accents, read from the spreadsheet's UTF-8: %r" % people["120412345AB"])
        check(people["ens.durand"]["kind"] == "teacher", "the teacher: %r" % people["ens.durand"])

        loans = d.ctl_json("loan", "list", "--state", "all")
        home = [x for x in loans if x["device"] == ipad]
        check(len(home) == 1 and home[0]["state"] == "closed" and home[0]["home_use"]
              and home[0]["end_reason"] == "erased" and home[0]["erase_command"],
              "the home-use loan was returned and closed by the erase: %r" % home)
        audit = [a["action"] for a in d.ctl_json("audit", "list")]
        for action in ("loan.erased", "device.erase", "device.mark_erased", "locate.approve",
                       "device.clear_passcode", "person.leave", "loan.deposit", "loan.resume"):
            check(action in audit, "the audit log holds %s: %r" % (action, sorted(set(audit))))

        incidents = d.ctl_json("incident", "list")
        theft = [i for i in incidents if i["kind"] == "theft"]
        check(len(theft) == 1 and theft[0]["police_ref"] == "PV-13-4242"
              and theft[0]["complaint_date"] is not None and theft[0]["status"] == "closed"
              and theft[0]["outcome"] == "found",
              "the theft with its police reference, closed as found: %r" % theft)
        damage = {i["device"]: i for i in incidents if i["kind"] == "damage"}
        check(set(damage) == {"DMPXK1A2Q1GF", "DMPXK1A2Q1GD"}
              and damage["DMPXK1A2Q1GF"]["cost_cents"] == 4550
              and damage["DMPXK1A2Q1GF"]["reimburse"],
              "the damage declared (45,50 €) and the one the damaged return opened: %r" % damage)

        register = d.ctl_json("locate", "register")
        done = [x for x in register if x.get("decided_by") == "admin"]
        check(len(done) == 1 and done[0]["requested_by"] == "tech.vitrolles"
              and done[0]["state"] == "closed",
              "asked by the second technician, approved by the first, closed: %r" % register)

        noe = d.ctl_json("device", "show", "DMPXK1A2Q1GD")
        check(noe["state"] == "repair", "the damaged return went to repair, not stock: %r"
              % noe["state"])

        assigned = d.ctl_json("policy", "list", "--scope", "school:" + UAI)
        check([a["item"] for a in assigned] == ["app:fr.pronote"],
              "Pronote assigned to the collège: %r" % assigned)
        cmds = d.ctl_json("command", "list", ipad)
        check(any(c["type"] == "InstallApplication" and c["status"] == "acknowledged"
                  for c in cmds),
              "the iPad installed the app assigned: %r" % [(c["type"], c["status"]) for c in cmds])
        status = output_of(blocks, output, "ardoisectl policy status --school 0131266F")
        counts = re.findall(r"\b\d+\b", status.partition(UAI)[2])[:4]
        check(counts == ["1", "1", "0", "0"],
              "policy status: 1 tablet, 1 converged, 0 pending, 0 failing: %r" % status)

        # times and days shown to people, in the reader's zone and locale
        # (ctl_when()), not raw ISO
        for command in ("ardoisectl locate show", "ardoisectl loan campaign",
                        "ardoisectl audit verify"):
            shown = output_of(blocks, output, command)
            check(shown.strip() and not re.search(r"\d{4}-\d\d-\d\dT\d\d:", shown)
                  and not (FRENCH and "2027-07-04" in shown),
                  "%s shows its times as people read them: %r" % (command, shown))
        year = output_of(blocks, output, "ardoisectl report year")
        check("loans.started;3" in year and "returns.ok;1" in year
              and "thefts.with_complaint;1" in year,
              "report year counts the tour's loans and returns: %r" % year)

        with open(os.path.join(top, "parc.csv"), "rb") as f:
            csv = f.read()
        check(csv.startswith(b"\xef\xbb\xbf") and b";" in csv.split(b"\n")[0],
              "parc.csv as French Excel reads it (BOM, ';'): %r" % csv[:80])
        for name in ("enroll.mobileconfig", "acces-120412345AB.json"):
            check(os.path.getsize(os.path.join(top, name)) > 0, name + " written")


def test_a_failing_line_is_named():
    """The runner names the README line that fails, with its output: a tour
    with a wrong command must not pass, nor run what follows."""
    blocks = [(10, "export ARDOISE_URL=%s ARDOISE_CA=$PWD/var/ca.pem"
               " ARDOISE_TOKEN=$(cat var/admin.token)" % TOUR_URL),
              (11, "ardoisectl() { build/tools/ardoisectl \"$@\"; }"),
              (12, "# a comment line is kept"),
              (13, "ardoisectl whoami"),
              (14, "ardoisectl device show NOSUCHSERIAL   # refused: no such tablet"),
              (15, "touch never-reached")]
    with Daemon() as d:
        top = checkout(d)
        rc, output = run_tour(d, top, tour_script(blocks, d.url))
        check(rc != 0, "a failing command fails the tour: %r" % output)
        no, what = failed_line(output)
        check(no == 14, "the failing line is README.md:14, got %r: %r" % (no, output))
        check("NOSUCHSERIAL" in what or "ardoisectl" in what,
              "its output (the refusal) is shown: %r" % what)
        check(not os.path.exists(os.path.join(top, "never-reached")), "nothing runs after it")


def test_ardoise_dev_run_hints_the_tour():
    """The lines `tools/ardoise-dev run` prints to try are the tour's first
    lines (its URL, no comment), so that neither drifts from the other."""
    with open(os.path.join(SRC, "tools", "ardoise-dev"), encoding="utf-8") as f:
        script = f.read()
    m = re.search(r"Try, in another terminal.*?\n\n(.*?)\n\n", script, re.S)
    check(m is not None, "ardoise-dev run prints lines to try")
    hint = [l.strip().replace("\\$", "$").replace("$url", TOUR_URL)
            for l in m.group(1).split("\n")]
    check(hint[-1] == "ardoisectl whoami", "the hint ends with a command to try: %r" % hint)
    with open(README, encoding="utf-8") as f:
        tour = [re.sub(r"\s+#.*$", "", line) for _, line in tour_blocks(f.read())]
    for line in hint[:-1]:
        check(line in tour, "the hint's %r is a line of the tour" % line)


if __name__ == "__main__":
    run([test_the_tour_runs_as_written, test_a_failing_line_is_named,
         test_ardoise_dev_run_hints_the_tour])
