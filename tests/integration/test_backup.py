"""Backup and restore end to end: `ardoisectl backup` during a wave of
ardoise-sim sessions, `openssl cms -decrypt` on the file, `ardoised
--restore` into a new data directory holding the key files, a second
ardoised on it serving the same tablets, the scheduled backup ([backup]
dir, keep) run through its job, and the hostile cases (roles, no
recipient, bad files and keys for --restore).
"""
import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import threading

from harness import ARDOISED, Daemon, Sim, check, new_code, run, token_of, wait_until

OPS = tempfile.mkdtemp(prefix="ardoise-op-")


def operator(name, kind="ec"):
    """A certificate and key the operator keeps (openssl req); (pem, key)."""
    pem, key = os.path.join(OPS, name + ".pem"), os.path.join(OPS, name + ".key")
    if not os.path.exists(pem):
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec" \
            else ["-newkey", "rsa:2048"]
        out = subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30", "-subj",
                              "/CN=" + name, "-keyout", key, "-out", pem] + newkey,
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, out.stderr)
    return pem, key


def config(extra=""):
    pem, _ = operator("op")
    return "[backup]\nrecipient = %s\n%s" % (pem, extra)


def restore(data, backup, key, *more):
    o = subprocess.run([ARDOISED, "--data-dir", data, "--restore", backup, "--key", key]
                       + list(more), capture_output=True, text=True, timeout=120)
    # a refusal exits 1 anyway: no sanitizer report may hide there
    check("Sanitizer" not in o.stderr and "runtime error:" not in o.stderr, o.stderr[-3000:])
    return o


def new_dir_with_keys(d, name):
    """A data directory holding d's key files, as the operator copies them back."""
    path = os.path.join(d.tmp, name)
    os.mkdir(path, 0o700)
    for f in ("ca.pem", "ca.key", "server.pem", "server.key", "secret.key", "audit.key"):
        shutil.copy2(os.path.join(d.data, f), path)
    return path


def acknowledged(db_path):
    """{uuid} of the commands acknowledged in the database (read only)."""
    c = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=20)
    try:
        return {r[0] for r in c.execute("SELECT uuid FROM command WHERE status='acknowledged'")}
    finally:
        c.close()


def test_backup_during_wave_restores_and_serves():
    _, key = operator("op")
    with Daemon(config=config()) as d:
        sim = Sim(d)
        n = 16
        # enrolment queues each tablet's inventory, DDM and baseline (11 commands)
        sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2")
        # the wave: every tablet's session, one at a time, while backups are taken
        wave = {}
        t = threading.Thread(target=lambda: wave.update(sim.connect("-c", "1")))
        t.start()
        out_file = os.path.join(d.tmp, "b.cms")
        taken = []  # (acknowledged before it, its answer, whether the wave still ran after)
        while t.is_alive() or not taken:
            before = acknowledged(os.path.join(d.data, "ardoise.db"))
            r = d.ctl_json("backup", out_file, "--force")
            taken.append((before, r, t.is_alive()))
            if len(taken) == 4:
                break
        t.join(120)
        check(wave.get("errors") == 0, "the wave ran without errors: %r" % wave)
        print("backups during the wave: %d, the wave still running after %d of them; "
              "acknowledged before the last: %d" % (len(taken), sum(x[2] for x in taken),
                                                    len(taken[-1][0])))
        # the first backup started before the wave's last acknowledgement: they overlapped
        check(len(taken[0][0]) < len(acknowledged(os.path.join(d.data, "ardoise.db"))),
              "the backups ran during the wave")
        before, r, _ = taken[-1]
        st = os.stat(out_file)
        check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == r["bytes"], "0600, %r" % r)
        with open(out_file, "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == r["sha256"], "sha256 %r" % r)
        check(r["point"]["audit_last_id"] > 0 and len(r["point"]["audit_hash"]) == 64, r)
        check(not os.path.exists(out_file + ".part"), "no .part left")
        check(not [x for x in os.listdir(d.data) if x.startswith(".backup")],
              "no plaintext left in the data dir: %r" % os.listdir(d.data))
        rows = d.api("GET", "/api/v1/audit?action=backup.take")
        check(any(x.get("action") == "backup.take" for x in rows.get("items", rows.get("rows", []))),
              "the backup is audited: %r" % rows)
        # the standard tool opens it too
        plain = os.path.join(d.tmp, "plain.db")
        o = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-recip",
                            operator("op")[0], "-inkey", key, "-in", out_file, "-out", plain],
                           capture_output=True, text=True, timeout=60)
        check(o.returncode == 0, o.stderr)
        check(before <= acknowledged(plain), "every command acknowledged before the backup is in it")

        # restore into a new data dir, a second daemon on it
        data2 = new_dir_with_keys(d, "data2")
        o = restore(data2, out_file, key, "--cert", operator("op")[0])
        check(o.returncode == 0, o.stderr)
        check("tablets: %d" % n in o.stdout and "snapshot: audit row %d" %
              r["point"]["audit_last_id"] in o.stdout, o.stdout)
        check(stat.S_IMODE(os.stat(os.path.join(data2, "ardoise.db")).st_mode) == 0o600, "0600")
        with open(os.path.join(data2, "audit.head")) as f:
            check("last_id=%d " % r["point"]["audit_last_id"] in f.read(), "audit.head rewritten")
        check(before <= acknowledged(os.path.join(data2, "ardoise.db")), "restored acks")
        d.stop()
        d2 = Daemon()
        d2.data, d2.token = data2, d.token
        # a backup killed half-way leaves its plaintext copy: gone at start
        leftover = os.path.join(data2, ".backup-4242-0x1.db")
        with open(leftover, "wb") as f:
            f.write(b"SQLite format 3\0 pupils' data")
        os.chmod(leftover, 0o600)
        try:
            d2.start()
            check(not os.path.exists(leftover), "a crashed backup's plaintext copy is removed")
            check("backup_leftover_removed" in d2.log(), "its removal is logged")
            sim2 = Sim(d2)
            sim2.state = sim.state  # the same tablets, their same state files
            w = sim2.connect()
            check(w["errors"] == 0, "the tablets are served by the restored daemon: %r" % w)
            devs = d2.ctl_json("device", "list")
            items = devs["items"] if isinstance(devs, dict) else devs
            check(len(items) == n, "the same tablets: %d" % len(items))
            v = d2.ctl_json("audit", "verify")
            check(v.get("intact") is True or v.get("ok") is True, "audit verify: %r" % v)
        finally:
            d2.stop()
            shutil.rmtree(d2.tmp, ignore_errors=True)
        d.start()


