"""DynamoDB through botocore's own client: operations, expressions, errors,
atomic conditional writes, SigV4 and faults scoped to one access key."""

import json
import threading
import unittest

from testbase import DEFAULT_ACCESS_KEY, FakeAwsCase

OTHER_KEY = "AKIAFAKEAWSREPLICA02"
OTHER_SECRET = "replica/two/secret"
KEY = [{"AttributeName": "name", "KeyType": "HASH"}]
DEFS = [{"AttributeName": "name", "AttributeType": "S"}]
N = {"#n": "name"}


def S(v):
    return {"S": v}


class DdbCase(FakeAwsCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb")
        self.ddb.create_table(TableName="leases", KeySchema=KEY,
                              AttributeDefinitions=DEFS,
                              BillingMode="PAY_PER_REQUEST")

    def item(self, name, **attrs):
        it = {"name": S(name)}
        it.update(attrs)
        self.ddb.put_item(TableName="leases", Item=it)
        return it

    def body(self, op, obj, service="dynamodb", **kw):
        """A hand-written request (for what Debian's botocore cannot send
        or would refuse to)."""
        return self.raw_signed(json.dumps(obj), service=service, headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + op}, **kw)

    def get(self, name):
        return self.ddb.get_item(TableName="leases", Key={"name": S(name)},
                                 ConsistentRead=True).get("Item")


