"""test_reload_push.py - the push certificate renewed in place, then SIGHUP
(issue 17, ops).

Against the local APNs stand-in (tests/push/apns_standin, helpers of
test_push.py): the daemon pushes with a first certificate; the operator
puts a renewed one (another key, another issuer, a later expiry) at the
same paths and sends SIGHUP; `push status` shows the new certificate, and
once the APNs connection is replaced by one whose server trusts only the
new certificate's issuer, pushes still go out: the new identity is the one
presented.  A broken certificate at the paths then HUP keeps the working
identity (push_reload_failed) and pushes go on.
"""
import os
import shutil
import signal
import subprocess

from harness import Daemon, check, run, wait_until
from test_push import MAKE_CERTS, TOPIC, Standin, add_device, mkdtemp, pki, status, wait_idle


def make_pki(days):
    d = mkdtemp()
    subprocess.run([MAKE_CERTS, d, TOPIC, str(days)], check=True)
    return d


def install(src_dir, dst_dir):
    """The push certificate and key of src_dir at the configured paths
    (copied with their modes: the key stays 0600)."""
    for name in ("push.pem", "push.key"):
        tmp = os.path.join(dst_dir, name + ".new")
        shutil.copy(os.path.join(src_dir, name), tmp)
        os.replace(tmp, os.path.join(dst_dir, name))


def config(url, live):
    return ("[mdm]\ntopic = %s\n[push]\nurl = %s\ncert = %s\nkey = %s\nca = %s\n"
            "reconnect_min_ms = 100\nreconnect_max_ms = 400\ntimeout_ms = 3000\n"
            "retry_base_ms = 200\nretry_max_ms = 1000\ndrain_ms = 2000\n"
            % (TOPIC, url, os.path.join(live, "push.pem"), os.path.join(live, "push.key"),
               pki("ca.pem")))


def hup_and_wait(d, event):
    n = d.log().count("event=reloaded ")
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.log().count("event=reloaded ") > n, 30, "the reload")
    check(event in d.log(), "%s in the log" % event)


def test_push_certificate_reload():
    tmp = mkdtemp()
    old, new = make_pki(300), make_pki(700)  # two issuers, two expiries
    live = mkdtemp()
    install(old, live)
    both = os.path.join(tmp, "both-ca.pem")
    with open(both, "w") as f:
        f.write(open(os.path.join(old, "ca.pem")).read() + open(os.path.join(new, "ca.pem")).read())
    apns = Standin(tmp, ca=both).start()
    try:
        with Daemon(config=config(apns.url, live)) as d:
            token, _ = add_device(d, "DMPRELOAD001")
            d.ctl("push", "--all")
            wait_until(lambda: apns.for_token(token), what="the first push")
            first = status(d)["certificate"]["not_after"]

            # renewed in place, then HUP
            install(new, live)
            hup_and_wait(d, "push_identity=new")
            d.wait_log(r"event=push_identity_reloaded topic=%s " % TOPIC)
            now = status(d)
            check(now["certificate"]["not_after"] != first and now["usable"],
                  "push status shows the renewed certificate: %r -> %r"
                  % (first, now["certificate"]["not_after"]))
            # the same files again: nothing to hand over
            hup_and_wait(d, "push_identity=same")

            # APNs now trusts only the new issuer: the old identity would be refused
            apns.stop()
            apns = Standin(tmp, port=apns.port, ca=os.path.join(new, "ca.pem")).start()
            before = len(apns.for_token(token))
            d.ctl("push", "--all")
            wait_until(lambda: len([r for r in apns.for_token(token) if r["status"] == 200])
                       > before, 30, "a push with the new identity")

            # a certificate that does not load: the working identity is kept
            with open(os.path.join(live, "push.pem"), "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
            n = d.log().count("event=reloaded ")
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(r"event=push_reload_failed error=.* kept=identity_in_use")
            wait_until(lambda: d.log().count("event=reloaded ") > n, 30, "the reload's end")
            before = len(apns.for_token(token))
            wait_idle(d)
            d.ctl("push", "--all")
            wait_until(lambda: len(apns.for_token(token)) > before, 30, "pushes go on")
            check(status(d)["usable"], "push still usable")
    finally:
        apns.stop()


if __name__ == "__main__":
    run([test_push_certificate_reload])
