#!/usr/bin/python3
"""make bench: moor watch --lease-table, two replicas against tests/fakeaws.

  takeover  kill -9 the lease holder, then drift made by hand at once ->
            the other replica's first mutating call (fakeaws's request
            log time).  Also from the dead holder's last renewal: bounded
            below by the protocol, the lease must be able to have expired
            (one duration after that renewal).
  failover  kill -9 the holder of a floating IP's spec and stop the
            primary's health server at the same moment -> the
            AssociateAddress that moves the address to the standby.
            The bound: lease duration + interval x fall + 1 s.

--lease-duration 4s, interval 1s, fall 2 (bound 7 s).  Each figure over
--trials trials (default 20): median, max, min.  Figures, not pass/fail.

Env: MOOR (the binary), PYTHON.  Flags: --trials N, --only takeover|failover.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import watch_lib as L  # noqa: E402

TABLE = "moor-leases"
DUR = 4.0
A, B = L.iid(1), L.iid(2)
ALLOC = L.alloc_id(1)
KEYS = [{"access_key_id": "AKIABENCHREPLICA%04d" % n,
         "secret_access_key": "bench/replica/%d/EXAMPLE000000000000" % n}
        for n in range(64)]


def table():
    return {"name": TABLE,
            "key_schema": [{"AttributeName": "name", "KeyType": "HASH"}],
            "attribute_definitions": [{"AttributeName": "name",
                                       "AttributeType": "S"}],
            "billing_mode": "PAY_PER_REQUEST"}


class Replica(L.Daemon):
    def __init__(self, fa, n, spec):
        super().__init__(fa, spec, env={
            "AWS_ACCESS_KEY_ID": KEYS[n]["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": KEYS[n]["secret_access_key"]})
        self.key = KEYS[n]["access_key_id"]
        self.args += ["--lease-table", TABLE, "--lease-duration",
                      "%gs" % DUR, "--replica-id", "bench-%d" % n,
                      "--resync", "1s"]

    def holds(self):
        try:
            with open(self.status) as f:
                lease = json.load(f)["lease"]
        except (OSError, ValueError, KeyError):
            return False
        return bool(lease and lease["held"])


def pair(fa, spec, n):
    rs = [Replica(fa, n, spec).start(), Replica(fa, n + 1, spec).start()]
    holder = L.wait_until(lambda: [r for r in rs if r.holds()], 60,
                          "a holder")[0]
    return holder, rs[1] if holder is rs[0] else rs[0]


def trial_takeover(fa, tmp, n):
    st = L.world(2, target_groups=[{
        "name": "web-tg", "port": 8080, "protocol": "HTTP",
        "vpc_id": L.VPC, "targets": [{"id": A}, {"id": B}]}])
    st["dynamodb_tables"] = [table()]
    fa.reset()
    fa.load_state(st)
    spec = os.path.join(tmp, "web.yaml")
    with open(spec, "w") as f:
        f.write("version: 1\nregion: us-east-1\nload_balancers:\n"
                "  - target_group: web-tg\n    wait: none\n"
                "    members: [%s, %s]\n" % (A, B))
    holder, other = pair(fa, spec, n)
    try:
        # Let the follower see the holder's item for a while first.
        time.sleep(DUR / 2)
        seq = L.last_seq(fa)
        killed = time.time()
        holder.proc.kill()
        fa.call("POST", "/target-groups/deregister",
                {"target_group": "web-tg", "targets": [{"id": B}]})
        muts = L.wait_until(
            lambda: [e for e in L.mutations(fa, seq)
                     if e["access_key_id"] == other.key], 60,
            "the new holder's first mutating call")
        renewed = [e["time"] for e in fa.log()
                   if e["access_key_id"] == holder.key and
                   e["service"] == "dynamodb" and
                   e["action"] in ("PutItem", "UpdateItem") and
                   not e.get("error_code")][-1]
        return muts[0]["time"] - killed, muts[0]["time"] - renewed
    finally:
        holder.close()
        other.close()


def trial_failover(fa, tmp, n, port, h1):
    st = L.world(2, addresses=[{"allocation_id": ALLOC,
                                "public_ip": "198.51.100.40",
                                "instance_id": A}])
    st["dynamodb_tables"] = [table()]
    fa.reset()
    fa.load_state(st)
    spec = os.path.join(tmp, "vip.yaml")
    with open(spec, "w") as f:
        f.write("version: 1\nregion: us-east-1\nelastic_ips:\n"
                "  - allocation_id: %s\n    failover:\n"
                "      candidates: [%s, %s]\n"
                "      probe: {http: \"http://{private_ip}:%d/\"}\n"
                "      interval: 1s\n      timeout: 500ms\n"
                "      fall: 2\n      rise: 2\n" % (ALLOC, A, B, port))
    h1.start()
    holder, other = pair(fa, spec, n)
    try:
        other.wait_up(A, B)
        seq = L.last_seq(fa)
        t0 = time.time()
        holder.proc.kill()
        h1.stop()
        calls = L.wait_until(
            lambda: [e for e in fa.log(seq)
                     if e["action"] == "AssociateAddress" and
                     e["params"].get("InstanceId") == B], 60,
            "the move to the standby")
        return calls[0]["time"] - t0
    finally:
        holder.close()
        other.close()


def row(name, v, note=""):
    print("%-52s %6d %8.3fs %8.3fs %8.3fs  %s" % (
        name, len(v), statistics.median(v), max(v), min(v), note))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--only", choices=["takeover", "failover"])
    a = ap.parse_args()
    res = {}
    tmp = tempfile.mkdtemp(prefix="moor-bench-ha-")
    port = L.free_port(["127.0.0.2", "127.0.0.3"])
    h1 = L.HealthServer("127.0.0.2", port)
    h2 = L.HealthServer("127.0.0.3", port).start()
    try:
        with L.FakeAws(state=L.world(2), keys={"keys": KEYS}) as fa:
            if a.only in (None, "takeover"):
                res["takeover"] = [trial_takeover(fa, tmp, 2 * i)
                                   for i in range(a.trials)]
            if a.only in (None, "failover"):
                res["failover"] = [trial_failover(fa, tmp, 2 * i, port, h1)
                                   for i in range(a.trials)]
    finally:
        h1.stop()
        h2.stop()
        shutil.rmtree(tmp)
    print()
    print("moor watch --lease-table, 2 replicas, --lease-duration %gs (%s)"
          % (DUR, os.path.relpath(L.MOOR, REPO)))
    print("%-52s %6s %9s %9s %9s" % ("", "trials", "median", "max", "min"))
    if "takeover" in res:
        t = [k for k, _ in res["takeover"]]
        r = [x for _, x in res["takeover"]]
        row("kill -9 holder -> new holder's first mutating call", t,
            "the kill comes up to duration/4 after the last renewal")
        row("its last renewal -> new holder's first mutating", r,
            "floor %.1fs (one duration): %s" % (
                DUR, "never before" if min(r) >= DUR else "BROKEN"))
    if "failover" in res:
        f = res["failover"]
        bound = DUR + 1 * 2 + 1
        row("primary down + holder killed -> address moved", f,
            "bound %.0fs: %s" % (bound, "met" if max(f) <= bound
                                 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
