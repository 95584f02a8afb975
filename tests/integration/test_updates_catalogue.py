"""Apple's software update catalogue (GDMF) fetched by a real ardoised from
a local stand-in (gdmf_standin.py: HTTPS with a test CA, the fixture
tests/apple/gdmf_fixture.json): the first fetch, the API and `ardoisectl
update catalogue` (table, --model, --json, French), a 429 with Retry-After
tried again, a 500, a truncated or invalid answer and an unreachable
server each keeping the last good copy and showing the failure, the copy
surviving a restart with the stand-in down, who may see it.  Hostile: bad
[updates] settings at start (file:line), a bad ?model=, the system's CAs
refusing the test certificate, an unreadable catalogue_ca.

catalogue_refresh_hours = 0: nothing is fetched unless a test asks
(POST /api/v1/jobs/updates_catalogue/run).  The daemon's clock is put at
2026-12-02 12:00 UTC (ARDOISE_CLOCK_OFFSET) so that the fixture's expiry
days say the same whenever the test runs.
"""
import datetime
import json
import os
import re
import subprocess
import tempfile

from fleet_common import A
from gdmf_standin import FIXTURE, GdmfStandin
from harness import Daemon, check, run, token_of, wait_until

MAKE_CERTS = os.environ.get("APNS_MAKE_CERTS", "build/tests/support/tu-make-certs")
PKI = tempfile.mkdtemp(prefix="ardoise-gdmf-pki-")
subprocess.run([MAKE_CERTS, PKI], check=True, capture_output=True)
CA, CERT, KEY = (os.path.join(PKI, n) for n in ("ca.pem", "server.pem", "server.key"))

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
os.environ["ARDOISE_CLOCK_OFFSET"] = str(int((NOW - datetime.datetime.now(UTC)).total_seconds()))

with open(FIXTURE, "rb") as f:
    FIXTURE_BYTES = f.read()

IPADS = ["iPad7,5", "iPad7,6", "iPad7,11", "iPad7,12", "iPad13,18", "iPad13,19", "iPad14,1",
         "iPad16,3", "iPad16,4"]


def config(url, extra="", ca=CA):
    return ("[updates]\ncatalogue_url = %s\ncatalogue_ca = %s\ncatalogue_refresh_hours = 0\n%s"
            % (url, ca, extra))


def state(d, query="", token="admin", expect=200):
    return d.api("GET", "/api/v1/updates/catalogue" + query, token=token, expect=expect)


def fetch(d):
    """Runs the fetch job and waits for its end; returns the state."""
    before = state(d)["attempts"]
    d.api("POST", "/api/v1/jobs/updates_catalogue/run")
    st = {}

    def done():
        st.update(state(d))
        return not st["fetching"] and st["attempts"] > before
    wait_until(done, 60, "the catalogue fetch to end")
    return st


def model(st, name):
    for m in st["models"]:
        if m["model"] == name:
            return m
    raise AssertionError("%s not in %s" % (name, [m["model"] for m in st["models"]]))


def cache(d):
    with open(os.path.join(d.data, "gdmf.json"), "rb") as f:
        return f.read()


