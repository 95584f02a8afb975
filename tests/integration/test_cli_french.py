"""ardoisectl in French under a French locale (gettext, tools/po/fr.po), in
English otherwise, against a real daemon: the general and a verb's --help, a
usage error, a refusal of the server (its message translated by the daemon,
daemon/po/fr.po, because ardoisectl asks Accept-Language: fr; its code kept),
a table's headers and states.  --json prints the same bytes under both.

The catalogues are the build tree's (ARDOISE_LOCALEDIR, ARDOISED_LOCALEDIR,
set by meson); fr_FR.UTF-8 must be generated (tools/ardoise-dev does it).
"""
import json
import subprocess

from harness import Daemon, check, run

FR = "fr_FR.UTF-8"


def french_installed():
    names = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    check(any(n.lower() in ("fr_fr.utf8", "fr_fr.utf-8") for n in names),
          "the fr_FR.UTF-8 locale is not generated: run tools/ardoise-dev (locale-gen)")


def both(d, *args, expect=0):
    """The same command in English (LANG=C) and in French."""
    return d.ctl(*args, expect=expect, lang="C"), d.ctl(*args, expect=expect, lang=FR)


def test_help_and_usage():
    french_installed()
    with Daemon() as d:
        en, fr = both(d, "--help")
        check(en.stdout.startswith("Usage: ardoisectl [--url URL]")
              and "Exit status: 0 success" in en.stdout, "English help: %r" % en.stdout[:300])
        check(fr.stdout.startswith("Utilisation : ardoisectl [--url URL]")
              and "Code de retour : 0 succès" in fr.stdout
              and "lister les comptes du personnel" in fr.stdout,
              "French help: %r" % fr.stdout[:300])

        en, fr = both(d, "locate", "request", "--help")
        check("Usage: ardoisectl locate request SERIAL" in en.stdout
              and "the loss or theft incident it answers" in en.stdout, "verb help: %r" % en.stdout)
        check("Utilisation : ardoisectl locate request SERIAL" in fr.stdout
              and "l'incident de perte ou de vol auquel elle répond" in fr.stdout
              and "JSON sur la sortie standard" in fr.stdout
              # the options and words of the synopsis stay as they are typed
              and "--authority-ref REF" in fr.stdout, "French verb help: %r" % fr.stdout)

        en, fr = both(d, "locate", "request", "DMPA00000001", "--bogus", expect=2)
        check(en.stderr.startswith("ardoisectl: unknown option --bogus\nusage: ardoisectl locate"),
              "English usage error: %r" % en.stderr)
        check(fr.stderr.startswith("ardoisectl: option inconnue --bogus\nutilisation : ardoisectl locate"),
              "French usage error: %r" % fr.stderr)
        en, fr = both(d, "locate", "deny", "7", expect=2)
        check("--reason is required" in en.stderr and "--reason est obligatoire" in fr.stderr,
              "a required option's text: %r / %r" % (en.stderr, fr.stderr))


def test_refusal_and_table():
    french_installed()
    with Daemon() as d:
        d.ctl("account", "create", "--name", "cnil", "--role", "auditor")
        # a refusal: the daemon's message in the request's language, its code unchanged
        args = ("account", "create", "--name", "admin", "--role", "technician")
        en, fr = both(d, *args, expect=1)
        check(en.stderr.startswith("ardoisectl: account admin already exists (HTTP 409"),
              "English refusal: %r" % en.stderr)
        check(fr.stderr.startswith("ardoisectl: le compte admin existe déjà (HTTP 409"),
              "French refusal: %r" % fr.stderr)
        check(en.stderr.split("(HTTP")[1] == fr.stderr.split("(HTTP")[1],
              "the status and code stay as they are: %r / %r" % (en.stderr, fr.stderr))
        # the same refusal asked over the API: English unless French is asked
        st, body = refusal(d, None)
        check(st == 409 and body["error"]["message"] == "account admin already exists", "%r" % body)
        st, fr_body = refusal(d, "fr-FR,fr;q=0.9,en;q=0.5")
        check(fr_body["error"]["message"] == "le compte admin existe déjà"
              and fr_body["error"]["message_en"] == "account admin already exists"
              and fr_body["error"]["code"] == body["error"]["code"], "French API refusal: %r" % fr_body)
        st, en_body = refusal(d, "en-GB,fr;q=0.5")
        check(en_body == body, "English first stays English: %r" % en_body)

        # a table: headers and states (a role, an account's state) in French
        d.ctl("account", "disable", "cnil")
        en, fr = both(d, "account", "list")
        head_en, head_fr = en.stdout.splitlines()[0], fr.stdout.splitlines()[0]
        check(head_en.split() == ["NAME", "ROLE", "COLLÈGES", "STATE", "CREATED", "PASSWORD", "LAST",
                                  "SIGN-IN", "DISPLAY", "NAME"], "English headers: %r" % head_en)
        check(head_fr.split()[:4] == ["NOM", "RÔLE", "COLLÈGES", "ÉTAT"] and "DERNIÈRE CONNEXION" in head_fr,
              "French headers: %r" % head_fr)
        aud_en = [l for l in en.stdout.splitlines() if l.startswith("cnil ")]
        aud_fr = [l for l in fr.stdout.splitlines() if l.startswith("cnil ")]
        check(aud_en and aud_en[0].split()[1:5] == ["auditor", "(whole", "fleet)", "disabled"],
              "%r" % aud_en)
        check(aud_fr and aud_fr[0].split()[1:6] == ["auditeur", "(tout", "le", "parc)", "désactivé"],
              "%r" % aud_fr)
        adm_fr = [l for l in fr.stdout.splitlines() if l.startswith("admin ")]
        check(adm_fr and adm_fr[0].split()[1] == "technicien" and "(tout le parc)" in adm_fr[0]
              and "actif" in adm_fr[0].split(), "%r" % adm_fr)

        # --json: the same bytes under both locales (keys and values English)
        for args in (("account", "list", "--json"), ("whoami", "--json"), ("audit", "list", "--json")):
            en, fr = both(d, *args)
            check(en.stdout == fr.stdout and en.stdout.strip(), "%s: --json differs in French" % " ".join(args))
        acc = json.loads(d.ctl("account", "list", "--json", lang=FR).stdout)
        check({a["role"] for a in acc} == {"technician", "auditor"}, "JSON values stay English: %r" % acc)


def refusal(d, lang):
    headers = {"Accept-Language": lang} if lang else None
    conn = d.connect()
    body = json.dumps({"name": "admin", "role": "technician"})
    conn.request("POST", "/api/v1/accounts", body=body,
                 headers=dict({"Authorization": "Bearer " + d.token,
                               "Content-Type": "application/json"}, **(headers or {})))
    r = conn.getresponse()
    out = r.status, json.loads(r.read())
    conn.close()
    return out


if __name__ == "__main__":
    run([test_help_and_usage, test_refusal_and_table])