def test_scheduled_backup_writes_and_keeps_n():
    bdir = tempfile.mkdtemp(prefix="ardoise-bk-")
    old = ["ardoise-20200101-0200.cms", "ardoise-20200102-0200.cms", "ardoise-20200103-0200.cms"]
    for name in old + ["notes.txt", "ardoise-2020-bad.cms"]:
        open(os.path.join(bdir, name), "w").close()
    try:
        with Daemon(config=config("dir = %s\nkeep = 2\nhour = 0\n" % bdir)) as d:
            d.api("POST", "/api/v1/jobs/backup/run")

            def scheduled():
                names = sorted(x for x in os.listdir(bdir) if x.startswith("ardoise-")
                               and len(x) == 25)
                return names if len(names) == 2 and names[0] == old[2] else None
            names = wait_until(scheduled, 30, "the backup written and the older pruned")
            check("notes.txt" in os.listdir(bdir) and "ardoise-2020-bad.cms" in os.listdir(bdir),
                  "only the schedule's files are pruned")
            new = os.path.join(bdir, names[1])
            check(stat.S_IMODE(os.stat(new).st_mode) == 0o600, "0600")
            check(not [x for x in os.listdir(bdir) if x.endswith(".part")], "no .part left")
            d.wait_log(r"event=backup_written file=%s bytes=\d+ audit_last_id=\d+ pruned=2"
                       % new)
            # a second run in the same minute replaces nothing half-written
            o = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-recip",
                                operator("op")[0], "-inkey", operator("op")[1], "-in", new,
                                "-out", os.path.join(d.tmp, "s.db")],
                               capture_output=True, text=True, timeout=60)
            check(o.returncode == 0, o.stderr)
        with Daemon(config="[backup]\ndir = %s\n" % bdir) as d:
            # a directory but no recipient: the run fails, logged, nothing written
            before = sorted(os.listdir(bdir))
            d.api("POST", "/api/v1/jobs/backup/run")
            d.wait_log(r"event=backup_failed")
            check(sorted(os.listdir(bdir)) == before, "nothing written without a recipient")
    finally:
        shutil.rmtree(bdir, ignore_errors=True)