def test_first_fetch():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        st = state(d)
        check(st["fetched_at"] is None and st["models"] == [] and st["releases"] == 0
              and st["last_error"] is None and g.requests == 0,
              "nothing before the first fetch: %s" % st)
        out = d.ctl("update", "catalogue")
        check("never" in out.stdout and "no model" in out.stdout, out.stdout)
        st = fetch(d)
        check(g.requests == 1 and g.user_agents[0].startswith("ardoise/"), g.user_agents)
        check(st["last_error"] is None and st["releases"] == 13, st)
        check(st["fetched_at"].startswith("2026-12-02T13:00"), "Paris time: %s" % st["fetched_at"])
        check(st["url"] == g.url and st["set"] == "PublicAssetSets", st)
        check([m["model"] for m in st["models"]] == IPADS, "every iPad, in order: %s"
              % [m["model"] for m in st["models"]])
        m = model(st, "iPad13,18")
        check(m["latest"] == {"version": "26.1", "build": "23B85", "posted": "2026-11-03",
                              "expires": None}, m)
        # 26.0.1 expired on 30 November; the iPhone-only 16.7.12 is not there
        check([r["version"] for r in m["offered"]] == ["26.1", "18.7.2", "18.6.2"], m)
        check(m["offered"][1]["expires"] == "2027-05-04", m)
        m = model(st, "iPad16,3")  # the same version twice: the later build first
        check([(r["version"], r["build"]) for r in m["offered"]]
              == [("26.1", "23B86"), ("26.1", "23B85")], m)
        check(model(st, "iPad7,5")["latest"]["version"] == "17.7.10", st)
        check(cache(d) == FIXTURE_BYTES, "the answer is kept as received")
        mode = os.stat(os.path.join(d.data, "gdmf.json")).st_mode & 0o777
        check(mode & 0o022 == 0, "not writable by others: %o" % mode)
        check(not os.path.exists(os.path.join(d.data, "gdmf.json.tmp")), "no temporary left")
        check(re.search(r"event=gdmf_fetched releases=13 bytes=%d tries=1" % len(FIXTURE_BYTES),
                        d.log()), d.log()[-2000:])

        # one model, any product type
        one = state(d, "?model=iPhone10,3")
        check(len(one["models"]) == 1 and one["models"][0]["latest"]["version"] == "16.7.12", one)
        none = state(d, "?model=iPad99,1")
        check(none["models"] == [{"model": "iPad99,1", "latest": None, "offered": []}], none)

        # the CLI: a table, one model, JSON, French
        out = d.ctl("update", "catalogue").stdout
        check(re.search(r"iPad13,18\s+26\.1 \(23B85\)\s+2026-11-03\s+-\s+26\.1, 18\.7\.2, 18\.6\.2",
                        out), out)
        check(re.search(r"iPad16,3\s+26\.1 \(23B86\)", out) and "13 releases" in out, out)
        check(re.search(r"fetched:\s+2026-12-02 \d\d:\d\d", out), out)
        out = d.ctl("update", "catalogue", "--model", "iPad16,4").stdout
        check("iPad16,4" in out and "iPad13,18" not in out, out)
        js = d.ctl_json("update", "catalogue", "--model", "iPad13,18")
        check(js["models"][0]["latest"]["build"] == "23B85" and js["releases"] == 13, js)
        fr = d.ctl("update", "catalogue", lang="fr_FR.UTF-8").stdout
        check("MODÈLE" in fr and "récupéré" in fr and "03/11/2026" in fr, fr)
        helptext = d.ctl("update", "catalogue", "--help").stdout
        check("--model MODEL" in helptext and "iPad" in helptext, helptext)
        # the windows outside class hours: Wednesday noon is in one
        win = st["windows"]
        check(win["allowed_now"] is True and win["allowed_windows"].startswith("mon-fri 18:00"),
              win)


def test_429_then_success():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        g.then(g.too_many(1))
        st = fetch(d)
        check(g.requests == 2 and st["last_error"] is None and st["releases"] == 13, st)
        check(re.search(r"event=gdmf_fetched .* tries=2", d.log()), d.log()[-1500:])
        first = st["fetched_at"]
        # three retries at most: four 429s give up, the copy stays
        g.then(*[g.too_many(1)] * 4)
        st = fetch(d)
        check(g.requests == 6, "1 + 3 retries: %d" % g.requests)
        check(st["last_error"]["status"] == 429 and "429" in st["last_error"]["message"], st)
        check(st["fetched_at"] == first and st["releases"] == 13, st)
        # a Retry-After over 10 s, or none: not tried again
        for answer in (g.too_many(11), g.too_many(None)):
            n = g.requests
            g.then(answer)
            st = fetch(d)
            check(g.requests == n + 1 and st["last_error"]["status"] == 429, st)
        st = fetch(d)
        check(st["last_error"] is None, "a success clears the failure: %s" % st)


