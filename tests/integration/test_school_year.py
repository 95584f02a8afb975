"""A school year at one collège, end to end, as its ATI and the département's
technician live it under the loan convention (issue 14's "done means"):
spreadsheets from French Excel (BOM, ';', CRLF, French headers and dates),
tablets enrolled by ardoise-sim, loans before and after the guardians'
agreement, a theft declared before its police complaint, the daily e-mail
received by a local SMTP server, the summer deposit and its resume without
any erase, a leaver, a damaged return, a return stuck because its tablet was
never enrolled, the year's report, the exports imported back, and ardoisectl
speaking French under fr_FR.UTF-8."""
import csv
import datetime
import io
import zoneinfo

from fleet_common import A, COLLEGES, day, school_year_start
from harness import Daemon, Sim, check, new_code, run, token_of, write
from smtp_sink import SmtpSink

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
FR = "fr_FR.UTF-8"


def fr_day(delta=0):
    """A Paris day as people type it, JJ/MM/AAAA."""
    d = datetime.datetime.now(PARIS).date() + datetime.timedelta(days=delta)
    return d.strftime("%d/%m/%Y")


def excel(text):
    """A CSV as French Excel saves it: UTF-8 with a BOM, CRLF line ends."""
    return "\ufeff" + text.replace("\n", "\r\n")


def erase_commands(d, serial):
    return [c for c in d.ctl_json("command", "list", serial) if c["type"] == "EraseDevice"]


