"""fleet_common.py - the fleet fixture (a support module, not a test): two
collèges, tablets, people, and the checks that a refused change left them as
they were; for the test_fleet_* files and the security tests.

Two collèges of the 38 in the real agreement are used throughout:
A = 0131266F (Clg N. Sarraute, Aubagne) and B = 0132318Z (Clg Elie
Coutarel, Istres).  Dates are computed from today in Europe/Paris, as the
daemon counts days on the calendar of its [server] timezone (default
Europe/Paris).
"""
import datetime
import os
import zoneinfo

from harness import SHARED, Sim, check, write

COLLEGES = os.path.join(SHARED, "data", "colleges-bouches-du-rhone-2017.csv")
A = "0131266F"
B = "0132318Z"


def day(delta=0, zone="Europe/Paris"):
    """Today + delta days, YYYY-MM-DD, on the calendar of zone."""
    today = datetime.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    return (today + datetime.timedelta(days=delta)).isoformat()


def api_time(s, zone="Europe/Paris"):
    """An API time, ISO 8601 with the offset zone has at that instant
    ("2026-12-02T15:05:00+01:00"), as an aware datetime; fails otherwise."""
    t = datetime.datetime.fromisoformat(s) if isinstance(s, str) else None
    check(t is not None and t.utcoffset() is not None and not s.endswith("Z")
          and t.utcoffset() == t.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset(),
          "%r: a time with the offset of %s" % (s, zone))
    return t


def school_year_start():
    """September 1st of the current school year, YYYY-MM-DD: a guardians'
    agreement signed then counts for home use today (it is per school year)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    year = today.year if today.month >= 9 else today.year - 1
    return "%d-09-01" % year


def enrolled(d, *serials):
    """Marks imported tablets enrolled, as their enrolment would (SQL: no
    staff verb sets it; ardoise-sim where the enrolment itself matters):
    home use needs a managed tablet."""
    out = d.sqlite("UPDATE device SET enrollment = 'enrolled' WHERE serial IN (%s);"
                   % ",".join("'%s'" % s for s in serials))
    check(out.returncode == 0, out.stderr)


def refused(d, args, expect_in, token="admin", code=1):
    """Runs ardoisectl expecting a refusal: exit code, one line on stderr
    that contains expect_in (usage errors, exit 2, add the usage line)."""
    out = d.ctl(*args, token=token, expect=code)
    err = out.stderr.strip()
    if code == 2 and err.count("\n") == 1 and err.splitlines()[1].startswith("usage: "):
        err = err.splitlines()[0]
    check(err != "" and "\n" not in err, "one-line error for %s: %r" % (args, out.stderr))
    check(expect_in in err, "%s: the message should say %r, got %r" % (" ".join(args), expect_in, err))
    return out


def snapshot(d):
    """What a refused change must leave as it was."""
    return {
        "schools": d.ctl_json("school", "list"),
        "devices": d.ctl_json("device", "list"),
        "people": d.ctl_json("person", "list"),
        "loans": d.ctl_json("loan", "list", "--state", "all"),
        "incidents": d.ctl_json("incident", "list"),
        "audit": len(d.ctl_json("audit", "list")),
    }


def unchanged(d, before, what):
    after = snapshot(d)
    for k in before:
        check(before[k] == after[k], "%s changed %s:\nbefore %r\nafter  %r" % (what, k, before[k], after[k]))


def setup_fleet(d, devices=(("DMPA00000001", A), ("DMPA00000002", A), ("DMPA00000003", A),
                            ("DMPB00000001", B), ("DMPB00000002", B))):
    """The 38 collèges, a few tablets, pupils and a teacher in A and B."""
    d.ctl("school", "import", COLLEGES)
    rows = "serial,model,uai,asset_tag\n" + "".join(
        "%s,iPad 9,%s,T-%s\n" % (s, u, s[-3:]) for s, u in devices)
    d.ctl("device", "import", write(d, "devices.csv", rows))
    signed = school_year_start()
    people = ("external_id;kind;name;class;uai;agreement\n"
              "E-A1;pupil;Léa Dupont;3A;%s;%s\n"
              "E-A2;pupil;Hugo Martin;3B;%s;\n"
              "E-A3;pupil;Inès Bernard;3A;%s;%s\n"
              "T-A1;teacher;Mme Durand;;%s;\n"
              "E-B1;pupil;Jules Petit;4C;%s;%s\n" % (A, signed, A, A, signed, A, B, signed))
    d.ctl("person", "import", write(d, "people.csv", people))


def enrolled_sims(d, n, schools):
    """Collèges A and B, n tablets enrolled by ardoise-sim (a first session
    drained), the i-th moved to schools[i % len(schools)]: (sim, serials)."""
    d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
    d.ctl("school", "add", B, "--name", "Clg Elie Coutarel")
    code = d.ctl_json("enroll-code", "new", "--uses", str(n))["code"]
    sim = Sim(d)
    sim.run("enroll", "-n", str(n), "--code", code)
    sim.run("connect")
    serials = [x["serial"] for x in sim.devices()]
    check(len(serials) == n and all(serials), "enrolled serials: %r" % serials)
    for i, s in enumerate(serials):
        d.ctl("device", "move", s, "--school", schools[i % len(schools)])
    return sim, serials
