"""Lifecycle of ardoised: --init, start-up checks (key file modes, config
errors, -n), migrations of the data dir, and the drain on SIGTERM/SIGINT."""
import hashlib
import os
import re
import signal
import socket
import subprocess
import time

from harness import Daemon, Failure, check, read_response, run, wait_until

KEY_FILES = ("ca.key", "server.key", "secret.key")


def digest_dir(path):
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def schema_version(d):
    out = d.sqlite("PRAGMA user_version")
    check(out.returncode == 0, "sqlite3: " + out.stderr)
    return int(out.stdout.strip())


def connect_refused(d):
    try:
        socket.create_connection(("127.0.0.1", d.port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def wait_exit(d, timeout):
    """Waits for the daemon to exit by itself; returns (rc, seconds)."""
    t0 = time.time()
    try:
        rc = d.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise Failure("ardoised still running %ds after the signal" % timeout)
    took = time.time() - t0
    d.stop()  # bookkeeping only: the process is gone
    return rc, took


# -- --init ----------------------------------------------------------------

def test_init_creates_private_keys():
    d = Daemon(start=False)
    old = os.umask(0)  # a careless umask must not widen the key files
    try:
        d.init()
    finally:
        os.umask(old)
    try:
        for f in KEY_FILES + ("ardoise.db",):
            mode = os.stat(os.path.join(d.data, f)).st_mode & 0o777
            check(mode == 0o600, "%s must be 0600, is %o" % (f, mode))
        check(os.stat(d.data).st_mode & 0o077 == 0, "the data dir is private")
        check(re.fullmatch(r"ard_[A-Za-z0-9_-]{43}", d.token), "token format: %r" % d.token)
    finally:
        d.__exit__(None, None, None)


def test_init_twice_refused():
    with Daemon(start=False) as d:
        before = digest_dir(d.data)
        out = d.run_once("--init")
        check(out.returncode != 0, "a second --init must fail")
        check("already exists" in out.stderr and d.data in out.stderr,
              "the message names the existing file: " + out.stderr)
        check("token" not in out.stdout, "no new token printed: " + out.stdout)
        check(digest_dir(d.data) == before, "the installation is untouched")
        d.start()
        d.ctl("whoami")  # the first token still works

    for only in ("ardoise.db", "secret.key"):  # any one owned file is enough to refuse
        with Daemon(start=False) as d:
            for f in os.listdir(d.data):
                if f != only:
                    os.unlink(os.path.join(d.data, f))
            out = d.run_once("--init")
            check(out.returncode != 0 and only in out.stderr,
                  "--init with only %s present: %s" % (only, out.stderr))


def test_start_without_init():
    d = Daemon(start=False)
    try:
        os.makedirs(d.data)
        out = d.run_once("--listen", "127.0.0.1:0")
        check(out.returncode != 0 and "--init" in out.stderr, "tells to run --init: " + out.stderr)
    finally:
        d.__exit__(None, None, None)


# -- start-up checks -------------------------------------------------------

def test_refuses_readable_key_files():
    with Daemon(start=False) as d:
        for name in KEY_FILES:  # (every mode bit is covered by tests/unit/daemon/test_keystore.c)
            path = os.path.join(d.data, name)
            os.chmod(path, 0o644)
            out = d.run_once("--listen", "127.0.0.1:0")
            check(out.returncode != 0, "started with a world-readable %s" % name)
            check(path in out.stderr, "the message names %s: %r" % (path, out.stderr))
            os.chmod(path, 0o640)
            out = d.run_once("-n")
            check(out.returncode != 0 and path in out.stderr,
                  "-n refuses a group-readable %s: %r" % (name, out.stderr))
            os.chmod(path, 0o600)
        d.start()
        d.check_serving()


def test_check_config_ok():
    conf = "[server]\nheader_timeout_ms = 700\n\n[push]\npassphrase = hunter2\n"
    with Daemon(start=False, config=conf) as d:
        path = d.write_config()
        t0 = time.time()
        out = d.run_once("--config", path, "-n")
        check(out.returncode == 0, "-n with a good config exits 0: " + out.stderr)
        check(time.time() - t0 < 5, "-n exits at once")
        check("header_timeout_ms = 700" in out.stdout, "prints the effective config")
        check("configuration OK" in out.stdout, "says OK: " + out.stdout[-200:])
        check("hunter2" not in out.stdout + out.stderr, "-n never prints secrets")
        check("listening" not in out.stderr, "-n does not serve")


def test_ec_ca_warned():
    # a data dir whose CA key is EC (made by hand, or before the CA was
    # RSA): iPads could not enrol by SCEP, and the operator is told
    with Daemon(start=False) as d:
        out = d.run_once("-n")
        check(out.returncode == 0 and "not RSA" not in out.stdout, "--init's CA is RSA: " + out.stdout[-300:])
        key, pem = os.path.join(d.data, "ca.key"), os.path.join(d.data, "ca.pem")
        os.unlink(key)
        os.unlink(pem)
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                               "-nodes", "-keyout", key, "-out", pem, "-subj", "/CN=EC CA", "-days", "30"],
                              capture_output=True, text=True, timeout=60)
        check(made.returncode == 0, "openssl: " + made.stderr)
        os.chmod(key, 0o600)
        out = d.run_once("-n")
        check(out.returncode == 0 and "warning: the CA key in ca.key is not RSA: iPads cannot enrol"
              in out.stdout, "-n warns: " + out.stdout[-300:])
        d.start()  # (its server certificate no longer chains to ca.pem: not served here)
        check("event=ca_not_rsa" in d.log(), "the start is logged with a warning")


