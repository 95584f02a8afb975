"""The Automated Device Enrolment server token (issue 16, round 1; not used
yet): `ardoisectl ade keypair` makes the key pair once and prints its
certificate; a .p7m made here as Apple School Manager makes it (`openssl
cms -encrypt` to that certificate of the token's MIME text, S/MIME out; the
CMS alone as DER too) is imported with `ardoisectl ade token`, and `ade
status` (and /healthz) show it, with a warning 30 days ahead.  The two
secrets are in neither the database file nor the log.  Refusals: a .p7m for
another key, garbage, a token JSON with a missing field or a wrong type,
a token before the key pair, an ATI, a référent and an auditor; nothing
stored is lost by a refusal.  French output.
"""
import datetime
import json
import os
import subprocess
import tempfile

from fleet_common import A
from harness import Daemon, check, run, token_of

UTC = datetime.timezone.utc
TMP = tempfile.mkdtemp(prefix="ardoise-ade-")
CS = "CS_34c7b2b531a600d99a0e4edcf4a78ded79b86ef318118c2f5bcfee1b011108c32d53"
AS = "AS_4a0a1f3b5e3d6f7e8c9b0a1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3"


def token_json(days, ck="CK_48dd68d198350f51258e885ce9a5c37ab7f9", **over):
    expiry = (datetime.datetime.now(UTC) + datetime.timedelta(days=days)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    t = {"consumer_key": ck, "consumer_secret": CS, "access_token": "AT_927696831c59ba510cfe4",
         "access_secret": AS, "access_token_expiry": expiry}
    t.update(over)
    return json.dumps({k: v for k, v in t.items() if v is not None})


def p7m(cert_pem, content, name, form="SMIME"):
    """content as ASM wraps it (MIME headers, BEGIN/END, 78 columns),
    encrypted to cert_pem; the file's path."""
    cert = os.path.join(TMP, name + ".pem")
    with open(cert, "w") as f:
        f.write(cert_pem)
    lines = [content[i:i + 78] for i in range(0, len(content), 78)]
    text = ("Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
            "-----BEGIN MESSAGE-----\r\n" + "\r\n".join(lines) + "\r\n-----END MESSAGE-----\r\n")
    src = os.path.join(TMP, name + ".txt")
    with open(src, "w") as f:
        f.write(text)
    out = os.path.join(TMP, name + ".p7m")
    subprocess.run(["openssl", "cms", "-encrypt", "-aes256", "-binary", "-in", src, "-out", out,
                    "-outform", form, "-recip", cert], check=True, capture_output=True)
    return out


def other_cert():
    key, cert = os.path.join(TMP, "other.key"), os.path.join(TMP, "other.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=other"], check=True,
                   capture_output=True)
    with open(cert) as f:
        return f.read()


