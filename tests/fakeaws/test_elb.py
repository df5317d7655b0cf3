"""Classic ELB and ELBv2 semantics, health timing and pagination."""

import time

from testbase import FakeAwsCase


class ClassicElb(FakeAwsCase):
    def setUp(self):
        super().setUp()
        self.elb = self.client("elb")
        self.fa.create_classic_lb(name="web", vpc_id="vpc-0aaaaaaaaaaaaaaaa",
                                  availability_zones=["us-east-1a",
                                                      "us-east-1b"])

    def inst(self, **kw):
        kw.setdefault("vpc_id", "vpc-0aaaaaaaaaaaaaaaa")
        return self.instance(**kw)

    def health(self, **kw):
        return {s["InstanceId"]: s for s in self.elb.describe_instance_health(
            LoadBalancerName="web", **kw)["InstanceStates"]}

    def test_register_and_health_delay(self):
        a = self.inst()
        out = self.elb.register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": a}])
        self.assertEqual(out["Instances"], [{"InstanceId": a}])
        h = self.health()[a]
        self.assertEqual((h["State"], h["ReasonCode"], h["Description"]),
                         ("OutOfService", "ELB",
                          "Instance registration is still in progress."))
        time.sleep(0.6)
        h = self.health()[a]
        self.assertEqual((h["State"], h["ReasonCode"]), ("InService", "N/A"))
        lb = self.elb.describe_load_balancers(LoadBalancerNames=["web"])[
            "LoadBalancerDescriptions"][0]
        self.assertEqual(lb["Instances"], [{"InstanceId": a}])
        self.assertEqual(lb["VPCId"], "vpc-0aaaaaaaaaaaaaaaa")
        self.assertEqual(lb["AvailabilityZones"], ["us-east-1a", "us-east-1b"])

    def test_az_not_served_and_stopped(self):
        far = self.inst(availability_zone="us-east-1c")
        stopped = self.inst()
        self.elb.register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": far},
                                               {"InstanceId": stopped}])
        self.fa.set_instance_state(stopped, "stopped")
        time.sleep(0.6)
        h = self.health()
        self.assertEqual(h[far]["State"], "OutOfService")
        self.assertIn("Availability Zone", h[far]["Description"])
        self.assertEqual(h[stopped]["Description"],
                         "Instance is in stopped state.")

    def test_forced_health_and_clear(self):
        a = self.inst()
        self.elb.register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": a}])
        time.sleep(0.6)
        self.fa.set_instance_health("web", a, "OutOfService")
        self.assertEqual(self.health()[a]["State"], "OutOfService")
        self.fa.set_instance_health("web", a, None)
        self.assertEqual(self.health()[a]["State"], "InService")

    def test_deregister_and_named_unregistered(self):
        a, b = self.inst(), self.inst()
        self.elb.register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": a},
                                               {"InstanceId": b}])
        out = self.elb.deregister_instances_from_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": a}])
        self.assertEqual(out["Instances"], [{"InstanceId": b}])
        h = self.health(Instances=[{"InstanceId": a}])
        self.assertEqual(h[a]["Description"],
                         "Instance is not currently registered with the "
                         "LoadBalancer.")

    def test_errors(self):
        a = self.inst()
        self.assertError("LoadBalancerNotFound",
                         self.elb.register_instances_with_load_balancer,
                         LoadBalancerName="nope",
                         Instances=[{"InstanceId": a}])
        other_vpc = self.instance(vpc_id="vpc-0bbbbbbbbbbbbbbbb")
        r = self.assertError("InvalidInstance",
                             self.elb.register_instances_with_load_balancer,
                             LoadBalancerName="web",
                             Instances=[{"InstanceId": other_vpc}])
        self.assertEqual(r["Error"]["Type"], "Sender")
        self.assertError("InvalidInstance",
                         self.elb.register_instances_with_load_balancer,
                         LoadBalancerName="web",
                         Instances=[{"InstanceId": "i-0123456789abcdef0"}])
        self.assertError("LoadBalancerNotFound",
                         self.elb.describe_load_balancers,
                         LoadBalancerNames=["nope"])

    def test_pagination(self):
        for n in range(6):
            self.fa.create_classic_lb(name="lb%d" % n)
        names, marker = [], None
        while True:
            kw = {"PageSize": 4}
            if marker:
                kw["Marker"] = marker
            r = self.elb.describe_load_balancers(**kw)
            names += [d["LoadBalancerName"]
                      for d in r["LoadBalancerDescriptions"]]
            marker = r.get("NextMarker")
            if not marker:
                break
        self.assertEqual(names, ["web"] + ["lb%d" % n for n in range(6)])
        pag = self.elb.get_paginator("describe_load_balancers")
        self.assertEqual(len([d for p in pag.paginate(
            PaginationConfig={"PageSize": 2})
            for d in p["LoadBalancerDescriptions"]]), 7)
        self.assertError("ValidationError", self.elb.describe_load_balancers,
                         PageSize=401)

    def test_enable_zones(self):
        far = self.inst(availability_zone="us-east-1c")
        # Only in EC2-Classic or the default VPC ("For load balancers in a
        # non-default VPC, use AttachLoadBalancerToSubnets").
        r = self.assertError(
            "InvalidConfigurationRequest",
            self.elb.enable_availability_zones_for_load_balancer,
            LoadBalancerName="web", AvailabilityZones=["us-east-1c"])
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.assertIn("AttachLoadBalancerToSubnets", r["Error"]["Message"])
        lb = self.elb.describe_load_balancers(LoadBalancerNames=["web"])[
            "LoadBalancerDescriptions"][0]
        self.assertEqual(lb["AvailabilityZones"], ["us-east-1a", "us-east-1b"])
        self.fa.set_config(default_vpc_id="vpc-0aaaaaaaaaaaaaaaa")
        out = self.elb.enable_availability_zones_for_load_balancer(
            LoadBalancerName="web", AvailabilityZones=["us-east-1c"])
        self.assertEqual(out["AvailabilityZones"],
                         ["us-east-1a", "us-east-1b", "us-east-1c"])
        # Enabling an enabled zone changes nothing.
        out = self.elb.enable_availability_zones_for_load_balancer(
            LoadBalancerName="web", AvailabilityZones=["us-east-1a",
                                                       "us-east-1c"])
        self.assertEqual(out["AvailabilityZones"],
                         ["us-east-1a", "us-east-1b", "us-east-1c"])
        lb = self.elb.describe_load_balancers(LoadBalancerNames=["web"])[
            "LoadBalancerDescriptions"][0]
        self.assertEqual(lb["AvailabilityZones"],
                         ["us-east-1a", "us-east-1b", "us-east-1c"])
        # An instance there now gets traffic.
        self.elb.register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": far}])
        time.sleep(0.6)
        self.assertEqual(self.health()[far]["State"], "InService")
        self.assertError("LoadBalancerNotFound",
                         self.elb.enable_availability_zones_for_load_balancer,
                         LoadBalancerName="nope",
                         AvailabilityZones=["us-east-1c"])
        # Both parameters are required by the model.
        status, body, _ = self.raw_signed(
            "Action=EnableAvailabilityZonesForLoadBalancer&Version=2012-06-01"
            "&LoadBalancerName=web", service="elasticloadbalancing")
        self.assertEqual(status, 400)
        self.assertIn("<Code>ValidationError</Code>", body)
        self.assertIn("availabilityZones", body)

    def test_attributes(self):
        self.fa.create_classic_lb(name="drain", connection_draining={
            "enabled": True, "timeout": 120})
        attrs = self.elb.describe_load_balancer_attributes(
            LoadBalancerName="drain")["LoadBalancerAttributes"]
        self.assertEqual(attrs["ConnectionDraining"],
                         {"Enabled": True, "Timeout": 120})

    def test_validation_wire_errors(self):
        status, body, headers = self.raw_signed(
            "Action=DescribeInstanceHealth&Version=2012-06-01",
            service="elasticloadbalancing")
        self.assertEqual(status, 400)
        self.assertIn("<Code>ValidationError</Code>", body)
        self.assertIn("Value null at 'loadBalancerName' failed to satisfy "
                      "constraint: Member must not be null", body)
        self.assertIn("<Type>Sender</Type>", body)
        self.assertIn("x-amzn-RequestId", headers)
        status, body, _ = self.raw_signed(
            "Action=DescribeTargetGroups&Version=2012-06-01",
            service="elasticloadbalancing")
        self.assertIn("<Code>InvalidAction</Code>", body)
        self.assertIn("Could not find operation DescribeTargetGroups for "
                      "version 2012-06-01", body)
        status, body, _ = self.raw_signed(
            "Action=DescribeLoadBalancers&Version=2012-06-01&PageSize=abc",
            service="elasticloadbalancing")
        self.assertIn("<Code>ValidationError</Code>", body)
        status, body, _ = self.raw_signed(
            "Action=DescribeLoadBalancers&Version=2012-06-01&Bogus=1",
            service="elasticloadbalancing")
        self.assertEqual(status, 400)
        self.assertIn("Bogus", body)
        status, body, _ = self.raw_signed(
            "Action=DescribeLoadBalancers&Version=2012-06-01&"
            "LoadBalancerNames.member.1=web",
            service="elasticloadbalancing")
        self.assertEqual(status, 200)
        self.assertIn("<DescribeLoadBalancersResult>", body)
        self.assertIn("<ResponseMetadata><RequestId>", body)