def test_check_config_errors():
    cases = [
        ("[server]\nworkers = 2\nheader_timeout = 5\n", 3, "header_timeout"),
        ("[server]\n\n[srever]\nworkers = 2\n", 4, "srever"),
        ("[log]\nlevel = chatty\n", 2, "chatty"),
        ("[server]\nmax_body_bytes = 12k\n", 2, "max_body_bytes"),
        ("[server]\nheader_timeout_ms = 1\n", 2, "header_timeout_ms"),
        ("[server\n", 1, "syntax"),
    ]
    with Daemon(start=False) as d:
        for i, (text, line, what) in enumerate(cases):
            path = d.write_config(text, name="bad.conf")
            runs = [("-n",)] + ([("--listen", "127.0.0.1:0")] if i == 0 else [])  # and a start
            for args in runs:
                out = d.run_once("--config", path, *args)
                check(out.returncode != 0, "%r accepted with %s" % (text, args))
                check(("%s:%d:" % (path, line)) in out.stderr and what in out.stderr,
                      "error names file:line and %r: %r" % (what, out.stderr))
        out = d.run_once("--config", os.path.join(d.tmp, "missing.conf"), "-n")
        check(out.returncode != 0 and "missing.conf" in out.stderr, "missing file named")


def test_bad_listen_refused():
    with Daemon(start=False) as d:
        for listen in ("nonsense", "127.0.0.1:99999", "300.1.1.1:80"):
            out = d.run_once("--listen", listen)
            check(out.returncode != 0, "--listen %s accepted" % listen)
            check(listen in out.stderr, "names the bad address: " + out.stderr)


# -- migrations ------------------------------------------------------------

def test_migrates_an_empty_database():
    with Daemon(start=False) as d:
        newest = schema_version(d)
        check(newest >= 1, "--init leaves a migrated database")
        os.unlink(os.path.join(d.data, "ardoise.db"))
        # version 0, private like every database the daemon accepts
        os.close(os.open(os.path.join(d.data, "ardoise.db"), os.O_CREAT | os.O_WRONLY, 0o600))
        d.start()
        d.check_serving("migrating from version 0")
        check(("schema=%d" % newest) in d.log(), "logs the schema version")
        check(schema_version(d) == newest, "migrated to %d" % newest)


def test_data_survives_restart():
    with Daemon() as d:
        d.ctl("whoami")
        check(d.stop() == 0, "clean stop")
        d.start()
        d.ctl("whoami")  # the account and its token are still there
        status, _, _ = d.request("GET", "/api/v1/whoami")
        check(status == 200, "token valid after restart")


