"""EC2 semantics through a real botocore client (which also proves that
botocore parses every response the fake sends)."""

from testbase import FakeAwsCase


class DescribeInstances(FakeAwsCase):
    def setUp(self):
        super().setUp()
        self.ec2 = self.client("ec2")

    def ids(self, resp):
        return [i["InstanceId"] for r in resp["Reservations"]
                for i in r["Instances"]]

    def test_fields(self):
        iid = self.instance(tags={"role": "web", "Name": "w1"},
                            vpc_id="vpc-11111111111111111",
                            subnet_id="subnet-22222222222222222",
                            availability_zone="us-east-1b",
                            private_ip="10.1.2.3")
        inst = self.ec2.describe_instances(InstanceIds=[iid])[
            "Reservations"][0]["Instances"][0]
        self.assertEqual(inst["State"], {"Code": 16, "Name": "running"})
        self.assertEqual(inst["VpcId"], "vpc-11111111111111111")
        self.assertEqual(inst["SubnetId"], "subnet-22222222222222222")
        self.assertEqual(inst["Placement"]["AvailabilityZone"], "us-east-1b")
        self.assertEqual(inst["PrivateIpAddress"], "10.1.2.3")
        self.assertEqual({t["Key"]: t["Value"] for t in inst["Tags"]},
                         {"role": "web", "Name": "w1"})
        eni = inst["NetworkInterfaces"][0]
        self.assertRegex(eni["NetworkInterfaceId"], r"^eni-[0-9a-f]{17}$")
        self.assertEqual(eni["PrivateIpAddresses"][0]["PrivateIpAddress"],
                         "10.1.2.3")
        self.assertTrue(eni["PrivateIpAddresses"][0]["Primary"])
        self.assertRegex(iid, r"^i-[0-9a-f]{17}$")

    def test_state_codes(self):
        expected = {"pending": 0, "running": 16, "shutting-down": 32,
                    "terminated": 48, "stopping": 64, "stopped": 80}
        ids = {s: self.instance(state=s) for s in expected}
        resp = self.ec2.describe_instances()
        got = {i["InstanceId"]: i["State"] for r in resp["Reservations"]
               for i in r["Instances"]}
        for s, code in expected.items():
            self.assertEqual(got[ids[s]], {"Code": code, "Name": s})
        # A terminated instance has no network identity any more.
        self.assertNotIn("VpcId", [i for r in resp["Reservations"]
                                   for i in r["Instances"]
                                   if i["InstanceId"] == ids["terminated"]][0])

    def test_filters(self):
        a = self.instance(tags={"role": "web", "env": "prod"})
        b = self.instance(tags={"role": "web", "env": "dev"}, state="stopped")
        c = self.instance(tags={"role": "db"}, vpc_id="vpc-0bbbbbbbbbbbbbbbb",
                          availability_zone="us-east-1c")
        f = self.ec2.describe_instances
        self.assertEqual(sorted(self.ids(f(Filters=[
            {"Name": "tag:role", "Values": ["web"]}]))), sorted([a, b]))
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "tag:role", "Values": ["web"]},
            {"Name": "instance-state-name", "Values": ["running"]}])), [a])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "tag-key", "Values": ["env"]},
            {"Name": "tag:env", "Values": ["d*"]}])), [b])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "vpc-id", "Values": ["vpc-0bbbbbbbbbbbbbbbb"]}])), [c])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "availability-zone", "Values": ["us-east-1c"]}])), [c])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "instance-id", "Values": [a, c]}])), [a, c])
        inst = f(InstanceIds=[a])["Reservations"][0]["Instances"][0]
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "private-ip-address",
             "Values": [inst["PrivateIpAddress"]]}])), [a])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "network-interface.network-interface-id",
             "Values": [inst["NetworkInterfaces"][0]["NetworkInterfaceId"]]}
        ])), [a])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "subnet-id", "Values": [inst["SubnetId"]]},
            {"Name": "instance-state-code", "Values": ["80"]}])), [b])
        self.assertError("InvalidParameterValue", f,
                         Filters=[{"Name": "no-such-filter", "Values": ["x"]}])

    def test_id_errors(self):
        good = self.instance()
        r = self.assertError("InvalidInstanceID.Malformed",
                             self.ec2.describe_instances, InstanceIds=["i-xyz"])
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        r = self.assertError("InvalidInstanceID.NotFound",
                             self.ec2.describe_instances,
                             InstanceIds=[good, "i-0123456789abcdef0"])
        self.assertIn("i-0123456789abcdef0", r["Error"]["Message"])
        self.assertTrue(r["ResponseMetadata"]["RequestId"])

    def test_pagination(self):
        made = [self.instance() for _ in range(23)]
        seen, token, pages = [], None, 0
        while True:
            kw = {"MaxResults": 5}
            if token:
                kw["NextToken"] = token
            resp = self.ec2.describe_instances(**kw)
            seen += self.ids(resp)
            pages += 1
            token = resp.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, made)
        self.assertEqual(pages, 5)
        # botocore's own paginator agrees.
        pag = self.ec2.get_paginator("describe_instances")
        ids = [i["InstanceId"] for page in pag.paginate(
            PaginationConfig={"PageSize": 10})
            for r in page["Reservations"] for i in r["Instances"]]
        self.assertEqual(ids, made)

    def test_pagination_rules(self):
        iid = self.instance()
        self.assertError("InvalidParameterCombination",
                         self.ec2.describe_instances, InstanceIds=[iid],
                         MaxResults=5)
        self.assertError("InvalidParameterValue",
                         self.ec2.describe_instances, MaxResults=4)
        self.assertError("InvalidParameterValue",
                         self.ec2.describe_instances, MaxResults=1001)
        self.assertError("InvalidPaginationToken",
                         self.ec2.describe_instances, NextToken="garbage",
                         MaxResults=5)

    def test_reservations_group_instances(self):
        a = self.instance(reservation_id="r-0aaaaaaaaaaaaaaaa")
        b = self.instance(reservation_id="r-0aaaaaaaaaaaaaaaa")
        resp = self.ec2.describe_instances()
        self.assertEqual(len(resp["Reservations"]), 1)
        self.assertEqual(self.ids(resp), [a, b])
        self.assertEqual(resp["Reservations"][0]["OwnerId"], "123456789012")

    def test_instance_status(self):
        running = self.instance()
        stopped = self.instance(state="stopped")
        st = self.ec2.describe_instance_status()["InstanceStatuses"]
        self.assertEqual([s["InstanceId"] for s in st], [running])
        self.assertEqual(st[0]["InstanceStatus"]["Status"], "ok")
        self.assertEqual(st[0]["InstanceStatus"]["Details"][0],
                         {"Name": "reachability", "Status": "passed"})
        st = self.ec2.describe_instance_status(
            IncludeAllInstances=True)["InstanceStatuses"]
        by_id = {s["InstanceId"]: s for s in st}
        self.assertEqual(by_id[stopped]["InstanceState"]["Name"], "stopped")
        self.assertEqual(by_id[stopped]["InstanceStatus"]["Status"],
                         "not-applicable")
        self.assertError("InvalidParameterValue",
                         self.ec2.describe_instance_status,
                         InstanceIds=["i-%017x" % n for n in range(101)])
        self.assertError("InvalidParameterCombination",
                         self.ec2.describe_instance_status,
                         InstanceIds=[running], MaxResults=5)

    def test_instance_status_checks(self):
        a, b = self.instance(), self.instance()
        stopped = self.instance(state="stopped")
        self.fa.set_status_checks(a, system="impaired")
        self.fa.set_status_checks(b, instance="initializing")
        self.fa.set_status_checks(stopped, instance="impaired")
        st = self.ec2.describe_instance_status(
            InstanceIds=[a, b, stopped],
            IncludeAllInstances=True)["InstanceStatuses"]
        by_id = {s["InstanceId"]: s for s in st}
        self.assertEqual(by_id[a]["SystemStatus"]["Status"], "impaired")
        self.assertEqual(by_id[a]["SystemStatus"]["Details"],
                         [{"Name": "reachability", "Status": "failed"}])
        self.assertEqual(by_id[a]["InstanceStatus"]["Status"], "ok")
        self.assertEqual(by_id[b]["InstanceStatus"]["Status"],
                         "initializing")
        # Checks run only on running instances.
        self.assertEqual(by_id[stopped]["InstanceStatus"]["Status"],
                         "not-applicable")
        # Without IncludeAllInstances only running ones are reported.
        st = self.ec2.describe_instance_status(
            InstanceIds=[a, stopped])["InstanceStatuses"]
        self.assertEqual([s["InstanceId"] for s in st], [a])
        # The status filters follow the checks.
        st = self.ec2.describe_instance_status(Filters=[
            {"Name": "system-status.status", "Values": ["impaired"]}])
        self.assertEqual([s["InstanceId"] for s in st["InstanceStatuses"]],
                         [a])
        self.fa.set_status_checks(a, system=None)
        st = self.ec2.describe_instance_status(InstanceIds=[a])
        self.assertEqual(
            st["InstanceStatuses"][0]["SystemStatus"]["Status"], "ok")
        with self.assertRaises(Exception):
            self.fa.set_status_checks(a, system="broken")

    def test_instance_status_pages(self):
        ids = [self.instance() for _ in range(7)]
        seen, token = [], None
        while True:
            kw = {"MaxResults": 5, "IncludeAllInstances": True}
            if token:
                kw["NextToken"] = token
            resp = self.ec2.describe_instance_status(**kw)
            seen += [s["InstanceId"] for s in resp["InstanceStatuses"]]
            token = resp.get("NextToken")
            if not token:
                break
        self.assertEqual(sorted(seen), sorted(ids))

    def test_network_interfaces(self):
        multi = self.instance(network_interfaces=[
            {"private_ips": ["10.9.0.10", "10.9.0.11"]},
            {"private_ips": ["10.9.1.10"]}])
        other = self.instance()
        enis = self.ec2.describe_network_interfaces(Filters=[
            {"Name": "attachment.instance-id", "Values": [multi]}])[
            "NetworkInterfaces"]
        self.assertEqual(len(enis), 2)
        self.assertEqual(
            [p["PrivateIpAddress"] for p in enis[0]["PrivateIpAddresses"]],
            ["10.9.0.10", "10.9.0.11"])
        self.assertEqual(enis[0]["Attachment"]["InstanceId"], multi)
        self.assertEqual(enis[1]["Attachment"]["DeviceIndex"], 1)
        one = self.ec2.describe_network_interfaces(
            NetworkInterfaceIds=[enis[1]["NetworkInterfaceId"]])
        self.assertEqual(one["NetworkInterfaces"][0]["PrivateIpAddress"],
                         "10.9.1.10")
        allv = self.ec2.describe_network_interfaces(Filters=[
            {"Name": "vpc-id", "Values": [enis[0]["VpcId"]]}])
        self.assertEqual(len(allv["NetworkInterfaces"]), 3)
        self.assertError("InvalidNetworkInterfaceID.NotFound",
                         self.ec2.describe_network_interfaces,
                         NetworkInterfaceIds=["eni-0123456789abcdef0"])
        self.assertTrue(other)


