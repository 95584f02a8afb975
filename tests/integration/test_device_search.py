"""Finding a tablet (GET /api/v1/devices ?q= and ?class=, `device list
--find/--class`): by serial, asset tag, holder's name (case and accents
aside) or id, by the holder's class; the holder as an object; wildcards
taken literally; hostile values refused; a scoped account finds nothing
outside its collèges.  A tablet's page (GET /api/v1/devices/:serial): what it
reported of itself (battery, storage, supervision, Lost Mode), its policies
and their state, its recent commands, its loans and incidents within the
caller's collèges."""
import json
import urllib.parse

from fleet_common import A, B, COLLEGES, api_time, day, refused, setup_fleet
from harness import Daemon, Sim, check, new_code, run, token_of, write


def serials(d, query, token="admin"):
    """Serials the list answers for query (a dict), over every page."""
    got, after = [], ""
    while True:
        q = dict(query, limit="2")
        if after:
            q["after"] = after
        page = d.api("GET", "/api/v1/devices?" + urllib.parse.urlencode(q), token=token)
        got += [x["serial"] for x in page["devices"]]
        if page["next"] is None:
            return got
        after = str(page["next"])


def test_find_and_filter():
    with Daemon(init_args=["--no-baseline"]) as d:
        setup_fleet(d, devices=(("DMPA00000001", A), ("DMPA00000002", A), ("DMPA00000003", A),
                                ("DMPA00000004", A), ("DMPB00000001", B), ("DMPB00000002", B)))
        d.ctl("device", "import", write(d, "tags.csv", "serial,uai,asset_tag\n"
                                        "DMPA00000004,%s,CD13_50%%\n" % A))
        d.ctl("loan", "create", "--device", "DMPA00000001", "--person", "E-A1")   # Léa Dupont, 3A
        d.ctl("loan", "create", "--device", "DMPA00000002", "--person", "E-A3")   # Inès Bernard, 3A
        d.ctl("loan", "create", "--device", "DMPA00000003", "--person", "T-A1")   # Mme Durand
        d.ctl("loan", "create", "--device", "DMPB00000002", "--person", "E-B1")   # Jules Petit, 4C
        ati = token_of(d.ctl("account", "create", "--name", "ati-a", "--role", "ati", "--school", A))
        ref = token_of(d.ctl("account", "create", "--name", "ref-a", "--role", "referent", "--school", A))
        # the holder, as an object, for whoever reads the collège
        for tok in ("admin", ati, ref):
            rows = {x["serial"]: x for x in d.api("GET", "/api/v1/devices?school=" + A, token=tok)["devices"]}
            check(rows["DMPA00000001"]["holder"] == {"id": "E-A1", "name": "Léa Dupont", "class": "3A"}
                  and rows["DMPA00000003"]["holder"] == {"id": "T-A1", "name": "Mme Durand", "class": None}
                  and rows["DMPA00000004"]["holder"] is None, "holders: %r" % rows)
        # q=: serial, asset tag, name without accents nor case, id; every page
        for q, want in (("dmpa0000000", ["DMPA00000001", "DMPA00000002", "DMPA00000003", "DMPA00000004"]),
                        ("00000002", ["DMPA00000002", "DMPB00000002"]),
                        ("LEA", ["DMPA00000001"]),
                        ("inès", ["DMPA00000002"]),
                        ("ines BERN", ["DMPA00000002"]),
                        ("e-b1", ["DMPB00000002"]),
                        ("  durand ", ["DMPA00000003"]),
                        ("cd13_50%", ["DMPA00000004"]),
                        ("Hugo", []),                      # a pupil without a tablet
                        ("%", ["DMPA00000004"]),           # only the asset tag holding a '%'
                        ("_", ["DMPA00000004"]),
                        ("DMPA%1", []), ("DMP_0", []), ("\\", []), ("'", []),
                        ("'; DROP TABLE device; --", [])):
            got = serials(d, {"q": q})
            check(got == want, "q=%r: %r, expected %r" % (q, got, want))
        check(serials(d, {"q": ""}) == serials(d, {}), "an empty q= filters nothing")
        check(len(serials(d, {})) == 6, "nothing was dropped")
        # class=, any case, alone or with the others
        check(serials(d, {"class": "3a"}) == ["DMPA00000001", "DMPA00000002"], "class 3A")
        check(serials(d, {"class": "3A", "q": "lea"}) == ["DMPA00000001"], "class and q")
        check(serials(d, {"class": "3A", "school": B}) == [], "class 3A in B")
        check(serials(d, {"class": "4C", "state": "loaned"}) == ["DMPB00000002"], "class and state")
        check(serials(d, {"class": "5Z"}) == [], "a class nobody is in")
        # a scoped account finds nothing elsewhere, and 403 on another's ?school=
        check(serials(d, {"q": "dmp"}, token=ati) == ["DMPA00000001", "DMPA00000002", "DMPA00000003",
                                                       "DMPA00000004"], "the ATI finds A's only")
        check(serials(d, {"q": "jules"}, token=ref) == [], "B's pupil is not found from A")
        check(serials(d, {"class": "4C"}, token=ref) == [], "B's class is not found from A")
        status, _, _ = d.request("GET", "/api/v1/devices?school=%s&q=jules" % B, token=ref)
        check(status == 403, "another collège's list: %d" % status)
        # hostile values: 400 with a reason, the daemon serving
        for query, why in (({"q": "x" * 129}, "q must be one line of text of at most 128 bytes"),
                           ({"q": "x" * 10000}, "at most 128 bytes"),
                           ({"q": "a\x01b"}, "without control characters"),
                           ({"q": "a\nb"}, "without control characters"),
                           ({"q": "\xc3"}, "q must be"),
                           ({"class": "3" * 40}, "class must be one line of text of at most 32 bytes"),
                           ({"class": "3A\x1b[2J"}, "class must be"),
                           ({"state": "gone"}, "unknown state 'gone'"),
                           ({"state": "x" * 500}, "unknown state"),
                           ({"limit": "-1"}, "limit must be a whole number"),
                           ({"after": "1e9"}, "after must be a whole number"),
                           ({"school": "0131266G"}, "bad UAI")):
            qs = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="", encoding="latin-1")
                                     if v == "\xc3" else urllib.parse.quote(v, safe=""))
                          for k, v in query.items())
            status, _, body = d.request("GET", "/api/v1/devices?" + qs)
            err = json.loads(body)["error"]["message"]
            check(status == 400 and why in err, "%r: %d %r" % (str(query)[:60], status, err))
        q128 = "é" * 64  # 128 bytes: the limit, accepted
        check(d.api("GET", "/api/v1/devices?q=" + urllib.parse.quote(q128))["devices"] == [], "128 bytes")
        d.check_serving("hostile list filters")
        # the CLI
        out = d.ctl("device", "list", "--find", "lea").stdout
        check("DMPA00000001" in out and "E-A1" in out and "DMPA00000002" not in out, out)
        out = d.ctl("device", "list", "--class", "3A", "--school", A).stdout
        check(out.count("DMPA0000000") == 2, out)
        show = d.ctl("device", "show", "DMPA00000001").stdout
        check("holder       E-A1 (Léa Dupont, class 3A)" in show, show)


