#!/usr/bin/env python3
"""po.py - Ardoise's two gettext catalogues: extraction, merge and checks.

    po.py update SRCROOT   extract both domains' strings into their .pot
                           (tools/po/ardoise.pot, daemon/po/ardoise-server.pot)
                           and merge each LINGUAS .po with it (msgmerge)
    po.py check SRCROOT    what the suite checks (meson test po-check): each
                           .po compiles with msgfmt --check, has no fuzzy or
                           untranslated entry and translates every string the
                           sources hold today; POTFILES lists every file of
                           its directories

`ninja -C build po-update` runs the first (HACKING.md: adding a string).

The extraction runs xgettext twice: the option macros of tools/cli/ctl.h
carry two texts (the usage error and the help of CTL_OPT_FIELD and
CTL_OPT_ARG), and xgettext takes one argument a keyword per run.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

# One domain: its catalogue directory, what POTFILES must list, the
# keywords of each extraction pass and the printf-like functions.
DOMAINS = [
    {
        "name": "ardoise",
        "dir": "tools/po",
        "listed": ["tools/cli/*.c"],
        "passes": [
            ["_", "N_", "NC_:1c,2", "ngettext:1,2", "ctl_err", "ctl_opt_usage:2",
             "CTL_OPT_ARG:3", "CTL_OPT_FIELD:5", "CTL_OPT_FILTER:4", "CTL_OPT_FLAG:4",
             "CTL_OPT_SERIAL", "CTL_OPT_REASON:3", "CTL_OPT_SCHOOL"],
            ["CTL_OPT_ARG:2", "CTL_OPT_FIELD:4"],
        ],
        "flags": ["ctl_err:1:c-format", "ctl_opt_usage:2:c-format"],
    },
    {
        "name": "ardoise-server",
        "dir": "daemon/po",
        "listed": ["daemon/api/*.c"],
        "passes": [["api_refuse:4", "api_fail:4"]],
        "flags": ["api_refuse:4:c-format", "api_fail:4:c-format"],
    },
]


def run(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def potfiles(root, d):
    with open(os.path.join(root, d["dir"], "POTFILES"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def linguas(root, d):
    with open(os.path.join(root, d["dir"], "LINGUAS"), encoding="utf-8") as f:
        return [w for line in f if not line.startswith("#") for w in line.split()]


def extract(root, d, out):
    """The domain's strings into the template out."""
    files = potfiles(root, d)
    for n, keywords in enumerate(d["passes"]):
        args = ["xgettext", "--from-code=UTF-8", "--language=C", "--add-comments=TRANSLATORS",
                "--package-name=ardoise",
                "--msgid-bugs-address=the Ardoise issue tracker", "--sort-by-file",
                "-D", root, "-o", out, "-k"]
        args += ["--keyword=" + k for k in keywords]
        args += ["--flag=" + f for f in d["flags"]]
        if n:
            args.append("--join-existing")
        run(*(args + files))
    # the template's header as xgettext writes it, but UTF-8 (people's
    # strings hold é and —) and without the date, so that a template only
    # changes when a string does
    with open(out, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("charset=CHARSET", "charset=UTF-8")
    text = re.sub(r'"POT-Creation-Date: [^"]*"\n', "", text)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


def update(root):
    for d in DOMAINS:
        pot = os.path.join(root, d["dir"], d["name"] + ".pot")
        extract(root, d, pot)
        for lang in linguas(root, d):
            po = os.path.join(root, d["dir"], lang + ".po")
            if not os.path.exists(po):
                run("msginit", "--no-translator", "--no-wrap", "-l", lang + ".UTF-8", "-i", pot,
                    "-o", po)
            run("msgmerge", "--quiet", "--update", "--backup=none", "--no-wrap", po, pot)
            print("po.py: %s merged with %s" % (os.path.relpath(po, root),
                                                os.path.relpath(pot, root)))


def entries(po):
    """(msgctxt, msgid, translated) of each live entry of po, read by msgattrib."""
    text = subprocess.run(["msgattrib", "--no-obsolete", "--no-wrap", po], check=True,
                          capture_output=True, text=True).stdout
    out = []
    for block in text.split("\n\n"):
        fields = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
            if m:
                key = m.group(1)
                fields[key] = eval(m.group(2))  # a C string, as Python reads it
            elif line.startswith('"') and key:
                fields[key] += eval(line)
        if "msgid" in fields and fields["msgid"]:
            strs = [v for k, v in fields.items() if k.startswith("msgstr")]
            out.append((fields.get("msgctxt"), fields["msgid"], bool(strs) and all(strs)))
    return out


def check(root):
    problems = []
    for d in DOMAINS:
        listed = set(potfiles(root, d))
        for pattern in d["listed"]:
            for path in sorted(glob.glob(os.path.join(root, pattern))):
                rel = os.path.relpath(path, root)
                if rel not in listed:
                    problems.append("%s/POTFILES: %s is not listed" % (d["dir"], rel))
        for rel in sorted(listed):
            if not os.path.exists(os.path.join(root, rel)):
                problems.append("%s/POTFILES: %s does not exist" % (d["dir"], rel))
        with tempfile.TemporaryDirectory() as tmp:
            pot = os.path.join(tmp, d["name"] + ".pot")
            extract(root, d, pot)
            wanted = {(c, i) for c, i, _ in entries(pot)}
            for lang in linguas(root, d):
                po = os.path.join(root, d["dir"], lang + ".po")
                rel = os.path.relpath(po, root)
                r = subprocess.run(["msgfmt", "--check", "-o", os.devnull, po],
                                   capture_output=True, text=True)
                if r.returncode:
                    problems.append("%s: msgfmt --check: %s" % (rel, r.stderr.strip()))
                fuzzy = subprocess.run(["msgattrib", "--only-fuzzy", "--no-obsolete", po],
                                       check=True, capture_output=True, text=True).stdout
                for m in re.finditer(r'^msgid "(.+)"$', fuzzy, re.M):
                    problems.append("%s: fuzzy: %s" % (rel, m.group(1)))
                have = {}
                for c, i, ok in entries(po):
                    have[(c, i)] = ok
                for key in sorted(wanted, key=lambda k: (k[0] or "", k[1])):
                    shown = ("[%s] " % key[0] if key[0] else "") + key[1][:70]
                    if key not in have:
                        problems.append("%s: not in the catalogue (po-update): %r"
                                        % (rel, shown))
                    elif not have[key]:
                        problems.append("%s: untranslated: %r" % (rel, shown))
    for p in problems:
        print(p)
    print("po.py: %d problem(s)" % len(problems))
    return 1 if problems else 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("update", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(argv[2])
    if argv[1] == "update":
        update(root)
        return 0
    return check(root)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
