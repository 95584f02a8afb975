"""The Automated Device Enrolment sync (issue 16): a real ardoised against
the ADE stand-in (ade_standin.py, HTTPS with its own CA given as [ade] ca)
and ardoisectl.  The server token is imported as ASM hands it out (the
stand-in encrypts it to the daemon's certificate); `ade sync` fetches 2500
tablets over three pages into the inventory (stock, no collège), then an
incremental sync sees an added, a modified and a deleted tablet; an
expired cursor makes a full fetch again; a 429 with Retry-After is waited
out; an expired session (401) gets a new one; T_C_NOT_SIGNED is reported in
French with its HTTP status in `ade status`; enrolment profiles (the
fleet's and a collège's) are defined at Apple with the enrolment URL and
the daemon's CA and assigned, the collège's to that collège's tablets; a
THROTTLED tablet is assigned at a later run once retry_after_seconds have
passed; an ATI and a référent are refused.  JSON and French output.
"""
import json
import os
import sys
import time

from fleet_common import A
from harness import Daemon, check, run, token_of, wait_until

sys.path.insert(0, os.path.dirname(__file__))
from ade_standin import AdeStandin, _hex_cursor, generate_devices  # noqa: E402
from gdmf_standin import standin_pki  # noqa: E402

CA, CERT, KEY = standin_pki()


def daemon_for(ade):
    return Daemon(config="[ade]\nurl = %s\nca = %s\nsync_minutes = 1440\n" % (ade.url, CA))


def import_token(d, ade):
    pem = d.ctl("ade", "keypair").stdout
    cert = os.path.join(d.tmp, "ade-cert.pem")
    with open(cert, "w") as f:
        f.write(pem)
    p7m = os.path.join(d.tmp, "token.p7m")
    with open(p7m, "wb") as f:
        f.write(ade.token_p7m(cert))
    d.ctl("ade", "token", p7m)


def sync(d, *args, expect=0):
    out = d.ctl("ade", "sync", "--json", *args, expect=expect)
    return json.loads(out.stdout)


def calls(ade, path):
    return [r for r in ade.requests if r[1] == path]


