#!/usr/bin/env python3
"""tools/check-circles finds an include circle, and sees through headers
without a .c of their own: small trees written per case."""

import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(TOP, "tools", "check-circles")

CASES = [
    # (what, files {path: includes}, circle expected)
    ("a leaf and its user", {"daemon/a.c": ["a.h", "b.h"], "daemon/a.h": [],
                             "daemon/b.c": ["b.h"], "daemon/b.h": []}, None),
    ("two modules including each other",
     {"daemon/a.c": ["a.h", "b.h"], "daemon/a.h": [], "daemon/b.c": ["b.h"],
      "daemon/b.h": ["a.h"]}, "a -> b -> a"),
    ("a circle through three folders",
     {"agent-protocol/x.c": ["y.h"], "agent-protocol/x.h": [], "db/y.c": ["z.h"],
      "db/y.h": [], "tools/cli/z.c": ["x.h"], "tools/cli/z.h": []}, "x -> y -> z -> x"),
    ("a private header is its includer's (no circle)",
     {"db/store.c": ["db_int.h"], "db/store.h": [], "db/db_int.h": ["store.h"],
      "db/db_x.c": ["db_int.h"]}, None),
    ("a private header carries its includes (circle)",
     {"db/store.c": ["db_int.h"], "db/store.h": [], "db/db_int.h": ["db_x.h"],
      "db/db_x.c": ["store.h"], "db/db_x.h": []}, "db_x -> store -> db_x"),
]


def run_case(files, expect):
    with tempfile.TemporaryDirectory() as tree:
        for path, incs in files.items():
            os.makedirs(os.path.join(tree, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(tree, path), "w") as f:
                f.write("".join('#include "%s"\n' % i for i in incs))
        out = subprocess.run([sys.executable, CHECK, tree], capture_output=True, text=True)
    if expect is None:
        return out.returncode == 0 and "no include circle" in out.stdout, out.stdout
    return out.returncode == 1 and ("  " + expect) in out.stdout, out.stdout


def main():
    failed = 0
    for what, files, expect in CASES:
        ok, text = run_case(files, expect)
        print(("ok   " if ok else "FAIL ") + what + ("" if ok else ": %r" % text))
        failed += not ok
    print("%d passed, %d failed" % (len(CASES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
