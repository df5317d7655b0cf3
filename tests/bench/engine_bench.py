#!/usr/bin/python3
"""make bench: the engine at scale against tests/fakeaws (figures, not
pass/fail).

For 100 / 1,000 / 10,000 members across 10 / 50 / 100 groups with 100 /
1,000 / 1,000 addresses, with fakeaws answering every call after 30 ms:

- plan from empty: wall time, moor's CPU time and peak RSS, API calls by
  action;
- converge from empty (apply --yes): wall time, CPU, RSS, calls;
- no-op plan once converged: calls (and that none of them mutates).

Each call count is compared with a minimum, action by action: the reads
a text plan cannot do without (one per page or per batch of names, and
one DescribeTargetHealth per target group -- it lists the members; no
Classic health, no group attributes, no identity when no step needs them,
issue 13; a plan that registers instance targets also reads the zones of
their groups' load balancers, one DescribeLoadBalancers per 20) plus, for
a converge, one batched call per group chunk and one call per address.
The ratio is actual / minimum.  A converge is also compared with issue
13's minimal, which adds what its steps need besides: one health poll per
wait (the one that finds the members healthy) and the re-reads of the
address steps' preconditions after the waits (one DescribeAddresses, one
DescribeInstances per 1,000 instances).

Each wall time is shown beside its floor: the time AWS's documented
token buckets (AWS-PROTOCOL.md section 7) impose on the minimal call set,
every bucket starting full, ELB calls also drawing on the account-wide
ELB bucket (40, 10/s).

Half the groups select their members by tag (one selector each), half
list instance ids; a tenth of the groups are Classic ELBs.  Every address
is bound to one instance.

moor paces its calls with AWS's documented rate limits (client-side
token buckets, e.g. 5 mutating EC2 calls per second after a burst of 50),
so a converge that associates 1,000 addresses takes at least ~190 s on
AWS, whatever the client; plans are also shown with --rate-limit off to
separate pacing from the engine's own cost.

Env: MOOR (binary), BENCH_SCALES (e.g. "100:10:100" to run one).
"""

import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakeaws"))

from fakeaws_client import FakeAws  # noqa: E402

MOOR = os.environ.get("MOOR") or os.path.join(ROOT, "moor")
LATENCY_MS = 30
SCALES = [(100, 10, 100), (1000, 50, 1000), (10000, 100, 1000)]

# Provider batch sizes (providers/aws/ops.h) and API page sizes.
ID_CHUNK = 1000       # DescribeInstances InstanceId.N
PAGE = 1000           # DescribeInstances MaxResults
ELB_NAMES = 20        # names per DescribeLoadBalancers / DescribeTargetGroups
ELB_TARGETS = 200     # targets per (de)register call
VPC = "vpc-0123456789abcdef0"


def iid(n):
    return "i-%017x" % (0x0b00000000000000 + n)