def test_refuses_newer_database():
    with Daemon(start=False) as d:
        out = d.sqlite("PRAGMA user_version = 999")
        check(out.returncode == 0, out.stderr)
        out = d.run_once("--listen", "127.0.0.1:0")
        check(out.returncode != 0, "a database from a newer Ardoise is refused")
        check("ardoise.db" in out.stderr, "names the database: " + out.stderr)
        check(schema_version(d) == 999, "and leaves it as it was")


# -- signals and the drain -------------------------------------------------

DRAIN = "[server]\nbody_timeout_ms = 20000\ndrain_timeout_ms = 8000\n[log]\nlevel = debug\n"


def test_sigterm_finishes_request_in_flight():
    with Daemon(config=DRAIN) as d:
        s = d.raw_tls()
        s.sendall(b"GET /healthz HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234")
        d.wait_log(r"event=conn_state conn=\S+ from=\S+ to=body")
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log(r"event=shutdown signal=SIGTERM")
        # the workers close their listeners
        wait_until(lambda: connect_refused(d), 3,
                   "new connections to be refused during the drain", interval=0.01)
        check(d.alive(), "waits for the request in flight")
        s.sendall(b"56789")
        status, h, body = read_response(s.makefile("rb"))
        check(status == 200 and b"ok" in body, "the request completes: %d" % status)
        check(h.get("connection") == "close", "and its connection closes: %r" % h)
        s.close()
        rc, took = wait_exit(d, 10)
        check(rc == 0, "exit 0 after the drain, got %s" % rc)
        check(took < 3, "exits once drained, took %.2fs" % took)
        check("event=stopped" in d.log(), "logs its stop")


def test_sigterm_closes_idle_connections_at_once():
    with Daemon(config=DRAIN) as d:
        c = d.connect()
        status, _, _ = d.request("GET", "/healthz", token=None, conn=c)  # now idle, keep-alive
        check(status == 200, "healthz")
        half = d.tcp()  # and one that never finishes its handshake
        d.wait_log(r"event=conn_open conn=\S+ peer=127\.0\.0\.1:%d" % half.getsockname()[1])
        d.proc.send_signal(signal.SIGTERM)
        rc, took = wait_exit(d, 10)
        check(rc == 0, "exit 0, got %s" % rc)
        check(took < 2, "idle connections do not hold the drain (drain_timeout 8 s), took %.2fs"
              % took)
        c.close()
        half.close()


def test_drain_is_bounded():
    conf = "[server]\nbody_timeout_ms = 60000\ndrain_timeout_ms = 300\n[log]\nlevel = debug\n"
    with Daemon(config=conf) as d:
        s = d.raw_tls()
        s.sendall(b"POST /healthz HTTP/1.1\r\nContent-Length: 100\r\n\r\nnever finished")
        d.wait_log(r"event=conn_state conn=\S+ from=\S+ to=body")
        d.proc.send_signal(signal.SIGTERM)
        rc, took = wait_exit(d, 10)
        check(rc == 0, "exit 0 after the drain timeout, got %s" % rc)
        check(0.2 < took < 3, "bounded by drain_timeout_ms=300, took %.2fs" % took)
        check("event=drain_timeout" in d.log(), "logs the drain timeout")
        s.close()


def test_sigint_exits_zero():
    with Daemon() as d:
        d.check_serving()
        d.proc.send_signal(signal.SIGINT)
        rc, _ = wait_exit(d, 10)
        check(rc == 0, "SIGINT exits 0, got %s" % rc)
        check("signal=SIGINT" in d.log(), "logs the signal")


if __name__ == "__main__":
    run([test_init_creates_private_keys, test_init_twice_refused, test_start_without_init,
         test_refuses_readable_key_files, test_check_config_ok, test_ec_ca_warned, test_check_config_errors,
         test_bad_listen_refused, test_migrates_an_empty_database, test_data_survives_restart,
         test_refuses_newer_database, test_sigterm_finishes_request_in_flight,
         test_sigterm_closes_idle_connections_at_once, test_drain_is_bounded,
         test_sigint_exits_zero])