class Tables(DdbCase):
    def test_create_describe_list_delete(self):
        t = self.ddb.describe_table(TableName="leases")["Table"]
        self.assertEqual(t["TableStatus"], "ACTIVE")
        self.assertEqual(t["KeySchema"], KEY)
        self.assertEqual(t["AttributeDefinitions"], DEFS)
        self.assertEqual(t["BillingModeSummary"]["BillingMode"],
                         "PAY_PER_REQUEST")
        self.assertEqual(t["TableArn"],
                         "arn:aws:dynamodb:us-east-1:123456789012:table/leases")
        self.assertEqual(t["ItemCount"], 0)
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["leases"])
        r = self.ddb.delete_table(TableName="leases")
        self.assertEqual(r["TableDescription"]["TableStatus"], "DELETING")
        self.assertEqual(self.ddb.list_tables()["TableNames"], [])

    def test_missing_table(self):
        r = self.assertError("ResourceNotFoundException",
                             self.ddb.describe_table, TableName="nope")
        self.assertEqual(r["Error"]["Message"],
                         "Requested resource not found: Table: nope not found")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        for call, kw in [
                (self.ddb.get_item, {"Key": {"name": S("a")}}),
                (self.ddb.put_item, {"Item": {"name": S("a")}}),
                (self.ddb.update_item, {"Key": {"name": S("a")}}),
                (self.ddb.delete_item, {"Key": {"name": S("a")}}),
                (self.ddb.scan, {}),
                (self.ddb.delete_table, {})]:
            r = self.assertError("ResourceNotFoundException", call,
                                 TableName="nope", **kw)
        self.assertError("ResourceNotFoundException", self.ddb.get_item,
                         TableName="nope", Key={"name": S("a")})

    def test_create_errors(self):
        r = self.assertError("ResourceInUseException", self.ddb.create_table,
                             TableName="leases", KeySchema=KEY,
                             AttributeDefinitions=DEFS,
                             BillingMode="PAY_PER_REQUEST")
        self.assertEqual(r["Error"]["Message"], "Table already exists: leases")
        r = self.assertError("ValidationException", self.ddb.create_table,
                             TableName="table2", KeySchema=KEY,
                             AttributeDefinitions=DEFS)
        self.assertIn("must both be specified when BillingMode is "
                      "PROVISIONED", r["Error"]["Message"])
        r = self.assertError("ValidationException", self.ddb.create_table,
                             TableName="table2", KeySchema=KEY,
                             AttributeDefinitions=[
                                 {"AttributeName": "other",
                                  "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST")
        self.assertIn("not defined in AttributeDefinitions",
                      r["Error"]["Message"])
        r = self.assertError("ValidationException", self.ddb.create_table,
                             TableName="table2", KeySchema=KEY,
                             AttributeDefinitions=DEFS + [
                                 {"AttributeName": "x",
                                  "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST")
        self.assertIn("does not exactly match", r["Error"]["Message"])
        r = self.assertError("ValidationException", self.ddb.create_table,
                             TableName="my leases", KeySchema=KEY,
                             AttributeDefinitions=DEFS,
                             BillingMode="PAY_PER_REQUEST")
        self.assertEqual(r["Error"]["Message"],
                         "1 validation error detected: Value 'my leases' at "
                         "'tableName' failed to satisfy constraint: Member "
                         "must satisfy regular expression pattern: "
                         "[a-zA-Z0-9_.-]+")

    def test_creating_until_the_configured_delay(self):
        # The server clock jumps ahead below; keep the signatures valid.
        self.fa.set_config(dynamodb_table_create_seconds=3600,
                           max_clock_skew_seconds=10 ** 6)
        r = self.ddb.create_table(TableName="slow", KeySchema=KEY,
                                  AttributeDefinitions=DEFS,
                                  BillingMode="PAY_PER_REQUEST")
        self.assertEqual(r["TableDescription"]["TableStatus"], "CREATING")
        self.assertEqual(self.ddb.describe_table(TableName="slow")["Table"]
                         ["TableStatus"], "CREATING")
        self.assertError("ResourceNotFoundException", self.ddb.put_item,
                         TableName="slow", Item={"name": S("a")})
        # The server clock moves on (no sleeping in tests).
        self.fa.set_clock_offset(3601)
        self.assertEqual(self.ddb.describe_table(TableName="slow")["Table"]
                         ["TableStatus"], "ACTIVE")
        self.ddb.put_item(TableName="slow", Item={"name": S("a")})

    def test_state_file_round_trip(self):
        self.item("a", holder=S("r1"), n={"N": "1.50"})
        doc = self.fa.get_state()
        self.assertEqual(doc["dynamodb_tables"][0]["items"],
                         [{"name": S("a"), "holder": S("r1"),
                           "n": {"N": "1.5"}}])
        self.fa.reset()
        self.fa.load_state(doc)
        self.assertEqual(self.get("a")["holder"], S("r1"))


class Items(DdbCase):
    def test_put_get_delete(self):
        it = self.item("a", holder=S("r1"), n={"N": "007"}, ok={"BOOL": True},
                       z={"NULL": True}, m={"M": {"x": {"L": [S("y")]}}})
        got = self.get("a")
        self.assertEqual(got["n"], {"N": "7"})     # canonical numbers
        self.assertEqual(got["m"], it["m"])
        self.assertNotIn("Item", self.ddb.get_item(
            TableName="leases", Key={"name": S("b")}))
        proj = self.ddb.get_item(TableName="leases", Key={"name": S("a")},
                                 ProjectionExpression="#n, holder",
                                 ExpressionAttributeNames=N)["Item"]
        self.assertEqual(proj, {"name": S("a"), "holder": S("r1")})
        r = self.ddb.delete_item(TableName="leases", Key={"name": S("a")},
                                 ReturnValues="ALL_OLD")
        self.assertEqual(r["Attributes"]["holder"], S("r1"))
        self.assertIsNone(self.get("a"))

    def test_put_return_values(self):
        r = self.ddb.put_item(TableName="leases", Item={"name": S("a")},
                              ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", r)
        r = self.ddb.put_item(TableName="leases",
                              Item={"name": S("a"), "v": S("2")},
                              ReturnValues="ALL_OLD")
        self.assertEqual(r["Attributes"], {"name": S("a")})
        self.assertError("ValidationException", self.ddb.put_item,
                         TableName="leases", Item={"name": S("a")},
                         ReturnValues="ALL_NEW")

    def test_key_errors(self):
        cases = [
            (self.ddb.put_item, {"Item": {"holder": S("x")}},
             "Missing the key name in the item"),
            (self.ddb.put_item, {"Item": {"name": {"N": "1"}}},
             "Type mismatch for key name expected: S actual: N"),
            (self.ddb.put_item, {"Item": {"name": S("")}},
             "cannot contain an empty string value"),
            (self.ddb.get_item, {"Key": {"name": S("a"), "x": S("b")}},
             "The provided key element does not match the schema"),
            (self.ddb.get_item, {"Key": {"name": {"N": "1"}}},
             "The provided key element does not match the schema"),
            (self.ddb.put_item, {"Item": {"name": S("a"), "n": {"N": "x"}}},
             "A value provided cannot be converted into a number"),
            (self.ddb.put_item, {"Item": {"name": S("a"), "z": {"NULL": False}}},
             "Null attribute value types must have the value of true"),
            (self.ddb.put_item, {"Item": {"name": S("a"), "e": {}}},
             "Supplied AttributeValue is empty"),
            (self.ddb.put_item,
             {"Item": {"name": S("a"), "e": {"S": "x", "N": "1"}}},
             "more than one datatypes"),
        ]
        for call, kw, msg in cases:
            with self.subTest(msg=msg):
                r = self.assertError("ValidationException", call,
                                     TableName="leases", **kw)
                self.assertIn(msg, r["Error"]["Message"])

    def test_scan_pagination(self):
        for n in range(5):
            self.item("s%d" % n, v={"N": str(n)})
        seen, start, pages = [], None, 0
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            r = self.ddb.scan(TableName="leases", Limit=2, **kw)
            pages += 1
            seen += [i["name"]["S"] for i in r["Items"]]
            self.assertEqual(r["Count"], len(r["Items"]))
            start = r.get("LastEvaluatedKey")
            if not start:
                break
        self.assertEqual(sorted(seen), ["s%d" % n for n in range(5)])
        self.assertEqual(pages, 3)
        r = self.ddb.scan(TableName="leases", FilterExpression="v >= :two",
                          ExpressionAttributeValues={":two": {"N": "2"}})
        self.assertEqual((r["Count"], r["ScannedCount"]), (3, 5))
        r = self.ddb.scan(TableName="leases", Select="COUNT")
        self.assertEqual(r["Count"], 5)
        self.assertNotIn("Items", r)

    def test_scan_bad_start_key(self):
        r = self.assertError("ValidationException", self.ddb.scan,
                             TableName="leases",
                             ExclusiveStartKey={"other": S("a")})
        self.assertEqual(r["Error"]["Message"],
                         "The provided starting key is invalid: The provided "
                         "key element does not match the schema")

    def test_expressions_are_checked_before_the_table(self):
        # AWS validates the request before it looks the table up.
        r = self.assertError("ValidationException", self.ddb.put_item,
                             TableName="nope", Item={"name": S("a")},
                             ConditionExpression="attribute_exists(#n)",
                             ExpressionAttributeNames={"#n": "name",
                                                       "#u": "x"})
        self.assertIn("unused in expressions: keys: {#u}",
                      r["Error"]["Message"])

    def test_scan_limit_on_the_last_item_still_returns_a_key(self):
        self.item("a")
        self.item("b")
        r = self.ddb.scan(TableName="leases", Limit=2)
        self.assertEqual(r["LastEvaluatedKey"], {"name": S("b")})
        r = self.ddb.scan(TableName="leases", Limit=2,
                          ExclusiveStartKey=r["LastEvaluatedKey"])
        self.assertEqual((r["Items"], r.get("LastEvaluatedKey")), ([], None))


class Conditions(DdbCase):
    def lease_put(self, holder, rvn):
        return self.ddb.put_item(
            TableName="leases",
            Item={"name": S("spec"), "holder": S(holder), "rvn": S(rvn)},
            ConditionExpression="attribute_not_exists(#n)",
            ExpressionAttributeNames=N)

    def test_put_if_absent(self):
        self.lease_put("r1", "v1")
        r = self.assertError("ConditionalCheckFailedException",
                             self.lease_put, "r2", "v9")
        self.assertEqual(r["Error"]["Message"], "The conditional request failed")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(self.get("spec")["holder"], S("r1"))

    def test_failure_returns_the_item_when_asked(self):
        # Debian's botocore predates ReturnValuesOnConditionCheckFailure:
        # send it by hand.
        self.lease_put("r1", "v1")
        body = {"TableName": "leases", "Key": {"name": S("spec")},
                "ConditionExpression": "rvn = :r",
                "ExpressionAttributeValues": {":r": S("other")},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        status, text, _ = self.body("DeleteItem", body)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text), {
            "__type": "com.amazonaws.dynamodb.v20120810#"
                      "ConditionalCheckFailedException",
            "message": "The conditional request failed",
            "Item": {"name": S("spec"), "holder": S("r1"), "rvn": S("v1")}})
        body["ReturnValuesOnConditionCheckFailure"] = "ALL_NEW"
        status, text, _ = self.body("DeleteItem", body)
        self.assertIn("Member must satisfy enum value set: [ALL_OLD, NONE]",
                      json.loads(text)["message"])
        self.assertEqual(self.get("spec")["rvn"], S("v1"))

    def test_renew_only_by_holder_and_version(self):
        self.lease_put("r1", "v1")
        renew = dict(
            TableName="leases", Key={"name": S("spec")},
            UpdateExpression="SET rvn = :new, beats = if_not_exists(beats, "
                             ":zero) + :one",
            ConditionExpression="attribute_exists(#n) AND holder = :me AND "
                                "rvn = :mine",
            ExpressionAttributeNames=N, ReturnValues="ALL_NEW")
        vals = {":new": S("v2"), ":zero": {"N": "0"}, ":one": {"N": "1"},
                ":me": S("r1"), ":mine": S("v1")}
        r = self.ddb.update_item(ExpressionAttributeValues=vals, **renew)
        self.assertEqual(r["Attributes"]["rvn"], S("v2"))
        self.assertEqual(r["Attributes"]["beats"], {"N": "1"})
        # The same renewal again: the version moved on, so it fails and
        # changes nothing.
        self.assertError("ConditionalCheckFailedException",
                         self.ddb.update_item, ExpressionAttributeValues=vals,
                         **renew)
        vals.update({":me": S("r2"), ":mine": S("v2")})
        self.assertError("ConditionalCheckFailedException",
                         self.ddb.update_item, ExpressionAttributeValues=vals,
                         **renew)
        self.assertEqual(self.get("spec"), {
            "name": S("spec"), "holder": S("r1"), "rvn": S("v2"),
            "beats": {"N": "1"}})

    def test_update_return_values_and_remove(self):
        self.item("a", holder=S("r1"), gone=S("x"))
        upd = dict(TableName="leases", Key={"name": S("a")},
                   UpdateExpression="SET holder = :h REMOVE gone",
                   ExpressionAttributeValues={":h": S("r2")})
        r = self.ddb.update_item(ReturnValues="UPDATED_OLD", **upd)
        self.assertEqual(r["Attributes"], {"holder": S("r1"), "gone": S("x")})
        r = self.ddb.update_item(ReturnValues="UPDATED_NEW", **upd)
        self.assertEqual(r["Attributes"], {"holder": S("r2")})
        r = self.ddb.update_item(ReturnValues="ALL_OLD", **upd)
        self.assertEqual(r["Attributes"], {"name": S("a"), "holder": S("r2")})
        self.assertNotIn("Attributes", self.ddb.update_item(**upd))

    def test_update_creates_absent_item(self):
        self.ddb.update_item(TableName="leases", Key={"name": S("new")},
                             UpdateExpression="SET holder = :h",
                             ConditionExpression="attribute_not_exists(#n)",
                             ExpressionAttributeNames=N,
                             ExpressionAttributeValues={":h": S("r1")})
        self.assertEqual(self.get("new"), {"name": S("new"),
                                           "holder": S("r1")})

    def test_or_not_parentheses(self):
        self.item("a", holder=S("r1"), released={"BOOL": True})
        cond = ("attribute_not_exists(#n) OR (released = :t AND NOT "
                "holder = :me)")
        vals = {":t": {"BOOL": True}, ":me": S("r2"), ":h": S("r2")}
        self.ddb.update_item(TableName="leases", Key={"name": S("a")},
                             UpdateExpression="SET holder = :h",
                             ConditionExpression=cond,
                             ExpressionAttributeNames=N,
                             ExpressionAttributeValues=vals)
        self.assertEqual(self.get("a")["holder"], S("r2"))
        self.assertError("ConditionalCheckFailedException",
                         self.ddb.update_item, TableName="leases",
                         Key={"name": S("a")},
                         UpdateExpression="SET holder = :h",
                         ConditionExpression=cond,
                         ExpressionAttributeNames=N,
                         ExpressionAttributeValues=vals)

    def test_expression_errors_change_nothing(self):
        self.item("a", holder=S("r1"))
        base = dict(TableName="leases", Key={"name": S("a")})
        cases = [
            (dict(UpdateExpression="SET holder = :h AND",
                  ExpressionAttributeValues={":h": S("x")}),
             'Invalid UpdateExpression: Syntax error; token: "AND"'),
            (dict(UpdateExpression="SET holder = :h",
                  ConditionExpression="holder = = :h",
                  ExpressionAttributeValues={":h": S("x")}),
             "Invalid ConditionExpression: Syntax error"),
            (dict(UpdateExpression="SET holder = :h",
                  ExpressionAttributeValues={":h": S("x"), ":u": S("y")}),
             "Value provided in ExpressionAttributeValues unused in "
             "expressions: keys: {:u}"),
            (dict(UpdateExpression="SET holder = :h",
                  ExpressionAttributeNames={"#u": "x"},
                  ExpressionAttributeValues={":h": S("x")}),
             "Value provided in ExpressionAttributeNames unused in "
             "expressions: keys: {#u}"),
            (dict(UpdateExpression="SET holder = :nope"),
             "An expression attribute value used in expression is not "
             "defined; attribute value: :nope"),
            (dict(UpdateExpression="SET #h = :h",
                  ExpressionAttributeValues={":h": S("x")}),
             "An expression attribute name used in the document path is "
             "not defined; attribute name: #h"),
            (dict(UpdateExpression="SET holder = :h",
                  ExpressionAttributeValues={":h": S("x"), "h2": S("y")}),
             'ExpressionAttributeValues contains invalid key: Syntax error; '
             'key: "h2"'),
            (dict(UpdateExpression="SET holder = :h",
                  ExpressionAttributeNames={"n": "x"},
                  ExpressionAttributeValues={":h": S("x")}),
             'ExpressionAttributeNames contains invalid key: Syntax error; '
             'key: "n"'),
            (dict(UpdateExpression="SET holder = :h",
                  ExpressionAttributeValues={}),
             "ExpressionAttributeValues must not be empty"),
            (dict(ExpressionAttributeValues={":h": S("x")}),
             "ExpressionAttributeValues can only be specified when using "
             "expressions"),
            (dict(UpdateExpression="SET #n = :h", ExpressionAttributeNames=N,
                  ExpressionAttributeValues={":h": S("x")}),
             "Cannot update attribute name. This attribute is part of the "
             "key"),
            (dict(UpdateExpression="SET holder = holder + :one",
                  ExpressionAttributeValues={":one": {"N": "1"}}),
             "An operand in the update expression has an incorrect data "
             "type"),
            (dict(UpdateExpression="SET owner = :h",
                  ExpressionAttributeValues={":h": S("x")}),
             "Attribute name is a reserved keyword; reserved keyword: owner"),
            (dict(UpdateExpression="SET holder = :h",
                  ExpressionAttributeValues={":h": S("x")},
                  ReturnValues="EVERYTHING"),
             "Member must satisfy enum value set"),
        ]
        for kw, msg in cases:
            with self.subTest(msg=msg):
                r = self.assertError("ValidationException",
                                     self.ddb.update_item, **dict(base, **kw))
                self.assertIn(msg, r["Error"]["Message"])
        self.assertEqual(self.get("a"), {"name": S("a"), "holder": S("r1")})

    def test_conditional_writes_are_atomic(self):
        """Many writers race on one version; each version is won once."""
        self.item("spec", rvn={"N": "0"})
        wins = []
        errors = []

        def writer(me):
            ddb = self.client("dynamodb")
            for _ in range(15):
                cur = self.ddb_get(ddb)
                try:
                    ddb.update_item(
                        TableName="leases", Key={"name": S("spec")},
                        UpdateExpression="SET rvn = rvn + :one, w = :me",
                        ConditionExpression="rvn = :cur",
                        ExpressionAttributeValues={
                            ":one": {"N": "1"}, ":cur": cur, ":me": S(me)})
                    wins.append((me, cur["N"]))
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append(e)

        def describer():
            # Table descriptions and state dumps read the items while the
            # writers change them.
            ddb = self.client("dynamodb")
            for _ in range(10):
                try:
                    ddb.describe_table(TableName="leases")
                    self.fa.dynamodb_items("leases")
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append(e)

        threads = [threading.Thread(target=writer, args=("w%d" % i,))
                   for i in range(4)] + [threading.Thread(target=describer)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        final = int(self.get("spec")["rvn"]["N"])
        self.assertEqual(final, len(wins))
        self.assertEqual(sorted(int(v) for _, v in wins), list(range(final)))

    def ddb_get(self, ddb):
        return ddb.get_item(TableName="leases", Key={"name": S("spec")},
                            ConsistentRead=True)["Item"]["rvn"]


class Wire(DdbCase):
    def test_error_envelope(self):
        status, text, hdrs = self.body("DescribeTable", {"TableName": "nope"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text), {
            "__type": "com.amazonaws.dynamodb.v20120810#"
                      "ResourceNotFoundException",
            "message": "Requested resource not found: Table: nope not found"})
        self.assertEqual(hdrs["Content-Type"], "application/x-amz-json-1.0")
        self.assertIn("x-amzn-RequestId", hdrs)

    def test_required_members_and_unknown_operation(self):
        status, text, _ = self.body("GetItem", {"TableName": "leases"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text)["message"],
                         "1 validation error detected: Value null at 'key' "
                         "failed to satisfy constraint: Member must not be "
                         "null")
        status, text, _ = self.body("Frobnicate", {})
        self.assertEqual(json.loads(text)["__type"],
                         "com.amazon.coral.service#UnknownOperationException")

    def test_wrong_signature(self):
        ddb = self.client("dynamodb", secret="not-the-secret")
        r = self.assertError("InvalidSignatureException", ddb.list_tables)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertTrue(r["Error"]["Message"].startswith(
            "The request signature we calculated does not match"))
        status, text, _ = self.body("ListTables", {}, mutate=lambda h: h.update(
            {"X-Amz-Target": "DynamoDB_20120810.DeleteTable"}))
        self.assertEqual(json.loads(text)["__type"],
                         "com.amazon.coral.service#InvalidSignatureException")
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["leases"])

    def test_other_auth_errors(self):
        r = self.assertError("UnrecognizedClientException",
                             self.client("dynamodb", key="AKIANOSUCHKEY000000")
                             .list_tables)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        status, text, _ = self.body("ListTables", {}, service="ec2")
        self.assertEqual(json.loads(text)["message"],
                         "Credential should be scoped to correct service: "
                         "'dynamodb'. ")
        status, text, _ = self.raw(
            {"Content-Type": "application/x-amz-json-1.0",
             "X-Amz-Target": "DynamoDB_20120810.ListTables"}, b"{}")
        self.assertEqual(json.loads(text)["__type"],
                         "com.amazon.coral.service#"
                         "MissingAuthenticationTokenException")

    def test_log_and_counters(self):
        self.fa.reset_counters()
        self.item("a")
        e = self.fa.log()[-1]
        self.assertEqual((e["service"], e["action"], e["status"]),
                         ("dynamodb", "PutItem", 200))
        self.assertEqual(e["params"]["Item"], {"name": S("a")})
        self.assertEqual(e["access_key_id"], DEFAULT_ACCESS_KEY)
        self.assertFalse(e["mutating"])
        self.assertEqual(self.fa.counters()["totals"]["mutating"], 0)


class Faults(DdbCase):
    def setUp(self):
        super().setUp()
        self.fa.call("POST", "/keys", {"access_key_id": OTHER_KEY,
                                       "secret_access_key": OTHER_SECRET})
        self.cut = self.client("dynamodb", key=OTHER_KEY, secret=OTHER_SECRET)

    def test_one_key_cut_off_from_dynamodb_only(self):
        self.fa.set_faults({"actions": {
            "dynamodb:*@" + OTHER_KEY: {"error_503_rate": 1.0}}})
        r = self.assertError("ServiceUnavailable", self.cut.get_item,
                             TableName="leases", Key={"name": S("a")})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertError("ServiceUnavailable", self.cut.put_item,
                         TableName="leases", Item={"name": S("a")})
        self.assertIsNone(self.get("a"))    # the default key still works
        ec2 = self.client("ec2", key=OTHER_KEY, secret=OTHER_SECRET)
        ec2.describe_addresses()            # and EC2 still answers the key
        log = self.fa.log()
        self.assertEqual([e["fault"] for e in log
                          if e["access_key_id"] == OTHER_KEY],
                         ["503", "503", None])

    def test_a_key_cut_off_from_every_service(self):
        self.fa.set_faults({"actions": {
            "*@" + OTHER_KEY: {"script": ["500", "500"]}}})
        self.assertError("InternalServerError", self.cut.list_tables)
        ec2 = self.client("ec2", key=OTHER_KEY, secret=OTHER_SECRET)
        self.assertError("InternalError", ec2.describe_addresses)
        self.ddb.list_tables()
        self.assertEqual(self.fa.dynamodb_items("leases"), [])

    def test_throttle_codes(self):
        self.fa.set_faults({"actions": {
            "PutItem@" + OTHER_KEY: {"script": ["throttle"]},
            "dynamodb:CreateTable": {"script": ["throttle"]},
            "dynamodb:GetItem": {"script": ["throttle", "500"],
                                 "throttle_error": "ThrottlingException"}}})
        self.assertError("ProvisionedThroughputExceededException",
                         self.cut.put_item, TableName="leases",
                         Item={"name": S("a")})
        self.assertError("ThrottlingException", self.ddb.create_table,
                         TableName="table3", KeySchema=KEY,
                         AttributeDefinitions=DEFS,
                         BillingMode="PAY_PER_REQUEST")
        self.assertError("ThrottlingException", self.ddb.get_item,
                         TableName="leases", Key={"name": S("a")})
        r = self.assertError("InternalServerError", self.ddb.get_item,
                             TableName="leases", Key={"name": S("a")})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(self.fa.counters()["totals"]["throttled"], 3)
        self.assertIsNone(self.get("a"))

    def test_botocore_retries_through_throughput_errors(self):
        self.fa.set_faults({"actions": {"dynamodb:PutItem": {
            "script": ["throttle", "throttle"]}}})
        ddb = self.client("dynamodb", retries=3)
        ddb.put_item(TableName="leases", Item={"name": S("a")})
        self.assertEqual(self.fa.counters()["by_action"]["dynamodb:PutItem"]
                         ["count"], 3)

    def test_lose_applies_and_latency_is_scoped(self):
        self.fa.set_faults({"actions": {
            "dynamodb:PutItem@" + OTHER_KEY: {"script": ["lose"]}}})
        with self.assertRaises(Exception):
            self.cut.put_item(TableName="leases", Item={"name": S("a")})
        self.assertIsNotNone(self.get("a"))
        self.assertEqual(self.fa.log()[-2]["fault"], "script:lose")

    def test_bad_rules_are_refused(self):
        from fakeaws_client import ControlError
        with self.assertRaises(ControlError):
            self.fa.set_faults({"actions": {"dynamodb:*": {
                "throttle_error": "Nope"}}})

    def test_scoped_rule_wins_over_the_general_one(self):
        self.fa.set_faults({"actions": {
            "dynamodb:*": {"error_500_rate": 1.0},
            "dynamodb:*@" + DEFAULT_ACCESS_KEY: {"error_500_rate": 0.0}}})
        self.ddb.put_item(TableName="leases", Item={"name": S("a")})
        self.assertError("InternalServerError", self.cut.put_item,
                         TableName="leases", Item={"name": S("b")})


class Endpoint(DdbCase):
    def test_served_at_the_ec2_endpoint_too(self):
        # One endpoint (AWS_ENDPOINT_URL) for every service: DynamoDB goes
        # by its X-Amz-Target, EC2 by its scope, on the same port.
        self.item("a")
        self.assertEqual(self.client("ec2").describe_addresses()
                         ["Addresses"], [])
        self.assertEqual(self.get("a"), {"name": S("a")})



class Atomicity(unittest.TestCase):
    """In process: the first writer is held inside its read-check-write;
    a second writer of the same item must not read before the first one
    wrote (with the table lock it cannot even start)."""

    def test_second_conditional_put_waits_for_the_first(self):
        import dynamodb  # the fake's own modules, on sys.path via testbase
        import server
        from state import State

        st = State()
        t = dynamodb.create_table(st, {
            "TableName": "leases", "KeySchema": KEY,
            "AttributeDefinitions": DEFS,
            "BillingMode": "PAY_PER_REQUEST"}, st.now())
        first_in, second_in, release = (threading.Event(), threading.Event(),
                                        threading.Event())

        class Gate(dict):
            def get(self, k, default=None):
                if not first_in.is_set():
                    first_in.set()
                    release.wait(10)
                else:
                    second_in.set()
                return super().get(k, default)

        t.items = Gate()
        results = []

        def put(holder):
            ctx = server.Context(st, None, None, "rid")
            try:
                dynamodb.op_put_item(ctx, {
                    "TableName": "leases",
                    "Item": {"name": S("spec"), "holder": S(holder)},
                    "ConditionExpression": "attribute_not_exists(#n)",
                    "ExpressionAttributeNames": N})
                results.append(holder)
            except dynamodb.DdbError as e:
                results.append(e.code)

        a = threading.Thread(target=put, args=("r1",))
        a.start()
        self.assertTrue(first_in.wait(10))
        b = threading.Thread(target=put, args=("r2",))
        b.start()
        # Without the lock the second read happens at once; with it, never
        # while the first writer is held. (A slow machine can only make a
        # broken fake pass here, never a correct one fail.)
        second_in.wait(0.5)
        release.set()
        a.join()
        b.join()
        self.assertEqual(results, ["r1", "ConditionalCheckFailedException"])
        self.assertEqual(dict(t.items)[("spec",)]["holder"], S("r1"))