def csv_rows(text):
    text = text.lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def test_a_school_year():
    with SmtpSink() as sink, Daemon(config="[mail]\nsmtp_url = %s\nfrom = ardoise@dep13.fr\n"
                                    % sink.url) as d:
        # ---- September: the collèges, the tablets, the pupils ------------------------------
        rep = d.ctl_json("school", "import", COLLEGES)
        check(rep["bad_rows"] == 0 and rep["added"] == 38, rep)
        ati = token_of(d.ctl("account", "create", "--name", "ati.aubagne", "--role", "ati",
                             "--school", A, "--email", "ati@clg-sarraute.fr"))

        sim = Sim(d)
        sim.run("enroll", "-n", "3", "--code", new_code(d, 3))
        sim.run("connect")
        s1, s2, s3 = sorted(x["serial"] for x in sim.devices())
        # the département's inventory lists the enrolled tablets and two more
        # still in their boxes (never enrolled)
        devices = excel("N° de série;Modèle;Code UAI;N° d'inventaire;Commentaire\n"
                        "%s;iPad 10e génération;%s;CD13-0001;chariot 1\n"
                        "%s;iPad 10e génération;%s;CD13-0002;\n"
                        "%s;iPad 10e génération;%s;CD13-0003;\n"
                        "DMPU00000001;iPad 9e génération;%s;CD13-0004;en carton\n"
                        "DMPU00000002;iPad 9e génération;%s;CD13-0005;\n" % (s1, A, s2, A, s3, A, A, A))
        rep = d.ctl_json("device", "import", write(d, "tablettes.csv", devices))
        check(rep["bad_rows"] == 0 and rep["ignored_columns"] == ["Commentaire"], rep)
        check(d.ctl_json("device", "show", "CD13-0004")["serial"] == "DMPU00000001",
              "a tablet found by the asset tag on its label")

        people = excel("Identifiant;Statut;Prénom;Nom;Classe;UAI;Accord parents;Régime\n"
                       "INE-0001;élève;Léa;Dupont;6A;%s;%s;DP\n"
                       "INE-0002;élève;Hugo;Martin;6A;%s;;EXT\n"
                       "INE-0003;élève;Inès;Bernard;5B;%s;%s;DP\n"
                       "INE-0004;élève;Jules;Petit;3C;%s;%s;DP\n"
                       % (A, fr_day(-20), A, A, fr_day(-20), A, fr_day(-20)))
        rep = d.ctl_json("person", "import", write(d, "eleves.csv", people))
        check(rep["bad_rows"] == 0 and rep["added"] == 4 and rep["ignored_columns"] == ["Régime"], rep)
        check(d.ctl_json("person", "find", "lea")[0]["id"] == "INE-0001", "Léa found, accents aside")

        # ---- loans: home use only after the guardians sign -----------------------------------
        d.ctl_json("loan", "create", "--device", s1, "--person", "INE-0001", "--home-use", token=ati)
        out = d.ctl("loan", "create", "--device", s2, "--person", "INE-0002", "--home-use",
                    token=ati, expect=1)
        check("agreement" in out.stderr, "no home use without the agreement: %s" % out.stderr)
        out = d.ctl("loan", "create", "--device", s2, "--person", "INE-0002", "--home-use",
                    token=ati, expect=1, lang=FR)
        check("accord" in out.stderr, "the refusal in French: %s" % out.stderr)
        d.ctl("loan", "create", "--device", s2, "--person", "INE-0002", token=ati)  # school only
        out = d.ctl("loan", "create", "--device", s3, "--person", "INE-0001", token=ati, expect=1)
        check("already" in out.stderr, "one tablet per pupil: %s" % out.stderr)
        # the agreement comes back signed a week later (typed JJ/MM/AAAA); in the future: refused
        d.ctl("person", "agreement", "INE-0002", "--signed", fr_day(1), token=ati, expect=1)
        d.ctl("person", "agreement", "INE-0002", "--signed", fr_day(0), token=ati)
        loan = d.ctl_json("loan", "update", s2, "--home-use", token=ati)
        check(loan["home_use"] is True, "home use once signed: %r" % loan)
        # an unenrolled tablet goes home only on a technician's word
        d.ctl("loan", "create", "--device", "DMPU00000001", "--person", "INE-0003", "--home-use",
              token=ati, expect=1)
        d.ctl("loan", "create", "--device", "DMPU00000001", "--person", "INE-0003", token=ati)
        d.ctl("loan", "create", "--device", s3, "--person", "INE-0004", "--home-use", token=ati)

        # ---- November: a theft, declared before the complaint exists -------------------------
        inc = d.ctl_json("incident", "declare", "--device", s3, "--kind", "theft",
                         "--occurred", fr_day(-2), "--reported", fr_day(-1), token=ati)
        check(inc["complaint_missing"] is True and inc["late"] is False,
              "declared at once, the complaint to come; told the collège within 48 h: %r" % inc)
        check(d.ctl_json("device", "show", s3)["state"] == "stolen", "stolen")
        # the exceptional geolocation, the tablet named by the tag on its label
        req = d.ctl_json("locate", "request", "CD13-0003", "--incident", str(inc["id"]),
                         "--reason", "vol déclaré par la famille")
        check(req["state"] == "pending" and req["serial"] == s3, "requested by asset tag: %r" % req)
        d.ctl("locate", "request", "CD13-0003", "--incident", str(inc["id"]), "--reason", "x",
              token=ati, expect=1)  # technicians only

        # the daily e-mail to the ATI names it (and never the INE)
        out = d.ctl("notice", "send")
        mails = [m for m in sink.messages if m.rcpts == ["ati@clg-sarraute.fr"]]
        check(len(mails) == 1, "one e-mail to the ATI: %r" % [m.rcpts for m in sink.messages])
        body = mails[0].body()
        check("Vols sans référence de plainte (1)" in body and "Jules Petit (3C)" in body,
              "the theft without its complaint, in French: %s" % body)
        check("INE-" not in body and "INE-" not in mails[0].data.decode(), "never the INE")

        d.ctl("incident", "update", str(inc["id"]), "--police-ref", "PV-13-2026-4242",
              "--complaint-date", fr_day(0), token=ati)
        check(d.ctl_json("incident", "show", str(inc["id"]))["complaint_missing"] is False,
              "the complaint added later")

        # ---- July: the summer deposit, kept at the collège, nothing erased --------------------
        for s in (s1, s2):
            d.ctl("loan", "deposit", s, token=ati)
        camp = d.ctl_json("loan", "campaign", "--school", A, "--by", day(30), "--class", "6A")
        rows = [x for c in camp["classes"] for x in c["loans"]]
        check(sorted(x["device"] for x in rows if x["deposited"]) == sorted([s1, s2]),
              "the 6A checklist shows both deposited: %r" % camp)
        sim.run("connect")
        check(erase_commands(d, s1) == [] and erase_commands(d, s2) == [], "a deposit erases nothing")
        check(all(x["state"] != "erased" for x in sim.devices()), "no tablet wiped: %r" % sim.devices())
        # ---- September again: resumed, same tablets, same pupils --------------------------------
        for s in (s1, s2):
            d.ctl("loan", "resume", s, token=ati)
        check(all(not x["deposited"] for x in d.ctl_json("loan", "list", "--school", A)), "resumed")

        # ---- a leaver: the loan ends on the last day, overdue from the next --------------------
        left = d.ctl_json("person", "leave", "INE-0001", "--on", fr_day(-1), token=ati)
        check([c["device"] for c in left["collect"]] == [s1], "the tablet to collect: %r" % left)
        d.api("POST", "/api/v1/jobs/loans_overdue/run")
        overdue = d.ctl_json("loan", "list", "--overdue")
        check([x["device"] for x in overdue] == [s1] and overdue[0]["overdue_since"],
              "overdue from the day after the last: %r" % overdue)

        # ---- returns: one damaged (repair), one erased normally, one stuck ---------------------
        ret = d.ctl_json("loan", "return", s2, "--condition", "damaged", token=ati)
        check(ret["incident"], "a damaged return opens its incident: %r" % ret)
        d.ctl("loan", "return", s1, "--condition", "ok", token=ati)
        sim.run("connect")
        check(d.ctl_json("device", "show", s2)["state"] == "repair", "damaged: to repair, not stock")
        check(d.ctl_json("device", "show", s1)["state"] == "stock", "erased, back in stock")
        d.ctl("loan", "return", "DMPU00000001", token=ati)
        check(d.ctl_json("device", "show", "DMPU00000001")["state"] == "returning", "stuck: never enrolled")
        d.ctl("device", "mark-erased", "DMPU00000001", "--reason", "jamais inscrite", token=ati, expect=1)
        d.ctl("device", "mark-erased", "DMPU00000001", "--reason", "jamais inscrite, remise à zéro à la main")
        check(d.ctl_json("device", "show", "DMPU00000001")["state"] == "stock", "closed by a technician")

        # ---- the year's figures for the convention ---------------------------------------------
        year = d.ctl_json("report", "year", "--school", A, "--from", school_year_start(), "--to", fr_day(0))
        check(year["loans"]["started"] == 4 and year["loans"]["home_use"] == 3, year["loans"])
        check(year["incidents"]["theft"] == 1 and year["incidents"]["damage"] == 1, year["incidents"])
        check(year["returns"]["damaged"] == 1 and year["returns"]["ok"] == 2, year["returns"])
        check(year["thefts"]["with_complaint"] == 1, year["thefts"])

        # ---- the exports open in French Excel and import back as they are --------------------
        for noun, name in (("device", "parc.csv"), ("person", "personnes.csv")):
            text = d.ctl(noun, "list", "--school", A, "--csv").stdout
            check(text.startswith("\ufeff") and ";" in text.splitlines()[0], "';' and a BOM: %r" % text[:80])
            check(len(csv_rows(text)) >= 4, "rows: %r" % text)
            rep = d.ctl_json(noun, "import", write(d, name, text))
            check(rep["bad_rows"] == 0 and rep["added"] == 0 and rep["updated"] == 0,
                  "%s export imported back changes nothing: %r" % (noun, rep))

        # ---- French under a French locale, the same JSON -----------------------------------------
        en = d.ctl("loan", "list", "--school", A).stdout
        fr = d.ctl("loan", "list", "--school", A, lang=FR).stdout
        check(en != fr and "ID" in en, "the table in French: %s" % fr)
        check(d.ctl("loan", "list", "--school", A, "--json").stdout
              == d.ctl("loan", "list", "--school", A, "--json", lang=FR).stdout, "JSON unchanged")
        check("--home-use" in d.ctl("loan", "create", "--help", lang=FR).stdout, "help in French")
        people_fr = d.ctl("person", "list", "--school", A, lang=FR).stdout
        check(fr_day(-20) in people_fr and fr_day(-1) in people_fr,
              "days as people write them, JJ/MM/AAAA (agreement, last day): %s" % people_fr)
        d.ctl("audit", "verify")


if __name__ == "__main__":
    run([test_a_school_year])
