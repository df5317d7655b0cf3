#!/usr/bin/python3
"""`moor leases TABLE` against tests/fakeaws's DynamoDB: the text and JSON
listings of seeded items, and the missing or wrongly keyed table, whose
error gives the create-table command.

Items are seeded with the AWS CLI (AWS_ENDPOINT_URL points it at the
fake).  ITEM below is the item layout of providers/aws's lease ops; keep it
equal to theirs.
"""
import json
import os
import subprocess
import time
import unittest

from aws_common import AwsTestCase, expect

TABLE = "moor-leases"
CREATE = ("aws dynamodb create-table --table-name %s "
          "--attribute-definitions AttributeName=name,AttributeType=S "
          "--key-schema AttributeName=name,KeyType=HASH "
          "--billing-mode PAY_PER_REQUEST")

# Attribute names of a lease item (providers/aws, DynamoDB lease ops).
ITEM = {"holder": "ownerName", "rvn": "recordVersionNumber",
        "duration": "leaseDuration", "heartbeat": "heartbeatUnixMs",
        "kind": "kind"}


class LeasesTest(AwsTestCase):
    def aws(self, *args, check=True):
        env = dict(os.environ)
        env.update(self.fa.env())
        env["AWS_PAGER"] = ""
        # --endpoint-url: Debian 12's AWS CLI predates AWS_ENDPOINT_URL.
        p = subprocess.run(["aws", "--endpoint-url", self.fa.url,
                            "dynamodb", *args, "--output", "json"],
                           env=env, capture_output=True, text=True,
                           timeout=60)
        if check:
            expect(p.returncode == 0, "aws %s: %s" % (args[:1], p.stderr))
        return p

    def create(self, table=TABLE, key="name"):
        self.aws("create-table", "--table-name", table,
                 "--attribute-definitions",
                 "AttributeName=%s,AttributeType=S" % key,
                 "--key-schema", "AttributeName=%s,KeyType=HASH" % key,
                 "--billing-mode", "PAY_PER_REQUEST")

    def put(self, name, holder, age_ms, duration_ms, kind="spec"):
        item = {"name": {"S": name},
                ITEM["rvn"]: {"S": "rvn-" + name},
                ITEM["duration"]: {"S": str(duration_ms)},
                ITEM["heartbeat"]: {
                    "N": str(int(time.time() * 1000) - age_ms)},
                ITEM["kind"]: {"S": kind}}
        if holder:
            item[ITEM["holder"]] = {"S": holder}
        self.aws("put-item", "--table-name", TABLE, "--item",
                 json.dumps(item))

    def seed(self):
        self.create()
        self.put("web", "host-a:10", 1000, 10000)
        self.put("db", "host-b:20", 60000, 10000)
        self.put("old", None, 5000, 10000)
        self.put("replica:host-a:10", "host-a:10", 500, 10000, "replica")

    def test_text(self):
        self.seed()
        p = self.env.moor("leases", TABLE)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "HOLDER", "AGE",
                                            "STATE"])
        rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
        self.assertEqual(set(rows), {"web", "db", "old",
                                     "replica:host-a:10"})
        self.assertEqual(rows["web"][1], "host-a:10")
        self.assertEqual(rows["web"][3], "live")
        self.assertEqual(rows["db"][3], "expired")
        self.assertTrue(rows["db"][2].startswith("1m"), rows["db"])
        self.assertEqual(rows["old"][1], "-")
        self.assertEqual(rows["old"][3], "expired")
        # Spec leases first, replica items last.
        self.assertEqual(lines[-1].split()[0], "replica:host-a:10")

    def test_json(self):
        self.seed()
        p = self.env.moor("leases", TABLE, "--format", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = {o["name"]: o for o in json.loads(p.stdout)}
        self.assertEqual(doc["web"]["holder"], "host-a:10")
        self.assertTrue(doc["web"]["live"])
        self.assertEqual(doc["web"]["rvn"], "rvn-web")
        self.assertEqual(doc["web"]["duration_ms"], 10000)
        self.assertEqual(doc["web"]["kind"], "spec")
        self.assertGreaterEqual(doc["db"]["age_ms"], 60000)
        self.assertFalse(doc["db"]["live"])
        self.assertIsNone(doc["old"]["holder"])
        self.assertEqual(doc["replica:host-a:10"]["kind"], "replica")

    def test_missing_table(self):
        p = self.env.moor("leases", "nope")
        self.assertEqual(p.returncode, 1)
        self.assertIn(CREATE % "nope", p.stderr)

    def test_wrong_key(self):
        self.create(table="other", key="key")
        p = self.env.moor("leases", "other")
        self.assertEqual(p.returncode, 1)
        self.assertIn(CREATE % "other", p.stderr)

    def test_usage(self):
        self.assertEqual(self.env.moor("leases").returncode, 64)
        self.assertEqual(self.env.moor("leases", TABLE, "--format",
                                       "xml").returncode, 64)


if __name__ == "__main__":
    unittest.main()
