"""The Debian package, built from the suite's build dir as a département's IT
would install it (issue 17): tools/make-deb (meson install --destdir, no
second build), dpkg-deb's view of it, then `dpkg -x` into a throwaway root
and the installed binaries run from there: --init --first-start (twice),
ardoised -n on the installed configuration, the installed daemon serving
/healthz and the first technician's token, the man pages rendered by
`man -l` without a warning and naming every key and verb, the systemd unit
verified by systemd-analyze against that root, and its exposure score.
Plain build only (the packaged binaries are the plain build's)."""
import glob
import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile

from harness import check, run, wait_until

BUILD = os.environ["ARDOISE_BUILD_DIR"]
SOURCE = os.environ["ARDOISE_SOURCE_DIR"]
TMP = tempfile.mkdtemp(prefix="ardoise-pkg-")
ROOT = os.path.join(TMP, "root")
STATE = {}


def sh(*args, env=None, timeout=120, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env, **kw)


def clean_env(**extra):
    """The environment without the build tree's overrides: the installed
    binaries find what they find in an installation."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARDOISED_BASELINE_DIR", "ARDOISED_LOCALEDIR", "ARDOISE_LOCALEDIR")}
    env.update(LANG="C", LC_ALL="C")
    env.update(extra)
    return env


def installed(path):
    return os.path.join(ROOT, path.lstrip("/"))


def test_make_deb():
    out = sh(os.path.join(SOURCE, "tools", "make-deb"), "--no-rebuild", BUILD, os.path.join(TMP, "out"),
             timeout=240)
    check(out.returncode == 0, "make-deb failed: " + out.stderr[-2000:])
    deb = out.stdout.strip().splitlines()[-1]
    arch = sh("dpkg", "--print-architecture").stdout.strip()
    check(re.fullmatch(r".*/ardoise_\d+\.\d+\.\d+_%s\.deb" % arch, deb) is not None, "the .deb's name: " + deb)
    STATE["deb"] = deb


def test_deb_info():
    info = sh("dpkg-deb", "--info", STATE["deb"]).stdout
    for field in ("Package: ardoise", "Architecture: " + sh("dpkg", "--print-architecture").stdout.strip(),
                  "Maintainer: ", "Description: "):
        check(field in info, "control has %r: %s" % (field, info))
    version = sh("dpkg-deb", "--field", STATE["deb"], "Version").stdout.strip()
    meson_version = re.search(r"version\s*:\s*'([^']+)'", open(os.path.join(SOURCE, "meson.build")).read()).group(1)
    check(version == meson_version, "Version %r is meson's %r" % (version, meson_version))
    depends = sh("dpkg-deb", "--field", STATE["deb"], "Depends").stdout
    # from dpkg-shlibdeps: the libraries the binaries link, with versions
    for dep in ("libc6 (>=", "libssl3", "libuv1", "libsqlite3-0", "libcurl4", "adduser", "tzdata"):
        check(dep in depends, "Depends has %s: %s" % (dep, depends))
    ctrl = os.path.join(TMP, "control")
    sh("dpkg-deb", "--control", STATE["deb"], ctrl)
    check(open(os.path.join(ctrl, "conffiles")).read().split() == ["/etc/ardoise/ardoised.conf"], "conffiles")
    for script in ("postinst", "prerm", "postrm"):
        p = os.path.join(ctrl, script)
        check(os.access(p, os.X_OK), "%s executable" % script)
        out = sh("sh", "-n", p)
        check(out.returncode == 0, "%s parses: %s" % (script, out.stderr))
    postinst, postrm = open(os.path.join(ctrl, "postinst")).read(), open(os.path.join(ctrl, "postrm")).read()
    check("adduser --system --group --home /var/lib/ardoise" in postinst, "postinst adds the user")
    check("/run/systemd/system" in postinst, "postinst touches systemd only when it runs")
    purge = postrm[postrm.index('"$1" = purge'):]
    check("rm -rf /var/lib/ardoise" in purge and "deluser" in purge,
          "the data and the user go on purge only")
    check(postrm.count("rm -rf /var/lib/ardoise") == 1, "and nowhere else")


def test_deb_contents():
    listing = sh("dpkg-deb", "--contents", STATE["deb"]).stdout
    lines = {l.split()[-1].lstrip("."): l for l in listing.splitlines()}
    check(all(l.split()[1] == "root/root" for l in lines.values()), "every file is root's")
    check(lines["/etc/ardoise/ardoised.conf"].startswith("-rw-r-----"), "the conf is not world-readable")
    for p in ("/usr/sbin/ardoised", "/usr/bin/ardoisectl", "/usr/bin/ardoise-sim"):
        check(lines.get(p, "").startswith("-rwxr-xr-x"), "%s executable" % p)
    check("/usr/bin/ardoised" not in lines, "ardoised is in sbin, not bin")
    os.makedirs(ROOT)
    out = sh("dpkg", "-x", STATE["deb"], ROOT)
    check(out.returncode == 0, "dpkg -x: " + out.stderr)


def test_files_in_place():
    for p in ("/usr/sbin/ardoised", "/usr/bin/ardoisectl", "/usr/bin/ardoise-sim",
              "/usr/share/man/man8/ardoised.8.gz", "/usr/share/man/man5/ardoised.conf.5.gz",
              "/usr/share/man/man1/ardoisectl.1.gz", "/lib/systemd/system/ardoised.service",
              "/etc/ardoise/ardoised.conf", "/usr/share/doc/ardoise/copyright",
              "/usr/share/locale/fr/LC_MESSAGES/ardoise.mo",
              "/usr/share/locale/fr/LC_MESSAGES/ardoise-server.mo"):
        check(os.path.isfile(installed(p)), "%s installed" % p)
    shipped = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SOURCE, "policies", "baseline", "*.mobileconfig")))
    got = sorted(os.listdir(installed("/usr/share/ardoise/baseline")))
    check(shipped and got == shipped, "the baseline profiles: %r" % got)
    samples = os.path.join(SOURCE, "tools", "samples")
    if os.path.isdir(samples):  # the tour's sample spreadsheets, when the tree has them
        want = sorted(f for f in os.listdir(samples) if not f.startswith("."))
        got = sorted(os.listdir(installed("/usr/share/ardoise/exemples")))
        check(got == want, "the sample spreadsheets in /usr/share/ardoise/exemples: %r" % got)
    # the installed binaries link nothing of the build tree
    ldd = sh("ldd", installed("/usr/sbin/ardoised")).stdout
    check("not found" not in ldd and BUILD not in ldd, "ardoised's libraries: " + ldd)


def test_installed_defaults():
    out = sh(installed("/usr/sbin/ardoised"), "--help", env=clean_env())
    check("/usr/share/ardoise/baseline" in out.stdout and "/etc/ardoise/ardoised.conf" in out.stdout,
          "the installed ardoised's defaults are the installed paths: " + out.stdout)
    check(SOURCE not in out.stdout and BUILD not in out.stdout, "no build-tree path in the installed binary's help")
    out = sh(installed("/usr/sbin/ardoised"), "--version", env=clean_env())
    check(out.stdout.strip() == "ardoised " + sh("dpkg-deb", "--field", STATE["deb"], "Version").stdout.strip(),
          "--version is the package's: " + out.stdout)


def first_start():
    return sh(installed("/usr/sbin/ardoised"), "--data-dir", STATE["data"], "--config",
              installed("/etc/ardoise/ardoised.conf"), "--init", "--first-start",
              "--baseline-dir", installed("/usr/share/ardoise/baseline"), env=clean_env())


def test_first_start_twice():
    STATE["data"] = os.path.join(TMP, "var-lib-ardoise")
    out = first_start()
    check(out.returncode == 0, "the unit's ExecStartPre: " + out.stderr)
    check("baseline: 5 profiles" in out.stdout, "the installed baseline is assigned: " + out.stdout)
    token = open(os.path.join(STATE["data"], "admin.token")).read().strip()
    check(token and token not in out.stdout, "the token is in the file, not on stdout")
    STATE["token"] = token
    out = first_start()
    check(out.returncode == 0 and "nothing to do" in out.stdout, "the second start is a no-op: " + out.stdout)


def test_check_accepts_installed_config():
    conf = installed("/etc/ardoise/ardoised.conf")
    check(re.search(r"^listen = 0\.0\.0\.0:443$", open(conf).read(), re.M), "the conf listens on 443")
    out = sh(installed("/usr/sbin/ardoised"), "-n", "--config", conf, "--data-dir", STATE["data"],
             env=clean_env())
    check(out.returncode == 0 and "configuration OK" in out.stdout, "ardoised -n: " + out.stdout + out.stderr)
    check(re.search(r"^listen = 0\.0\.0\.0:443$", out.stdout, re.M), "effective listen: " + out.stdout)


def test_installed_daemon_serves():
    log = os.path.join(TMP, "ardoised.log")
    with open(log, "w") as logf:
        proc = subprocess.Popen([installed("/usr/sbin/ardoised"), "--data-dir", STATE["data"], "--config",
                                 installed("/etc/ardoise/ardoised.conf"), "--listen", "127.0.0.1:0",
                                 "--workers", "1"], stdout=logf, stderr=subprocess.STDOUT,
                                env=clean_env(ARDOISED_LOCALEDIR=installed("/usr/share/locale")))
    try:
        def port():
            check(proc.poll() is None, "the installed ardoised exited: " + open(log).read())
            m = re.search(r"event=listening addr=127\.0\.0\.1:(\d+)", open(log).read())
            return m and m.group(1)
        url = "https://127.0.0.1:%s" % wait_until(port, 30, lambda: "ardoised to listen: " + open(log).read())
        ca = os.path.join(STATE["data"], "ca.pem")
        conn = http.client.HTTPSConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10,
                                           context=ssl.create_default_context(cafile=ca))
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
        check(status == 200, "/healthz of the installed daemon: %s" % status)
        ctl = [installed("/usr/bin/ardoisectl"), "--url", url, "--ca", ca, "--token", STATE["token"]]
        out = sh(*ctl, "whoami", "--json", env=clean_env())
        check(out.returncode == 0 and '"technician"' in out.stdout, "the token file's token signs in: " + out.stdout + out.stderr)
        # the installed catalogues: French for people under a French locale
        fr = clean_env(LANG="fr_FR.UTF-8", LC_ALL="fr_FR.UTF-8", ARDOISE_LOCALEDIR=installed("/usr/share/locale"))
        out = sh(*ctl, "--help", env=fr)
        check("Commandes :" in out.stdout, "the installed ardoise.mo translates: " + out.stdout[:300])
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    check(rc == 0, "SIGTERM stops it cleanly (%d)" % rc)


def rendered(page):
    env = dict(clean_env(), MANWIDTH="80")
    warnings = sh("man", "--warnings", "-l", page, env=env)
    check(warnings.returncode == 0 and warnings.stderr == "", "%s renders without warnings: %s" % (page, warnings.stderr))
    return re.sub(r".\x08", "", warnings.stdout)


def test_man_pages():
    man8 = rendered(installed("/usr/share/man/man8/ardoised.8.gz"))
    for opt in ("--data-dir", "--init", "--first-start", "--config", "--listen", "--check", "--baseline-dir"):
        check(opt in man8, "ardoised(8) documents %s" % opt)
    man5 = rendered(installed("/usr/share/man/man5/ardoised.conf.5.gz"))
    conf = open(installed("/etc/ardoise/ardoised.conf")).read()
    section, n = None, 0
    for line in conf.splitlines():
        m = re.match(r"^\[(\w+)\]$", line)
        if m:
            section = m.group(1)
            check("[%s]" % section in man5, "ardoised.conf(5) has [%s]" % section)
        m = re.match(r"^(?:# )?(\w+) =", line)
        if m:
            n += 1
            check(re.search(r"^\s+%s\b" % m.group(1), man5, re.M), "ardoised.conf(5) documents %s.%s" % (section, m.group(1)))
    check(n > 60, "the installed conf holds every key (%d)" % n)
    man1 = re.sub(r"\s+", " ", rendered(installed("/usr/share/man/man1/ardoisectl.1.gz")))
    helptext = sh(installed("/usr/bin/ardoisectl"), "--help", env=clean_env()).stdout
    verbs = re.findall(r"^  ([a-z-]+(?: [a-z-]+)?)\s", helptext[helptext.index("Commands:"):], re.M)
    check(len(verbs) > 50, "ardoisectl --help lists the verbs (%d)" % len(verbs))
    for v in verbs:
        check("ardoisectl %s" % v in man1, "ardoisectl(1) has %r" % v)


def test_systemd_unit():
    unit = installed("/lib/systemd/system/ardoised.service")
    text = open(unit).read()
    for line in ("Type=notify", "User=ardoise", "StateDirectory=ardoise", "ConfigurationDirectory=ardoise",
                 "ExecStartPre=/usr/sbin/ardoised --data-dir /var/lib/ardoise --config /etc/ardoise/ardoised.conf --init --first-start",
                 "ExecStart=/usr/sbin/ardoised --data-dir /var/lib/ardoise --config /etc/ardoise/ardoised.conf\n",
                 "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "SystemCallFilter=@system-service"):
        check(line in text, "the unit has %r" % line)
    check(shutil.which("systemd-analyze") is not None, "systemd-analyze missing (Debian package systemd)")
    # verify against the package's root: its binaries, its man pages; the
    # targets the unit names and /bin/kill taken from this system
    for f in glob.glob("/lib/systemd/system/*.target") + glob.glob("/lib/systemd/system/*.slice"):
        dst = installed("/lib/systemd/system/" + os.path.basename(f))
        if not os.path.lexists(dst):
            shutil.copy(f, dst, follow_symlinks=True)
    os.makedirs(installed("/bin"), exist_ok=True)
    shutil.copy("/bin/kill", installed("/bin/kill"))
    out = sh("systemd-analyze", "verify", "--root=" + ROOT, unit,
             env=dict(clean_env(), MANPATH=installed("/usr/share/man")))
    check(out.returncode == 0 and out.stdout + out.stderr == "", "systemd-analyze verify: " + out.stdout + out.stderr)
    out = sh("systemd-analyze", "security", "--offline=true", "--no-pager", unit, env=clean_env())
    m = re.search(r"Overall exposure level for ardoised\.service: ([\d.]+) (\w+)", out.stdout)
    check(m is not None, "systemd-analyze security: " + out.stdout[-500:] + out.stderr)
    print("     systemd-analyze security: exposure %s %s" % (m.group(1), m.group(2)))
    check(float(m.group(1)) <= 2.0, "exposure at most 2.0: %s" % m.group(1))


if __name__ == "__main__":
    try:
        run([test_make_deb, test_deb_info, test_deb_contents, test_files_in_place, test_installed_defaults,
             test_first_start_twice, test_check_accepts_installed_config, test_installed_daemon_serves,
             test_man_pages, test_systemd_unit])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