def test_tablet_page():
    with Daemon() as d:
        d.ctl("school", "import", COLLEGES)
        sim = Sim(d)
        sim("enroll", "-n", "2", "--code", new_code(d, 2), "--key-pool", "2")
        first, second = [x["serial"] for x in sim.devices()]
        d.ctl("device", "import", write(d, "d.csv", "serial,uai\n%s,%s\n%s,%s\n" % (first, A, second, A)))
        sim("connect", "--device", sim.devices()[0]["udid"])
        d.ctl("person", "import", write(d, "p.csv", "id,kind,name,class,uai\nE-1,pupil,Léa,3A,%s\n"
                                        "E-2,pupil,Jules,4C,%s\n" % (A, B)))
        d.ctl("loan", "create", "--device", first, "--person", "E-1")
        d.ctl("loan", "return", first, "--condition", "ok")
        d.ctl("incident", "declare", "--device", first, "--kind", "damage", "--occurred", day(0))
        dev = d.ctl_json("device", "show", first)
        pol = {p["identifier"]: p for p in dev["policies"]}
        check(len(pol) == 5 and all(p["state"] == "installed" and p["kind"] == "profile" and p["error"] is None
                                    for p in pol.values()), "the baseline is installed: %r" % pol)
        rc = dev["recent_commands"]
        check(len(rc) == 10 and rc == [{"uuid": c["uuid"], "type": c["type"], "status": c["status"],
                                        "when": c["done_at"] or c["created_at"]} for c in dev["commands"][:10]],
              "the ten newest commands: %r" % rc)
        check(rc[0]["type"] == "EraseDevice" and rc[0]["status"] == "queued" and api_time(rc[0]["when"]),
              "newest first: %r" % rc[0])
        check(len(dev["loans"]) == 1 and len(dev["incidents"]) == 1, dev)
        inv = dev["inventory"]
        check(0 <= inv["battery"] <= 1 and inv["capacity_gb"] >= inv["available_gb"] > 0
              and inv["supervised"] is True and inv["lost_mode"] is False
              and inv["passcode_present"] is True and api_time(inv["inventory_at"]),
              "what the tablet reported of itself: %r" % inv)
        human = d.ctl("device", "show", first).stdout
        check("supervised   yes" in human and "lost_mode    no" in human and "GB free of 64.0 GB" in human
              and "webfilter" in human and "installed" in human, human)
        other = d.ctl_json("device", "show", second)
        check(other["inventory"]["battery"] is None and other["inventory"]["supervised"] is None
              and other["inventory"]["inventory_at"] is None, "never reported: null, not 0: %r" % other)
        check({p["state"] for p in other["policies"]} == {"pending"} and len(other["recent_commands"]) == 10,
              "the tablet that never came back: its baseline pending: %r" % other["policies"])
        # moved to B: B's ATI sees the tablet, not A's history
        d.ctl("incident", "close", str(dev["incidents"][0]["id"]), "--outcome", "repaired")
        sim("connect", "--device", sim.devices()[0]["udid"])  # the erase: back in stock
        check(d.ctl_json("device", "show", first)["state"] == "stock", "back in stock")
        d.ctl("device", "move", first, "--school", B)
        ati_b = token_of(d.ctl("account", "create", "--name", "ati-b", "--role", "ati", "--school", B))
        seen = d.ctl_json("device", "show", first, token=ati_b)
        check(seen["school"] == B and seen["loans"] == [] and seen["incidents"] == [] and seen["policies"],
              "B's ATI: the tablet, not A's loans nor incidents: %r" % seen)
        refused(d, ["device", "show", second], "no tablet with serial or UDID '%s' in your collèges" % second,
                token=ati_b)


if __name__ == "__main__":
    run([test_find_and_filter, test_tablet_page])