class Vpcs(FakeAwsCase):
    OTHER = "vpc-0bbbbbbbbbbbbbbbb"

    def setUp(self):
        super().setUp()
        self.ec2 = self.client("ec2")
        self.default = "vpc-0a0a0a0a0a0a0a0a0"  # the fake's default

    def ids(self, resp):
        return [v["VpcId"] for v in resp["Vpcs"]]

    def test_default_and_named_vpcs(self):
        self.instance(vpc_id=self.OTHER)
        resp = self.ec2.describe_vpcs(VpcIds=[self.OTHER, self.default])
        got = {v["VpcId"]: v for v in resp["Vpcs"]}
        self.assertEqual(sorted(got), sorted([self.default, self.OTHER]))
        self.assertTrue(got[self.default]["IsDefault"])
        self.assertEqual(got[self.default]["CidrBlock"], "172.31.0.0/16")
        self.assertFalse(got[self.OTHER]["IsDefault"])
        self.assertEqual(got[self.OTHER]["State"], "available")
        self.assertEqual(got[self.OTHER]["OwnerId"], "123456789012")
        # Which VPC is the default is the state's to say.
        self.fa.set_config(default_vpc_id=self.OTHER)
        self.assertTrue(self.ec2.describe_vpcs(VpcIds=[self.OTHER])[
            "Vpcs"][0]["IsDefault"])

    def test_filters_leave_unknown_ids_out(self):
        self.fa.create_classic_lb(name="web", vpc_id=self.OTHER)
        f = self.ec2.describe_vpcs
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "vpc-id", "Values": [self.OTHER,
                                          "vpc-0cccccccccccccccc"]}],
            MaxResults=5)), [self.OTHER])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "is-default", "Values": ["true"]}])), [self.default])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "is-default", "Values": ["false"]}])), [self.OTHER])
        self.assertEqual(self.ids(f(Filters=[
            {"Name": "tag:Name", "Values": ["x"]}])), [])
        self.assertError("InvalidParameterValue", f,
                         Filters=[{"Name": "nope", "Values": ["x"]}])

    def test_id_errors_and_pagination(self):
        self.assertError("InvalidVpcID.NotFound", self.ec2.describe_vpcs,
                         VpcIds=["vpc-0cccccccccccccccc"])
        self.assertError("InvalidVpcID.Malformed", self.ec2.describe_vpcs,
                         VpcIds=["vpc-xyz"])
        others = ["vpc-%017x" % n for n in range(1, 8)]
        for v in others:
            self.instance(vpc_id=v)
        made = sorted(others + [self.default])
        pag = self.ec2.get_paginator("describe_vpcs")
        pages = list(pag.paginate(PaginationConfig={"PageSize": 5}))
        self.assertEqual(len(pages), 2)
        self.assertEqual([v["VpcId"] for p in pages for v in p["Vpcs"]],
                         made)
        status, body, _ = self.raw_signed(
            "Action=DescribeVpcs&Version=2016-11-15&MaxResults=4")
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidParameterValue</Code>", body)


