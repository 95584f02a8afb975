"""A fleet reconciliation reads and plans its tablets in ranges of ids
(daemon/fleet/reconcile.c RUN_RANGE; ARDOISE_TEST_RECONCILE_RANGE makes
them small): the same fleet, with gaps in its ids (tablets deleted, others
unenrolled, rows left behind by a tablet that is gone), gets exactly the same
commands and the same figures with ranges of 1 and 7 tablets as in one
range, and no tablet at a range's edge is lost or served twice."""
import json
import os
import subprocess

from harness import ARDOISED, SHARED, Daemon, check, run

GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "gen-fleet")
COLLEGES = os.path.join(SHARED, "data", "colleges-bouches-du-rhone-2017.csv")
TABLETS = 120
BIG = "0131266F"  # the first collège of the file: gen-fleet's big one


class GenDaemon(Daemon):
    """A Daemon whose data dir gen-fleet makes, its fleet runs in ranges of
    `rng` tablets (None: the daemon's own size, one range here)."""

    def __init__(self, rng, **kw):
        super().__init__(**kw)
        self.rng = rng

    def init(self):
        out = subprocess.run([GEN, "--ardoised", ARDOISED, "--colleges", COLLEGES, "--data-dir",
                              self.data, "--devices", str(TABLETS), "--schools", "38", "--big",
                              "20"], capture_output=True, text=True, timeout=120)
        check(out.returncode == 0, "gen-fleet: %s" % out.stderr)
        self.token = json.loads(out.stdout)["token"]
        return out

    def start(self, extra=()):
        if self.rng is not None:
            os.environ["ARDOISE_TEST_RECONCILE_RANGE"] = str(self.rng)
        try:
            super().start(extra)
        finally:
            os.environ.pop("ARDOISE_TEST_RECONCILE_RANGE", None)


def scenario(d):
    """The same changes on any daemon; returns what they queued and the
    figures of each fleet run."""
    # gaps: ids 5..9 gone (their policy rows left behind: read, ignored),
    # every 7th tablet unenrolled, the first and the last kept
    d.sqlite("DELETE FROM device WHERE id BETWEEN 5 AND 9")
    d.sqlite("UPDATE device SET enrollment = 'unenrolled' WHERE id % 7 = 3")
    enrolled = int(d.sqlite("SELECT count(*) FROM device WHERE enrollment = 'enrolled'")
                   .stdout.strip())
    check(enrolled == TABLETS - 5 - 17, "tablets enrolled: %d" % enrolled)
    d.ctl("app", "add", "--bundle-id", "fr.test.fleet", "--store-id", "4001", "--name", "F")
    d.ctl("app", "add", "--bundle-id", "fr.test.big", "--store-id", "4002", "--name", "B")
    figures = [d.ctl_json("policy", "assign", "app:fr.test.fleet", "--scope", "fleet")]
    d.ctl_json("policy", "assign", "app:fr.test.big", "--scope", "school:" + BIG)
    # a baseline profile leaves the fleet: every tablet owning it gets its removal
    name = d.sqlite("SELECT name FROM profile WHERE removed_at IS NULL ORDER BY name LIMIT 1"
                    ).stdout.strip()
    figures.append(d.ctl_json("policy", "unassign", "profile:" + name, "--scope", "fleet"))
    figures.append(d.ctl_json("policy", "reconcile"))
    cmds = d.sqlite("SELECT d.serial, c.type, c.dedupe, c.status FROM command c"
                    " JOIN device d ON d.id = c.device_id WHERE c.origin = 'policy'"
                    " ORDER BY 1, 2, 3").stdout.split("\n")
    figures.append(d.ctl_json("policy", "status"))  # read in ranges too
    return enrolled, [x for x in cmds if x], [f.get("reconcile", f) for f in figures]


def strip(fig):
    return {k: v for k, v in fig.items() if k not in ("ms", "cpu_ms", "load_ms")}


def test_ranges_give_the_same_commands():
    got = {}
    for rng in (None, 1, 7):
        with GenDaemon(rng) as d:
            got[rng] = scenario(d)
            if rng is not None:  # the run went range by range: its log says so
                d.wait_log(r"event=reconcile reason=assign scope=fleet devices=%d "
                           % got[rng][0])
    enrolled, cmds, figs = got[None]
    installs = [c for c in cmds if c.split("|")[1] == "InstallApplication"
                and c.split("|")[2] == "fr.test.fleet"]
    check(len(installs) == enrolled and len({c.split("|")[0] for c in installs}) == enrolled,
          "one install of the fleet's app per enrolled tablet: %d of %d"
          % (len(installs), enrolled))
    removals = [c for c in cmds if c.split("|")[1] == "RemoveProfile"]
    check(len(removals) == enrolled, "one removal per enrolled tablet: %d" % len(removals))
    check(figs[0]["devices"] == enrolled and figs[0]["queued"] == enrolled,
          "the fleet run's figures: %r" % figs[0])
    check(figs[2]["devices"] == enrolled and figs[2]["queued"] == 0
          and figs[2]["canceled"] == 0, "the last run queues nothing more: %r" % figs[2])
    check(figs[3]["devices"] == enrolled and figs[3]["pending"] == enrolled,
          "the status counts every tablet once: %r" % figs[3])
    for rng in (1, 7):
        check(got[rng][1] == cmds, "ranges of %d: the same commands (%d, %d in one range)"
              % (rng, len(got[rng][1]), len(cmds)))
        check([strip(f) for f in got[rng][2]] == [strip(f) for f in figs],
              "ranges of %d: the same figures: %r vs %r" % (rng, got[rng][2], figs))


run([test_ranges_give_the_same_commands])