def test_sync():
    with AdeStandin(CERT, KEY) as ade:
        devs = generate_devices(2500)
        ade.add_devices(devs)
        with daemon_for(ade) as d:
            import_token(d, ade)
            # a full fetch: three pages of at most 1000
            r = sync(d)
            check(r["error"] is None and r["phase"] == "fetch" and r["pages"] == 3
                  and r["devices"] == 2500 and r["new"] == 2500, r)
            check(len(calls(ade, "/session")) == 1, "one session for the run")
            check(all(v == "10" for _, _, v in ade.requests), "protocol version 10")
            n = d.sqlite("SELECT count(*) FROM device WHERE state = 'stock' AND school IS NULL"
                         " AND model_declared LIKE 'iPad%'").stdout.strip()
            check(n == "2500", "2500 tablets in the inventory: %s" % n)
            # an incremental sync: added, modified, deleted
            s0, s1 = devs[0]["serial_number"], devs[1]["serial_number"]
            ade.modify(s0, color="BLUE")
            ade.delete(s1)
            ade.add_devices(generate_devices(3, start=9000))
            before = len(calls(ade, "/server/devices"))
            r = sync(d)
            check(r["error"] is None and r["phase"] == "sync" and r["new"] == 3
                  and r["removed"] == 1 and r["modified"] == 1, r)
            check(len(calls(ade, "/server/devices")) == before, "no fetch: a sync")
            out = d.ctl("ade", "devices", "--school", "XYZ", expect=1)
            check("XYZ" in out.stderr, out.stderr)
            status, _, body = d.request("POST", "/api/v1/ade/sync", body={"full": "yes"})
            check(status == 400, body)
            rem = d.ctl_json("ade", "devices", "--removed")
            check([x["serial"] for x in rem] == [s1] and rem[0]["removed_at"], rem)
            rows = d.ctl_json("ade", "devices")
            check(len(rows) == 2502, len(rows))   # the removed one apart
            check([x["color"] for x in rows if x["serial"] == s0] == ["BLUE"], "modified")
            # the status, in French; a run asked in French; the job run by hand
            st = d.ctl_json("ade", "status")
            check(st["sync"]["phase"] == "sync" and st["sync"]["devices"] == 2503
                  and st["sync"]["removed"] == 1 and st["sync"]["next_run_at"]
                  and st["sync"]["error"] is None and st["run"]["id"] == 2, st["sync"])
            out = d.ctl("ade", "sync", lang="fr_FR.UTF-8")
            check("tablettes vues (0 nouvelles" in out.stdout, out.stdout)
            out = d.ctl("ade", "status", lang="fr_FR.UTF-8")
            check("phase :" in out.stdout and "dernière réussie" in out.stdout
                  and "2503 connues, 1 retirées d'ASM" in out.stdout, out.stdout)
            d.api("POST", "/api/v1/jobs/ade_sync/run")
            wait_until(lambda: d.ctl_json("ade", "status")["run"]["id"] == 4
                       and not d.ctl_json("ade", "status")["run"]["running"], 30, "the job's run")
            # an expired cursor: a full fetch again
            ade.cursor_days = 3 / 86400   # cursors older than 3 s expire
            time.sleep(3.1)
            r = sync(d)
            ade.cursor_days = 7
            check(r["error"] is None and r["phase"] == "fetch" and r["devices"] == 2502, r)
            # an expired session: 401, a new session, the call again
            sessions = len(calls(ade, "/session"))
            ade.rotate = True   # and the session replaced from an answer's header
            r = sync(d)
            check(r["error"] is None, r)
            ade.rotate = False
            check(len(calls(ade, "/session")) == sessions + 1, "one session a run")
            # a 401 in the middle of a run: a new session, the call replayed once
            with ade.lock:
                ade.sessions["S" * 64] = ade.now() + 3600
            ade.then(ade.answer(200, json.dumps({"auth_session_token": "S" * 64})),
                     ade.answer(401, b'"UNAUTHORIZED"'))
            n = len(ade.requests)
            r = sync(d)
            check(r["error"] is None, r)
            run_paths = [p for _, p, _ in ade.requests[n:]]
            check(run_paths[:4] == ["/session", "/devices/sync", "/session", "/devices/sync"],
                  run_paths)
            # twice in a row: the run stops, no loop
            ade.then(ade.answer(200, json.dumps({"auth_session_token": "S" * 64})),
                     ade.answer(401, b'"UNAUTHORIZED"'), ade.answer(200, json.dumps(
                         {"auth_session_token": "S" * 64})), ade.answer(401, b'"UNAUTHORIZED"'))
            n = len(ade.requests)
            r = sync(d, expect=1)
            check(r["error"]["kind"] == "session" and r["error"]["status"] == 401
                  and len(ade.requests) - n == 4, r)
            # 429 with Retry-After: waited out; a second request while the run
            # waits joins it (one run at a time), and so does ardoisectl
            ade.then(ade.too_many(2))
            t0 = time.time()
            first = d.api("POST", "/api/v1/ade/sync", body={}, expect=202)["run"]
            second = d.api("POST", "/api/v1/ade/sync", body={"full": True}, expect=202)["run"]
            check(first == second, "joined: %r %r" % (first, second))
            r = sync(d)
            check(r["id"] == first and r["error"] is None and not r["full"]
                  and time.time() - t0 >= 2, r)
            # 503 past the retries: the run fails, recorded
            ade.then(*[ade.unavailable(1) for _ in range(6)])
            r = sync(d, expect=1)
            check(r["error"]["kind"] == "later" and r["error"]["status"] == 503, r)
            with ade.lock:
                ade.plan = []
            # EXHAUSTED_CURSOR on a fetch: everything fetched already, the
            # cursor kept and the phase switched to sync
            with ade.lock:
                ade.sessions["S" * 64] = ade.now() + 3600
                end = _hex_cursor("f", len(ade.order), len(ade.events), ade.now(), ade.epoch)
            ade.then(ade.answer(200, json.dumps({"auth_session_token": "S" * 64})),
                     ade.answer(200, json.dumps({"cursor": end, "devices": [],
                                                 "more_to_follow": True})))
            n = len(ade.requests)
            r = sync(d, "--full")
            check(r["error"] is None and r["pages"] == 1 and r["phase"] == "fetch"
                  and [p for _, p, _ in ade.requests[n:]][-1] == "/server/devices", r)
            check(d.ctl_json("ade", "status")["sync"]["phase"] == "sync", "switched to sync")
            r = sync(d)
            check(r["error"] is None and r["phase"] == "sync", r)
            # the terms: no loop, reported
            ade.deny = "T_C_NOT_SIGNED"
            n = len(ade.requests)
            r = sync(d, expect=1)
            check(r["error"]["kind"] == "terms" and r["error"]["status"] == 403, r)
            check(len(ade.requests) - n == 1, "one call, no retry")
            st = d.ctl_json("ade", "status")
            check(st["sync"]["error"]["kind"] == "terms" and st["sync"]["ok_at"], st["sync"])
            out = d.ctl("ade", "status", lang="fr_FR.UTF-8")
            check("accepter les nouvelles conditions" in out.stdout and "HTTP 403" in out.stdout,
                  out.stdout)
            out = d.ctl("ade", "status")
            check("must accept the new terms" in out.stdout, out.stdout)
            ade.deny = None
            audit = d.sqlite("SELECT count(*) FROM audit WHERE action = 'ade.sync'").stdout
            check(int(audit) == 14, "one audit row a run asked: %s" % audit)


