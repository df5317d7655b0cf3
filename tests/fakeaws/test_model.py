"""Model-driven parsing and XML writing, without a server."""

import os
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import model  # noqa: E402
import xmlout  # noqa: E402
from model import ApiError  # noqa: E402


def parse(service, action, params):
    m = model.load(service)
    return m.parse(m.operation(action), params)


class Ec2Parsing(unittest.TestCase):
    def test_flattened_lists_and_filters(self):
        p = parse("ec2", "DescribeInstances", {
            "Filter.1.Name": "tag:role", "Filter.1.Value.1": "web",
            "Filter.2.Name": "instance-state-name",
            "Filter.2.Value.1": "running", "Filter.2.Value.2": "pending",
            "MaxResults": "1000"})
        self.assertEqual(p, {"Filters": [
            {"Name": "tag:role", "Values": ["web"]},
            {"Name": "instance-state-name", "Values": ["running", "pending"]}],
            "MaxResults": 1000})

    def test_indices_sorted_numerically(self):
        p = parse("ec2", "DescribeInstances", {
            "InstanceId.10": "i-10", "InstanceId.2": "i-2",
            "InstanceId.1": "i-1"})
        self.assertEqual(p["InstanceIds"], ["i-1", "i-2", "i-10"])

    def test_tag_specification(self):
        p = parse("ec2", "AllocateAddress", {
            "Domain": "vpc", "TagSpecification.1.ResourceType": "elastic-ip",
            "TagSpecification.1.Tag.1.Key": "Name",
            "TagSpecification.1.Tag.1.Value": "vip-db"})
        self.assertEqual(p["TagSpecifications"], [
            {"ResourceType": "elastic-ip",
             "Tags": [{"Key": "Name", "Value": "vip-db"}]}])

    def test_lowercase_location_name_is_capitalised(self):
        # DescribeNetworkInterfaces' Filters has locationName "filter".
        p = parse("ec2", "DescribeNetworkInterfaces", {
            "Filter.1.Name": "vpc-id", "Filter.1.Value.1": "vpc-1"})
        self.assertEqual(p["Filters"][0]["Values"], ["vpc-1"])
        with self.assertRaises(ApiError) as cm:
            parse("ec2", "DescribeNetworkInterfaces", {"filter.1.Name": "x"})
        self.assertEqual(cm.exception.code, "UnknownParameter")

    def test_errors(self):
        cases = [
            ({"Bogus": "1"}, "UnknownParameter"),
            ({"InstanceId.x": "i-1"}, "UnknownParameter"),
            ({"InstanceId.0": "i-1"}, "UnknownParameter"),
            ({"MaxResults": "5.5"}, "InvalidParameterValue"),
            ({"DryRun": "yes"}, "InvalidParameterValue"),
            ({"Filter.1.Bogus": "x"}, "UnknownParameter"),
        ]
        for params, code in cases:
            with self.subTest(params=params):
                with self.assertRaises(ApiError) as cm:
                    parse("ec2", "DescribeInstances", params)
                self.assertEqual(cm.exception.code, code)
                self.assertEqual(cm.exception.status, 400)

    def test_missing_required(self):
        # CreateTags requires Resources (wire name ResourceId.N) and Tags.
        with self.assertRaises(ApiError) as cm:
            parse("ec2", "CreateTags", {"Tag.1.Key": "a"})
        self.assertEqual(cm.exception.code, "MissingParameter")
        self.assertEqual(cm.exception.message,
                         "The request must contain the parameter ResourceId")
        # AssociationId is documented but not modelled as required.
        self.assertEqual(parse("ec2", "DisassociateAddress", {}), {})


