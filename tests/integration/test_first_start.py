"""ardoised --init --first-start, the systemd unit's ExecStartPre: the first
start initialises the data directory and leaves the first technician's
token and one-time link in files of mode 0600 (never on stdout, which goes
to the journal); every later start does nothing; a partial data directory
is refused and left as it is; a failed first start leaves nothing, so the
next one tries again.  Also the build-time outputs: ardoised --man=8|5,
--sample-config."""
import os
import re
import shutil
import stat
import subprocess
import tempfile

from harness import ARDOISED, ARDOISECTL, Daemon, check, run

BASELINE = os.environ["ARDOISED_BASELINE_DIR"]


def first_start(data, *extra, env=None):
    return subprocess.run([ARDOISED, "--data-dir", data, "--init", "--first-start"] + list(extra),
                          capture_output=True, text=True, timeout=60, env=env)


def test_first_start_writes_the_token_files_once():
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        out = first_start(data)
        check(out.returncode == 0, "first start failed: " + out.stderr)
        token_path, link_path = os.path.join(data, "admin.token"), os.path.join(data, "admin.link")
        token = open(token_path).read().strip()
        link = open(link_path).read().strip()
        check(re.fullmatch(r"[A-Za-z0-9_-]{20,}", token) is not None, "a token in admin.token: %r" % token)
        check(re.fullmatch(r"/lien/[A-Za-z0-9_-]{20,}", link) is not None, "a link in admin.link: %r" % link)
        for p in (token_path, link_path):
            check(stat.S_IMODE(os.stat(p).st_mode) == 0o600, "%s mode 0600" % p)
        # nothing secret on stdout or stderr: the journal keeps them
        check(token not in out.stdout + out.stderr and link[6:] not in out.stdout + out.stderr,
              "the token or link was printed: " + out.stdout)
        check("token file: %s" % token_path in out.stdout and "link file: %s" % link_path in out.stdout,
              "the files' paths are printed: " + out.stdout)
        check(stat.S_IMODE(os.stat(data).st_mode) == 0o700, "data dir 0700")
        # the token works: the daemon started on that data dir knows it
        d = Daemon(start=False)
        d.data, d.token = data, token
        d.start()
        try:
            who = d.ctl_json("whoami")
            check(who.get("name") == "admin" and who.get("role") == "technician",
                  "the token file's token is the first technician's: %r" % who)
        finally:
            d.stop()
        # the second start: nothing, the files and database untouched
        before = {n: os.stat(os.path.join(data, n)).st_mtime_ns for n in os.listdir(data)}
        out = first_start(data)
        check(out.returncode == 0 and "nothing to do" in out.stdout, "second start is a no-op: %r" % (out,))
        check(open(token_path).read().strip() == token, "the token file is kept")
        for n in ("ardoise.db", "ca.key", "admin.token"):
            check(os.stat(os.path.join(data, n)).st_mtime_ns == before[n], "%s untouched" % n)
        shutil.rmtree(d.tmp, ignore_errors=True)


def test_first_start_puts_the_configured_hostname_in_the_certificate():
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "ardoised.conf")
        with open(conf, "w") as f:
            f.write("[server]\nhostname = mdm.departement.example\n")
        out = first_start(os.path.join(tmp, "data"), "--config", conf)
        check(out.returncode == 0, "first start with --config: " + out.stderr)
        san = subprocess.run(["openssl", "x509", "-in", os.path.join(tmp, "data", "server.pem"),
                              "-noout", "-ext", "subjectAltName"], capture_output=True, text=True)
        check("DNS:mdm.departement.example" in san.stdout and "DNS:localhost" in san.stdout,
              "the certificate names server.hostname: " + san.stdout)
        # a configuration ardoised would refuse stops the first start before anything is made
        with open(conf, "w") as f:
            f.write("[server]\nhostnam = typo\n")
        out = first_start(os.path.join(tmp, "data2"), "--config", conf)
        check(out.returncode != 0 and "hostnam" in out.stderr, "a bad configuration is named: " + out.stderr)
        check(not os.path.exists(os.path.join(tmp, "data2", "ardoise.db")), "nothing made")


def test_partial_data_dir_is_refused_and_left():
    for name in ("ca.key", "server.pem", "admin.token"):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "data")
            os.mkdir(data, 0o700)
            with open(os.path.join(data, name), "w") as f:
                f.write("kept\n")
            out = first_start(data)
            check(out.returncode != 0 and "partial installation" in out.stderr,
                  "%s alone: refused, %r" % (name, out.stderr))
            check(open(os.path.join(data, name)).read() == "kept\n", "%s left as it was" % name)
            check(not os.path.exists(os.path.join(data, "ardoise.db")), "no database made")


