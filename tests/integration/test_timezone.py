"""[server] timezone: the API writes every time with the offset of its zone,
reads days typed JJ/MM/AAAA or AAAA-MM-JJ as that zone's midnight and times
without a zone as its local time; ardoisectl shows them in the reader's zone,
the French way under a French locale; an unknown zone stops the daemon."""
import datetime
import os
import re
import zoneinfo

from fleet_common import api_time, day, refused, setup_fleet
from harness import Daemon, check, run

CAYENNE = "America/Cayenne"  # la Guyane: UTC-3 all year


def jjmmaaaa(iso_day):
    y, m, d = iso_day.split("-")
    return "%s/%s/%s" % (d, m, y)


def ctl_in(d, env, *args):
    """ardoisectl run with the variables env set (and the locale ones not in
    env unset), for what it shows a person."""
    saved = dict(os.environ)
    try:
        for k in ("LC_ALL", "LC_TIME", "LANG", "LANGUAGE", "TZ"):
            os.environ.pop(k, None)
        os.environ.update(env)
        return d.ctl(*args, lang=None).stdout
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_times_carry_the_zone_offset():
    with Daemon(config="[server]\ntimezone = %s\n" % CAYENNE) as d:
        setup_fleet(d)
        zone = zoneinfo.ZoneInfo(CAYENNE)
        # a due date typed the French way is that day, in Guyane
        loan = d.ctl_json("loan", "create", "--device", "DMPA00000001", "--person", "E-A1",
                          "--due", "05/07/2027")
        check(loan["due"] == "2027-07-05", loan)
        listed = d.ctl_json("loan", "list")
        check([l["due"] for l in listed] == ["2027-07-05"], listed)
        started = api_time(listed[0]["started"], CAYENNE)
        check(abs((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()) < 600, started)
        # what is stored is Guyane's midnight of that day (raw SQL: reading what is stored)
        stored = int(d.sqlite("SELECT due_at FROM loan").stdout.strip())
        midnight = datetime.datetime(2027, 7, 5, tzinfo=zone).timestamp()
        check(stored == midnight, "due_at %d, Guyane's midnight %d" % (stored, midnight))
        # the ISO way is the same day; a day that does not exist is refused
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A3", "--due", "2027-07-05")
        check(int(d.sqlite("SELECT max(due_at) FROM loan").stdout.strip()) == midnight, "ISO day")
        refused(d, ["loan", "create", "--device", "DMPA00000003", "--person", "E-A2", "--due", "31/02/2027"],
                "is not a date")
        # a time typed without a zone is Guyane's clock; with Z, UTC
        yesterday = day(-1, CAYENNE)
        inc = d.ctl_json("incident", "declare", "--device", "DMPA00000002", "--kind", "damage",
                         "--occurred", jjmmaaaa(yesterday) + " 08:30")
        occurred = api_time(inc["occurred"], CAYENNE)
        want = datetime.datetime.fromisoformat(yesterday + "T08:30").replace(tzinfo=zone)
        check(occurred == want and inc["occurred"].startswith(yesterday + "T08:30:00"), inc)
        inc2 = d.ctl_json("incident", "declare", "--device", "DMPA00000001", "--kind", "failure",
                          "--occurred", yesterday + "T11:30Z")
        check(api_time(inc2["occurred"], CAYENNE) == want, inc2)
        # a day typed on the command line goes to the server as typed
        d.ctl_json("locate", "register", "--since", jjmmaaaa(yesterday))
        refused(d, ["locate", "register", "--since", "31/02/2026"], "since must be a day")
        # every time of the answers carries the zone's offset
        for row in d.ctl_json("audit", "list"):
            api_time(row["ts"], CAYENNE)
        api_time(d.ctl_json("dashboard")["generated_at"], CAYENNE)
        api_time(d.ctl_json("device", "show", "DMPA00000001")["created_at"], CAYENNE)
        # ardoisectl shows a time in the reader's zone: French in France ...
        paris = want.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
        out = ctl_in(d, {"TZ": "Europe/Paris", "LANG": "fr_FR.UTF-8"}, "incident", "show", str(inc["id"]))
        check(paris.strftime("%d/%m/%Y %H:%M") in out, "Paris time, JJ/MM/AAAA: %r" % out)
        # ... and ISO elsewhere (LC_TIME before LANG)
        out = ctl_in(d, {"TZ": CAYENNE, "LANG": "fr_FR.UTF-8", "LC_TIME": "C"}, "incident", "show",
                     str(inc["id"]))
        check(want.strftime("%Y-%m-%d %H:%M") in out, "Guyane time, ISO: %r" % out)
        check(not re.search(r"\d\d/\d\d/\d{4}", out), out)


def test_unknown_zone_stops_the_daemon():
    with Daemon(start=False) as d:
        for zone, says in (("Europe/Pariss", "unknown time zone 'Europe/Pariss'"),
                           ("Europe", "unknown time zone 'Europe'"),
                           ("../../etc/passwd", "not a time zone name")):
            path = d.write_config("[server]\ntimezone = %s\n" % zone)
            for args in (["--listen", "127.0.0.1:0"], ["-n"]):
                out = d.run_once("--config", path, *args)
                check(out.returncode != 0, "started with timezone %r" % zone)
                check("%s:2: server.timezone: " % path in out.stderr and says in out.stderr,
                      "names the file, line and zone: %r" % out.stderr)
        path = d.write_config("[server]\ntimezone = Pacific/Noumea\n")
        out = d.run_once("--config", path, "-n")
        check(out.returncode == 0 and "timezone = Pacific/Noumea" in out.stdout, out.stdout + out.stderr)


if __name__ == "__main__":
    run([test_times_carry_the_zone_offset, test_unknown_zone_stops_the_daemon])
