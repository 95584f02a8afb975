"""tools/gen-fleet, the generator of large fleets for the benchmarks
(tools/bench-million): 2,000 tablets over 40 collèges (the 38 of the CSV and
two synthetic ones) written straight into a fresh data dir; the real daemon
opens it, lists a collège, finds nothing to do in a no-op reconciliation,
and tablets enrolled afterwards through the protocol (ardoise-sim) live
beside the generated ones.  Its bad arguments and hostile inputs are refused
before anything is written."""
import json
import os
import subprocess
import tempfile

from harness import ARDOISED, SHARED, Daemon, Sim, check, new_code, run

GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "gen-fleet")
COLLEGES = os.path.join(SHARED, "data", "colleges-bouches-du-rhone-2017.csv")


def gen(*args, colleges=COLLEGES):
    return subprocess.run([GEN, "--ardoised", ARDOISED, "--colleges", colleges] + list(args),
                          capture_output=True, text=True, timeout=120)


class GenDaemon(Daemon):
    """A Daemon whose data dir gen-fleet makes (instead of a bare --init)."""

    def __init__(self, *gen_args, colleges=COLLEGES, **kw):
        super().__init__(**kw)
        self.gen_args = list(gen_args)
        self.colleges = colleges

    def init(self):
        out = gen("--data-dir", self.data, *self.gen_args, colleges=self.colleges)
        check(out.returncode == 0, "gen-fleet: %s" % out.stderr)
        self.summary = json.loads(out.stdout)
        self.token = self.summary["token"]
        with open(self.data + ".token") as f:
            check(f.read().strip() == self.token, "D.token holds the admin token")
        check(os.stat(self.data + ".token").st_mode & 0o077 == 0, "D.token is private")
        return out


def test_generated_fleet():
    with GenDaemon("--devices", "2000", "--schools", "40") as d:
        s = d.summary
        check(s["devices"] == 2000 and s["schools"] == 40 and s["big_devices"] == 200
              and s["commands"] == 20000, "summary: %r" % s)
        big = s["big"]
        # the first collège of the file, 200 tablets, every one enrolled with its inventory
        devs = d.ctl_json("device", "list", "--school", big)
        check(len(devs) == 200, "the big collège lists %d tablets" % len(devs))
        check(all(x["school"] == big and x["enrollment"] == "enrolled" for x in devs),
              "enrolled, in their collège: %r" % devs[0])
        # the others share the rest: 1,800 over 39; the synthetic ones are real UAIs
        for uai in ("0840001V", "0840002W"):
            got = d.ctl_json("device", "list", "--school", uai)
            check(len(got) in (46, 47), "%s lists %d tablets" % (uai, len(got)))
        check(len(d.ctl_json("device", "list")) == 2000, "the whole fleet")
        one = d.ctl_json("device", "show", devs[0]["serial"])
        check(one["model"] == "iPad (9th generation)" and one["os_version"] == "17.5"
              and one["inventory"]["supervised"] is True
              and all(p["state"] == "installed" for p in one["policies"]), "its inventory: %r" % one)
        # converged to the baseline: nothing to queue, nothing to cancel
        rec = d.ctl_json("policy", "reconcile")
        check(rec["devices"] == 2000 and rec["queued"] == 0 and rec["canceled"] == 0
              and rec["converged"] == 2000, "no-op reconciliation: %r" % rec)
        # real tablets enrol beside the generated ones and run their sessions
        sim = Sim(d)
        sim("enroll", "-n", "2", "--code", new_code(d, 2))
        got = sim.connect()
        check(got["acknowledged"] >= 10, "their inventory and baseline: %r" % got)
        rec = d.ctl_json("policy", "reconcile")
        check(rec["devices"] == 2002 and rec["queued"] == 0, "after the enrolments: %r" % rec)
        serials = {x["serial"] for x in sim.devices()}
        check(len(d.ctl_json("device", "list")) == 2002, "2,002 tablets now")
        ids = d.sqlite("SELECT id FROM device WHERE serial IN (%s)"
                       % ",".join("'%s'" % x for x in serials)).stdout.split()
        check(len(ids) == 2 and all(int(i) > 2000 for i in ids), "new ids after N: %r" % ids)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def test_refusals():
    tmp = tempfile.mkdtemp(prefix="gen-fleet-")
    data = os.path.join(tmp, "data")
    for args in (["--devices", "0"], ["--devices", "-3"], ["--devices", "1e6"],
                 ["--devices", "10", "--big", "11"], ["--devices", "10", "--schools", "0"],
                 ["--devices", "10", "--apps", "101"], ["--devices", "10", "--schools", "1", "--big", "3"]):
        out = gen("--data-dir", data, *args)
        check(out.returncode == 2 and not os.path.exists(data), "%r refused: %r" % (args, out.stderr))
    # a data dir that holds something (a real one, perhaps) is never written
    os.mkdir(data)
    write(tmp, "data/ardoise.db", "not mine")
    out = gen("--data-dir", data, "--devices", "10")
    check(out.returncode == 1 and "not empty" in out.stderr, "existing dir: %r" % out.stderr)
    with open(os.path.join(data, "ardoise.db")) as f:
        check(f.read() == "not mine", "left as it was")
    # a collèges file with a bad UAI: refused before --init
    bad = write(tmp, "bad.csv", "uai,name\n0131266F,Clg A\n0131266F' OR 1=1 --,Clg B\n")
    out = gen("--data-dir", os.path.join(tmp, "d2"), "--devices", "10", colleges=bad)
    check(out.returncode == 1 and "bad UAI" in out.stderr
          and not os.path.exists(os.path.join(tmp, "d2")), "bad UAI: %r" % out.stderr)
    # a hostile name is data: stored as written (bound, never spliced into the SQL)
    name = "Clg l'Estaque'); DROP TABLE device; --"
    odd = write(tmp, "odd.csv", 'uai,name,commune\n0131266F,"%s",Marseille\n' % name)
    d = GenDaemon("--devices", "20", "--schools", "2", colleges=odd)
    with d:
        schools = {x["uai"]: x["name"] for x in d.ctl_json("school", "list")}
        check(schools.get("0131266F") == name and "0840001V" in schools, "schools: %r" % schools)
        check(len(d.ctl_json("device", "list")) == 20, "the tablets are there")


run([test_generated_fleet, test_refusals])