def build(members, groups, addresses):
    """A world with nothing registered and nothing bound, and its spec."""
    n_classic = max(1, groups // 10)
    inst, lbs, tgs, addrs = [], [], [], []
    spec = ["version: 1", "region: us-east-1", "load_balancers:"]
    per = members // groups
    reads = {"ids": 0, "selector_pages": 0}
    for g in range(groups):
        ids = [iid(g * per + k) for k in range(per)]
        for k, i in enumerate(ids):
            inst.append({"id": i, "vpc_id": VPC,
                         "availability_zone": "us-east-1a",
                         "private_ip": "10.%d.%d.%d" % (
                             (g * per + k) >> 16 & 255,
                             (g * per + k) >> 8 & 255, (g * per + k) & 255),
                         "tags": {"Name": "m-%d" % (g * per + k),
                                  "group": "g%03d" % g}})
        classic = g < n_classic
        name = ("c%03d" if classic else "g%03d") % g
        if classic:
            lbs.append({"name": name, "vpc_id": VPC,
                        "availability_zones": ["us-east-1a"],
                        "instances": []})
            spec.append("  - classic: %s" % name)
        else:
            tgs.append({"name": name, "vpc_id": VPC, "port": 8080,
                        "target_type": "instance",
                        "deregistration_delay": 0, "targets": []})
            spec.append("  - target_group: %s" % name)
        spec.append("    wait: healthy")
        spec.append("    members:")
        if g % 2 == 0:
            spec.append("      - selector: {tags: {group: g%03d}}" % g)
            reads["selector_pages"] += max(1, math.ceil(per / PAGE))
        else:
            spec.extend("      - %s" % i for i in ids)
            reads["ids"] += per
    spec.append("elastic_ips:")
    for a in range(addresses):
        alloc = "eipalloc-%017x" % (0x0c00000000000000 + a)
        addrs.append({"allocation_id": alloc,
                      "public_ip": "198.%d.%d.%d" % (
                          18 + (a >> 16), (a >> 8) & 255, a & 255),
                      "tags": {"Name": "vip-%d" % a}})
        spec.append("  - allocation_id: %s" % alloc)
        spec.append("    instance: %s" % iid(a % members))
        reads["ids"] += 1 if a % members >= 0 else 0
    state = {"config": {"classic_health_delay_seconds": 0.2,
                        "target_health_delay_seconds": 0.2},
             "instances": inst, "classic_load_balancers": lbs,
             "target_groups": tgs, "addresses": addrs,
             "load_balancers_v2": [{"name": "bench-alb"}]}
    n_tg = groups - n_classic
    # Instance ids named: listed members plus address holders (which
    # overlap with members; count distinct ids).
    named = set()
    for g in range(groups):
        if g % 2:
            named.update(iid(g * per + k) for k in range(per))
    named.update(iid(a % members) for a in range(addresses))
    min_reads = {
        "ec2:DescribeInstances": (math.ceil(len(named) / ID_CHUNK)
                                  + reads["selector_pages"]),
        "ec2:DescribeAddresses": 1,
        "elb:DescribeLoadBalancers": math.ceil(n_classic / ELB_NAMES),
        "elbv2:DescribeTargetGroups": math.ceil(n_tg / ELB_NAMES),
        "elbv2:DescribeTargetHealth": n_tg,
    }
    # Registering instance targets: the zones of their load balancers
    # (fakeaws gives each target group its own).
    zones = {"elbv2:DescribeLoadBalancers": math.ceil(n_tg / ELB_NAMES)}
    # Issue 13's converge minimal adds one health poll per wait and the
    # address steps' re-read after the waits.
    holders = len(set(iid(a % members) for a in range(addresses)))
    after_waits = {
        "elbv2:DescribeTargetHealth": n_tg,
        "elb:DescribeInstanceHealth": n_classic,
        "ec2:DescribeAddresses": 1 if addresses else 0,
        "ec2:DescribeInstances": math.ceil(holders / ID_CHUNK),
    }
    chunks = math.ceil(per / ELB_TARGETS)
    min_mutations = {
        "elb:RegisterInstancesWithLoadBalancer": n_classic * chunks,
        "elbv2:RegisterTargets": n_tg * chunks,
        "ec2:AssociateAddress": addresses,
    }
    return (state, "\n".join(spec) + "\n", min_reads, min_mutations, zones,
            after_waits)


def add(*dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def run(fa, tmp, *args):
    """Run moor; returns (rc, wall s, cpu s, max RSS MiB, stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(fa.env())
    env.update(AWS_CONFIG_FILE=os.path.join(tmp, "none"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "none"),
               NO_COLOR="1")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen([MOOR] + list(args), env=env, stdout=out,
                             stderr=err, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if p.returncode not in (0, 2):
            sys.stderr.write(err.read().decode(errors="replace"))
    return (p.returncode, wall, ru.ru_utime + ru.ru_stime,
            ru.ru_maxrss / 1024.0, text)


def calls(fa):
    c = fa.counters()
    by = {k: v["count"] for k, v in c["by_action"].items()}
    return c["totals"]["requests"], c["totals"]["mutating"], by


def fmt_actions(by, minimal):
    """Each action's count beside its minimum and the ratio."""
    out = []
    for k in sorted(set(by) | set(minimal)):
        n, m = by.get(k, 0), minimal.get(k)
        if m is None:
            out.append("    %-42s %5d  (min -)" % (k, n))
        else:
            out.append("    %-42s %5d  (min %d, ratio %s)" % (
                k, n, m, "%.2f" % (n / m) if m else "-"))
    return "\n".join(out)


# AWS-PROTOCOL.md section 7: (burst, refill per second).  EC2 reads are
# paginated or filtered (the larger bucket).
BUCKETS = {"ec2-read": (100, 20), "ec2-mutating": (50, 5),
           "elb-read": (40, 10), "elb-register": (20, 4),
           "elbv2-read": (40, 10), "elbv2-register": (20, 4),
           "elb-account": (40, 10)}


def buckets_of(action):
    svc, name = action.split(":", 1)
    if svc == "ec2":
        return ["ec2-read" if name.startswith("Describe")
                else "ec2-mutating"]
    if svc in ("elb", "elbv2"):
        reg = name.startswith(("Register", "Deregister"))
        return [svc + ("-register" if reg else "-read"), "elb-account"]
    return []


def floor_s(by):
    """Seconds the documented buckets impose on these calls."""
    need = {}
    for action, n in by.items():
        for b in buckets_of(action):
            need[b] = need.get(b, 0) + n
    return max([0.0] + [max(0.0, (n - BUCKETS[b][0]) / BUCKETS[b][1])
                        for b, n in need.items()])


def fmt_wall(wall, floor):
    return "wall %6.2fs (bucket floor %.2fs, ratio %s)" % (
        wall, floor, "%.2f" % (wall / floor) if floor > 0 else "-")


def main():
    scales = SCALES
    if os.environ.get("BENCH_SCALES"):
        scales = [tuple(int(x) for x in s.split(":"))
                  for s in os.environ["BENCH_SCALES"].split(",")]
    print("moor engine benchmark: fakeaws latency %d ms per call; AWS rate "
          "limits paced client-side unless said" % LATENCY_MS)
    for members, groups, addresses in scales:
        state, spec, min_reads, min_mut, zones, after_waits = build(
            members, groups, addresses)
        min_plan = add(min_reads, zones)
        min_conv = add(min_plan, min_mut)
        min_conv13 = add(min_conv, after_waits)
        n_min_reads = sum(min_reads.values())
        n_min_plan = sum(min_plan.values())
        n_min_mut = sum(min_mut.values())
        n_min_conv13 = sum(min_conv13.values())
        with tempfile.TemporaryDirectory() as tmp, \
                FakeAws(state=state) as fa:
            path = os.path.join(tmp, "bench.yaml")
            with open(path, "w") as f:
                f.write(spec)
            fa.set_faults({"global": {"latency_fixed_ms": LATENCY_MS}})
            print("\n== %d members, %d groups, %d addresses" %
                  (members, groups, addresses))

            fa.reset_counters()
            rc, wall, cpu, rss, out = run(fa, tmp, "plan", path,
                                          "--detailed-exitcode")
            n, mut, by = calls(fa)
            assert rc == 2, "plan exited %d" % rc
            print("plan from empty:     %s  cpu %5.2fs  rss %6.1f "
                  "MiB  calls %5d (min %d, ratio %.2f)" %
                  (fmt_wall(wall, floor_s(min_plan)), cpu, rss, n,
                   n_min_plan, n / n_min_plan))
            print(fmt_actions(by, min_plan))
            fa.reset_counters()
            rc, wall, cpu, rss, out = run(fa, tmp, "plan", path,
                                          "--rate-limit", "off")
            n, mut, by = calls(fa)
            print("  same, --rate-limit off: wall %6.2fs  cpu %5.2fs  "
                  "calls %d" % (wall, cpu, n))

            fa.reset_counters()
            rc, wall, cpu, rss, out = run(fa, tmp, "apply", path, "--yes")
            n, mut, by = calls(fa)
            assert rc == 0, "apply exited %d:\n%s" % (rc, out[-2000:])
            print("converge from empty: %s  cpu %5.2fs  rss %6.1f "
                  "MiB  calls %5d, mutating %d (min %d + %d, ratio %.2f; "
                  "mutating ratio %.2f)" %
                  (fmt_wall(wall, floor_s(min_conv13)), cpu, rss, n, mut,
                   n_min_plan, n_min_mut, n / (n_min_plan + n_min_mut),
                   mut / n_min_mut))
            print("  issue 13's minimal (+ 1 health poll per wait, + the "
                  "address steps' re-read after the waits): %d, ratio %.2f"
                  % (n_min_conv13, n / n_min_conv13))
            print(fmt_actions(by, min_conv13))

            fa.reset_counters()
            rc, wall, cpu, rss, out = run(fa, tmp, "plan", path,
                                          "--detailed-exitcode")
            n, mut, by = calls(fa)
            assert rc == 0, "no-op plan exited %d" % rc
            assert mut == 0, "a no-op plan mutated"
            print("no-op plan:          %s  cpu %5.2fs  rss %6.1f "
                  "MiB  calls %5d, mutating %d (min %d, ratio %.2f)" %
                  (fmt_wall(wall, floor_s(min_reads)), cpu, rss, n, mut,
                   n_min_reads, n / n_min_reads))
            print(fmt_actions(by, min_reads))
            fa.reset_counters()
            rc, wall, cpu, rss, out = run(fa, tmp, "plan", path,
                                          "--detailed-exitcode",
                                          "--rate-limit", "off")
            n, mut, by = calls(fa)
            assert rc == 0, "no-op plan exited %d" % rc
            print("  same, --rate-limit off: wall %6.2fs  cpu %5.2fs  "
                  "rss %6.1f MiB  calls %d" % (wall, cpu, rss, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
