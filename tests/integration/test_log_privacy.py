"""test_log_privacy.py - no personal data in the log (issue 17).

A workload that touches people, against a real ardoised at [log] level =
debug: pupils and teachers imported from a French spreadsheet (';', BOM,
INEs, names with accents), found, shown and exported; loans created and
returned; an incident whose note names a pupil; an account created with a
person's name and e-mail; its one-time link opened (the page /lien/<token>,
then the API) and a password set; a sign-in through the pages (/connexion
and the session API); requests for a person that does not exist, by INE in
the path, in the query string, in a route that does not exist, and in a
request the HTTP parser refuses.

Then the whole log (standard error, every level) is searched for every INE,
every first name and surname, the e-mail address, the password, every
bearer token and every one-time link value, as written and as a URL would
carry them: none may appear.  The test proves it can fail: the log must hold
the events of the workload (the requests by their route patterns, the 404
of the unknown INE, the refused request), and a name or an INE written as a
log line would carry it (as is, percent-encoded, escaped) must be found by
the same search.
"""
import re
import urllib.parse

from fleet_common import A, COLLEGES, day, enrolled
from harness import Daemon, check, run, write

PASSWORD = "Tournesol-Hibiscus-42"
# INE: 10 digits and a letter (11 characters), as the Éducation nationale gives them
PEOPLE = [
    ("071234567AB", "pupil", "Lefèvre-Noël", "Éloïse", "3A"),
    ("071234568BC", "pupil", "Nguyễn", "Thành", "3B"),
    ("071234569CD", "pupil", "Ørsted", "Maëlys", "4C"),
    ("071234570DE", "teacher", "Castañeda", "Agnès", ""),
]
UNKNOWN_INE = "099999999ZZ"
ACCOUNT = ("ines.bouvier", "Inès Bouvier-Quéméner", "ines.bouvier@ac-aix-marseille.fr")


def people_csv():
    rows = ["INE;Statut;Nom;Prénom;Classe;UAI"]
    for ine, kind, last, first, cls in PEOPLE:
        rows.append(";".join([ine, "élève" if kind == "pupil" else "enseignant", last, first, cls,
                              A]))
    return "\ufeff" + "\r\n".join(rows) + "\r\n"


def raw(d, data):
    """Bytes sent on one TLS connection; the answer's first line."""
    s = d.raw_tls()
    try:
        s.sendall(data)
        return s.recv(4096).split(b"\r\n", 1)[0]
    finally:
        s.close()


def forms(value):
    """A value as the log could hold it: as is, lower and upper case, as a
    URL carries it (percent-encoded UTF-8), with accents and other letters
    beyond ASCII escaped by log_esc() (\\xNN)."""
    out = {value, value.lower(), value.upper(), urllib.parse.quote(value),
           urllib.parse.quote(value).lower()}
    out.add("".join("\\x%02x" % b if b >= 0x80 else chr(b) for b in value.encode()))
    return {f for f in out if len(f) >= 3}