def test_failed_first_start_leaves_nothing_and_the_next_succeeds():
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        bad = os.path.join(tmp, "baseline")
        os.mkdir(bad)
        with open(os.path.join(bad, "broken.mobileconfig"), "w") as f:
            f.write("<plist>not a profile")
        out = first_start(data, "--baseline-dir", bad)
        check(out.returncode != 0 and "baseline" in out.stderr, "a bad baseline stops it: " + out.stderr)
        left = sorted(os.listdir(data)) if os.path.isdir(data) else []
        check(left == [], "a failed first start leaves nothing: %r" % left)
        out = first_start(data)
        check(out.returncode == 0 and os.path.exists(os.path.join(data, "admin.token")),
              "the next start initialises: " + out.stderr)


def test_token_file_is_never_followed():
    """A link planted as admin.token (with no database) is refused, never written through."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data, 0o700)
        target = os.path.join(tmp, "elsewhere")
        os.symlink(target, os.path.join(data, "admin.token"))
        out = first_start(data)
        check(out.returncode != 0, "a planted admin.token link is refused")
        check(not os.path.exists(target), "nothing written through the link")


def test_usage():
    out = subprocess.run([ARDOISED, "--data-dir", "/nonexistent", "--first-start"],
                         capture_output=True, text=True)
    check(out.returncode != 0 and "--first-start goes with --init" in out.stderr, out.stderr)
    out = subprocess.run([ARDOISED, "--man=7"], capture_output=True, text=True)
    check(out.returncode != 0 and "--man takes 8" in out.stderr, out.stderr)
    out = subprocess.run([ARDOISED, "--help"], capture_output=True, text=True)
    check("--first-start" in out.stdout and "--man" not in out.stdout, "help lists --first-start, hides --man")


def test_sample_config_is_accepted_and_complete():
    """The installed ardoised.conf: every key of ardoised.conf(5) is in it, commented out with
    its default except listen; with its listen overridden, ardoised -n accepts it unchanged."""
    sample = subprocess.run([ARDOISED, "--sample-config"], capture_output=True, text=True, check=True).stdout
    man5 = subprocess.run([ARDOISED, "--man=5"], capture_output=True, text=True, check=True).stdout
    keys = re.findall(r"^\.TP\n\\fB(\S+)\\fR$", man5, re.M)
    check(len(keys) > 60, "the page lists the keys: %d" % len(keys))
    for k in keys:
        k = k.replace("\\-", "-")
        check(re.search(r"^(# )?%s =" % re.escape(k), sample, re.M), "%s in the sample" % k)
    check(re.search(r"^listen = 0\.0\.0\.0:443$", sample, re.M), "listen set to 0.0.0.0:443")
    uncommented = [l for l in sample.splitlines() if l and not l.startswith("#") and not l.startswith("[")]
    check(uncommented == ["listen = 0.0.0.0:443"], "only listen is set: %r" % uncommented)
    # every commented key, uncommented, is its default: ardoised -n accepts the whole file so
    with Daemon(start=False) as d:
        full = re.sub(r"^# (\w+ =.*)$", r"\1", sample, flags=re.M)
        for text in (sample, full):
            conf = d.write_config(text)
            out = subprocess.run([ARDOISED, "-n", "--config", conf, "--data-dir", d.data,
                                  "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
            check(out.returncode == 0 and "configuration OK" in out.stdout, "ardoised -n: " + out.stderr)


def test_every_doc_string_is_written():
    man5 = subprocess.run([ARDOISED, "--man=5"], capture_output=True, text=True, check=True).stdout
    for block in man5.split(".TP\n")[1:]:
        lines = block.splitlines()
        check(len(lines) >= 4 and len(lines[1]) > 20 and not lines[1].startswith("."),
              "a key without its doc: %r" % lines[:3])
    man1 = subprocess.run([ARDOISECTL, "--man"], capture_output=True, text=True, check=True).stdout
    check(".SS \"whoami\"" in man1 and ".SH COMMANDS" in man1, "ardoisectl(1) lists the verbs")


if __name__ == "__main__":
    run([test_first_start_writes_the_token_files_once,
         test_first_start_puts_the_configured_hostname_in_the_certificate,
         test_partial_data_dir_is_refused_and_left,
         test_failed_first_start_leaves_nothing_and_the_next_succeeds,
         test_token_file_is_never_followed,
         test_usage,
         test_sample_config_is_accepted_and_complete,
         test_every_doc_string_is_written])
