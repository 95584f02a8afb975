"""Spreadsheets as staff have them: imports of files as French Excel writes
them (BOM, ';', CRLF, quoted cells, French headers and values), every
ignored column named, one message for a file that is not UTF-8, the names
accepted when a column is missing; the collèges' equipment targets; the
model typed at import beside the tablet's own; --csv on every list and the
exports imported back as they are; a tablet by its asset tag; person find."""
import csv
import io
import json
import os
import re
import subprocess

from fleet_common import A, B, COLLEGES, refused, setup_fleet, snapshot, unchanged
from harness import ARDOISECTL, Daemon, check, run, write

BOM = "\ufeff"


def make_account(d, name, role, *schools):
    args = ["account", "create", "--name", name, "--role", role]
    for s in schools:
        args += ["--school", s]
    out = d.ctl(*args)
    return re.search(r"^token: (ard_\S+)$", out.stdout, re.M).group(1)


def test_bouches_du_rhone_file_and_targets():
    with Daemon() as d:
        # the real file, as it is: its one unknown column is named
        rep = d.ctl_json("school", "import", COLLEGES)
        check(rep["added"] == 38 and rep["bad_rows"] == 0, rep)
        check(rep["ignored_columns"] == ["wave"], rep["ignored_columns"])
        out = d.ctl("school", "import", COLLEGES, "--dry-run")
        check("columns ignored" in out.stdout and "wave" in out.stdout, out.stdout)
        with open(COLLEGES, encoding="utf-8") as f:
            expected = {r["uai"]: r for r in csv.DictReader(f)}
        for s in d.ctl_json("school", "list"):
            e = expected[s["uai"]]
            check(s["pupils_equipped"] == int(e["pupils_equipped"])
                  and s["teachers_equipped"] == int(e["teachers_equipped"]), (s, e))
        shown = d.ctl_json("school", "show", A)
        check(shown["pupils_equipped"] == 161 and shown["teachers_equipped"] == 34, shown)
        # a French sheet of the same collèges: headers as Excel writes them
        text = (BOM + "Code UAI;Nom Établissement;Commune;Élèves équipés;Enseignants équipés;"
                "Remarque\r\n"
                "%s;Clg N. Sarraute;Aubagne;170;36;\"vague 1; à revoir\"\r\n" % A)
        rep = d.ctl_json("school", "import", write(d, "colleges-fr.csv", text))
        check(rep["updated"] == 1 and rep["separator"] == ";" and
              rep["ignored_columns"] == ["Remarque"], rep)
        shown = d.ctl_json("school", "show", A)
        check(shown["pupils_equipped"] == 170 and shown["teachers_equipped"] == 36
              and shown["name"] == "Clg N. Sarraute", shown)
        # a file without the targets keeps them
        d.ctl("school", "import", write(d, "no-targets.csv", "uai,name\n%s,Clg N. Sarraute\n" % A))
        check(d.ctl_json("school", "show", A)["pupils_equipped"] == 170, "targets kept")
        # against the fleet: tablets held (not retired, lost, stolen) and lent
        d.ctl("device", "import", write(d, "dev.csv", "serial,uai\nTGT00001,%s\nTGT00002,%s\n"
                                         "TGT00003,%s\n" % (A, A, A)))
        d.ctl("person", "import", write(d, "p.csv", "id,kind,name,uai\nP1,pupil,Ana,%s\n"
                                        "P2,teacher,Bob,%s\n" % (A, A)))
        d.ctl("loan", "create", "--device", "TGT00001", "--person", "P1")
        d.ctl("loan", "create", "--device", "TGT00002", "--person", "P2")
        d.ctl("device", "retire", "TGT00003")
        shown = d.ctl_json("school", "show", A)
        check(shown["held"] == 2 and shown["loaned_pupils"] == 1 and shown["loaned_teachers"] == 1,
              shown)
        text = d.ctl("school", "show", A).stdout
        check("170 pupils, 36 teachers" in text and "2 tablets held" in text, text)
        rep = d.ctl_json("report", "fleet", "--school", A)
        row = rep["schools"][0]
        check(row["target"] == 206 and row["held"] == 2 and row["pupils_equipped"] == 170
              and row["loaned_pupils"] == 1, row)
        check(rep["total"]["target"] == 206, rep["total"])
        table = d.ctl("report", "fleet", "--school", A).stdout
        check("TARGET" in table.splitlines()[0] and "206" in table, table)
        # a collège without targets: null, not 0
        other = d.ctl_json("report", "fleet", "--school", B)["schools"][0]
        d.ctl("school", "import", write(d, "b.csv", "uai,name\n0000022Z,Clg Test\n"))
        check(d.ctl_json("school", "show", "0000022Z")["pupils_equipped"] is None, "unknown target")
        check(other["target"] is not None, "B has its targets from the file")
        # bad targets: the line says so, nothing written
        before = snapshot(d)
        out = refused(d, ["school", "import", write(d, "bad-t.csv", "UAI;Nom;Élèves équipés\n"
                                                   "%s;X;beaucoup\n" % A)], "1 bad row")
        check(":2: bad equipment target 'beaucoup'" in out.stdout, out.stdout)
        unchanged(d, before, "bad target")