class TargetGroups(FakeAwsCase):
    def setUp(self):
        super().setUp()
        self.v2 = self.client("elbv2")
        self.tg = self.fa.create_target_group(
            name="web-tg", vpc_id="vpc-0aaaaaaaaaaaaaaaa", port=80,
            deregistration_delay=1)
        self.arn = self.tg["arn"]

    def inst(self, **kw):
        kw.setdefault("vpc_id", "vpc-0aaaaaaaaaaaaaaaa")
        return self.instance(**kw)

    def health(self, **kw):
        return [(d["Target"]["Id"], d["Target"]["Port"],
                 d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
                for d in self.v2.describe_target_health(
                    TargetGroupArn=self.arn, **kw)["TargetHealthDescriptions"]]

    def test_describe(self):
        self.assertRegex(self.arn, r"^arn:aws:elasticloadbalancing:us-east-1:"
                         r"123456789012:targetgroup/web-tg/[0-9a-f]{16}$")
        by_name = self.v2.describe_target_groups(Names=["web-tg"])[
            "TargetGroups"][0]
        self.assertEqual(by_name["TargetGroupArn"], self.arn)
        self.assertEqual((by_name["VpcId"], by_name["TargetType"],
                          by_name["Port"]),
                         ("vpc-0aaaaaaaaaaaaaaaa", "instance", 80))
        by_arn = self.v2.describe_target_groups(TargetGroupArns=[self.arn])
        self.assertEqual(by_arn["TargetGroups"][0]["TargetGroupName"],
                         "web-tg")
        self.assertError("TargetGroupNotFound",
                         self.v2.describe_target_groups, Names=["nope"])
        attrs = self.v2.describe_target_group_attributes(
            TargetGroupArn=self.arn)["Attributes"]
        self.assertIn({"Key": "deregistration_delay.timeout_seconds",
                       "Value": "1"}, attrs)

    def test_pagination(self):
        for n in range(5):
            self.fa.create_target_group(name="tg%d" % n)
        pag = self.v2.get_paginator("describe_target_groups")
        pages = list(pag.paginate(PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 3)
        self.assertEqual([t["TargetGroupName"] for p in pages
                          for t in p["TargetGroups"]],
                         ["web-tg"] + ["tg%d" % n for n in range(5)])
        self.assertNotIn("NextMarker", pages[-1])

    def test_lifecycle(self):
        a = self.inst()
        self.v2.register_targets(TargetGroupArn=self.arn, Targets=[
            {"Id": a}, {"Id": a, "Port": 8080}])
        self.assertEqual(sorted(self.health()), [
            (a, 80, "initial", "Elb.RegistrationInProgress"),
            (a, 8080, "initial", "Elb.RegistrationInProgress")])
        time.sleep(0.6)
        self.assertEqual(sorted(self.health()), [
            (a, 80, "healthy", None), (a, 8080, "healthy", None)])
        self.fa.set_target_health(self.arn, a, "unhealthy", port=8080)
        self.assertIn((a, 8080, "unhealthy", "Target.FailedHealthChecks"),
                      self.health())
        self.fa.set_target_health(self.arn, a, None, port=8080)
        self.v2.deregister_targets(TargetGroupArn=self.arn,
                                   Targets=[{"Id": a, "Port": 8080}])
        self.assertIn((a, 8080, "draining", "Target.DeregistrationInProgress"),
                      self.health())
        time.sleep(1.1)
        self.assertEqual(self.health(), [(a, 80, "healthy", None)])
        # Filtering on a target that is not registered.
        self.assertEqual(self.health(Targets=[{"Id": a, "Port": 9000}]),
                         [(a, 9000, "unused", "Target.NotRegistered")])

    def test_stopped_target_unused(self):
        a = self.inst()
        self.v2.register_targets(TargetGroupArn=self.arn, Targets=[{"Id": a}])
        self.fa.set_instance_state(a, "stopped")
        self.assertEqual(self.health(), [(a, 80, "unused",
                                          "Target.InvalidState")])

    def test_deregistration_delay_scale(self):
        self.fa.set_config(deregistration_delay_scale=0.5)
        a = self.inst()
        self.v2.register_targets(TargetGroupArn=self.arn, Targets=[{"Id": a}])
        self.v2.deregister_targets(TargetGroupArn=self.arn,
                                   Targets=[{"Id": a}])
        self.assertEqual(self.health()[0][2], "draining")
        time.sleep(0.6)
        self.assertEqual(self.health(), [])

    def test_register_errors(self):
        other = self.instance(vpc_id="vpc-0bbbbbbbbbbbbbbbb")
        stopped = self.inst(state="stopped")
        r = self.assertError("InvalidTarget", self.v2.register_targets,
                             TargetGroupArn=self.arn,
                             Targets=[{"Id": other}])
        self.assertIn("VPC", r["Error"]["Message"])
        r = self.assertError("InvalidTarget", self.v2.register_targets,
                             TargetGroupArn=self.arn,
                             Targets=[{"Id": stopped}])
        self.assertIn("running state", r["Error"]["Message"])
        self.assertError("InvalidTarget", self.v2.register_targets,
                         TargetGroupArn=self.arn,
                         Targets=[{"Id": "i-0123456789abcdef0"}])
        self.assertError("TargetGroupNotFound", self.v2.register_targets,
                         TargetGroupArn=self.arn + "0",
                         Targets=[{"Id": stopped}])
        self.assertError("ValidationError", self.v2.register_targets,
                         TargetGroupArn=self.arn,
                         Targets=[{"Id": stopped, "Port": 70000}])
        self.assertEqual(self.health(), [])

    def test_ip_targets(self):
        tg = self.fa.create_target_group(name="ip-tg", target_type="ip",
                                         port=8080)
        self.v2.register_targets(TargetGroupArn=tg["arn"], Targets=[
            {"Id": "10.0.3.7", "AvailabilityZone": "all"},
            {"Id": "10.0.3.8", "Port": 9090}])
        d = self.v2.describe_target_health(TargetGroupArn=tg["arn"])[
            "TargetHealthDescriptions"]
        self.assertEqual([(x["Target"]["Id"], x["Target"]["Port"],
                           x["Target"].get("AvailabilityZone")) for x in d],
                         [("10.0.3.7", 8080, "all"),
                          ("10.0.3.8", 9090, None)])
        self.assertError("ValidationError", self.v2.register_targets,
                         TargetGroupArn=tg["arn"], Targets=[{"Id": "nope"}])

    def test_load_balancers_by_arn(self):
        lb = self.fa.create_v2_lb(name="two", availability_zones=[
            "us-east-1a", "us-east-1c"])
        got = self.v2.describe_load_balancers(
            LoadBalancerArns=[lb["arn"]])["LoadBalancers"]
        self.assertEqual([z["ZoneName"] for z in got[0]["AvailabilityZones"]],
                         ["us-east-1a", "us-east-1c"])
        # An ALB spans at least two zones: the default has two.
        mine = self.v2.describe_load_balancers(
            LoadBalancerArns=self.tg["load_balancer_arns"])["LoadBalancers"]
        self.assertEqual([z["ZoneName"] for z in mine[0]["AvailabilityZones"]],
                         ["us-east-1a", "us-east-1b"])
        self.assertError("LoadBalancerNotFound",
                         self.v2.describe_load_balancers,
                         LoadBalancerArns=[lb["arn"] + "0"])

    def test_load_balancers(self):
        lbs = self.v2.describe_load_balancers()["LoadBalancers"]
        self.assertEqual([lb["LoadBalancerArn"] for lb in lbs],
                         self.tg["load_balancer_arns"])
        tgs = self.v2.describe_target_groups(
            LoadBalancerArn=lbs[0]["LoadBalancerArn"])["TargetGroups"]
        self.assertEqual([t["TargetGroupName"] for t in tgs], ["web-tg"])
