"""A loan's return, end to end with a simulated iPad: the return queues
EraseDevice, the tablet wipes itself, its acknowledgement closes the loan
and puts the tablet back in stock; the wiped tablet enrols again."""
from fleet_common import A as UAI
from harness import Daemon, Sim, check, run, write


def test_return_erases_and_closes_the_loan():
    with Daemon(init_args=["--no-baseline"]) as d:
        d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
        code = d.ctl_json("enroll-code", "new", "--uses", "2")["code"]
        sim = Sim(d)
        sim.run("enroll", "-n", "1", "--code", code)
        sim.run("connect")
        serial = sim.devices()[0]["serial"]
        d.ctl("device", "move", serial, "--school", UAI)
        d.ctl("person", "import", write(d, "people.csv",
                                         "external_id;kind;name;class;uai;agreement\n"
                                         "E-1;pupil;Léa Dupont;5B;%s;2024-09-02\n" % UAI))
        d.ctl("loan", "create", "--device", serial, "--person", "E-1")
        check(d.ctl_json("device", "show", serial)["state"] == "loaned", "loaned")
        d.ctl("loan", "return", serial, "--condition", "ok")
        check(d.ctl_json("device", "show", serial)["state"] == "returning",
              "returning until the erase is acknowledged")
        sim.run("connect")
        check(sim.devices()[0]["state"] == "erased", "the tablet wiped itself: %r" % sim.devices()[0])
        dev = d.ctl_json("device", "show", serial)
        check(dev["state"] == "stock", "back in stock once the erase is acknowledged: %r" % dev)
        loans = d.ctl_json("loan", "list", "--state", "closed")
        check(len(loans) == 1 and loans[0]["device"] == serial, "the loan is closed: %r" % loans)
        audit = [a["action"] for a in d.ctl_json("audit", "list")]
        check("loan.erased" in audit, "the erase is in the audit log: %r" % audit)
        # the wiped tablet comes back through enrolment, same record
        sim.run("enroll", "-n", "1", "--code", code)
        sim.run("connect")
        again = d.ctl_json("device", "show", serial)
        check(again["state"] == "stock" and again["school"] == UAI, "same record, same collège: %r" % again)
        d.ctl("audit", "verify")


if __name__ == "__main__":
    run([test_return_erases_and_closes_the_loan])