def test_fetch_off_the_loop():
    """One event loop: while the stand-in holds its answer, the daemon
    answers (the fetch waits on a work thread) and says it is fetching; a
    second run meanwhile starts no second fetch."""
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url), workers=1) as d:
        g.then(g.hold())
        d.api("POST", "/api/v1/jobs/updates_catalogue/run")
        wait_until(g.held.is_set, 30, "the stand-in to hold the request")
        st = state(d)
        check(st["fetching"] is True and st["fetched_at"] is None, st)
        check(d.healthz() == 200, "the loop answers")
        out = d.ctl("update", "catalogue").stdout
        check("fetching" in out, out)
        d.api("POST", "/api/v1/jobs/updates_catalogue/run")
        g.let_go()
        wait_until(lambda: not state(d)["fetching"], 30, "the fetch to end")
        st = state(d)
        check(st["releases"] == 13 and st["attempts"] == 1 and g.requests == 1, st)
        # SIGTERM with a fetch in flight: it gives up, the daemon stops cleanly
        g.then(g.hold())
        d.api("POST", "/api/v1/jobs/updates_catalogue/run")
        wait_until(g.held.is_set, 30, "the stand-in to hold the request")
        check(d.stop() == 0, "a clean stop")
        g.let_go()
        check(re.search(r"event=gdmf_fetch_failed status=0 tries=1 kept=previous error=stopped",
                        d.log()), d.log()[-1500:])


def test_failures_keep_the_copy():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        good = fetch(d)
        for answer, status, why in ((g.error(500), 500, "HTTP status 500"),
                                    (g.error(503), 503, "HTTP status 503"),
                                    (g.answer(302, b"", {"Location": "https://evil.test/"}), 302,
                                     "HTTP status 302"),
                                    (g.invalid(), 200,
                                     "PublicAssetSets.iOS[0].ProductVersion: not a string"),
                                    (g.truncated(), 200, "not JSON"),
                                    (g.answer(200, b"<html>maintenance</html>"), 200, "not JSON"),
                                    (g.answer(200, b'{"PublicAssetSets": []}'), 200,
                                     "PublicAssetSets: not an object"),
                                    (g.cut(), None, "")):
            g.then(answer)
            st = fetch(d)
            err = st["last_error"]
            check(err is not None and err["status"] == status and why in err["message"],
                  "%s: %s" % (why, err))
            check(err["at"].startswith("2026-12-02T13:"), err)
            check(st["fetched_at"] == good["fetched_at"] and st["releases"] == 13
                  and st["models"] == good["models"], "the copy is kept after %s" % why)
            check(cache(d) == FIXTURE_BYTES, "the file is kept after %s" % why)
        check(re.search(r"event=gdmf_fetch_failed status=500 tries=1 kept=previous "
                        r"error=\"?HTTP status 500", d.log()), d.log()[-3000:])
        g.then(g.error(500))
        fetch(d)
        out = d.ctl("update", "catalogue").stdout
        check(re.search(r"last attempt failed:\s+2026-12-02 \d\d:\d\d: HTTP 500: HTTP status 500",
                        out) and "iPad13,18" in out, out)
        # an answer over the cap (8 MiB) is refused as it arrives
        g.then(g.answer(200, b" " * (9 << 20)))
        st = fetch(d)
        check("passes 8388608 bytes" in st["last_error"]["message"], st)
        check(st["releases"] == 13, st)


def test_restart_with_standin_down():
    g = GdmfStandin(CERT, KEY).start()
    with Daemon(config=config(g.url)) as d:
        first = fetch(d)
        g.stop()
        d.stop()
        d.start()
        st = state(d)
        check(st["fetched_at"] == first["fetched_at"] and st["releases"] == 13
              and st["models"] == first["models"] and st["last_error"] is None,
              "the copy is loaded at start: %s" % st)
        check("event=gdmf_loaded" in d.log(), d.log()[-1000:])
        st = fetch(d)
        check(st["last_error"]["status"] is None and st["last_error"]["message"], st)
        check(st["releases"] == 13 and st["fetched_at"] == first["fetched_at"], st)
        out = d.ctl("update", "catalogue").stdout
        check("last attempt failed" in out and "iPad13,18" in out, out)
        # a copy that no longer parses is left aside at start, said in the log
        d.stop()
        with open(os.path.join(d.data, "gdmf.json"), "wb") as f:
            f.write(b'{"PublicAssetSets": {"iOS": [{"Build": 7}]}}')
        d.start()
        st = state(d)
        check(st["fetched_at"] is None and st["releases"] == 0, st)
        check(re.search(r"event=gdmf_copy_unusable .*ProductVersion: missing", d.log()),
              d.log()[-1000:])