class Addresses(FakeAwsCase):
    def setUp(self):
        super().setUp()
        self.ec2 = self.client("ec2")

    def allocate(self, name=None):
        kw = {"Domain": "vpc"}
        if name:
            kw["TagSpecifications"] = [{"ResourceType": "elastic-ip",
                                        "Tags": [{"Key": "Name",
                                                  "Value": name}]}]
        return self.ec2.allocate_address(**kw)

    def address(self, alloc):
        return self.ec2.describe_addresses(AllocationIds=[alloc])[
            "Addresses"][0]

    def test_allocate_unique_tagged(self):
        a = self.allocate("vip-db")
        b = self.allocate()
        self.assertRegex(a["AllocationId"], r"^eipalloc-[0-9a-f]{17}$")
        self.assertEqual(a["Domain"], "vpc")
        self.assertNotEqual(a["PublicIp"], b["PublicIp"])
        self.assertTrue(a["PublicIp"].startswith("198.51.100."))
        got = self.ec2.describe_addresses(Filters=[
            {"Name": "tag:Name", "Values": ["vip-db"]}])["Addresses"]
        self.assertEqual([x["AllocationId"] for x in got], [a["AllocationId"]])
        self.assertEqual(got[0]["Tags"], [{"Key": "Name", "Value": "vip-db"}])
        self.assertError("InvalidParameterValue", self.ec2.allocate_address,
                         Domain="vpc", TagSpecifications=[
                             {"ResourceType": "instance",
                              "Tags": [{"Key": "a", "Value": "b"}]}])

    def test_pool_rolls_over_to_second_range(self):
        self.fa.set_config(address_pool=["198.51.100.0/30", "203.0.113.0/24"])
        ips = [self.allocate()["PublicIp"] for _ in range(3)]
        self.assertEqual(ips, ["198.51.100.1", "198.51.100.2", "203.0.113.1"])

    def test_address_limit(self):
        self.fa.set_config(address_limit=1)
        self.allocate()
        self.assertError("AddressLimitExceeded", self.allocate)

    def test_associate_instance_and_describe(self):
        iid = self.instance()
        a = self.allocate()
        assoc = self.ec2.associate_address(AllocationId=a["AllocationId"],
                                           InstanceId=iid)["AssociationId"]
        self.assertRegex(assoc, r"^eipassoc-[0-9a-f]{17}$")
        addr = self.address(a["AllocationId"])
        self.assertEqual(addr["InstanceId"], iid)
        self.assertEqual(addr["AssociationId"], assoc)
        inst = self.ec2.describe_instances(InstanceIds=[iid])[
            "Reservations"][0]["Instances"][0]
        self.assertEqual(inst["PublicIpAddress"], a["PublicIp"])
        self.assertEqual(addr["PrivateIpAddress"], inst["PrivateIpAddress"])
        for name, value in [("instance-id", iid), ("association-id", assoc),
                            ("public-ip", a["PublicIp"]),
                            ("network-interface-id",
                             addr["NetworkInterfaceId"]),
                            ("private-ip-address", addr["PrivateIpAddress"])]:
            got = self.ec2.describe_addresses(Filters=[
                {"Name": name, "Values": [value]}])["Addresses"]
            self.assertEqual(len(got), 1, name)
        self.ec2.disassociate_address(AssociationId=assoc)
        addr = self.address(a["AllocationId"])
        self.assertNotIn("InstanceId", addr)
        self.assertNotIn("AssociationId", addr)
        self.assertError("InvalidAssociationID.NotFound",
                         self.ec2.disassociate_address, AssociationId=assoc)

    def test_reassociation(self):
        i1, i2 = self.instance(), self.instance()
        a = self.allocate()["AllocationId"]
        first = self.ec2.associate_address(AllocationId=a, InstanceId=i1)[
            "AssociationId"]
        r = self.assertError("Resource.AlreadyAssociated",
                             self.ec2.associate_address, AllocationId=a,
                             InstanceId=i2, AllowReassociation=False)
        self.assertIn(first, r["Error"]["Message"])
        self.assertEqual(self.address(a)["InstanceId"], i1)
        # Same target again is idempotent, even without reassociation.
        same = self.ec2.associate_address(AllocationId=a, InstanceId=i1,
                                          AllowReassociation=False)
        self.assertEqual(same["AssociationId"], first)
        moved = self.ec2.associate_address(AllocationId=a, InstanceId=i2,
                                           AllowReassociation=True)
        self.assertNotEqual(moved["AssociationId"], first)
        self.assertEqual(self.address(a)["InstanceId"], i2)

    def test_associating_displaces_previous_address(self):
        iid = self.instance()
        a = self.allocate()["AllocationId"]
        b = self.allocate()["AllocationId"]
        self.ec2.associate_address(AllocationId=a, InstanceId=iid)
        self.ec2.associate_address(AllocationId=b, InstanceId=iid)
        self.assertNotIn("InstanceId", self.address(a))
        self.assertEqual(self.address(b)["InstanceId"], iid)

    def test_eni_and_private_ip(self):
        iid = self.instance(network_interfaces=[
            {"private_ips": ["10.5.0.10", "10.5.0.11"]},
            {"private_ips": ["10.5.1.10"]}])
        a = self.allocate()["AllocationId"]
        r = self.assertError("InvalidInstanceID", self.ec2.associate_address,
                             AllocationId=a, InstanceId=iid)
        self.assertIn("multiple interfaces", r["Error"]["Message"])
        enis = self.ec2.describe_network_interfaces(Filters=[
            {"Name": "attachment.instance-id", "Values": [iid]}])[
            "NetworkInterfaces"]
        eni = enis[0]["NetworkInterfaceId"]
        self.ec2.associate_address(AllocationId=a, NetworkInterfaceId=eni,
                                   PrivateIpAddress="10.5.0.11")
        addr = self.address(a)
        self.assertEqual((addr["NetworkInterfaceId"], addr["PrivateIpAddress"],
                          addr["InstanceId"]), (eni, "10.5.0.11", iid))
        self.assertError("InvalidParameterValue", self.ec2.associate_address,
                         AllocationId=a, NetworkInterfaceId=eni,
                         PrivateIpAddress="10.5.9.9")
        self.assertError("InvalidNetworkInterfaceID.NotFound",
                         self.ec2.associate_address, AllocationId=a,
                         NetworkInterfaceId="eni-0123456789abcdef0")

    def test_instance_state_rules(self):
        a = self.allocate()["AllocationId"]
        stopped = self.instance(state="stopped")
        self.ec2.associate_address(AllocationId=a, InstanceId=stopped)
        for state in ("pending", "stopping", "shutting-down", "terminated"):
            iid = self.instance(state=state)
            self.assertError("IncorrectInstanceState",
                             self.ec2.associate_address, AllocationId=a,
                             InstanceId=iid)
        # An address stays on a stopped VPC instance; termination drops it.
        running = self.instance()
        self.ec2.associate_address(AllocationId=a, InstanceId=running)
        self.fa.set_instance_state(running, "stopped")
        self.assertEqual(self.address(a)["InstanceId"], running)
        self.fa.set_instance_state(running, "terminated")
        self.assertNotIn("InstanceId", self.address(a))

    def test_misuse_errors(self):
        iid = self.instance()
        self.assertError("InvalidAllocationID.NotFound",
                         self.ec2.associate_address,
                         AllocationId="eipalloc-0123456789abcdef0",
                         InstanceId=iid)
        a = self.allocate()["AllocationId"]
        self.assertError("InvalidInstanceID.NotFound",
                         self.ec2.associate_address, AllocationId=a,
                         InstanceId="i-0123456789abcdef0")
        self.assertError("InvalidInstanceID.Malformed",
                         self.ec2.associate_address, AllocationId=a,
                         InstanceId="i-nothex")
        self.assertError("MissingParameter", self.ec2.associate_address,
                         AllocationId=a)
        self.assertError("InvalidAllocationID.NotFound",
                         self.ec2.describe_addresses,
                         AllocationIds=["eipalloc-0123456789abcdef0"])
        self.assertError("InvalidAddress.NotFound",
                         self.ec2.describe_addresses, PublicIps=["192.0.2.1"])

    def test_release(self):
        iid = self.instance()
        a = self.allocate()["AllocationId"]
        assoc = self.ec2.associate_address(AllocationId=a, InstanceId=iid)[
            "AssociationId"]
        self.assertError("InvalidIPAddress.InUse", self.ec2.release_address,
                         AllocationId=a)
        self.ec2.disassociate_address(AssociationId=assoc)
        self.ec2.release_address(AllocationId=a)
        self.assertEqual(self.ec2.describe_addresses()["Addresses"], [])

    def test_dry_run(self):
        self.assertError("DryRunOperation", self.ec2.allocate_address,
                         Domain="vpc", DryRun=True)
        self.assertEqual(self.ec2.describe_addresses()["Addresses"], [])