def workload(d):
    """Runs the workload; returns the secrets it saw (tokens, link values)."""
    secrets = []
    d.ctl("school", "import", COLLEGES)
    d.ctl("device", "import", write(d, "devices.csv", "serial,model,uai,asset_tag\n"
                                    "DMPA00000001,iPad 9,%s,T-001\n"
                                    "DMPA00000002,iPad 9,%s,T-002\n" % (A, A)))
    enrolled(d, "DMPA00000001", "DMPA00000002")
    d.ctl("person", "import", write(d, "élèves.csv", people_csv()))
    pupil, teacher = PEOPLE[0][0], PEOPLE[3][0]
    check(d.ctl_json("person", "show", pupil)["id"] == pupil, "person show")
    check(any(p["id"] == pupil for p in d.ctl_json("person", "find", "lefèvre")), "person find")
    d.ctl("person", "find", PEOPLE[1][3])
    d.ctl("person", "export", pupil)
    d.ctl("person", "agreement", pupil, "--date", day(-1))
    d.ctl("loan", "create", "--device", "DMPA00000001", "--person", pupil, "--home-use")
    d.ctl("loan", "create", "--device", "DMPA00000002", "--person", teacher)
    d.ctl("loan", "return", "DMPA00000002", "--condition", "ok")
    d.ctl("incident", "declare", "--device", "DMPA00000001", "--kind", "loss", "--occurred",
          day(0), "--note", "perdue par %s %s dans le bus" % (PEOPLE[0][3], PEOPLE[0][2]))
    # an account named after a person, with her e-mail
    out = d.ctl("account", "create", ACCOUNT[0], "--role", "ati", "--school", A,
                "--display-name", ACCOUNT[1], "--email", ACCOUNT[2])
    token = re.search(r"^token: (\S+)$", out.stdout, re.M).group(1)
    link = re.search(r"/lien/([A-Za-z0-9_-]{43})$", out.stdout, re.M).group(1)
    secrets += [token, link, d.token]
    d.ctl("whoami", token=token)
    # the link opened as a browser does: the page, then what it is for, then the password
    check(d.request("GET", "/lien/" + link, token=None)[0] == 200, "the link's page")
    check(d.request("GET", "/api/v1/links/" + link, token=None)[0] == 200, "the link")
    status, _, body = d.request("POST", "/api/v1/links/" + link, {"password": PASSWORD},
                                token=None)
    check(status == 200, "password set: %d %r" % (status, body))
    # sign-in through the pages
    check(d.request("GET", "/connexion", token=None)[0] == 200, "the sign-in page")
    status, headers, body = d.request("POST", "/api/v1/session",
                                      {"name": ACCOUNT[0], "password": PASSWORD}, token=None)
    check(status == 200, "sign-in: %d %r" % (status, body))
    cookie = re.match(r"^ardoise_session=([^;]*);", headers["set-cookie"]).group(1)
    secrets.append(cookie)
    status, _, _ = d.request("GET", "/api/v1/people/" + pupil, token=None,
                             headers={"Cookie": "ardoise_session=" + cookie})
    check(status == 200, "a person shown through the session: %d" % status)
    # a wrong password (the refusal names nobody in the log)
    status, _, _ = d.request("POST", "/api/v1/session",
                             {"name": ACCOUNT[0], "password": PASSWORD + "x"}, token=None)
    check(status == 401, "wrong password refused")
    # a person who does not exist, by path, query and a route that does not exist
    check(d.request("GET", "/api/v1/people/" + UNKNOWN_INE)[0] == 404, "unknown INE: 404")
    check(d.request("GET", "/api/v1/people?q=" + urllib.parse.quote(PEOPLE[2][2]))[0] == 200,
          "find by query string")
    check(d.request("GET", "/api/v1/pupils/" + pupil)[0] == 404, "no such route: 404")
    check(d.request("DELETE", "/api/v1/people/" + pupil)[0] in (404, 405), "no such method")
    check(d.request("GET", "/lien/" + link + "x", token=None)[0] in (200, 404), "a bad link")
    # refused by the HTTP parser: a space in the path, then a header with no colon
    first = raw(d, ("GET /api/v1/people/%s %s HTTP/1.1\r\nHost: x\r\n\r\n"
                    % (pupil, PEOPLE[0][2])).encode())
    check(first.startswith(b"HTTP/1.1 4"), "a malformed request line is refused: %r" % first)
    first = raw(d, ("GET /api/v1/people/%s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n"
                    % (pupil, PEOPLE[1][3])).encode())
    check(first.startswith(b"HTTP/1.1 4"), "a malformed header is refused: %r" % first)
    return secrets


def search(values, log):
    """(value, form, line) for each form of each value found in a line."""
    found = []
    for v in values:
        for f in forms(v):
            found += [(v, f, line) for line in log.splitlines() if f in line]
    return found


def expected_events(log):
    """What the workload must have left in the log (else the search below
    proves nothing)."""
    wants = [r"event=request method=POST path=/api/v1/people/import status=200",
             r"event=request method=GET path=/api/v1/people/:id status=404",
             r"event=request method=GET path=/api/v1/people/:id status=200 .* account=\S+",
             r"event=request method=GET path=/api/v1/people/:id/export status=200",
             r"event=request method=POST path=/api/v1/loans status=20\d",
             r"event=request method=POST path=/api/v1/session status=200",
             r"event=request method=POST path=/api/v1/session status=401",
             r"event=request method=POST path=/api/v1/links/:token status=200",
             r"event=request method=GET path=/\* status=200",
             r"event=request method=GET path=\(unmatched\) status=404",
             r"event=signin_refused ",
             r"event=api_error .*status=404",
             r"event=http_error .*status=400",
             r"level=debug event=",
             ]
    for w in wants:
        check(re.search(w.replace("event=request ", r"event=request id=\S+ "), log),
              "the log holds %r (the workload ran as expected)" % w)


def test_no_personal_data_in_the_log():
    with Daemon(config="[log]\nlevel = debug\n") as d:
        secrets = workload(d)
        d.stop()
        log = d.log()
        check(len(log.splitlines()) > 100, "a log of the whole workload")
        expected_events(log)
        values = [UNKNOWN_INE, PASSWORD] + list(ACCOUNT) + secrets
        for ine, _, last, first, _ in PEOPLE:
            values += [ine, last, first, "%s %s" % (first, last)]
            values += [w for w in re.split(r"[- ]", last) if len(w) >= 3]
        values += [ACCOUNT[2].split("@")[0]] + re.split(r"[- ]", ACCOUNT[1])
        found = search(values, log)
        check(found == [], "personal data in the log:\n%s"
              % "\n".join("%r (as %r): %s" % x for x in found[:20]))
        # the same search finds a name however a line would carry it: it can fail
        for form in ("path=/api/v1/people/%s" % PEOPLE[0][0],
                     "name=\\xc3\\x89lo\\xc3\\xafse", "q=Lef%C3%A8vre-No%C3%ABl",
                     "account=ines.bouvier", "msg=\"LEFÈVRE-NOËL\""):
            check(search(values, "ts=x level=info event=t " + form) != [],
                  "the search finds %r" % form)

if __name__ == "__main__":
    run([test_no_personal_data_in_the_log])
