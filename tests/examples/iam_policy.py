#!/usr/bin/python3
"""examples/iam-policy.json is valid JSON and grants every AWS action the
provider (providers/aws/*.c) calls, so a new call without the policy fails
here.  DynamoDB actions are granted on a table ARN only, never "*".

Run from anywhere: make test does.
"""

import glob
import json
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Verbs of the APIs moor speaks; a string literal starting with one of
# these and a capital letter is an action name (answers end in Response or
# Result, DynamoDB's parameters UpdateExpression and the like in
# Expression: skipped).
ACTION_RE = re.compile(
    r'"(?:DynamoDB_20120810\.)?((?:Describe|Register|Deregister|Allocate|'
    r'Associate|Disassociate|Enable|Disable|Get|Create|Delete|Modify|'
    r'Release|Put|Update|Assume|Attach|Detach|Assign|Unassign|BatchGet|'
    r'BatchWrite|TransactWrite|TransactGet)[A-Z][A-Za-z]*|Scan|Query)"')

# Granted by the role's trust policy, not by the caller's policy.
TRUST_POLICY = {"AssumeRole", "AssumeRoleWithWebIdentity"}

DYNAMODB_ACTIONS = {"DescribeTable", "GetItem", "PutItem", "UpdateItem",
                    "DeleteItem", "Scan", "Query", "BatchGetItem",
                    "BatchWriteItem", "TransactWriteItems",
                    "TransactGetItems", "CreateTable"}


def called_actions():
    found = set()
    for path in glob.glob(os.path.join(ROOT, "providers", "aws", "*.c")):
        with open(path) as f:
            for m in ACTION_RE.finditer(f.read()):
                a = m.group(1)
                if not a.endswith(("Response", "Result", "Expression")):
                    found.add(a)
    return found - TRUST_POLICY


def policy():
    with open(os.path.join(ROOT, "examples", "iam-policy.json")) as f:
        return json.load(f)


class IamPolicyTest(unittest.TestCase):
    def test_valid_and_least_privilege_shape(self):
        p = policy()
        self.assertEqual(p["Version"], "2012-10-17")
        for st in p["Statement"]:
            self.assertEqual(st["Effect"], "Allow")
            for a in st["Action"]:
                self.assertNotIn("*", a, "no wildcard actions")

    def test_every_called_action_granted(self):
        called = called_actions()
        # The scan must see the provider, or it proves nothing.
        self.assertIn("DescribeInstances", called)
        self.assertIn("RegisterTargets", called)
        granted = {}
        for st in policy()["Statement"]:
            for a in st["Action"]:
                granted.setdefault(a.split(":", 1)[1], []).append(
                    (a.split(":", 1)[0], st["Resource"]))
        missing = sorted(called - set(granted))
        self.assertEqual(missing, [], "examples/iam-policy.json lacks these "
                         "actions the provider calls")
        for a in called & DYNAMODB_ACTIONS:
            for svc, res in granted[a]:
                self.assertEqual(svc, "dynamodb")
                self.assertNotEqual(res, "*", "DynamoDB on the table only")
                self.assertIn(":table/", res)

    def test_nothing_granted_that_is_never_called(self):
        # Least privilege: every granted action is called.
        called = called_actions()
        self.assertIn("UpdateItem", called)
        for st in policy()["Statement"]:
            for a in st["Action"]:
                self.assertIn(a.split(":", 1)[1], called, a)


if __name__ == "__main__":
    sys.exit(unittest.main())