def test_french_devices_and_people():
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        text = (BOM + "N° de série;Modèle;RNE;N° d'inventaire;Observations\r\n"
                "FRDV0001;\"iPad 9; 64 Go\";%s;INV-001;écran rayé\r\n"
                "frdv0002;iPad 10;%s;INV-002;\r\n"
                ";;;;\r\n" % (A, A))
        rep = d.ctl_json("device", "import", write(d, "tablettes.csv", text))
        check(rep["added"] == 2 and rep["ignored_columns"] == ["Observations"], rep)
        dev = d.ctl_json("device", "show", "FRDV0001")
        check(dev["model_declared"] == "iPad 9; 64 Go" and dev["asset_tag"] == "INV-001"
              and not dev["model"], dev)
        # the tablet reports its own model (as its inventory writes it): both kept, both shown
        d.sqlite("UPDATE device SET model = 'iPad (9th generation)' WHERE serial = 'FRDV0001'")
        d.ctl("device", "import", write(d, "again.csv", text))
        dev = d.ctl_json("device", "show", "FRDV0001")
        check(dev["model"] == "iPad (9th generation)" and dev["model_declared"] == "iPad 9; 64 Go", dev)
        out = d.ctl("device", "show", "FRDV0001").stdout
        check("iPad (9th generation)" in out and "declared     iPad 9; 64 Go" in out, out)
        out = d.ctl("device", "list", "--school", A).stdout
        check("iPad (9th generation) (declared: iPad 9; 64 Go)" in out and "iPad 10" in out, out)
        # other spellings of the same columns
        for head in ("Numéro de série;Modèle;UAI;Étiquette", "Série;modele;Code UAI;Inventaire",
                     "NUMERO DE SERIE;MODELE;Collège;numéro d'inventaire"):
            rep = d.ctl_json("device", "import", write(d, "h.csv", head + "\nFRDV0003;iPad;%s;E3\n" % A))
            check(rep["bad_rows"] == 0 and rep["ignored_columns"] == [], (head, rep))
        # people: Prénom + Nom joined, élève/enseignant, dates, an extra column
        people = (BOM + "Identifiant;Statut;Nom;Prénom;Classe;UAI;Accord parents;Date de sortie;"
                  "Téléphone\r\n"
                  "INE001;Élève;Dupont;Léa;3A;%s;2026-09-02;\r\n"
                  "INE002;ELEVE;Martin;Hugo;3B;%s;;2027-07-04\r\n"
                  "ENS001;enseignant;Durand;Claire;;%s;;\r\n" % (A, A, A))
        out = d.ctl("person", "import", write(d, "eleves.csv", people))
        check("columns ignored" in out.stdout and "Téléphone" in out.stdout, out.stdout)
        lea = d.ctl_json("person", "show", "INE001")
        check(lea["name"] == "Léa Dupont" and lea["kind"] == "pupil" and lea["class"] == "3A"
              and lea["agreement"] == "2026-09-02", lea)
        check(d.ctl_json("person", "show", "INE002")["left"] == "2027-07-04", "Date de sortie")
        check(d.ctl_json("person", "show", "ENS001")["kind"] == "teacher", "enseignant")
        # Nom alone is the whole name
        rep = d.ctl_json("person", "import", write(d, "nom.csv", "INE;Type;Nom;RNE\n"
                                                   "INE003;élève;DUPONT Léa;%s\n" % A))
        check(rep["added"] == 1 and d.ctl_json("person", "show", "INE003")["name"] == "DUPONT Léa", rep)
        before = snapshot(d)
        # a missing column: the names accepted for it
        out = refused(d, ["device", "import", write(d, "nos.csv", "Modèle;UAI\r\niPad;%s\r\n" % A)],
                      "1 bad row")
        check("no column 'serial'" in out.stdout and '"N° de série"' in out.stdout
              and '"Numéro de série"' in out.stdout and '"serial"' in out.stdout, out.stdout)
        out = refused(d, ["person", "import", write(d, "nok.csv", "Identifiant;Nom;UAI\nX;Y;%s\n" % A)],
                      "1 bad row")
        check("no column 'kind'" in out.stdout and '"Statut"' in out.stdout, out.stdout)
        # Windows-1252 (Excel's plain "CSV"): one message for the file, not one a line
        latin = ("Identifiant;Statut;Nom;Prénom;UAI\r\n" + "".join(
            "W%03d;élève;Bénard;Zoé;%s\r\n" % (i, A) for i in range(40))).encode("cp1252")
        rep_out = d.ctl("person", "import", write(d, "cp1252.csv", latin), "--json", expect=1)
        rep = json.loads(rep_out.stdout)
        check(rep["bad_rows"] == 1 and len(rep["errors"]) == 1, rep)
        msg = rep["errors"][0]["message"]
        check(rep["errors"][0]["line"] == 1 and "not UTF-8" in msg and "CSV UTF-8" in msg, rep)
        out = refused(d, ["device", "import", write(d, "w.csv", ("serial;model;uai\r\nWIN00001;Modèle;%s\r\n"
                                                                 "WIN00002;Modèle;%s\r\n" % (A, A)).encode("cp1252"))],
                      "1 bad row")
        check(out.stdout.count("not UTF-8") == 1 and ":2: " in out.stdout, out.stdout)
        # bad values in French columns
        out = refused(d, ["person", "import", write(d, "bad.csv",
                                                    "Identifiant;Statut;Nom;UAI;Accord parents;Date de sortie\n"
                                                    "B1;surveillant;X;%s;;\n"
                                                    "B2;élève;X;%s;hier;\n"
                                                    "B3;élève;X;%s;;2026-13-01\n"
                                                    "B4;élève;;%s;;\n" % (A, A, A, A))], "4 bad rows")
        for line, why in ((2, "bad kind 'surveillant'"), (3, "bad agreement 'hier'"),
                          (4, "bad leaving date '2026-13-01'"), (5, "name (1 to")):
            check("%d: %s" % (line, why) in out.stdout, (line, why, out.stdout))
        unchanged(d, before, "refused French imports")
        # the preview names the ignored columns too
        rep = d.ctl_json("person", "import", write(d, "prev.csv", "Identifiant;Statut;Nom;UAI;Photo\n"
                                                   "PV1;élève;X;%s;x.jpg\n" % A), "--dry-run")
        check(rep["dry_run"] and rep["would_create"] == 1 and rep["ignored_columns"] == ["Photo"], rep)


