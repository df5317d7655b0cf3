#!/usr/bin/python3
"""How long `moor validate` takes on large specs (figures, not pass/fail).

Each size is a target group with N members as maps (id and port), plus N/10
floating IPs with two candidates each, so duplicate and binding checks run
over everything.  The time includes starting the process.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

MOOR = os.environ.get("MOOR", "./moor")


def spec(n):
    out = ["version: 1", "load_balancers:", "  - target_group: bench-tg",
           "    ownership: additive", "    members:"]
    for i in range(n):
        out.append("      - {id: i-%017x, port: %d}" % (i, 8000 + i % 50))
    out.append("elastic_ips:")
    for i in range(n // 10):
        out.append("  - name: vip-%d" % i)
        out.append("    failover:")
        out.append("      candidates: [i-1%016x, i-2%016x]" % (i, i))
        out.append("      probe: {tcp: 5432}")
    return "\n".join(out) + "\n"


def main():
    with tempfile.TemporaryDirectory() as d:
        for n in (1000, 10000, 100000):
            path = os.path.join(d, "bench-%d.yaml" % n)
            with open(path, "w") as f:
                f.write(spec(n))
            runs = []
            for _ in range(5):
                t = time.perf_counter()
                p = subprocess.run([MOOR, "validate", "-q", path],
                                   capture_output=True, text=True)
                runs.append((time.perf_counter() - t) * 1000)
                if p.returncode != 0:
                    print(p.stderr, file=sys.stderr)
                    return 1
            print("spec: validate %6d members, %5d failover IPs, %5.1f MiB: "
                  "%7.1f ms (median of 5)"
                  % (n, n // 10, os.path.getsize(path) / 1048576,
                     statistics.median(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