def test_profiles_roles():
    with AdeStandin(CERT, KEY) as ade:
        devs = generate_devices(1200)
        ade.add_devices(devs)
        with daemon_for(ade) as d:
            import_token(d, ade)
            d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
            r = sync(d)   # the tablets first, no profile yet: nothing assigned
            check(r["error"] is None and r["assigned"] == 0 and r["new"] == 1200, r)
            # only technicians
            for role in ("ati", "referent"):
                tok = token_of(d.ctl("account", "create", "--name", role + ".1", "--role",
                                     role, "--school", A))
                for verb in (["sync"], ["devices"], ["profile", "list"],
                             ["profile", "add", "X"]):
                    out = d.ctl("ade", *verb, token=tok, expect=1)
                    check("manage the Apple School Manager" in out.stderr
                          or "not allowed" in out.stderr, (role, verb, out.stderr))
            # profiles: bad skip pane, then the fleet's and the collège's
            out = d.ctl("ade", "profile", "add", "Flotte", "--skip", "Siri,Nope", expect=1)
            check("Nope is not a pane" in out.stderr and "AppleID" in out.stderr, out.stderr)
            p = d.ctl_json("ade", "profile", "add", "Flotte", "--department",
                           "Département — numérique éducatif")
            check(p["settings"]["is_mdm_removable"] is False
                  and p["settings"]["await_device_configured"] is True
                  and p["settings"]["is_return_to_service"] is True
                  and p["settings"]["language"] == "fr" and "Siri" in
                  p["settings"]["skip_setup_items"] and p["profile_uuid"] is None, p)
            d.ctl("ade", "profile", "add", "Sarraute", "--school", A, "--skip", "Siri,TOS",
                  "--removable", "--no-await")
            out = d.ctl("ade", "profile", "add", "Flotte2", expect=1)
            check("has a profile already" in out.stderr, out.stderr)
            s_a, s_t = devs[5]["serial_number"], devs[7]["serial_number"]
            d.ctl("device", "move", s_a, "--school", A)
            ade.throttle_serials = {s_t}
            ade.retry_after_seconds = 8
            r = sync(d)
            t_throttled = time.time()   # assign_after is at most this + 8 s
            check(r["error"] is None and r["defined"] == 2 and r["assigned"] == 1199
                  and r["throttled"] == 1, r)
            check(len(ade.profiles) == 2, ade.profiles)
            by_name = {v["profile_name"]: k for k, v in ade.profiles.items()}
            fleet, coll = ade.profiles[by_name["Flotte"]], ade.profiles[by_name["Sarraute"]]
            check(fleet["url"].endswith("/mdm/ade/enroll") and fleet["url"].startswith("https://")
                  and len(fleet["anchor_certs"]) == 1 and fleet["is_mdm_removable"] is False,
                  fleet)
            check(coll["skip_setup_items"] == ["Siri", "TOS"] and coll["is_mdm_removable"]
                  and coll["await_device_configured"] is False, coll)
            check(ade.devices[s_a]["profile_uuid"] == by_name["Sarraute"], "collège's profile")
            check(ade.devices[devs[0]["serial_number"]]["profile_uuid"] == by_name["Flotte"],
                  "fleet's profile")
            st = d.ctl_json("ade", "status")
            check(st["assignment"]["throttled"] == 1 and st["assignment"]["assigned"] == 1199,
                  st["assignment"])
            # THROTTLED: again once retry_after_seconds passed
            ade.throttle_serials = set()
            r = sync(d)
            check(r["assigned"] == 0, "not before retry_after_seconds: %r" % r)
            time.sleep(max(0, t_throttled + 8.2 - time.time()))
            r = sync(d)
            check(r["assigned"] == 1 and ade.devices[s_t]["profile_uuid"] == by_name["Flotte"], r)
            # a tablet moved to the collège: re-assigned at the next run
            s_m = devs[9]["serial_number"]
            d.ctl("device", "move", s_m, "--school", A)
            r = sync(d)
            check(r["assigned"] == 1 and ade.devices[s_m]["profile_uuid"] == by_name["Sarraute"],
                  r)
            # an update: defined again, its tablets assigned again
            d.ctl("ade", "profile", "update", "Sarraute", "--support-phone", "+33 4 42 00 00 00")
            r = sync(d)
            check(r["defined"] == 1 and r["assigned"] == 2, r)
            rows = d.ctl_json("ade", "devices", "--school", A)
            check(sorted(x["serial"] for x in rows) == sorted([s_a, s_m])
                  and all(x["profile"] == "Sarraute" and x["assign_state"] == "assigned"
                          for x in rows), rows)
            out = d.ctl("ade", "profile", "show", "Sarraute", lang="fr_FR.UTF-8")
            check("profil" in out.stdout and A in out.stdout, out.stdout)
            out = d.ctl("ade", "status", lang="fr_FR.UTF-8")
            check("attribution" in out.stdout, out.stdout)
            d.ctl("ade", "profile", "remove", "Sarraute")
            audit = d.sqlite("SELECT action FROM audit WHERE action LIKE 'ade.profile.%'"
                             " ORDER BY id").stdout.split()
            check(audit == ["ade.profile.add", "ade.profile.add", "ade.profile.update",
                            "ade.profile.remove"], audit)