def no_secret_in_clear(d):
    with open(os.path.join(d.data, "ardoise.db"), "rb") as f:
        db = f.read()
    for name in ("ardoise.db-wal",):
        p = os.path.join(d.data, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                db += f.read()
    log = d.log()
    for s in (CS, AS, CS[3:20], AS[3:20]):
        check(s.encode() not in db, "a secret in the database file in clear")
        check(s not in log, "a secret in the log")


def test_keypair_token_status():
    with Daemon() as d:
        st = d.ctl_json("ade", "status")
        check(st["token"] is None and st["url"] == "https://mdmenrollment.apple.com", st)
        # a token before the key pair
        early = p7m(other_cert(), token_json(300), "early")
        out = d.ctl("ade", "token", early, expect=1)
        check("no ADE key pair yet" in out.stderr, out.stderr)
        out = d.ctl("ade", "keypair")
        pem = out.stdout
        check(pem.startswith("-----BEGIN CERTIFICATE-----") and "upload this certificate"
              in out.stderr, out.stderr)
        key = os.path.join(d.data, "ade.key")
        check(os.stat(key).st_mode & 0o777 == 0o600, "ade.key is 0600")
        again = d.api("POST", "/api/v1/ade/keypair")
        check(again["certificate"] == pem and again["created"] is False, "kept, not remade")
        js = d.ctl_json("ade", "keypair")
        check(js == {"certificate": pem, "created": False}, "--json: %r" % js)
        # S/MIME as ASM gives it
        out = d.ctl("ade", "token", p7m(pem, token_json(300), "good"))
        check("server token CK_48dd68d198350f51258e885ce9a5c37ab7f9 imported" in out.stdout,
              out.stdout)
        st = d.ctl_json("ade", "status")
        tok = st["token"]
        check(tok["consumer_key"] == "CK_48dd68d198350f51258e885ce9a5c37ab7f9"
              and tok["expires_in_days"] in (299, 300) and st["warnings"] == [], st)
        check("CS_" not in json.dumps(st) and "AS_" not in json.dumps(st), "no secret shown")
        check(not any("ade" in w for w in d.api("GET", "/healthz", token=None)["warnings"]), "no warning yet")
        # the CMS alone (DER) too; it replaces the first, and expires in 10 days
        out = d.ctl("ade", "token", p7m(pem, token_json(10, ck="CK_2"), "der", form="DER"))
        st = d.ctl_json("ade", "status")
        check(st["token"]["consumer_key"] == "CK_2" and len(st["warnings"]) == 1
              and ("expires in 9 days" in st["warnings"][0]
                   or "expires in 10 days" in st["warnings"][0]), st)
        check(any("server token expires" in w for w in d.api("GET", "/healthz", token=None)["warnings"]),
              "/healthz warns")
        out = d.ctl("ade", "status")
        check("warning: ade: the Apple School Manager server token expires" in out.stdout,
              out.stdout)
        no_secret_in_clear(d)
        rows = d.sqlite("SELECT action, target FROM audit WHERE action LIKE 'ade.%' ORDER BY id")
        check(rows.stdout.split() == ["ade.keypair|ade", "ade.keypair|ade", "ade.keypair|ade",
                                      "ade.token|CK_48dd68d198350f51258e885ce9a5c37ab7f9",
                                      "ade.token|CK_2"], rows.stdout)


def test_refusals():
    with Daemon() as d:
        pem = d.api("POST", "/api/v1/ade/keypair", expect=201)["certificate"]
        d.ctl("ade", "token", p7m(pem, token_json(300), "first"))
        cases = [
            (p7m(other_cert(), token_json(300), "other"), "not encrypted to this server"),
            (p7m(pem, token_json(300, consumer_secret=None), "missing"),
             "consumer_secret: missing"),
            (p7m(pem, token_json(300, access_token_expiry=1421270861), "type"),
             "access_token_expiry: not a string"),
            (p7m(pem, token_json(300, access_secret=["AS"]), "type2"),
             "access_secret: not a string"),
            (p7m(pem, "not json at all", "notjson"), "not JSON"),
            (p7m(pem, token_json(300, access_token_expiry="next-year"), "date"),
             "not an ISO 8601 time"),
        ]
        garbage = os.path.join(TMP, "garbage.p7m")
        with open(garbage, "wb") as f:
            f.write(b"Content-Type: application/pkcs7-mime\r\n\r\n\x00\xff garbage")
        cases.append((garbage, "not an S/MIME or CMS"))
        for path, why in cases:
            out = d.ctl("ade", "token", path, expect=1)
            check(why in out.stderr, "%s: %r" % (why, out.stderr))
        status, _, body = d.request("POST", "/api/v1/ade/token", body={"p7m": "@@@"})
        check(status == 400 and b"not base64" in body, body)
        status, _, body = d.request("POST", "/api/v1/ade/token", body={"p7m": 12})
        check(status == 400, body)
        st = d.ctl_json("ade", "status")
        check(st["token"]["consumer_key"] == "CK_48dd68d198350f51258e885ce9a5c37ab7f9",
              "nothing lost: %r" % st)
        # only technicians
        d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
        for role in ("ati", "referent", "auditor"):
            args = ["account", "create", "--name", role + ".1", "--role", role]
            if role in ("ati", "referent"):
                args += ["--school", A]
            tok = token_of(d.ctl(*args))
            for verb in (["keypair"], ["status"], ["token", garbage]):
                out = d.ctl("ade", *verb, token=tok, expect=1)
                check("not allowed" in out.stderr or "forbidden" in out.stderr.lower()
                      or "manage the Apple School Manager server token" in out.stderr,
                      "%s %s: %r" % (role, verb, out.stderr))
        no_secret_in_clear(d)


def test_french():
    with Daemon() as d:
        out = d.ctl("ade", "token", "/nonexistent.p7m", expect=1, lang="fr_FR.UTF-8")
        check("impossible d'ouvrir" in out.stderr, out.stderr)
        garbage = os.path.join(TMP, "garbage-fr.p7m")
        with open(garbage, "w") as f:
            f.write("garbage")
        out = d.ctl("ade", "token", garbage, expect=1, lang="fr_FR.UTF-8")
        check("pas encore de paire de clés ADE" in out.stderr, out.stderr)
        out = d.ctl("ade", "keypair", lang="fr_FR.UTF-8")
        check("une nouvelle paire de clés ADE a été créée" in out.stderr, out.stderr)
        pem = out.stdout
        out = d.ctl("ade", "token", p7m(pem, token_json(10), "fr"), lang="fr_FR.UTF-8")
        check("jeton serveur CK_48dd68d198350f51258e885ce9a5c37ab7f9 importé" in out.stdout,
              out.stdout)
        out = d.ctl("ade", "status", lang="fr_FR.UTF-8")
        check("clé consommateur :" in out.stdout and "expire le :" in out.stdout
              and "attention :" in out.stdout, out.stdout)
        out = d.ctl("ade", "token", p7m(pem, "{}", "fr2"), expect=1, lang="fr_FR.UTF-8")
        check("le jeton déchiffré" in out.stderr, out.stderr)


if __name__ == "__main__":
    run([test_keypair_token_status, test_refusals, test_french])
