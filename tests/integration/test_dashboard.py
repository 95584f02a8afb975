"""The collège dashboard (GET /api/v1/dashboard, `ardoisectl dashboard`):
its figures on a small fleet enrolled by ardoise-sim (the baseline
installed, one tablet that never came back, one whose pupil had installed a
profile of the same identifier by hand), loans, an overdue one, an incident,
a leaver; tablets not seen for 7 and 30 days by moving the daemon's clock;
who sees which collèges; hostile ?school= values."""
import json
import os
import sqlite3
import unicodedata
import urllib.parse

from fleet_common import A, B, COLLEGES, api_time, day, refused, school_year_start
from harness import Daemon, Sim, check, new_code, run, token_of, write

C = "0132786H"  # a third collège of the agreement
UNENROLLED = ("DMPA90000001", "DMPA90000002")


def folded(name):
    """A name as the dashboard orders it: case and accents aside."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def school_of(dash, uai):
    rows = [s for s in dash["schools"] if s["uai"] == uai]
    check(len(rows) == 1, "one row for %s: %r" % (uai, dash))
    return rows[0]


def fleet(d):
    """Five tablets enrolled by the simulator: four in A, one in B (their
    serials imported with the collège afterwards, as an inventory file
    would); two tablets of A never enrolled; people, two loans (one
    overdue), an incident, a leaver.  Returns (sim, serials, udids)."""
    d.ctl("school", "import", COLLEGES)
    sim = Sim(d)
    sim("enroll", "-n", "5", "--code", new_code(d, 5), "--key-pool", "2")
    devs = sim.devices()
    serials = [x["serial"] for x in devs]
    udids = [x["udid"] for x in devs]
    rows = "serial,model,uai,asset_tag\n" + "".join(
        "%s,iPad 10,%s,T-%d\n" % (s, A if i < 4 else B, i) for i, s in enumerate(serials))
    rows += "".join("%s,iPad 9,%s,\n" % (s, A) for s in UNENROLLED)
    d.ctl("device", "import", write(d, "devices.csv", rows))
    # the pupil of the fourth tablet had installed a profile with the
    # baseline's web filter identifier by hand: the simulator's own state
    # file holds it as an unmanaged profile, the tablet refuses the install
    st = sqlite3.connect(sim.state)
    st.execute("INSERT INTO profile(device_id, identifier, uuid, name, managed)"
               " SELECT id, 'fr.ardoise.baseline.webfilter', 'HAND-MADE', 'Filtre', 0"
               " FROM device WHERE serial = ?", (serials[3],))
    st.commit()
    st.close()
    # every tablet but the third runs its sessions: inventory, baseline
    for u in udids[:2] + udids[3:]:
        sim("connect", "--device", u)
    d.ctl("person", "import", write(d, "people.csv",
                                    "external_id;kind;name;class;uai;agreement\n"
                                    "E-A1;pupil;Léa Dupont;3A;%s;%s\n"
                                    "E-A2;pupil;Hugo Martin;3B;%s;\n"
                                    "E-A3;pupil;Inès Bernard;3A;%s;\n"
                                    "E-B1;pupil;Jules Petit;4C;%s;%s\n"
                                    % (A, school_year_start(), A, A, B, school_year_start())))
    d.ctl("loan", "create", "--device", serials[0], "--person", "E-A1", "--home-use")
    d.ctl("loan", "create", "--device", serials[1], "--person", "E-A2")
    d.ctl("person", "leave", "E-A2", "--date", day(-1))  # the loan is due yesterday: overdue
    d.ctl("person", "leave", "E-A3", "--date", day(10))  # leaves within 30 days
    d.ctl("person", "leave", "E-B1", "--date", day(45))  # later
    d.ctl("incident", "declare", "--device", UNENROLLED[0], "--kind", "damage",
          "--occurred", day(0))
    return sim, serials, udids


def test_figures_and_cli():
    with Daemon() as d:
        sim, serials, udids = fleet(d)
        dash = d.ctl_json("dashboard")
        check(len(dash["schools"]) == 38, "a technician sees the 38 collèges: %d" % len(dash["schools"]))
        names = [s["name"] for s in dash["schools"]]
        check(names == sorted(names, key=folded), "sorted by name: %r" % names)
        api_time(dash["generated_at"])  # a time with the offset of Europe/Paris
        a = school_of(dash, A)
        check(a["name"] == "Clg N. Sarraute" and a["commune"] == "Aubagne", a)
        t = a["tablets"]
        check(t["total"] == 6 and t["enrolled"] == 4 and t["not_enrolled"] == 2, "tablets of A: %r" % t)
        check(t["by_state"] == {"stock": 3, "loaned": 2, "returning": 0, "repair": 1, "lost": 0,
                                "stolen": 0, "retired": 0}, "by state: %r" % t["by_state"])
        check(t["not_seen_7d"] == 0 and t["not_seen_30d"] == 0, "all seen just now: %r" % t)
        p = a["policy"]
        check((p["converged"], p["pending"], p["failing"]) == (2, 1, 1),
              "two converged, the third waits for its baseline, the fourth fails: %r" % p)
        check(p["failing_items"] == [{"item": "fr.ardoise.baseline.webfilter", "count": 1}],
              "the item that fails: %r" % p)
        check(a["loans"] == {"open": 2, "overdue": 1, "home_use": 1}, "loans: %r" % a["loans"])
        check(a["incidents"] == {"open": 1} and a["leavers_soon"] == 1, a)
        b = school_of(dash, B)
        check(b["tablets"]["total"] == 1 and b["policy"]["converged"] == 1 and b["leavers_soon"] == 0
              and b["loans"]["open"] == 0, "B: %r" % b)
        empty = school_of(dash, C)
        check(empty["tablets"]["total"] == 0 and empty["policy"]["failing_items"] == [], empty)
        # the planner agrees on the policy figures (policy status runs it)
        st = d.ctl_json("policy", "status", "--school", A)
        check((st["converged"], st["pending"], st["failing"]) == (2, 1, 1), "policy status: %r" % st)
        # the same through the API, one collège
        one = d.api("GET", "/api/v1/dashboard?school=" + A.lower())
        check([s["uai"] for s in one["schools"]] == [A] and one["schools"][0] == a,
              "?school= narrows to one collège (UAI in any case): %r" % one)
        # the CLI: one line a collège
        out = d.ctl("dashboard", "--school", A).stdout.strip().splitlines()
        check(len(out) == 1 and out[0].startswith(A + " Clg N. Sarraute (Aubagne): 6 tablets, 4 enrolled")
              and "1 failing (fr.ardoise.baseline.webfilter 1)" in out[0]
              and "loans 2 open, 1 overdue, 1 home use" in out[0] and "1 leaving within 30 d" in out[0],
              "dashboard line: %r" % out)
        check(len(d.ctl("dashboard").stdout.strip().splitlines()) == 38, "one line per collège")

        # tablets not seen: eight days later only the first tablet comes back
        d.stop()
        try:
            os.environ["ARDOISE_CLOCK_OFFSET"] = str(8 * 86400)
            d.start()
            sim("connect", "--device", udids[0])
            t = school_of(d.ctl_json("dashboard", "--school", A), A)["tablets"]
            check(t["not_seen_7d"] == 3 and t["not_seen_30d"] == 0,
                  "three enrolled tablets of A unseen for 8 days (not the two never enrolled): %r" % t)
            d.stop()
            os.environ["ARDOISE_CLOCK_OFFSET"] = str(31 * 86400)
            d.start()
            t = school_of(d.ctl_json("dashboard", "--school", A), A)["tablets"]
            check(t["not_seen_7d"] == 4 and t["not_seen_30d"] == 3, "31 days later: %r" % t)
        finally:
            os.environ.pop("ARDOISE_CLOCK_OFFSET", None)


def account(d, name, role, *schools):
    args = ["account", "create", "--name", name, "--role", role]
    for s in schools:
        args += ["--school", s]
    return token_of(d.ctl(*args))


def test_scope():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "import", COLLEGES)
        d.ctl("device", "import", write(d, "devices.csv", "serial,uai\nDMPA00000001,%s\n"
                                        "DMPB00000001,%s\nDMPC00000001,%s\n" % (A, B, C)))
        ref = account(d, "ref-a", "referent", A)
        ati = account(d, "ati-ac", "ati", C, A)
        aud = account(d, "audit", "auditor")
        mine = d.ctl_json("dashboard", token=ref)
        check([s["uai"] for s in mine["schools"]] == [A], "a référent sees its collège only: %r" % mine)
        check(mine["schools"][0]["tablets"]["total"] == 1, mine)
        two = d.ctl_json("dashboard", token=ati)
        check([s["uai"] for s in two["schools"]] == [C, A],
              "an ATI sees its two collèges, by name (Clg les Matagots, Clg N. Sarraute): %r" % two)
        check(len(d.ctl_json("dashboard", token=aud)["schools"]) == 38, "the auditor sees all")
        check(school_of(d.ctl_json("dashboard", "--school", B, token=aud), B)["tablets"]["total"] == 1,
              "the auditor narrows to any collège")
        # another collège, or one that does not exist, answer alike: 404
        other = refused(d, ["dashboard", "--school", B], "no collège %s in your collèges" % B, token=ref)
        check("HTTP 404" in other.stderr, other.stderr)
        unknown = refused(d, ["dashboard", "--school", "0000000A"], "no collège 0000000A in your collèges",
                          token=ref)
        check("HTTP 404" in unknown.stderr, unknown.stderr)
        refused(d, ["dashboard", "--school", "0000000A"], "no collège 0000000A")
        refused(d, ["dashboard", "--school", B], "no collège %s in your collèges" % B, token=ati)
        # hostile ?school=
        for bad, why in (("0131266G", "the check letter of 0131266 is F"),
                         ("X" * 5000, "7 digits and a check letter"),
                         ("0131266F' OR '1'='1", "7 digits and a check letter"),
                         ("%", "7 digits and a check letter")):
            status, _, body = d.request("GET", "/api/v1/dashboard?school=" + urllib.parse.quote(bad),
                                        token=ref)
            err = json.loads(body)["error"]
            check(status == 400 and why in err["message"], "%r: %d %r" % (bad[:20], status, err))
        status, _, _ = d.request("GET", "/api/v1/dashboard", token=None)
        check(status == 401, "no token: %d" % status)
        status, _, _ = d.request("GET", "/api/v1/dashboard", token="ard_" + "x" * 43)
        check(status == 401, "a forged token: %d" % status)
        status, _, _ = d.request("POST", "/api/v1/dashboard", body={})
        check(status == 405, "read-only: %d" % status)
        d.check_serving("hostile dashboard requests")


if __name__ == "__main__":
    run([test_figures_and_cli, test_scope])
