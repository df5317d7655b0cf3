#!/usr/bin/python3
"""moor watch --lease-table: several replicas against tests/fakeaws (its
DynamoDB holds the leases).  Each replica signs with an access key of its
own, so the fake's request log says which replica made which call:

- SIGTERM the holder: the other holds the lease sooner than a takeover
  could (the lease was released);
- kill -9 the holder: the other corrects drift, and its first mutating
  call comes after the dead holder's lease could have expired;
- the holder cut off from DynamoDB alone: it stops mutating before the
  other starts (no moment where both mutate);
- 2 replicas x 6 specs spread 3/3; a third joins: 2/2/2; one dies: its
  specs are taken.

Bounds are the protocol's (lease duration, its fence), not speed targets.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_lib as L  # noqa: E402

TABLE = "moor-leases"
DUR = 4.0  # --lease-duration, seconds
A, B = L.iid(1), L.iid(2)
TG = "web-tg"
KEYS = [{"access_key_id": "AKIAREPLICA%09d" % n,
         "secret_access_key": "replica/secret/%d/EXAMPLE0000000000000" % n}
        for n in range(1, 4)]
FA = L.FakeAws(keys={"keys": KEYS})


def lease_table():
    return {"name": TABLE,
            "key_schema": [{"AttributeName": "name", "KeyType": "HASH"}],
            "attribute_definitions": [{"AttributeName": "name",
                                       "AttributeType": "S"}],
            "billing_mode": "PAY_PER_REQUEST"}


def load_world(groups):
    st = L.world(2, target_groups=[{
        "name": g, "port": 8080, "protocol": "HTTP", "vpc_id": L.VPC,
        "targets": [{"id": A}]} for g in groups])
    st["dynamodb_tables"] = [lease_table()]
    FA.reset()
    FA.load_state(st)


def spec_text(name, group, members):
    return ("version: 1\nname: %s\nregion: us-east-1\n"
            "load_balancers:\n  - target_group: %s\n    wait: none\n"
            "    members: [%s]\n" % (name, group, ", ".join(members)))


class Replica(L.Daemon):
    """moor watch SPEC... --lease-table as replica n (key n)."""

    def __init__(self, n, specs, extra=()):
        super().__init__(FA, specs[0], env={
            "AWS_ACCESS_KEY_ID": KEYS[n]["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": KEYS[n]["secret_access_key"]})
        self.key = KEYS[n]["access_key_id"]
        self.status = os.path.join(self.tmp, "status-{name}.json")
        self.args = [L.MOOR, "watch"] + list(specs) + [
            "--status-file", self.status, "--lease-table", TABLE,
            "--lease-duration", "%gs" % DUR, "--replica-id", "r%d" % n,
            "--resync", "1s"] + list(extra)

    def read_status(self, name=None):
        """The status of spec name (default: the first spec's)."""
        name = name or os.path.basename(self.spec).rsplit(".", 1)[0]
        with open(self.status.replace("{name}", name)) as f:
            return json.load(f)

    def lease(self, name):
        try:
            return self.read_status(name)["lease"]
        except (OSError, ValueError):
            return None

    def holds(self, name):
        st = self.lease(name)
        return bool(st and st["held"])


class Unheld:
    """Samples the lease items; the longest a spec went without holder."""

    def __init__(self, names):
        self.names = names
        self.since = {}
        self.worst = 0.0
        self.done = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.th.start()
        return self

    def _sample(self):
        now = time.monotonic()
        items = {i["name"]["S"]: i for i in FA.dynamodb_items(TABLE)}
        for n in self.names:
            held = n in items and "ownerName" in items[n]
            if held:
                self.since.pop(n, None)
                continue
            start = self.since.setdefault(n, now)
            self.worst = max(self.worst, now - start)

    def _run(self):
        while not self.done.wait(0.05):
            self._sample()

    def stop(self):
        self.done.set()
        self.th.join()
        return self.worst


class HaTest(L.WatchTestCase):
    fa = FA

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="moor-watch-ha-")
        self.replicas = []

    def tearDown(self):
        FA.clear_faults()
        for r in self.replicas:
            r.close()
        shutil.rmtree(self.dir)

    def specs(self, n):
        load_world(["tg-%d" % i for i in range(n)])
        paths = []
        for i in range(n):
            p = os.path.join(self.dir, "s%d.yaml" % i)
            with open(p, "w") as f:
                f.write(spec_text("s%d" % i, "tg-%d" % i, [A, B]))
            paths.append(p)
        return paths

    def replica(self, n, specs):
        r = Replica(n, specs)
        self.replicas.append(r)
        return r.start()

    def holder_of(self, name, among):
        held = [r for r in among if r.proc.poll() is None and r.holds(name)]
        return held[0] if len(held) == 1 else None

    def mutations_by(self, key, since=0):
        return [e for e in L.mutations(FA, since)
                if e["access_key_id"] == key]

    def renewals_by(self, key):
        return [e for e in FA.log() if e["access_key_id"] == key and
                e["service"] == "dynamodb" and
                e["action"] in ("PutItem", "UpdateItem") and
                not e.get("error_code")]

    def two_replicas(self):
        spec = self.specs(1)
        r1, r2 = self.replica(0, spec), self.replica(1, spec)
        first = L.wait_until(lambda: self.holder_of("s0", [r1, r2]), 30,
                             "one holder of s0")
        L.wait_until(lambda: L.tg_members(FA, "tg-0") == [A, B], 30,
                     "B registered by the holder")
        return first, r2 if first is r1 else r1

    def test_sigterm_hands_over_at_once(self):
        holder, other = self.two_replicas()
        mark = other.mark()
        self.assertEqual(holder.stop(), 0)
        released = time.monotonic()
        other.wait_event("lease_holder", DUR * 2, since=mark)
        # The other's next look at the table (every 500 ms) takes it.
        self.assertLess(time.monotonic() - released, 1.0 * L.SLOW)
        # Released, then acquired as free: no takeover, which would have
        # waited a whole duration for the lease to expire.
        self.assertTrue(other.find("lease_acquired", "s0", since=mark))
        self.assertFalse(other.find("lease_takeover", "s0", since=mark))
        self.assertTrue(holder.find("lease_released", "s0"))
        L.wait_until(lambda: other.holds("s0"), 10, "the status: held")

    def test_kill9_taken_over_after_expiry(self):
        holder, other = self.two_replicas()
        killed = time.time()
        holder.proc.kill()
        holder.proc.wait()
        last_renewal = self.renewals_by(holder.key)[-1]["time"]
        seq = L.last_seq(FA)
        FA.call("POST", "/target-groups/deregister",
                {"target_group": "tg-0", "targets": [{"id": B}]})
        L.wait_until(lambda: L.tg_members(FA, "tg-0") == [A, B],
                     DUR + 10, "the drift corrected by the other replica")
        first = self.mutations_by(other.key, seq)[0]["time"]
        # The dead holder's lease could not have expired before this.
        self.assertGreaterEqual(first, last_renewal + DUR - 0.1)
        # And the drift is undone within duration + resync (1s) + 1 s.
        self.assertLess(first - killed, (DUR + 1 + 1) * L.SLOW)
        self.assertEqual(other.stop(), 0)

    def test_cut_off_from_dynamodb_stops_mutating(self):
        holder, other = self.two_replicas()
        FA.set_faults({"actions": {"dynamodb:*@" + holder.key:
                                   {"error_503_rate": 1}}})
        last_renewal = self.renewals_by(holder.key)[-1]["time"]
        # Drift over and over: each replica may act only in its lease.
        for _ in range(int(3 * DUR)):
            FA.call("POST", "/target-groups/deregister",
                    {"target_group": "tg-0", "targets": [{"id": B}]})
            try:
                L.wait_until(lambda: L.tg_members(FA, "tg-0") == [A, B],
                             3, "drift corrected")
            except L.Fail:
                pass
            if other.holds("s0"):
                break
        L.wait_until(lambda: other.holds("s0"), DUR * 3, "the takeover")
        L.wait_until(lambda: L.tg_members(FA, "tg-0") == [A, B], 10,
                     "the drift corrected by the new holder")
        mine = self.mutations_by(holder.key)
        theirs = self.mutations_by(other.key)
        self.assertTrue(theirs, "the new holder never mutated")
        if mine:
            # Never both: the old holder's last before the new one's first.
            self.assertLess(mine[-1]["time"], theirs[0]["time"])
            self.assertLess(mine[-1]["time"], last_renewal + DUR)
        self.assertGreaterEqual(theirs[0]["time"], last_renewal + DUR - 0.1)
        FA.clear_faults()
        self.assertEqual(holder.stop(), 0)
        self.assertEqual(other.stop(), 0)

    def held_counts(self, rs, names):
        return [sum(r.holds(n) for n in names) for r in rs]

    def wait_spread(self, rs, names, want, what):
        def ok():
            c = self.held_counts(rs, names)
            return sorted(c) == sorted(want) and c
        L.wait_until(ok, DUR * 8, what)

    def test_spread_join_and_leave(self):
        specs = self.specs(6)
        names = ["s%d" % i for i in range(6)]
        r1, r2 = self.replica(0, specs), self.replica(1, specs)
        self.wait_spread([r1, r2], names, [3, 3], "3 leases each")
        gaps = Unheld(names).start()
        r3 = self.replica(2, specs)
        self.wait_spread([r1, r2, r3], names, [2, 2, 2], "2 leases each")
        # The rebalance released leases voluntarily, each taken again
        # well within a lease duration.
        self.assertLess(gaps.stop(), DUR)
        r3.proc.kill()
        r3.proc.wait()
        self.wait_spread([r1, r2], names, [3, 3], "the dead one's taken")
        self.assertEqual(r1.stop(), 0)
        self.assertEqual(r2.stop(), 0)