class WireErrors(FakeAwsCase):
    """Requests botocore would never send, signed by hand."""

    def send(self, body, service="ec2"):
        return self.raw_signed(body, service)

    def test_unknown_parameter(self):
        status, body, _h = self.send("Action=DescribeInstances&Version=2016-11-15"
                                 "&Bogus=1")
        self.assertEqual(status, 400)
        self.assertIn("<Code>UnknownParameter</Code>", body)
        self.assertIn("<RequestID>", body)
        self.assertIn("The parameter Bogus is not recognized", body)

    def test_wrong_type(self):
        status, body, _h = self.send("Action=DescribeInstances&Version=2016-11-15"
                                 "&MaxResults=ten")
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidParameterValue</Code>", body)
        status, body, _h = self.send("Action=AssociateAddress&Version=2016-11-15"
                                 "&AllocationId=eipalloc-0123456789abcdef0"
                                 "&AllowReassociation=maybe")
        self.assertIn("<Code>InvalidParameterValue</Code>", body)

    def test_unknown_action(self):
        status, body, _h = self.send("Action=RunInstances2&Version=2016-11-15")
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidAction</Code>", body)

    def test_missing_required(self):
        status, body, _h = self.send("Action=DisassociateAddress"
                                 "&Version=2016-11-15&DryRun=false")
        self.assertEqual(status, 400)
        self.assertIn("<Code>MissingParameter</Code>", body)
        # EC2's own wire names: Filter.N.Value.M and InstanceId.N.
        status, body, _h = self.send(
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name="
            "instance-state-name&Filter.1.Value.1=running&InstanceId.1="
            "i-0123456789abcdef0")
        self.assertIn("InvalidInstanceID.NotFound", body)
        status, body, _h = self.send(
            "Action=DescribeInstances&Version=2016-11-15&Filters.1.Name=x")
        self.assertIn("The parameter Filters is not recognized", body)