class QueryParsing(unittest.TestCase):
    def test_member_lists(self):
        p = parse("elbv2", "RegisterTargets", {
            "TargetGroupArn": "arn",
            "Targets.member.1.Id": "i-1", "Targets.member.1.Port": "8080",
            "Targets.member.2.Id": "10.0.0.1",
            "Targets.member.2.AvailabilityZone": "all"})
        self.assertEqual(p, {"TargetGroupArn": "arn", "Targets": [
            {"Id": "i-1", "Port": 8080},
            {"Id": "10.0.0.1", "AvailabilityZone": "all"}]})

    def test_empty_list(self):
        p = parse("elb", "DescribeLoadBalancers", {"LoadBalancerNames": ""})
        self.assertEqual(p, {"LoadBalancerNames": []})

    def test_validation_messages(self):
        with self.assertRaises(ApiError) as cm:
            parse("elb", "RegisterInstancesWithLoadBalancer", {})
        e = cm.exception
        self.assertEqual(e.code, "ValidationError")
        self.assertTrue(e.message.startswith("2 validation errors detected: "))
        self.assertIn("Value null at 'loadBalancerName' failed to satisfy "
                      "constraint: Member must not be null", e.message)
        with self.assertRaises(ApiError) as cm:
            parse("elbv2", "RegisterTargets", {
                "TargetGroupArn": "a", "Targets.member.1.Port": "0"})
        self.assertIn("Value null at 'targets.1.member.id'",
                      cm.exception.message)
        self.assertIn("Value '0' at 'targets.1.member.port' failed to satisfy"
                      " constraint: Member must have value greater than or "
                      "equal to 1", cm.exception.message)

    def test_unknown(self):
        for params in ({"Bogus": "1"}, {"LoadBalancerNames.1": "x"},
                       {"LoadBalancerNames.member.x": "y"}):
            with self.subTest(params=params):
                with self.assertRaises(ApiError) as cm:
                    parse("elb", "DescribeLoadBalancers", params)
                self.assertEqual(cm.exception.code, "ValidationError")

    def test_enum(self):
        m = model.load("elbv2")
        # DescribeTargetGroups has no enum input; build one via the shape
        # used by ModifyTargetGroup's HealthCheckProtocol.
        op = m.operation("ModifyTargetGroup")
        with self.assertRaises(ApiError) as cm:
            m.parse(op, {"TargetGroupArn": "a", "HealthCheckProtocol": "FTP"})
        self.assertIn("Member must satisfy enum value set", cm.exception.message)


class XmlWriting(unittest.TestCase):
    def test_ec2_sets_and_items(self):
        m = model.load("ec2")
        op = m.operation("DescribeAddresses")
        body = xmlout.ec2_response(m, op, {"Addresses": [
            {"PublicIp": "198.51.100.1", "AllocationId": "eipalloc-1",
             "Domain": "vpc", "Tags": [{"Key": "Name", "Value": "a&b"}]}]},
            "rid-1")
        root = ET.fromstring(body)
        ns = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
        self.assertEqual(root.tag, ns + "DescribeAddressesResponse")
        self.assertEqual(root.find(ns + "requestId").text, "rid-1")
        item = root.find(ns + "addressesSet/" + ns + "item")
        self.assertEqual(item.find(ns + "publicIp").text, "198.51.100.1")
        tag = item.find(ns + "tagSet/" + ns + "item")
        self.assertEqual(tag.find(ns + "value").text, "a&b")

    def test_query_result_wrapper_and_members(self):
        m = model.load("elb")
        op = m.operation("RegisterInstancesWithLoadBalancer")
        body = xmlout.query_response(m, op, {"Instances": [
            {"InstanceId": "i-1"}]}, "rid-2")
        root = ET.fromstring(body)
        ns = "{http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/}"
        self.assertEqual(root.find(
            ns + "RegisterInstancesWithLoadBalancerResult/" + ns +
            "Instances/" + ns + "member/" + ns + "InstanceId").text, "i-1")
        self.assertEqual(root.find(ns + "ResponseMetadata/" + ns +
                                   "RequestId").text, "rid-2")

    def test_unknown_member_is_a_bug(self):
        m = model.load("ec2")
        with self.assertRaises(KeyError):
            xmlout.ec2_response(m, m.operation("AssociateAddress"),
                                {"Nope": 1}, "r")

    def test_error_envelopes(self):
        e = ET.fromstring(xmlout.ec2_error("X.Y", "m<", "rid"))
        self.assertEqual(e.find("Errors/Error/Code").text, "X.Y")
        self.assertEqual(e.find("RequestID").text, "rid")
        q = ET.fromstring(xmlout.query_error("urn:x", "Throttling", "Rate",
                                             "rid", sender=True))
        self.assertEqual(q.find("{urn:x}Error/{urn:x}Type").text, "Sender")
        self.assertEqual(q.find("{urn:x}RequestId").text, "rid")

    def test_botocore_parses_both(self):
        """botocore's own parsers read what xmlout writes."""
        from botocore import parsers
        from botocore.model import ServiceModel
        import botocore.loaders
        raw = botocore.loaders.create_loader().load_service_model(
            "ec2", "service-2")
        sm = ServiceModel(raw, "ec2")
        m = model.load("ec2")
        body = xmlout.ec2_response(m, m.operation("AllocateAddress"), {
            "PublicIp": "198.51.100.9", "AllocationId": "eipalloc-9",
            "Domain": "vpc"}, "rid")
        parsed = parsers.create_parser("ec2").parse(
            {"body": body, "headers": {}, "status_code": 200},
            sm.operation_model("AllocateAddress").output_shape)
        self.assertEqual(parsed["AllocationId"], "eipalloc-9")
        err = parsers.create_parser("ec2").parse(
            {"body": xmlout.ec2_error("Resource.AlreadyAssociated", "m", "r"),
             "headers": {}, "status_code": 400}, None)
        self.assertEqual(err["Error"]["Code"], "Resource.AlreadyAssociated")


if __name__ == "__main__":
    unittest.main()
