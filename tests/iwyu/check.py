#!/usr/bin/python3
"""Fail when a C file relies on a system header it does not include itself.

Runs include-what-you-use over each file given (headers on their own, as
`-x c`, so each also proves it compiles alone) and fails on every
"should add" line that names an angle-bracket header, or a quoted one that
is not a file of this tree.  Suggestions about the tree's own headers and
every "should remove" are advice, not failures: the tree's headers change
with their users, so relying on one transitively breaks every build at
once, where a system header differs between machines and breaks only some.

usage: check.py [-j N] [--iwyu PROG] [--mapping FILE] [--test-cflags FLAGS]
                FILE... -- CFLAGS...
CFLAGS come last, one argument each, as the compiler gets them; files
under tests/ also get --test-cflags.  Exit 0 clean, 1 findings or an iwyu
error, 2 usage.
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys

ADD = re.compile(r"^(\S+) should add these lines:$")
INCLUDE = re.compile(r"^#include ([<\"])([^>\"]+)[>\"]\s*(?://\s*for (.*))?$")


def run_iwyu(args, path):
    cmd = [args.iwyu, "-Xiwyu", "--max_line_length=400",
           "-Xiwyu", "--no_fwd_decls"]
    if args.mapping:
        cmd += ["-Xiwyu", "--mapping_file=" + args.mapping]
    cmd += args.cflags
    if path.startswith("tests/"):
        cmd += shlex.split(args.test_cflags)
    if path.endswith(".h"):
        cmd += ["-x", "c"]
    cmd += ["-c", path]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def missing(output):
    """(file, header, symbols) for each system header iwyu wants added."""
    found, current = [], None
    for line in output.splitlines():
        m = ADD.match(line)
        if m:
            current = m.group(1)
            continue
        if not line.strip():
            current = None
            continue
        m = INCLUDE.match(line)
        if current and m:
            quote, name, symbols = m.groups()
            if quote == '"' and os.path.exists(name):
                continue
            spelled = "<%s>" % name if quote == "<" else '"%s"' % name
            found.append((current, spelled, (symbols or "?").strip()))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--iwyu", default="include-what-you-use")
    ap.add_argument("--mapping")
    ap.add_argument("--test-cflags", default="")
    ap.add_argument("files", nargs="+")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = ap.parse_args(argv[:cut])
    args.cflags = argv[cut + 1:]

    findings, errors = set(), []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        try:
            results = list(pool.map(lambda f: (f, run_iwyu(args, f)),
                                    args.files))
        except FileNotFoundError:
            print("test-includes: %s not found (make deps installs iwyu)"
                  % args.iwyu, file=sys.stderr)
            return 1
    for path, (rc, out) in results:
        if rc != 0:
            errors.append("%s: include-what-you-use failed:\n%s"
                          % (path, out))
        findings.update(missing(out))

    for err in errors:
        print(err, file=sys.stderr)
    for path, header, symbols in sorted(findings):
        print("%s: missing #include %s (uses %s)" % (path, header, symbols),
              file=sys.stderr)
    if errors or findings:
        print("test-includes: %d missing system include(s), %d file(s) "
              "iwyu could not check; each file must include the system "
              "header of every name it uses" % (len(findings), len(errors)),
              file=sys.stderr)
        return 1
    print("test-includes: %d files include the system headers they use"
          % len(args.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
