"""Fault injection, token buckets, counters and the request log."""

import threading
import time

from botocore.exceptions import ClientError, ConnectionClosedError, \
    EndpointConnectionError

from testbase import FakeAwsCase

CONNECTION_ERRORS = (ConnectionClosedError, EndpointConnectionError,
                     ConnectionError)


class Faults(FakeAwsCase):
    def test_scripted_throttle_codes(self):
        self.fa.set_faults({"actions": {
            "ec2:DescribeInstances": {"script": ["throttle", "500", "503"]},
            "elb:*": {"script": ["throttle"]}}})
        ec2 = self.client("ec2")
        r = self.assertError("RequestLimitExceeded", ec2.describe_instances)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 503)
        r = self.assertError("InternalError", ec2.describe_instances)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 500)
        r = self.assertError("Unavailable", ec2.describe_instances)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 503)
        ec2.describe_instances()
        r = self.assertError("Throttling", self.client("elb")
                             .describe_load_balancers)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(r["Error"]["Type"], "Sender")
        c = self.fa.counters()
        self.assertEqual(c["totals"]["throttled"], 2)
        self.assertEqual(c["totals"]["faulted"], 4)
        self.assertEqual(c["by_action"]["ec2:DescribeInstances"]["count"], 4)
        self.assertEqual(c["by_action"]["ec2:DescribeInstances"]["ok"], 1)

    def test_botocore_retries_through_throttling(self):
        self.fa.set_faults({"actions": {"AllocateAddress": {
            "script": ["throttle", "throttle"]}}})
        ec2 = self.client("ec2", retries=3)
        ec2.allocate_address(Domain="vpc")
        c = self.fa.counters()
        self.assertEqual(c["by_action"]["ec2:AllocateAddress"]["count"], 3)
        self.assertEqual(c["totals"]["mutating_applied"], 1)
        self.assertEqual(len(ec2.describe_addresses()["Addresses"]), 1)

    def test_reset_before_apply_changes_nothing(self):
        self.fa.set_faults({"actions": {"AllocateAddress": {
            "script": ["reset"]}}})
        ec2 = self.client("ec2")
        with self.assertRaises(CONNECTION_ERRORS):
            ec2.allocate_address(Domain="vpc")
        self.assertEqual(ec2.describe_addresses()["Addresses"], [])
        self.assertEqual(self.fa.log()[0]["fault"], "script:reset")
        self.assertFalse(self.fa.log()[0]["applied"])

    def test_lost_response_after_apply(self):
        self.fa.set_faults({"actions": {"AllocateAddress": {
            "script": ["lose"]}}})
        ec2 = self.client("ec2")
        with self.assertRaises(CONNECTION_ERRORS):
            ec2.allocate_address(Domain="vpc")
        self.assertEqual(len(ec2.describe_addresses()["Addresses"]), 1)
        self.assertTrue(self.fa.log()[0]["applied"])

    def test_latency_does_not_block_others(self):
        self.fa.set_faults({"actions": {"DescribeInstances": {
            "latency_fixed_ms": 600}}})
        slow = self.client("ec2")
        fast = self.client("sts")
        done = {}

        def run():
            t = time.monotonic()
            slow.describe_instances()
            done["slow"] = time.monotonic() - t
        th = threading.Thread(target=run)
        th.start()
        time.sleep(0.1)
        t = time.monotonic()
        fast.get_caller_identity()
        fast_time = time.monotonic() - t
        th.join()
        self.assertGreaterEqual(done["slow"], 0.6)
        self.assertLess(fast_time, 0.4)

    def outcomes(self, n):
        ec2 = self.client("ec2")
        out = []
        for _ in range(n):
            try:
                ec2.describe_addresses()
                out.append("ok")
            except ClientError as e:
                out.append(e.response["Error"]["Code"])
        return out

    def test_rates_are_reproducible_with_seed(self):
        cfg = {"seed": 42, "global": {"throttle_rate": 0.3,
                                      "error_500_rate": 0.2}}
        self.fa.set_faults(cfg)
        first = self.outcomes(30)
        self.fa.set_faults(cfg)
        second = self.outcomes(30)
        self.assertEqual(first, second)
        self.assertIn("RequestLimitExceeded", first)
        self.assertIn("InternalError", first)
        self.assertIn("ok", first)
        self.fa.set_faults(dict(cfg, seed=43))
        self.assertNotEqual(self.outcomes(30), first)

    def test_ec2_token_bucket(self):
        self.fa.set_faults({"token_buckets": True, "bucket_overrides": {
            "ec2-mutating": {"capacity": 3, "refill_per_second": 0.01}}})
        ec2 = self.client("ec2")
        for _ in range(3):
            ec2.allocate_address(Domain="vpc")
        self.assertError("RequestLimitExceeded", ec2.allocate_address,
                         Domain="vpc")
        # Describe calls use another bucket.
        self.assertEqual(len(ec2.describe_addresses()["Addresses"]), 3)
        self.assertEqual(self.fa.log()[3]["fault"], "token-bucket")

    def test_ec2_unfiltered_bucket_is_separate(self):
        self.fa.set_faults({"token_buckets": True, "bucket_overrides": {
            "ec2-unfiltered": {"capacity": 2, "refill_per_second": 0.01}}})
        ec2 = self.client("ec2")
        ec2.describe_instances()
        ec2.describe_instances()
        self.assertError("RequestLimitExceeded", ec2.describe_instances)
        # Filtered or paginated calls use the larger bucket.
        ec2.describe_instances(MaxResults=5)
        ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                         "Values": ["running"]}])

    def test_elb_registration_and_account_buckets(self):
        self.fa.create_classic_lb(name="web")
        iid = self.instance()
        self.fa.set_faults({"token_buckets": True, "bucket_overrides": {
            "elb-registration": {"capacity": 2, "refill_per_second": 0.01}}})
        elb = self.client("elb")
        for _ in range(2):
            elb.register_instances_with_load_balancer(
                LoadBalancerName="web", Instances=[{"InstanceId": iid}])
        self.assertError("Throttling",
                         elb.register_instances_with_load_balancer,
                         LoadBalancerName="web",
                         Instances=[{"InstanceId": iid}])
        elb.describe_load_balancers()
        faults = self.fa.call("GET", "/faults")
        self.assertEqual(faults["buckets"]["elb-account"]["capacity"], 40)
        self.assertLess(faults["buckets"]["elb-account"]["tokens"], 40)

    def test_dynamodb_bucket_only_when_given(self):
        ddb = self.client("dynamodb")
        self.fa.set_faults({"token_buckets": True})
        for _ in range(5):
            ddb.list_tables()
        self.assertNotIn("dynamodb", self.fa.call("GET", "/faults")["buckets"])
        self.fa.set_faults({"token_buckets": True, "bucket_overrides": {
            "dynamodb": {"capacity": 2, "refill_per_second": 0.01}}})
        ddb.list_tables()
        ddb.list_tables()
        self.assertError("ProvisionedThroughputExceededException",
                         ddb.list_tables)
        self.assertEqual(self.fa.log()[-1]["fault"], "token-bucket")

    def test_bad_fault_config_rejected(self):
        from fakeaws_client import ControlError
        with self.assertRaises(ControlError) as cm:
            self.fa.set_faults({"global": {"throttle_ratee": 1}})
        self.assertEqual(cm.exception.status, 400)


