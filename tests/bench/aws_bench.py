#!/usr/bin/python3
"""Requests per second against tests/fakeaws: one reused connection versus
a new connection per request (libcurl FORBID_REUSE), through the whole
provider (credentials, signing, retries, parsing).  Figures, not pass/fail.

Each figure is one provtool process making N sequential calls; the time is
measured inside provtool, around the calls only.  The fake is a Python
server, so absolute numbers mostly measure it; the ratio shows what
keep-alive saves.
"""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fakeaws"))
from fakeaws_client import FakeAws  # noqa: E402

BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
PROVTOOL = os.path.join(BUILD, "tests", "tools", "provtool")
N = int(os.environ.get("AWS_BENCH_CALLS", "400"))


def run(fa, args):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": "/nonexistent"}
    env.update(fa.env())
    before = fa.counters()["totals"]["connections"]
    p = subprocess.run([PROVTOOL, "--rate-limit", "off", "--repeat", str(N),
                        *args], env=env, capture_output=True, text=True,
                       timeout=300)
    doc = json.loads(p.stdout.splitlines()[0])
    if p.returncode or doc["failed"]:
        sys.exit("provtool failed: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
    conns = fa.counters()["totals"]["connections"] - before - 1
    return N * 1000.0 / max(doc["elapsed_ms"], 1), conns


def main():
    state = os.path.join(REPO, "tests", "fakeaws", "example-state.json")
    print("aws_bench.py: %d sequential calls against fakeaws" % N)
    print("  %-34s %10s %12s" % ("call", "req/s", "connections"))
    with FakeAws(state=state) as fa:
        for label, args in (
                ("GetCallerIdentity, reused", ["identity"]),
                ("GetCallerIdentity, new each time",
                 ["--forbid-reuse", "identity"]),
                ("DescribeAddresses, reused", ["addresses"]),
                ("DescribeAddresses, new each time",
                 ["--forbid-reuse", "addresses"])):
            rate, conns = run(fa, args)
            print("  %-34s %10.0f %12d" % (label, rate, conns))
    return 0


sys.exit(main())
