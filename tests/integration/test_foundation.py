"""Foundation: init, TLS, whoami, token refusal, SIGTERM."""
import os
import signal
import subprocess

from harness import ARDOISED, Daemon, check, run


def test_init_refuses_existing_dir():
    with Daemon(start=False) as d:
        out = subprocess.run([ARDOISED, "--data-dir", d.data, "--init"], capture_output=True, text=True)
        check(out.returncode != 0, "second --init must fail")
        check("already exists" in out.stderr, "message names the existing file: " + out.stderr)
        for f in ("ca.key", "server.key", "secret.key"):
            mode = os.stat(os.path.join(d.data, f)).st_mode & 0o777
            check(mode == 0o600, "%s must be 0600, is %o" % (f, mode))


def test_whoami_and_bad_token():
    with Daemon() as d:
        who = d.ctl_json("whoami")
        check(who["name"] == "admin" and who["role"] == "technician" and who["schools"] == [],
              "whoami: %r" % who)
        out = d.ctl("whoami", token="ard_nope", expect=1)
        check(out.stderr.count("\n") == 1 and "token" in out.stderr, "one-line error: %r" % out.stderr)
        status, _, body = d.request("GET", "/api/v1/whoami", token=None)
        check(status == 401 and b'"error"' in body and b'"code"' in body, "401 JSON: %r" % body)
        check(d.token not in d.log(), "the token must never be logged")


def test_sigterm_exits_zero():
    with Daemon() as d:
        status, _, _ = d.request("GET", "/healthz", token=None)
        check(status == 200, "healthz")
        rc = d.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM must exit 0, got %s" % rc)
        check("event=stopped" in d.log(), "logs its stop")


if __name__ == "__main__":
    run([test_init_refuses_existing_dir, test_whoami_and_bad_token, test_sigterm_exits_zero])
