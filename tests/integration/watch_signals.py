#!/usr/bin/python3
"""moor watch and signals, against tests/fakeaws: SIGTERM during an apply
lets the step in flight finish, skips the rest (make-before-break holds:
nothing is deregistered) and exits 0; SIGTERM during a long health wait
exits at once; SIGINT likewise; a call that never comes back is abandoned
after --stop-timeout, still exiting 0.
"""
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_lib as L  # noqa: E402

A, B = L.iid(1), L.iid(2)
TG = "web-tg"
FA = L.FakeAws(state=L.world(2))


def spec_text(members, wait="healthy"):
    return ("version: 1\n"
            "region: us-east-1\n"
            "load_balancers:\n"
            "  - target_group: %s\n"
            "    members: [%s]\n"
            "    wait: %s\n"
            "    timeout: 5m\n" % (TG, ", ".join(members), wait))


class Session:
    def __init__(self, config=None, args=()):
        FA.reset()
        FA.load_state(L.world(2, config=config, target_groups=[{
            "name": TG, "port": 8080, "protocol": "HTTP", "vpc_id": L.VPC,
            "targets": [{"id": A}]}]))
        self.dir = tempfile.mkdtemp(prefix="moor-watch-sig-")
        self.path = os.path.join(self.dir, "spec.yaml")
        with open(self.path, "w") as f:
            f.write(spec_text([A]))
        self.d = L.Daemon(FA, self.path, ["--resync", "30s"] + list(args))

    def __enter__(self):
        self.d.start()
        self.d.wait_event("reconcile", 30)
        return self.d

    def __exit__(self, *exc):
        FA.clear_faults()
        self.d.close()
        shutil.rmtree(self.dir)


def timed_stop(d, sig, bound):
    """Stop with sig; the exit code; fail only if it hangs past bound."""
    start = time.monotonic()
    rc = d.stop(sig, timeout=bound)
    return rc, time.monotonic() - start


class SignalsTest(L.WatchTestCase):
    fa = FA

    def test_sigterm_during_apply_finishes_the_step(self):
        # Replace A with B; RegisterTargets takes 2 s to answer.
        with Session() as d:
            FA.set_faults({"actions": {"elbv2:RegisterTargets":
                                       {"latency_fixed_ms": 2000}}})
            mark = d.mark()
            L.write_atomic(d.spec, spec_text([B]))
            d.wait_event("apply_phase", 20, since=mark, contains="register")
            time.sleep(0.3)  # the call is on the wire
            rc, took = timed_stop(d, signal.SIGTERM, 60)
            self.assertTrue(rc == 0, "exit %s" % rc)
            # The registration in flight finished; nothing after it ran.
            self.assertTrue(
                L.tg_members(FA, TG) == [A, B], L.tg_members(FA, TG))
            muts = [e["action"] for e in L.mutations(FA)]
            self.assertTrue(muts == ["RegisterTargets"], muts)
            self.assertTrue(d.find("watch_stopping"), "no watch_stopping")
            self.assertTrue(d.find("apply_step", contains="canceled"),
                            "the rest was not skipped as canceled")
            self.assertTrue(d.find("watch_stopped"), "no watch_stopped")
            # A normal stop: no abandoned work, status written at the end.
            self.assertTrue(not d.find("stop_timeout"), d.find("stop_timeout"))

    def test_sigterm_during_health_wait_exits_promptly(self):
        # New targets stay "initial" for a minute: the apply waits.
        with Session(config={"target_health_delay_seconds": 60}) as d:
            mark = d.mark()
            L.write_atomic(d.spec, spec_text([A, B]))
            d.wait_event("apply_phase", 20, since=mark, contains="wait")
            time.sleep(0.5)
            rc, took = timed_stop(d, signal.SIGTERM, 60)
            self.assertTrue(rc == 0, "exit %s" % rc)
            # Generous: only catches a stop that sat out the wait's sleeps.
            self.assertTrue(took < 20 * L.SLOW, "took %.1fs to stop" % took)
            self.assertTrue(d.find("apply_step", contains="canceled"),
                            "the wait was not canceled")

    def test_sigint_stops_too(self):
        with Session() as d:
            rc, _ = timed_stop(d, signal.SIGINT, 30)
            self.assertTrue(rc == 0, "exit %s" % rc)
            self.assertTrue(
                d.find("watch_stopping", contains="SIGINT"), "SIGINT")

    def test_stuck_call_abandoned_after_stop_timeout(self):
        with Session(args=["--stop-timeout", "1s"]) as d:
            FA.set_faults({"actions": {"elbv2:DescribeTargetGroups":
                                       {"latency_fixed_ms": 30000}}})
            mark = d.mark()
            d.send_signal(signal.SIGHUP)  # a reconcile that will hang
            d.wait_event("spec_unchanged", 10, since=mark)
            time.sleep(0.5)  # its read is on the wire
            rc, took = timed_stop(d, signal.SIGTERM, 60)
            self.assertTrue(rc == 0, "exit %s" % rc)
            self.assertTrue(took < 20 * L.SLOW, "took %.1fs" % took)
            self.assertTrue(d.find("stop_timeout"), "no stop_timeout event")


if __name__ == "__main__":
    unittest.main(verbosity=2)
