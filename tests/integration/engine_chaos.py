#!/usr/bin/python3
"""moor apply interrupted and disturbed, against tests/fakeaws.

- kill -9 of apply at seeded random moments, then a re-run converges: at
  least 20 trials; after every kill the moved address is still attached
  (to its old or its new holder) and the allocated address exists at most
  once; after the re-run it exists exactly once.
- apply under 20% throttling and 5% lost responses (applied, answer lost)
  converges in one run, with no duplicate allocation.
"""

import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_lib as L  # noqa: E402
from engine_lib import APP1, ROGUE  # noqa: E402

TRIALS = int(os.environ.get("MOOR_CHAOS_TRIALS", "20"))


class ChaosTest(unittest.TestCase):
    def setUp(self):
        self.e = L.Env().__enter__()
        self.addCleanup(self.e.__exit__)
        self.spec = self.e.write("spec.yaml", L.SPEC)
        self.world = L.world()

    def reset(self):
        self.e.fa.clear_faults()
        self.e.fa.load_state(self.world)
        self.e.fa.reset_counters()

    def check_after_kill(self, seed, delay):
        e = self.e
        where = "seed %d, killed after %.3fs" % (seed, delay)
        # A move is one call: the address is never left unattached.
        self.assertIn(e.holder("vip-app"), (ROGUE, APP1), where)
        # Tagged in the same call: never allocated twice.
        self.assertLessEqual(len(e.addresses_named("vip-new")), 1, where)

    def test_kill_9_then_rerun_converges(self):
        e = self.e
        # How long an undisturbed apply takes, with some latency per call
        # so that kills land between calls as well as during them.
        faults = {"global": {"latency_fixed_ms": 5, "latency_jitter_ms": 10}}
        self.reset()
        e.fa.set_faults(faults)
        t0 = time.monotonic()
        e.moor("apply", self.spec, "--yes", expect=0)
        full = time.monotonic() - t0
        L.expect_converged(e, self.spec)

        rng = random.Random(20261125)
        killed_mid = 0
        for trial in range(TRIALS):
            self.reset()
            e.fa.set_faults(faults)
            delay = rng.uniform(0, full)
            p = e.popen("apply", self.spec, "--yes")
            time.sleep(delay)
            if p.poll() is None:
                killed_mid += 1
            p.kill()
            p.wait()
            e.fa.clear_faults()
            self.check_after_kill(trial, delay)
            r = e.moor("apply", self.spec, "--yes")
            self.assertEqual(r.returncode, 0, "trial %d (killed after "
                             "%.3fs):\n%s\n%s" % (trial, delay, r.stdout,
                                                  r.stderr))
            L.expect_converged(e, self.spec)
            self.assertEqual(len(e.addresses_named("vip-new")), 1)
        # Most kills must have hit a running apply, or this proves little.
        self.assertGreaterEqual(killed_mid, TRIALS * 3 // 4)

    def test_throttling_and_lost_responses(self):
        e = self.e
        for seed in (1, 2, 3):
            self.reset()
            e.fa.set_faults({"seed": seed, "global": {
                "throttle_rate": 0.2,
                "lose_response_after_apply_rate": 0.05}})
            r = e.moor("apply", self.spec, "--yes")
            c = e.fa.counters()["totals"]
            self.assertEqual(r.returncode, 0, "seed %d:\n%s\n%s"
                             % (seed, r.stdout, r.stderr))
            # The faults did hit.
            self.assertGreater(c["throttled"], 0)
            e.fa.clear_faults()
            L.expect_converged(e, self.spec)
            self.assertEqual(len(e.addresses_named("vip-new")), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