class HaStartTest(L.WatchTestCase):
    """What moor watch refuses before it starts, changing nothing."""
    fa = FA

    def run_watch(self, *args):
        env = L.fakeaws_client.child_env(self.dir, FA.env(), {
            "AWS_ACCESS_KEY_ID": KEYS[0]["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": KEYS[0]["secret_access_key"]})
        return subprocess.run([L.MOOR, "watch"] + list(args), env=env,
                              capture_output=True, text=True, timeout=60)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="moor-watch-ha-")
        load_world(["tg-0"])
        self.a = os.path.join(self.dir, "a.yaml")
        self.b = os.path.join(self.dir, "b.yaml")
        with open(self.a, "w") as f:
            f.write(spec_text("same", "tg-0", [A, B]))
        with open(self.b, "w") as f:
            f.write(spec_text("same", "tg-0", [A]))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_refusals(self):
        seq = L.last_seq(FA)
        p = self.run_watch(self.a, self.b, "--lease-table", TABLE)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("both named 'same'", p.stderr)
        with open(self.b, "w") as f:
            f.write(spec_text("other", "tg-0", [A]))
        p = self.run_watch(self.a, self.b, "--status-file",
                           os.path.join(self.dir, "st.json"))
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("{name}", p.stderr)
        p = self.run_watch(self.a, self.b, "--listen", "0")
        self.assertEqual(p.returncode, 64, p.stderr)
        p = self.run_watch(self.a, "--lease-table", "no-such-table")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("aws dynamodb create-table --table-name "
                      "no-such-table", p.stderr)
        self.assertEqual(L.mutations(FA, seq), [])
        self.assertEqual(L.tg_members(FA, "tg-0"), [A])


    def test_several_specs_without_leases(self):
        """One process, two specs, no table: each is reconciled as by a
        daemon of its own, with its own status file."""
        load_world(["tg-0", "tg-1"])
        with open(self.b, "w") as f:
            f.write(spec_text("other", "tg-1", [B]))
        d = L.Daemon(FA, self.a, env={
            "AWS_ACCESS_KEY_ID": KEYS[0]["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": KEYS[0]["secret_access_key"]})
        st = os.path.join(d.tmp, "st-{name}.json")
        d.args = [L.MOOR, "watch", self.a, self.b, "--status-file", st]
        self.addCleanup(d.close)
        d.start()
        L.wait_until(lambda: L.tg_members(FA, "tg-0") == [A, B] and
                     L.tg_members(FA, "tg-1") == [B], 30,
                     "both specs applied")
        # Each reconcile's line says whose it is.
        for name in ("same", "other"):
            d.wait_event("reconcile", contains="spec=" + name)
        for name in ("same", "other"):
            L.wait_until(lambda: os.path.exists(st.replace("{name}", name)),
                         10, "the status of " + name)
            with open(st.replace("{name}", name)) as f:
                doc = json.load(f)
            self.assertEqual(doc["spec"]["name"], name)
            self.assertIsNone(doc["lease"])
        self.assertEqual(d.stop(), 0)


class HaFailoverTest(L.WatchTestCase):
    fa = FA

    def test_failover_while_the_holder_dies(self):
        """The primary fails as its lease holder is killed: the address
        still moves within duration + interval x fall + 1 s."""
        port, (h1, h2) = self.health_servers(["127.0.0.2", "127.0.0.3"])
        h1.start()
        h2.start()
        alloc = L.alloc_id(1)
        st = L.world(2, addresses=[{"allocation_id": alloc,
                                    "public_ip": "198.51.100.40",
                                    "instance_id": A}])
        st["dynamodb_tables"] = [lease_table()]
        FA.reset()
        FA.load_state(st)
        d = tempfile.mkdtemp(prefix="moor-watch-ha-")
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "vip.yaml")
        with open(path, "w") as f:
            f.write("version: 1\nregion: us-east-1\nelastic_ips:\n"
                    "  - allocation_id: %s\n    failover:\n"
                    "      candidates: [%s, %s]\n"
                    "      probe: {http: \"http://{private_ip}:%d/\"}\n"
                    "      interval: 1s\n      timeout: 500ms\n"
                    "      fall: 2\n      rise: 2\n" % (alloc, A, B, port))
        rs = [Replica(n, [path]) for n in range(2)]
        for r in rs:
            self.addCleanup(r.close)
            r.start()
        holder = L.wait_until(
            lambda: [r for r in rs if r.holds("vip")], 30, "a holder")[0]
        other = rs[1] if holder is rs[0] else rs[0]
        # The follower probes too: it knows both candidates are up.
        other.wait_up(A, B)
        t0 = time.time()
        holder.proc.kill()
        h1.stop()
        holder.proc.wait()
        L.wait_holder(FA, alloc, B, DUR + 10)
        moved = [e for e in FA.log() if e["action"] == "AssociateAddress"
                 and e["params"].get("InstanceId") == B][0]["time"]
        self.assertLess(moved - t0, (DUR + 1 * 2 + 1) * L.SLOW)
        self.assertEqual(other.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