def test_french_dates():
    """JJ/MM/AAAA as French spreadsheets write dates (isodate_parse_day)."""
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        people = (BOM + "Identifiant;Statut;Nom;Prénom;UAI;Accord parents;Date de sortie\r\n"
                  "INE010;élève;Dupont;Léa;%s;02/09/2026;04/07/2027\r\n" % A)
        rep = d.ctl_json("person", "import", write(d, "dates.csv", people))
        check(rep["bad_rows"] == 0, rep)
        p = d.ctl_json("person", "show", "INE010")
        check(p["agreement"].startswith("2026-09-02") and p["left"].startswith("2027-07-04"), p)


def csv_out(d, *args):
    """ardoisectl's stdout as bytes decoded without touching line ends."""
    env = dict(os.environ, ARDOISE_URL=d.url, ARDOISE_CA=d.ca, ARDOISE_TOKEN=d.token)
    out = subprocess.run([ARDOISECTL] + list(args), capture_output=True, env=env, timeout=120)
    check(out.returncode == 0, (args, out.stderr))
    return out.stdout.decode("utf-8")


def lines_of(out):
    check(out.startswith(BOM), "a BOM first: %r" % out[:20])
    return out[len(BOM):].split("\r\n")


def test_csv_on_every_list():
    with Daemon() as d:
        setup_fleet(d)
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")
        d.ctl("incident", "declare", "--device", "DMPA00000002", "--kind", "damage", "--occurred", "2026-12-01")
        d.ctl("person", "import", write(d, "evil.csv", "id;kind;name;uai\nE-X;pupil;=1+2;%s\n" % A))
        verbs = [(["device", "list"], "serial"), (["loan", "list"], "id"),
                 (["person", "list"], "id"), (["person", "find", "dupont"], "id"),
                 (["incident", "list"], "id"), (["audit", "list"], "id"),
                 (["school", "list"], "uai"),
                 (["loan", "campaign", "--school", A, "--by", "2099-01-01"], "class"),
                 (["report", "fleet"], "uai")]
        for args, first in verbs:
            help_text = d.ctl(*(args[:2] + ["--help"])).stdout
            check("--csv" in help_text and "--csv-sep SEP" in help_text, (args, help_text))
            out = csv_out(d, *(args + ["--csv"]))
            lines = lines_of(out)
            check(lines[0].split(";")[0] == first and ";" in lines[0] and "," not in lines[0]
                  and len(lines) >= 3 and lines[-1] == "", (args, lines[:3]))
            out = csv_out(d, *(args + ["--csv-sep", ","]))
            lines = lines_of(out)
            check(lines[0].split(",")[0] == first and ";" not in lines[0], (args, lines[:2]))
            rows = list(csv.reader(io.StringIO(out[1:], newline="")))
            check(all(len(r) == len(rows[0]) for r in rows), (args, rows[:3]))
        refused(d, ["device", "list", "--csv-sep", "|"], "--csv-sep", code=2)
        # a cell a spreadsheet would run stays text
        out = d.ctl("person", "list", "--csv").stdout
        check(";'=1+2;" in out and ";=1+2" not in out, out)
        # --json still wins for scripts
        check(d.ctl("device", "list", "--csv", "--json").stdout.lstrip().startswith("["), "json")


