#!/usr/bin/python3
"""Retries, lost answers and rate limits against tests/fakeaws faults.

- With 30% throttling and 5% connection resets on every action, and AWS's
  token buckets enforced by the fake, a mixed workload (reads, EIP moves,
  registrations) completes: every call succeeds within its attempts, and
  the fake never had to refuse a request for an empty token bucket (the
  client paced itself).
- 70 AssociateAddress calls at once exceed the EC2 mutating burst (50):
  they all succeed with no throttling at all, the client having waited
  for its own bucket.
- Lost answers: an idempotent call whose answer is lost is retried and
  succeeds; AllocateAddress is sent exactly once and fails with "outcome
  unknown".
- Attempts and the retry rules are visible in the fake's log.
"""
import unittest

from aws_common import AwsTestCase

I1, I2, I4 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002", \
    "i-0a1b2c3d4e5f60004"
ALLOC = "eipalloc-0a1b2c3d4e5f60001"


def entries(fa, action):
    return [e for e in fa.log() if e["action"] == action]


def stats_of(docs):
    return [d["stats"] for d in docs if "stats" in d][0]


class FaultsTest(AwsTestCase):
    def test_throttling_and_resets(self):
        env = self.env
        fa = env.fa
        arn = env.result("tgs", "web-tg")[0]["arn"]
        fa.reset_counters()
        fa.set_faults({"seed": 4, "token_buckets": True,
                       "global": {"throttle_rate": 0.3,
                                  "reset_before_apply_rate": 0.05}})
        lines = []
        for k in range(4):
            lines += ["instances %s %s" % (I1, I2),
                      "select role=web",
                      "classic web-classic",
                      "tgs web-tg",
                      "addresses --alloc %s" % ALLOC,
                      "associate %s --instance %s" % (ALLOC, (I1, I2)[k % 2]),
                      "register-tg %s %s:%d" % (arn, I2, 7000 + k),
                      "register-classic web-classic %s" % I2]
        docs, p = env.provtool("--max-attempts", "10", "--parallel", "4",
                               "--random", "0.05", "--stats", "batch",
                               stdin="\n".join(lines))
        results = [d for d in docs if "ok" in d]
        self.assertTrue(len(results) == len(lines), len(results))
        bad = [d for d in results if not d["ok"]]
        self.assertTrue(not bad, bad[:3])
        st = stats_of(docs)
        log = fa.log()
        faults = [e["fault"] for e in log if e.get("fault")]
        # The faults really happened, and were retried through.
        self.assertTrue(sum(1 for f in faults if "throttle" in f) >= 8, faults)
        self.assertTrue(sum(1 for f in faults if "reset" in f) >= 1, faults)
        self.assertTrue(st["retries"] >= 8 and st["throttled"] >= 8, st)
        # Never refused for an empty bucket: the client paced itself.
        self.assertTrue(not [f for f in faults if "token-bucket" in f], faults)
        self.assertTrue(st["failed"] == 0, st)

    def test_pacing_under_the_ec2_mutating_bucket(self):
        env = self.env
        fa = env.fa
        fa.set_faults({"seed": 1, "token_buckets": True})
        fa.reset_counters()
        docs, _ = env.provtool("--repeat", "70", "--parallel", "8",
                               "--concurrency", "8", "--stats", "associate",
                               ALLOC, "--instance", I2)
        summary = docs[0]
        self.assertTrue(summary["runs"] == 70 and summary["ok"] == 70, summary)
        c = fa.counters()["totals"]
        self.assertTrue(c["throttled"] == 0, c)
        st = stats_of(docs)
        b = st["buckets"]["ec2-mutating"]
        # 70 tokens from a 50-token bucket: at least 20 waits for a refill.
        self.assertTrue(b["taken"] == 70 and b["waits"] >= 20, b)
        self.assertTrue(st["retries"] == 0, st)
        self.assertTrue(len(entries(fa, "AssociateAddress")) == 70, c)

    def test_lost_answer_idempotent(self):
        env = self.env
        fa = env.fa
        fa.set_faults({"actions": {"ec2:AssociateAddress":
                                   {"script": ["lose", "reset"]}}})
        r = env.result("--random", "0.01", "associate", ALLOC,
                       "--instance", I2)
        self.assertTrue(r["association_id"].startswith("eipassoc-"), r)
        e = entries(fa, "AssociateAddress")
        self.assertTrue(len(e) == 3, e)
        self.assertTrue([x["applied"] for x in e] == [True, False, True], e)
        addr = env.result("addresses", "--alloc", ALLOC)[0]
        self.assertTrue(addr["instance_id"] == I2, addr)

    def test_lost_answer_not_idempotent(self):
        env = self.env
        fa = env.fa
        before = len(env.result("addresses"))
        fa.set_faults({"actions": {"ec2:AllocateAddress":
                                   {"script": ["lose"]}}})
        err = env.error("allocate", "Name=vip-lost")
        self.assertTrue(
            err["outcome_unknown"] and err["code"] == "transport", err)
        # Sent exactly once: neither moor nor libcurl sent it again.
        e = entries(fa, "AllocateAddress")
        self.assertTrue(len(e) == 1 and e[0]["applied"], e)
        # The address exists: re-observing finds it.
        r = env.result("addresses", "--name", "vip-lost")
        self.assertTrue(len(r) == 1, r)
        self.assertTrue(len(env.result("addresses")) == before + 1, before)
        # A 500 is not retried either; throttling is.
        fa.set_faults({"actions": {"ec2:AllocateAddress":
                                   {"script": ["throttle", "500"]}}})
        err = env.error("--random", "0.01", "allocate")
        self.assertTrue(
            err["aws_code"] == "InternalError" and err["outcome_unknown"], err)
        self.assertTrue(len(entries(fa, "AllocateAddress")) == 3, fa.log())

    def test_attempts_run_out(self):
        env = self.env
        fa = env.fa
        fa.set_faults({"actions": {"ec2:DescribeAddresses":
                                   {"script": ["throttle"] * 3}}})
        err = env.error("--max-attempts", "3", "--random", "0.01", "addresses")
        self.assertTrue(err["aws_code"] == "RequestLimitExceeded", err)
        self.assertTrue(
            err["retryable"] and "gave up after 3 attempts" in err["message"],
            err)
        self.assertTrue(len(entries(fa, "DescribeAddresses")) == 3, fa.log())
        # AWS_MAX_ATTEMPTS is honoured too.
        fa.reset_counters()
        fa.set_faults({"actions": {"ec2:DescribeAddresses":
                                   {"script": ["503"] * 4}}})
        r = env.result("--random", "0.01", "addresses",
                       extra={"AWS_MAX_ATTEMPTS": "5"})
        self.assertTrue(len(r) == 3, r)
        self.assertTrue(len(entries(fa, "DescribeAddresses")) == 5, fa.log())
        # Client errors are not retried.
        fa.reset_counters()
        err = env.error("disassociate", "eipassoc-00000000000000bad")
        self.assertTrue(
            err["aws_code"] == "InvalidAssociationID.NotFound", err)
        self.assertTrue(len(entries(fa, "DisassociateAddress")) == 1, fa.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