def test_roles_and_no_recipient_refused():
    with Daemon(config=config()) as d:
        d.ctl("school", "add", "0131266F", "--name", "Clg A")
        for role in ("ati", "referent", "auditor"):
            args = ["account", "create", "--name", role + ".1", "--role", role]
            if role != "auditor":
                args += ["--school", "0131266F"]
            tok = token_of(d.ctl(*args))
            status, _, _ = d.request("GET", "/api/v1/backup", token=tok)
            check(status == 403, "%s refused: %d" % (role, status))
            f = os.path.join(d.tmp, role + ".cms")
            d.ctl("backup", f, token=tok, expect=1)
            check(not os.path.exists(f) and not os.path.exists(f + ".part"), "no file for " + role)
        status, _, _ = d.request("GET", "/api/v1/backup", token=None)
        check(status == 401, "no token: %d" % status)
        status, _, _ = d.request("HEAD", "/api/v1/backup")
        check(status == 405, "HEAD takes no backup: %d" % status)
        # an existing file is not replaced without --force
        f = os.path.join(d.tmp, "x.cms")
        open(f, "w").close()
        out = d.ctl("backup", f, expect=1)
        check("--force" in out.stderr and os.path.getsize(f) == 0, out.stderr)
        d.ctl("backup", f, "--force")
        check(os.path.getsize(f) > 0, "replaced with --force")
        # SQL: the audit store refuses the row: no backup is handed out without it
        d.sqlite("CREATE TRIGGER audit_refused BEFORE INSERT ON audit WHEN NEW.action = "
                 "'backup.take' BEGIN SELECT RAISE(ABORT, 'audit store refused'); END;")
        status, _, body = d.request("GET", "/api/v1/backup")
        check(status >= 500 and b"error" in body, "no audit row, no backup: %d %r" % (status, body))
        d.ctl("backup", os.path.join(d.tmp, "y.cms"), expect=1)
        check(not os.path.exists(os.path.join(d.tmp, "y.cms")), "nothing written")
        d.sqlite("DROP TRIGGER audit_refused")
        d.check_serving("the refused backups")
    with Daemon() as d:
        out = d.ctl("backup", os.path.join(d.tmp, "n.cms"), expect=1)
        check("recipient" in out.stderr, out.stderr)
        out = d.ctl("backup", os.path.join(d.tmp, "n.cms"), expect=1, lang="fr_FR.UTF-8")
        check("destinataire" in out.stderr, "French refusal: " + out.stderr)
        check(not os.path.exists(os.path.join(d.tmp, "n.cms")), "nothing written")
        # -n: the recipient must be a usable certificate
        bad = os.path.join(d.tmp, "bad.pem")
        with open(bad, "w") as f:
            f.write("not a certificate\n")
        o = d.run_once("-n", "--config", d.write_config("[backup]\nrecipient = %s\n" % bad, "b.conf"))
        check(o.returncode != 0 and "backup.recipient" in o.stderr, o.stderr)
        o = d.run_once("-n", "--config", d.write_config(config(), "g.conf"))
        check(o.returncode == 0, o.stderr)


def test_restore_refuses_bad_input():
    pem, key = operator("op")
    other_pem, other_key = operator("other", "rsa")
    with Daemon(config=config()) as d:
        good = os.path.join(d.tmp, "good.cms")
        d.ctl("backup", good)
        tmp = d.tmp

        def refused(data, backup, k, words, *more):
            before = sorted(os.listdir(data))
            o = restore(data, backup, k, *more)
            check(o.returncode == 1 and words in o.stderr, "%s: %s" % (words, o.stderr))
            check(sorted(os.listdir(data)) == before, "nothing written: %r" % os.listdir(data))

        data = new_dir_with_keys(d, "r")
        refused(data, good, other_key, "does not open")                # wrong key
        refused(data, good, key, "is not the certificate", "--cert", other_pem)
        cut = os.path.join(tmp, "cut.cms")
        with open(good, "rb") as f, open(cut, "wb") as g:
            g.write(f.read()[:-2000])
        refused(data, cut, key, "cut short")                           # truncated
        junk = os.path.join(tmp, "junk.cms")
        with open(junk, "wb") as g:
            g.write(os.urandom(5000))
        refused(data, junk, key, "not a whole Ardoise backup")          # not CMS
        plain = os.path.join(tmp, "plain.db")                         # a plaintext database
        subprocess.run(["sqlite3", plain, "CREATE TABLE t(x); PRAGMA user_version=5;"], check=True)
        refused(data, plain, key, "not a whole Ardoise backup")
        # a database from the future, encrypted as a backup would be
        o = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-recip", pem,
                            "-inkey", key, "-in", good, "-out", os.path.join(tmp, "f.db")],
                           capture_output=True, text=True, timeout=60)
        check(o.returncode == 0, o.stderr)
        subprocess.run(["sqlite3", os.path.join(tmp, "f.db"), "PRAGMA user_version=9999;"],
                       check=True)
        future = os.path.join(tmp, "future.cms")
        subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-gcm", "-outform",
                        "DER", "-in", os.path.join(tmp, "f.db"), "-out", future, pem], check=True)
        refused(data, future, key, "newer than this build")
        # keys of another installation: the audit chain does not verify
        with Daemon() as e:
            alien = new_dir_with_keys(e, "alien")
            refused(alien, good, key, "audit.key")
        # key files missing, a database present
        os.remove(os.path.join(data, "secret.key"))
        refused(data, good, key, "secret.key")
        shutil.copy2(os.path.join(d.data, "secret.key"), data)
        open(os.path.join(data, "ardoise.db"), "w").close()
        refused(data, good, key, "already holds ardoise.db")


if __name__ == "__main__":
    try:
        run([test_backup_during_wave_restores_and_serves, test_scheduled_backup_writes_and_keeps_n,
             test_roles_and_no_recipient_refused, test_restore_refuses_bad_input])
    finally:
        shutil.rmtree(OPS, ignore_errors=True)