def test_who_may_see_it():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
        tokens = {}
        for role in ("ati", "referent", "auditor", "technician"):
            args = ["account", "create", "--name", role + ".1", "--role", role]
            if role in ("ati", "referent"):
                args += ["--school", A]
            tokens[role] = token_of(d.ctl(*args))
        fetch(d)
        for role in ("ati", "technician"):
            st = state(d, token=tokens[role])
            check(st["releases"] == 13, "%s may see it" % role)
            out = d.ctl("update", "catalogue", token=tokens[role]).stdout
            check("iPad13,18" in out, out)
        for role in ("referent", "auditor"):
            body = state(d, token=tokens[role], expect=403)
            check("software update catalogue" in json.dumps(body), body)
            out = d.ctl("update", "catalogue", token=tokens[role], expect=1)
            check("may not see the software update catalogue" in out.stderr, out.stderr)
        state(d, token=None, expect=401)
        # only technicians run the fetch
        status, _, _ = d.request("POST", "/api/v1/jobs/updates_catalogue/run", token=tokens["ati"])
        check(status == 403, "an ATI does not run jobs: %d" % status)


def test_bad_model_parameter():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url)) as d:
        fetch(d)
        for bad in ("iPad%2013,18", "iPad13,18%0A", "x" * 64, "%00", "", "iPad13%2C18%3B"):
            body = state(d, "?model=" + bad, expect=400)
            check("product type" in json.dumps(body), body)
        out = d.ctl("update", "catalogue", "--model", "iPad 13", expect=1)
        check("product type" in out.stderr, out.stderr)
        check(state(d, "?model=iPad13%2C18")["models"][0]["latest"]["build"] == "23B85", "")


def test_trust():
    with GdmfStandin(CERT, KEY) as g, Daemon(config=config(g.url, ca="")) as d:
        # the system's CAs only: the test certificate is refused
        st = fetch(d)
        check(st["last_error"] and st["last_error"]["status"] is None and
              re.search(r"certificate|SSL", st["last_error"]["message"]), st)
        check(st["releases"] == 0 and g.requests == 0, st)
        # a file that holds no certificate: said at the fetch
        garbage = os.path.join(PKI, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        d.stop()
        d.config_text = config(g.url, ca=garbage)
        d.start()
        st = fetch(d)
        check("no PEM certificate could be read" in st["last_error"]["message"], st)
        check(st["releases"] == 0 and g.requests == 0, st)


def test_bad_settings_at_start():
    with Daemon(start=False) as d:
        for line, why in (("catalogue_url = http://gdmf.apple.com/v2/pmv", "not an https:// URL"),
                          ("catalogue_url = https://", "not an https:// URL"),
                          ("catalogue_url = https://gdmf apple.com/", "not an https:// URL"),
                          ("catalogue_refresh_hours = 721", "out of range 0..720"),
                          ("catalogue_ca = /nonexistent/gdmf.pem", "No such file"),
                          ("catalogue_refresh_hours = often", "not a whole number"),
                          ("allowed_windows = mon-fri 18h-7h30", "the hours are not like"),
                          ("allowed_windows = weekdays 18:00-07:30", "the days are not like"),
                          ("allowed_windows = mon 18:00-19:00 ; tue 18:00-19:00",
                           "a blank before ';'"),
                          ("allowed_windows = mon 18:00-24:30", "the hours are not like"),
                          ("catalogue = x", "unknown key")):
            path = d.write_config("[updates]\n" + line + "\n", name="bad.conf")
            out = d.run_once("--config", path, "-n")
            check(out.returncode != 0, "%s is refused at start" % line)
            check(re.search(r"bad\.conf:2: ", out.stderr) and why in out.stderr,
                  "%s: names file:line and why: %r" % (line, out.stderr))
        path = d.write_config("[updates]\nallowed_windows = sat-sun 00:00-24:00;wed 12:00-24:00\n"
                              "catalogue_refresh_hours = 6\n", name="ok.conf")
        out = d.run_once("--config", path, "-n")
        check(out.returncode == 0, out.stderr)
        check("[updates]\ncatalogue_url = https://gdmf.apple.com/v2/pmv\n" in out.stdout
              and "allowed_windows = sat-sun 00:00-24:00;wed 12:00-24:00" in out.stdout
              and "catalogue_refresh_hours = 6" in out.stdout, out.stdout)


if __name__ == "__main__":
    run([test_first_fetch, test_429_then_success, test_fetch_off_the_loop,
         test_failures_keep_the_copy,
         test_restart_with_standin_down, test_who_may_see_it, test_bad_model_parameter,
         test_trust, test_bad_settings_at_start])
