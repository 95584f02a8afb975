#!/usr/bin/env python3
"""The include matrix of tools/check-style fails on what it forbids.

Each case writes a small tree (a copy of the layout, not of the code), adds
one file with one include, and runs `check-style --root TREE --only includes`:
a forbidden include must be reported at its line, an allowed one must not.
"""

import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(TOP, "tools", "check-style")

# The tree every case starts from: one header per layer, public or private.
BASE = {
    "agent-protocol/include/ap_err.h": "",
    "agent-protocol/ap_codec.h": "",
    "db/include/store.h": "",
    "db/db_int.h": "",
    "policies/include/pol_plan.h": "",
    "daemon/server.h": "",
    "tools/cli/ctl.h": "",
    "tools/sim/sim_net.h": "",
    "daemon/core/log.h": "",
    "daemon/api/api.h": "",
}

# (file added, its include, the finding expected or None when allowed)
CASES = [
    ("agent-protocol/ap_x.c", "<uv.h>", "uv.h (libuv) is not for agent-protocol/"),
    ("agent-protocol/ap_x.c", "<sqlite3.h>", "sqlite3.h (sqlite) is not for agent-protocol/"),
    ("agent-protocol/ap_x.c", '"ap_codec.h"', None),
    ("db/db_x.c", '"server.h"', '"server.h" is daemon\'s, and db/ may not include it'),
    ("db/db_x.c", "<jansson.h>", "jansson.h (jansson) is not for db/"),
    ("db/db_x.c", "<sqlite3.h>", None),
    ("policies/pol_x.c", '"store.h"', '"store.h" is db\'s, and policies/ may not include it'),
    ("daemon/x.c", "<sqlite3.h>", "sqlite3.h (sqlite) is not for daemon/"),
    ("daemon/x.c", "<http_parser.h>", "http_parser.h (http-parser) is not for daemon/"),
    ("tools/sim/sim_x.c", "<http_parser.h>", "http_parser.h (http-parser) is not for tools/sim/"),
    ("agent-protocol/ap_x.c", "<http_parser.h>", None),
    ("daemon/x.c", '"db_int.h"', '"db_int.h" is private to db/'),
    ("daemon/x.c", '"store.h"', None),
    # the daemon's lower rooms
    ("daemon/core/x.c", '"api.h"', '"api.h" is daemon\'s, and daemon/core/ may not include it'),
    ("daemon/core/x.c", '"log.h"', None),
    ("daemon/apple/x.c", '"api.h"', '"api.h" is daemon\'s, and daemon/apple/ may not include it'),
    ("daemon/apple/x.c", '"log.h"', None),
    ("daemon/api/x.c", '"log.h"', None),
    ("daemon/x.c", '"ctl.h"', '"ctl.h" is tools/cli\'s, and daemon/ may not include it'),
    ("tools/cli/ctl_x.c", '"server.h"', '"server.h" is daemon\'s, and tools/cli/ may not include it'),
    ("tools/cli/ctl_x.c", "<uv.h>", "uv.h (libuv) is not for tools/cli/"),
    ("tools/sim/sim_x.c", '"store.h"', '"store.h" is db\'s, and tools/sim/ may not include it'),
    ("tools/sim/sim_x.c", '"nowhere.h"', '"nowhere.h" names no header of the tree'),
    # a unit test keeps its folder's matrix
    ("tests/unit/db/test_x.c", '"db_int.h"', None),
    ("tests/unit/db/test_x.c", "<cmocka.h>", None),
    ("tests/unit/db/test_x.c", '"server.h"',
     '"server.h" is daemon\'s, and tests/unit/db/ may not include it'),
    ("tests/unit/agent-protocol/test_x.c", "<uv.h>",
     "uv.h (libuv) is not for tests/unit/agent-protocol/"),
    ("tests/unit/agent-protocol/test_x.c", '"db_int.h"',
     '"db_int.h" is db\'s, and tests/unit/agent-protocol/ may not include it'),
    ("tests/unit/daemon/test_x.c", '"db_int.h"', '"db_int.h" is private to db/'),
    ("tests/protocol/test_x.c", '"db_int.h"', '"db_int.h" is private to db/'),
]


def run_case(path, include, expect):
    with tempfile.TemporaryDirectory() as tree:
        for name, text in list(BASE.items()) + [(path, "#include %s\n" % include)]:
            os.makedirs(os.path.join(tree, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(tree, name), "w") as f:
                f.write("/* fixture */\n" + text)
        out = subprocess.run([sys.executable, CHECK, "--root", tree, "--only", "includes"],
                             capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if not l.startswith("check-style:")]
    if expect is None:
        return out.returncode == 0 and not lines, lines
    want = "%s:2: %s" % (path, expect)
    return out.returncode == 1 and any(l.startswith(want) for l in lines), lines


def main():
    failed = 0
    for path, include, expect in CASES:
        ok, lines = run_case(path, include, expect)
        what = "%s includes %s: %s" % (path, include, "refused" if expect else "allowed")
        print(("ok   " if ok else "FAIL ") + what + ("" if ok else " -> %r" % lines))
        failed += not ok
    print("%d passed, %d failed" % (len(CASES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