def rows(d, *args):
    out = d.ctl(*(list(args) + ["--csv"])).stdout
    return list(csv.DictReader(io.StringIO(out[1:], newline=""), delimiter=";"))


def test_export_import_round_trip():
    with Daemon() as d:
        setup_fleet(d)
        d.ctl("person", "leave", "E-A2", "--date", "2027-07-03")
        files = {}
        for noun in ("school", "device", "person"):
            out = d.ctl(noun, "list", "--csv").stdout
            files[noun] = write(d, noun + "-export.csv", out)
        want = {n: d.ctl_json(n, "list") for n in ("device", "person")}
        # the same daemon: everything is already so
        for noun in ("school", "device", "person"):
            rep = d.ctl_json(noun, "import", files[noun])
            check(rep["bad_rows"] == 0 and rep["added"] == 0 and rep["updated"] == 0, (noun, rep))
        # another daemon: the exports rebuild the same fleet
        with Daemon() as e:
            for noun in ("school", "device", "person"):
                rep = e.ctl_json(noun, "import", files[noun])
                check(rep["bad_rows"] == 0 and rep["added"] > 0, (noun, rep))
            got = e.ctl_json("device", "list")
            keys = ("serial", "school", "model_declared", "asset_tag", "state")
            check([{k: x[k] for k in keys} for x in got] ==
                  [{k: x[k] for k in keys} for x in want["device"]], (got, want["device"]))
            got = e.ctl_json("person", "list")
            keys = ("id", "kind", "name", "class", "school", "agreement", "left")
            check([{k: x[k] for k in keys} for x in got] ==
                  [{k: x[k] for k in keys} for x in want["person"]], (got, want["person"]))
            check(e.ctl_json("school", "show", A)["pupils_equipped"] == 161, "targets exported")


