#!/usr/bin/python3
"""The AWS provider's lease ops (providers/aws/ddb.c) against
tests/fakeaws's DynamoDB, through provtool: acquire (absent, taken,
takeover), renew with a stale rvn, release, list, get, the table check
(missing, wrongly keyed), a lost answer read back, throttling retried.

The fake checks every request's SigV4 signature (service dynamodb), its
shape against botocore's model and its expressions, so a request it
answers is one real DynamoDB would take.
"""
import unittest

from aws_common import AwsTestCase

TABLE = "moor-leases"


def table(name, key="name", key_type="S", sort=None):
    t = {"name": name,
         "key_schema": [{"AttributeName": key, "KeyType": "HASH"}],
         "attribute_definitions": [{"AttributeName": key,
                                    "AttributeType": key_type}]}
    if sort:
        t["key_schema"].append({"AttributeName": sort, "KeyType": "RANGE"})
        t["attribute_definitions"].append({"AttributeName": sort,
                                           "AttributeType": "S"})
    return t


class DdbLeaseTest(AwsTestCase):
    def setUp(self):
        super().setUp()
        doc = dict(self.initial)
        doc["dynamodb_tables"] = [table(TABLE), table("keyed", key="key"),
                                  table("numbered", key_type="N"),
                                  table("sorted", sort="v")]
        self.fa.load_state(doc)

    def items(self):
        return {i["name"]["S"]: i for i in self.fa.dynamodb_items(TABLE)}

    def acquire(self, name, holder, rvn, *opts):
        return self.env.result("lease-acquire", TABLE, name, holder, rvn,
                               *opts)

    def conflict(self, *args):
        err = self.env.error(*args)
        self.assertEqual(err["code"], "conflict", err)
        self.assertEqual(err["aws_code"], "ConditionalCheckFailedException")
        self.assertFalse(err["outcome_unknown"], err)
        self.assertFalse(err["retryable"], err)
        return err

    def test_acquire_absent_then_conflict(self):
        self.acquire("web", "host-a:10", "r1", "--duration", "8000",
                     "--heartbeat", "1700000000123")
        item = self.items()["web"]
        self.assertEqual(item, {
            "name": {"S": "web"}, "ownerName": {"S": "host-a:10"},
            "recordVersionNumber": {"S": "r1"},
            "leaseDuration": {"S": "8000"},
            "heartbeatUnixMs": {"N": "1700000000123"},
            "kind": {"S": "spec"}})
        # Held: a second acquirer without the rvn loses, once.
        self.fa.reset_counters()
        self.conflict("lease-acquire", TABLE, "web", "host-b:20", "r9")
        self.assertEqual(self.fa.calls("dynamodb"), ["dynamodb:PutItem"])
        self.assertEqual(self.items()["web"]["ownerName"]["S"], "host-a:10")

    def test_takeover(self):
        self.acquire("web", "host-a:10", "r1")
        # The rvn moved on since it was seen: no takeover.
        self.conflict("lease-acquire", TABLE, "web", "host-b:20", "r2",
                      "--prev", "r0")
        # Seen unchanged for a whole duration: taken over.
        self.acquire("web", "host-b:20", "r2", "--prev", "r1")
        item = self.items()["web"]
        self.assertEqual(item["ownerName"]["S"], "host-b:20")
        self.assertEqual(item["recordVersionNumber"]["S"], "r2")

    def test_renew(self):
        self.acquire("web", "host-a:10", "r1")
        self.env.result("lease-renew", TABLE, "web", "host-a:10", "r2",
                        "--prev", "r1", "--duration", "12000",
                        "--heartbeat", "1700000001000")
        item = self.items()["web"]
        self.assertEqual(item["recordVersionNumber"]["S"], "r2")
        self.assertEqual(item["leaseDuration"]["S"], "12000")
        self.assertEqual(item["heartbeatUnixMs"]["N"], "1700000001000")
        # A stale rvn, another holder, an absent item: all lost.
        self.conflict("lease-renew", TABLE, "web", "host-a:10", "r3",
                      "--prev", "r1")
        self.conflict("lease-renew", TABLE, "web", "host-b:20", "r3",
                      "--prev", "r2")
        self.conflict("lease-renew", TABLE, "db", "host-a:10", "r3",
                      "--prev", "r2")
        self.assertNotIn("db", self.items())
        self.assertEqual(self.items()["web"]["recordVersionNumber"]["S"],
                         "r2")

    def test_release(self):
        self.acquire("web", "host-a:10", "r1")
        self.conflict("lease-release", TABLE, "web", "host-a:10", "r0", "r2")
        self.conflict("lease-release", TABLE, "web", "host-b:20", "r1", "r2")
        self.env.result("lease-release", TABLE, "web", "host-a:10", "r1",
                        "r2")
        item = self.items()["web"]
        self.assertNotIn("ownerName", item)
        self.assertEqual(item["recordVersionNumber"]["S"], "r2")
        got = self.env.result("lease-get", TABLE, "web")
        self.assertIsNone(got["holder"])
        # Released: anyone acquires it at once, without waiting.
        self.acquire("web", "host-b:20", "r3")
        self.assertEqual(self.items()["web"]["ownerName"]["S"], "host-b:20")

    def test_list_and_get(self):
        self.acquire("web", "host-a:10", "r1", "--heartbeat", "1000")
        self.acquire("db", "host-b:20", "r2")
        self.acquire("replica:host-a:10", "host-a:10", "r3", "--replica")
        self.env.result("lease-release", TABLE, "db", "host-b:20", "r2",
                        "r4")
        got = {o["name"]: o for o in self.env.result("lease-list", TABLE)}
        self.assertEqual(set(got), {"web", "db", "replica:host-a:10"})
        self.assertEqual(got["web"], {
            "name": "web", "kind": "spec", "holder": "host-a:10",
            "rvn": "r1", "duration_ms": 10000, "heartbeat_unix_ms": 1000})
        self.assertIsNone(got["db"]["holder"])
        self.assertEqual(got["replica:host-a:10"]["kind"], "replica")
        scans = [e for e in self.fa.log() if e["action"] == "Scan"]
        self.assertTrue(scans and scans[-1]["params"]["ConsistentRead"])
        self.assertEqual(self.env.result("lease-get", TABLE, "web")["rvn"],
                         "r1")
        err = self.env.error("lease-get", TABLE, "nope")
        self.assertEqual(err["code"], "not_found", err)
        self.assertEqual(self.env.result("lease-list", "keyed"), [])

    def test_table_check(self):
        self.env.result("lease-check", TABLE)
        err = self.env.error("lease-check", "missing")
        self.assertEqual(err["code"], "not_found", err)
        self.assertEqual(err["aws_code"], "ResourceNotFoundException")
        for t in ("keyed", "numbered", "sorted"):
            err = self.env.error("lease-check", t)
            self.assertEqual(err["code"], "invalid", (t, err))
            self.assertIn("table %s" % t, err["message"])
        err = self.env.error("lease-list", "missing")
        self.assertEqual(err["code"], "not_found", err)

    def test_lost_answer_read_back(self):
        # Applied, answer lost; the retry loses its condition (the item is
        # already ours); the read-back finds our write: success.
        self.fa.set_faults({"actions": {"dynamodb:PutItem":
                                        {"script": ["lose"]}}})
        self.env.result("--random", "0.01", "lease-acquire", TABLE, "web",
                        "host-a:10", "r1")
        log = [(e["action"], e.get("error_code"), e["applied"])
               for e in self.fa.log() if e["service"] == "dynamodb"]
        self.assertEqual(log, [
            ("PutItem", None, True),
            ("PutItem", "ConditionalCheckFailedException", False),
            ("GetItem", None, True)])
        # Lost, then someone else's item: the conflict stands.
        self.fa.set_faults({"actions": {"dynamodb:UpdateItem":
                                        {"script": ["reset"]}}})
        self.conflict("--random", "0.01", "lease-renew", TABLE, "web",
                      "host-b:20", "r2", "--prev", "r1")

    def test_throttled_retried(self):
        self.acquire("web", "host-a:10", "r1")
        self.fa.set_faults({"actions": {"dynamodb:UpdateItem":
                                        {"script": ["throttle",
                                                    "throttle"]}}})
        docs, _ = self.env.provtool("--random", "0.01", "--stats",
                                    "lease-renew", TABLE, "web",
                                    "host-a:10", "r2", "--prev", "r1")
        self.assertTrue(docs[0]["ok"], docs)
        st = docs[-1]["stats"]
        self.assertEqual(st["throttled"], 2, st)
        self.assertEqual(st["buckets"]["dynamodb"]["taken"], 3, st)
        self.assertEqual(self.items()["web"]["recordVersionNumber"]["S"],
                         "r2")


if __name__ == "__main__":
    unittest.main()
