#!/usr/bin/python3
"""moor watch moving floating IPs, against tests/fakeaws with real health
servers: the candidates are fakeaws instances whose private IPs are
127.0.0.2, .3, .4, each served by a small HTTP server of this test.

Stopping the primary's server moves the address to the standby with one
AssociateAddress (AllowReassociation=true); prefer_first moves it back
once the primary passed `rise` probes, stay does not; a flapping server
moves it no more often than the damping allows; with every candidate
down nothing moves and an alert is logged; a stopped holder or a holder
changed by hand is corrected.
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_lib as L  # noqa: E402

A, B, C = L.iid(1), L.iid(2), L.iid(3)
ALLOC = L.alloc_id(1)
IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]

FA = L.FakeAws(state=L.world(3))
PORT = None
SERVERS = []


def spec_text(failback="prefer_first", interval="300ms", timeout="200ms",
              fall=2, rise=2, probe=None, candidates=(A, B)):
    probe = probe or '{http: "http://{private_ip}:%d/healthz"}' % PORT
    return ("version: 1\n"
            "region: us-east-1\n"
            "elastic_ips:\n"
            "  - allocation_id: %s\n"
            "    failover:\n"
            "      candidates: [%s]\n"
            "      probe: %s\n"
            "      interval: %s\n"
            "      timeout: %s\n"
            "      fall: %d\n"
            "      rise: %d\n"
            "      failback: %s\n"
            % (ALLOC, ", ".join(candidates), probe, interval, timeout,
               fall, rise, failback))


def associates(since=0):
    return [e for e in FA.log(since) if e["action"] == "AssociateAddress"]


class Session(L.SpecSession):
    def __init__(self, text, args=()):
        FA.reset()
        FA.load_state(L.world(3, addresses=[{
            "allocation_id": ALLOC, "public_ip": "198.51.100.20",
            "instance_id": A, "tags": {"Name": "vip-app"}}]))
        FA.reset_counters()
        for s in SERVERS:
            s.healthy = True
            s.start()
        super().__init__(FA, "watch-fo", text, ["--resync", "1s"] + list(args))


def wait_holder(want):
    L.wait_holder(FA, ALLOC, want)


def index_of(d, event, resource=None, contains=None):
    with d.lock:
        for i, e in enumerate(d.events):
            if e.get("event") == event and \
                    (contains is None or contains in e.get("msg", "")):
                return i
    return None


class FailoverTest(L.WatchTestCase):
    fa = FA

    @classmethod
    def setUpClass(cls):
        global PORT
        PORT, SERVERS[:] = cls.health_servers(IPS)
        super().setUpClass()

    def test_failover_then_failback_prefer_first(self):
        with Session(spec_text("prefer_first")) as d:
            d.wait_up(A, B)
            seq = L.last_seq(FA)
            SERVERS[0].stop()
            wait_holder(B)
            calls = associates(seq)
            self.assertTrue(len(calls) == 1, calls)
            p = calls[0]["params"]
            self.assertTrue(p.get("InstanceId") == B and
                            p.get("AllowReassociation") == "true", p)
            ev = d.wait_event("failover", 10)
            self.assertTrue(
                ev[0].get("resource") == ALLOC and A in ev[0]["msg"], ev)
            L.wait_until(
                lambda: d.read_status()["addresses"][0]["holder"] == B,
                10, "the status file")
            # Back up: moved back only after `rise` passed probes.
            mark = d.mark()
            SERVERS[0].start()
            wait_holder(A)
            d.wait_event("failback", 10)
            up = index_of(d, "probe_up", contains="%s of" % A)
            back = index_of(d, "failback")
            self.assertTrue(up is not None and back is not None and up < back,
                            "failback before the primary was up")
            self.assertTrue("after 2 passed probes" in
                            d.find("probe_up", since=mark)[0]["msg"],
                            d.find("probe_up", since=mark))
            self.assertTrue(len(associates(seq)) == 2, associates(seq))
            L.wait_until(lambda: 'moor_failovers_total{address="%s"} 2' % ALLOC
                         in d.read_metrics(), 10, "failover metric")
            self.assertTrue(
                'moor_probe_up{address="%s",instance="%s"} 1' % (ALLOC, A)
                in d.read_metrics(), d.read_metrics())

    def test_stay_does_not_fail_back(self):
        # With a TCP probe this time.
        with Session(spec_text("stay", probe="{tcp: %d}" % PORT)) as d:
            d.wait_up(A, B)
            seq = L.last_seq(FA)
            SERVERS[0].stop()
            wait_holder(B)
            mark = d.mark()
            SERVERS[0].start()
            d.wait_event("probe_up", 10, since=mark, contains="%s of" % A)
            # Several probe rounds and two resync checks later, still on B.
            seq2 = L.last_seq(FA)
            L.wait_until(
                lambda: sum(1 for e in FA.log(seq2)
                            if e["action"] == "DescribeAddresses") >= 2,
                30, "two resync checks")
            self.assertTrue(L.holder(FA, ALLOC) == B, "failed back with stay")
            self.assertTrue(len(associates(seq)) == 1, associates(seq))
            self.assertTrue(not d.find("failback"), d.find("failback"))

    def test_flapping_is_damped(self):
        # Window: 250ms x (1 + 4) = 1.25 s between two moves.
        with Session(spec_text("prefer_first", interval="250ms",
                               timeout="150ms", fall=1, rise=4)) as d:
            d.wait_up(A, B)
            seq = L.last_seq(FA)
            start = time.monotonic()
            # Down 0.3 s, up 1.2 s, for 9 s.
            while time.monotonic() - start < 9:
                SERVERS[0].healthy = False
                time.sleep(0.3)
                SERVERS[0].healthy = True
                time.sleep(1.2)
            elapsed = time.monotonic() - start
            moves = len(associates(seq))
            self.assertTrue(
                moves >= 2, "no failover at all (%d moves)" % moves)
            bound = int(elapsed / 1.25) + 1
            self.assertTrue(
                moves <= bound, "%d moves in %.1fs, damping allows %d"
                % (moves, elapsed, bound))
            self.assertTrue(
                d.find("failover_damped"), "damping never held a move")
            # Quiet again: it settles on the primary.
            wait_holder(A)

    def test_all_candidates_down_leaves_it(self):
        with Session(spec_text("prefer_first")) as d:
            d.wait_up(A, B)
            seq = L.last_seq(FA)
            # Both at once (a round probes every candidate together).
            SERVERS[0].healthy = SERVERS[1].healthy = False
            ev = d.wait_event("all_candidates_down", 20)
            self.assertTrue(ev[0]["level"] == "error", ev)
            self.assertTrue(L.holder(FA, ALLOC) == A, "moved with nobody up")
            # Evaluated again, alerted again (rate-limited to one per resync).
            L.wait_until(lambda: len(d.find("all_candidates_down")) >= 2, 20,
                         "a repeated alert")
            self.assertTrue(not associates(seq), associates(seq))
            # The standby comes back: it gets the address.
            SERVERS[1].healthy = True
            wait_holder(B)

    def test_stopped_holder_is_replaced(self):
        with Session(spec_text("stay")) as d:
            d.wait_up(A, B)
            # The instance stops; its health server (this test) does not.
            FA.set_instance_state(A, "stopped")
            wait_holder(B)
            ev = d.wait_event("failover", 10)
            self.assertTrue("holder_not_running" in ev[0]["msg"], ev)

    def test_holder_moved_by_hand_is_corrected(self):
        with Session(spec_text("stay")) as d:
            d.wait_up(A, B)
            seq = L.last_seq(FA)
            FA.associate_address(allocation_id=ALLOC, instance_id=C)
            wait_holder(A)
            ev = d.wait_event("drift_corrected", 10)
            self.assertTrue(C in ev[0]["msg"], ev)
            self.assertTrue(len(associates(seq)) == 1, associates(seq))
            L.wait_until(lambda: "moor_drift_corrections_total 1"
                         in d.read_metrics(), 10, "drift metric")
            # Moved by hand to the other candidate: a healthy holder stays.
            FA.associate_address(allocation_id=ALLOC, instance_id=B)
            d.wait_event("holder_changed", 10)
            self.assertTrue(L.holder(FA, ALLOC) == B, "moved a healthy holder")

    def test_failover_not_blocked_by_slow_apply(self):
        # A full reconcile waits (up to 5 minutes) for a new member that
        # stays "initial"; the floating IP must still move at once.
        group = ("load_balancers:\n"
                 "  - target_group: web-tg\n"
                 "    members: [%s, %s]\n"
                 "    timeout: 5m\n" % (A, B))
        sess = Session(spec_text("stay"))
        FA.set_config(target_health_delay_seconds=300)
        FA.call("POST", "/target-groups", {
            "name": "web-tg", "port": 8080, "protocol": "HTTP",
            "vpc_id": L.VPC, "targets": [{"id": A}]})
        with sess as d:
            d.wait_up(A, B)
            mark = d.mark()
            L.write_atomic(d.spec, spec_text("stay").replace(
                "elastic_ips:", group + "elastic_ips:"))
            d.wait_event("apply_phase", 20, since=mark, contains="wait")
            SERVERS[0].stop()
            wait_holder(B)
            # The wait is still going on.
            self.assertTrue(
                not d.find("reconcile", since=mark), "the wait ended")

    def test_reload_keeps_or_resets_health(self):
        with Session(spec_text("prefer_first")) as d:
            d.wait_up(A, B)
            seq = L.last_seq(FA)
            # Same probe: the verdicts carry over, nothing is re-learnt.
            mark = d.mark()
            L.write_atomic(d.spec, spec_text("stay"))
            d.wait_event("spec_reloaded", 10, since=mark)
            st = d.read_status()["addresses"][0]
            self.assertTrue(
                all(c["health"] == "up" for c in st["candidates"]), st)
            time.sleep(1.5)
            self.assertTrue(not d.find("probe_up", since=mark),
                            d.find("probe_up", since=mark))
            # Another probe (a port nobody listens on): verdicts start over,
            # and with every candidate down the address stays.
            mark = d.mark()
            dead = L.free_port(IPS)
            L.write_atomic(d.spec, spec_text(
                "stay", probe="{tcp: %d}" % dead))
            d.wait_event("spec_reloaded", 10, since=mark)
            d.send_signal(signal.SIGUSR1)  # long before two probe rounds
            ev = d.wait_event("status_address", 10, since=mark)
            self.assertTrue("%s unknown" % A in ev[0]["msg"], ev[0]["msg"])
            d.wait_event("all_candidates_down", 20, since=mark)
            self.assertTrue(
                not d.find("probe_up", since=mark), "stale verdicts")
            self.assertTrue(L.holder(FA, ALLOC) == A, "moved")
            self.assertTrue(not associates(seq), associates(seq))

    def test_aws_down_at_start_then_back(self):
        # No resync to lean on: only the per-address backoff retries.
        sess = Session(spec_text("stay"), args=["--resync", "1h",
                                                "--max-attempts", "1"])
        FA.set_faults({"global": {"error_503_rate": 1.0}})
        try:
            with sess as d:
                d.wait_event("observe_failed", 20)
                d.wait_event("backoff", 10, resource=ALLOC)
                # The status file is written once the whole outcome is in,
                # just after the backoff line is logged.
                L.wait_until(
                    lambda: d.read_status()["addresses"][0]["last_error"],
                    5, "the address's last_error in the status")
                FA.clear_faults()
                d.wait_up(A, B)
                self.assertTrue(d.read_status()["addresses"][0]["holder"] == A,
                                "holder")
                SERVERS[0].stop()
                wait_holder(B)
        finally:
            FA.clear_faults()


if __name__ == "__main__":
    unittest.main(verbosity=2)