def test_asset_tag_lookup():
    with Daemon() as d:
        setup_fleet(d)  # T-001 is DMPA00000001 (A) and DMPB00000001 (B); T-003 only A's
        dev = d.ctl_json("device", "show", "T-003")
        check(dev["serial"] == "DMPA00000003", dev)
        check(d.ctl_json("device", "show", "t-003")["serial"] == "DMPA00000003", "case aside")
        out = refused(d, ["device", "show", "T-001"], "asset tag 'T-001' is on 2 tablets")
        check("DMPA00000001" in out.stderr and "DMPB00000001" in out.stderr, out.stderr)
        refused(d, ["device", "show", "T-999"], "no tablet with serial or UDID 'T-999'")
        # within an ATI's collèges the tag is theirs alone
        ati = make_account(d, "ati-a", "ati", A)
        check(d.ctl_json("device", "show", "T-001", token=ati)["serial"] == "DMPA00000001", "scoped")
        d.ctl("loan", "create", "--device", "T-002", "--person", "E-A1", token=ati)
        check(d.ctl_json("device", "show", "DMPA00000002")["state"] == "loaned", "loaned by tag")
        d.ctl("loan", "return", "T-002", token=ati)
        # the MDM routes too (a tablet's commands)
        check(isinstance(d.ctl_json("command", "list", "T-003"), (list, dict)), "commands by tag")
        refused(d, ["command", "list", "T-001"], "asset tag 'T-001' is on 2 tablets")
        # out of scope: B's only tag is unknown to A's ATI, said as for any unknown tablet
        d.ctl("device", "import", write(d, "b.csv", "serial,uai,asset_tag\nDMPB00000009,%s,B-ONLY\n" % B))
        refused(d, ["device", "show", "B-ONLY"], "no tablet with serial or UDID 'B-ONLY' in your collèges",
                token=ati)
        refused(d, ["command", "list", "B-ONLY"], "no tablet with serial B-ONLY", token=ati)


def test_person_find():
    with Daemon() as d:
        setup_fleet(d)  # Léa Dupont, Hugo Martin, Inès Bernard, Mme Durand (A), Jules Petit (B)
        found = d.ctl_json("person", "find", "lea")
        check([p["id"] for p in found] == ["E-A1"], found)
        check([p["id"] for p in d.ctl_json("person", "find", "INÈS")] == ["E-A3"], "accents and case")
        check(sorted(p["id"] for p in d.ctl_json("person", "find", "du")) == ["E-A1", "T-A1"], "part of names")
        check([p["id"] for p in d.ctl_json("person", "find", "e-b1")] == ["E-B1"], "by id")
        check(d.ctl_json("person", "find", "nobody") == [], "none")
        out = d.ctl("person", "find", "dupont").stdout
        check("Léa Dupont" in out and "Martin" not in out, out)
        # scoped to the caller's collèges
        ati = make_account(d, "ati-a", "ati", A)
        check(d.ctl_json("person", "find", "petit", token=ati) == [], "B's pupil is not A's")
        check([p["id"] for p in d.ctl_json("person", "find", "lea", token=ati)] == ["E-A1"], "own")
        refused(d, ["person", "find", "petit", "--school", B], "", token=ati)
        ref = make_account(d, "ref-b", "referent", B)
        check([p["id"] for p in d.ctl_json("person", "find", "petit", token=ref)] == ["E-B1"], "referent")
        check(d.ctl_json("person", "find", "dupont", token=ref) == [], "referent scope")
        # what a role sees of the people list, it finds in it, no more
        aud = make_account(d, "aud", "auditor")
        check(d.ctl_json("person", "find", "dupont", token=aud) ==
              [p for p in d.ctl_json("person", "list", token=aud) if "Dupont" in p["name"]], "auditor")
        # hostile text
        refused(d, ["person", "find", "x" * 200], "at most 128 bytes")
        refused(d, ["person", "find", "a\x01b"], "control characters")
        refused(d, ["person", "find"], "what to look for is required", code=2)


if __name__ == "__main__":
    run([test_bouches_du_rhone_file_and_targets, test_french_devices_and_people, test_french_dates,
         test_csv_on_every_list, test_export_import_round_trip, test_asset_tag_lookup, test_person_find])