class Counters(FakeAwsCase):
    def test_exact_calls_and_zero_mutating(self):
        ec2 = self.client("ec2")
        ec2.describe_instances()
        ec2.describe_addresses()
        self.client("elbv2").describe_target_groups()
        self.assertEqual(self.fa.calls(), ["ec2:DescribeInstances",
                                           "ec2:DescribeAddresses",
                                           "elbv2:DescribeTargetGroups"])
        c = self.fa.counters()
        self.assertEqual(c["totals"]["mutating"], 0)
        self.assertEqual(c["by_service"]["ec2"]["count"], 2)
        ec2.allocate_address(Domain="vpc")
        c = self.fa.counters()
        self.assertEqual(c["totals"]["mutating"], 1)
        self.assertTrue(c["by_action"]["ec2:AllocateAddress"]["mutating"])
        self.fa.reset_counters()
        self.assertEqual(self.fa.counters()["totals"]["requests"], 0)
        self.assertEqual(self.fa.log(), [])

    def test_connection_reuse_is_counted(self):
        self.fa.reset_counters()
        ec2 = self.client("ec2")
        for _ in range(5):
            ec2.describe_instances()
        # One for the client's five calls, one for this counters() call.
        self.assertEqual(self.fa.counters()["totals"]["connections"], 2)

    def test_log_has_params_but_no_secrets(self):
        self.client("sts").assume_role(
            RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="s1")
        entry = self.fa.log()[-1]
        self.assertEqual(entry["params"]["RoleSessionName"], "s1")
        self.assertEqual(entry["status"], 200)
        self.assertEqual(entry["access_key_id"], "AKIAFAKEAWSEXAMPLE01")
        import json
        text = json.dumps(self.fa.log())
        self.assertNotIn("fakeAWS/secret", text)
        self.assertNotIn("SessionToken", text)
        keys = self.fa.call("GET", "/keys")
        self.assertNotIn("fakeAWS/secret", json.dumps(keys))

    def test_errors_logged_with_code(self):
        ec2 = self.client("ec2")
        self.assertError("InvalidInstanceID.Malformed", ec2.describe_instances,
                         InstanceIds=["i-bad"])
        e = self.fa.log()[-1]
        self.assertEqual((e["status"], e["error_code"]),
                         (400, "InvalidInstanceID.Malformed"))
        self.assertEqual(self.fa.counters()["totals"]["errors"], 1)