def test_hostile():
    """Malformed answers, wrong types, a huge body, unknown serials, FAILED,
    the daemon's stop during a Retry-After wait; nothing half-stored, no
    secret in the log or the database."""
    with AdeStandin(CERT, KEY) as ade:
        devs = generate_devices(1500)
        ade.add_devices(devs)
        with daemon_for(ade) as d:
            import_token(d, ade)
            bad = [(ade.answer(200, b"not json"), "not JSON"),
                   (ade.answer(200, b'{"cursor": 5, "devices": []}'), "cursor: not a string"),
                   (ade.answer(200, json.dumps({"cursor": "ab", "more_to_follow": False,
                                                "devices": [{"model": "x"}]})),
                    "devices[0].serial_number: missing"),
                   (ade.answer(200, json.dumps({"cursor": "ab", "devices": [
                       {"serial_number": "A1", "op_type": "stolen"}]})), "op_type"),
                   (ade.answer(200, b"[" * 100 + b"]" * 100), "not a JSON object"),
                   (ade.answer(200, b" " * (17 << 20)), "answer too large"),
                   (ade.answer(400, b'"MALFORMED_REQUEST_BODY"'), "POST /server/devices"),
                   (ade.answer(500, b"oops"), "POST /server/devices")]
            def after_session(*replies):
                """the next run's GET /session answered (a session the
                stand-in knows), then replies"""
                ade.then(ade.answer(200, json.dumps({"auth_session_token": "S" * 64})),
                         *replies)
                with ade.lock:
                    ade.sessions["S" * 64] = ade.now() + 3600

            for reply, why in bad:
                after_session(reply)
                r = sync(d, expect=1)
                check(r["error"] is not None and why in r["error"]["detail"], (why, r["error"]))
                n = d.sqlite("SELECT count(*) FROM ade_device").stdout.strip()
                check(n == "0", "nothing stored from a refused page: %s" % n)
            st = d.ctl_json("ade", "status")
            check(st["sync"]["error"]["status"] == 500 and st["sync"]["ok_at"] is None, st["sync"])
            # a good run after all that: the first page was not lost
            r = sync(d)
            check(r["error"] is None and r["devices"] == 1500 and r["new"] == 1500, r)
            # a sync page refused mid-way: its cursor is not stored, the next run
            # sees the same changes again
            ade.modify(devs[3]["serial_number"], color="PINK")
            after_session(ade.answer(200, b'{"cursor": "zz", "devices": [{"serial_number": 7}]}'))
            r = sync(d, expect=1)
            check("devices[0].serial_number: not a string" in r["error"]["detail"], r)
            r = sync(d)
            check(r["error"] is None and r["modified"] == 1, r)
            # FAILED and NOT_ACCESSIBLE (a serial ASM no longer gives this server)
            d.ctl("ade", "profile", "add", "Flotte")
            s_f, s_n = devs[10]["serial_number"], devs[11]["serial_number"]
            ade.fail_serials = {s_f}
            with ade.lock:
                del ade.devices[s_n]   # gone in ASM, no event yet
            r = sync(d)
            check(r["error"] is None and r["assigned"] == 1498 and r["failed"] == 2, r)
            show = d.ctl_json("device", "show", s_n)["ade"]
            check(show["assign_state"] == "failed" and "NOT_ACCESSIBLE" in show["assign_error"]
                  and show["profile"] == "Flotte" and show["assign_after"], show)
            out = d.ctl("device", "show", s_f)
            check("Apple School Manager (ADE)" in out.stdout and "FAILED" in out.stdout,
                  out.stdout)
            check(d.ctl_json("device", "show", s_f)["ade"]["assign_state"] == "failed",
                  "failed")
            # not again before an hour
            r = sync(d)
            check(r["assigned"] == 0 and r["failed"] == 0, r)
            # a wrong type in an assign answer
            d.ctl("ade", "profile", "update", "Flotte", "--department", "D")
            # (the stored cursor then is "zz": the next run's sync is refused
            # INVALID_CURSOR and fetches everything again)
            after_session(ade.answer(200, b'{"cursor": "zz", "more_to_follow": false}'),
                          ade.answer(200, b'{"profile_uuid": "U", "devices": {}}'),
                          ade.answer(200, b'{"profile_uuid": "U", "devices": {"A": 3}}'))
            r = sync(d, expect=1)
            check("status not a string" in r["error"]["detail"], r)
            # Apple does not know the profile "U": forgotten, defined again next
            r = sync(d, expect=1)
            check(r["phase"] == "fetch" and r["devices"] == 1499
                  and "PROFILE_NOT_FOUND" in r["error"]["detail"], r)
            r = sync(d)
            check(r["error"] is None and r["defined"] == 1 and r["assigned"] == 1498
                  and r["failed"] == 2, r)
            # a long Retry-After: the run waits; the daemon's stop cuts it short
            after_session(ade.too_many(50))
            d.api("POST", "/api/v1/ade/sync", body={}, expect=202)
            wait_until(lambda: "ade_wait" in d.log(), 10, "the run waits")
            t0 = time.time()
            d.stop()
            check(time.time() - t0 < 10, "the stop did not wait 50 s: %.1f" % (time.time() - t0))
            # no secret in the log or the database
            with open(os.path.join(d.data, "ardoise.db"), "rb") as f:
                db = f.read()
            wal = os.path.join(d.data, "ardoise.db-wal")
            if os.path.exists(wal):
                with open(wal, "rb") as f:
                    db += f.read()
            log = d.log()
            for secret in (ade.token["consumer_secret"], ade.token["access_secret"], "S" * 64):
                check(secret not in log and secret.encode() not in db, "a secret leaked")


def test_no_token():
    with AdeStandin(CERT, KEY) as ade:
        with daemon_for(ade) as d:
            out = d.ctl("ade", "sync", expect=1)
            check("no ADE server token yet" in out.stderr, out.stderr)
            check(ade.requests == [], "nothing sent")


if __name__ == "__main__":
    run([test_sync, test_profiles_roles, test_hostile, test_no_token])
