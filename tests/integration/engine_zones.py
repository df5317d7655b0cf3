#!/usr/bin/python3
"""The zone rule against tests/fakeaws.

An instance in an Availability Zone its load balancer does not serve makes
`moor plan` fail at the member's spec line, before any mutating call; with
`enable_zones: true` on a Classic ELB in the default VPC, apply first
enables the zone (EnableAvailabilityZonesForLoadBalancer), then registers;
in another VPC, where AWS enables a zone only by attaching a subnet, it is
an error at the member's line (the VPC is read with EC2 DescribeVpcs, only
when a zone would be enabled).  A target group
checks the zones of its load balancers (ELBv2 DescribeLoadBalancers, read
only when instance targets are to be registered).
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_lib as L  # noqa: E402
from engine_lib import WEB  # noqa: E402

FAR = L.iid(0x41)  # in us-east-1c, which nothing serves

CLASSIC = """\
version: 1
region: us-east-1
load_balancers:
  - classic: web-classic
    ownership: additive
    wait: registered
%(extra)s    members:
      - %(web)s
      - %(far)s
"""

TG = """\
version: 1
region: us-east-1
load_balancers:
  - target_group: api-tg
    members:
      - %(web)s
      - {id: %(far)s, port: 9000}
"""


def world():
    st = L.world()
    st["instances"].append(L._instance(FAR, "far-1", None, "us-east-1c",
                                       "10.0.4.11"))
    return st


class ZonesTest(unittest.TestCase):
    def setUp(self):
        self.e = L.Env(world()).__enter__()
        self.addCleanup(self.e.__exit__)

    def spec(self, text, extra=""):
        return self.e.write("spec.yaml", text % {"web": WEB[0], "far": FAR,
                                                 "extra": extra})

    def zones(self):
        for lb in self.e.dump()["classic_load_balancers"]:
            if lb["name"] == "web-classic":
                return lb["availability_zones"]
        raise KeyError("web-classic")

    def test_classic_zone_is_an_error(self):
        e = self.e
        spec = self.spec(CLASSIC)
        e.fa.reset_counters()
        for args in (["plan"], ["apply", "--yes"]):
            r = e.moor(args[0], spec, *args[1:], expect=1)
            self.assertIn(
                "%s:9:9: cannot register %s with web-classic: instance is "
                "in us-east-1c, which web-classic does not serve (it serves "
                "us-east-1a, us-east-1b); enable the zone on the load "
                "balancer, or set 'enable_zones: true' on this entry"
                % (spec, FAR), r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        self.assertEqual(self.zones(), ["us-east-1a", "us-east-1b"])

    def test_enable_zones_outside_default_vpc(self):
        e = self.e
        spec = self.spec(CLASSIC, "    enable_zones: true\n")
        e.fa.reset_counters()
        for args in (["plan"], ["apply", "--yes"]):
            r = e.moor(args[0], spec, *args[1:], expect=1)
            self.assertIn(
                "%s:10:9: cannot register %s with web-classic: instance is "
                "in us-east-1c, which web-classic does not serve (it serves "
                "us-east-1a, us-east-1b); web-classic is in %s, not the "
                "default VPC, where a zone is enabled by attaching a subnet "
                "in it (aws elb attach-load-balancer-to-subnets), which moor "
                "leaves to you" % (spec, FAR, L.VPC), r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        self.assertEqual(e.fa.calls().count("ec2:DescribeVpcs"), 2)
        self.assertEqual(self.zones(), ["us-east-1a", "us-east-1b"])

    def test_enable_zones_then_register(self):
        e = self.e
        e.fa.set_config(default_vpc_id=L.VPC)
        spec = self.spec(CLASSIC, "    enable_zones: true\n")
        e.fa.reset_counters()
        r = e.moor("plan", spec, "--detailed-exitcode", expect=2)
        self.assertEqual(e.fa.calls().count("ec2:DescribeVpcs"), 1)
        self.assertIn("+ web-classic: enable zone us-east-1c  # "
                      "enable_zones: new members sit in us-east-1c, which "
                      "web-classic does not serve\n", r.stdout)
        self.assertIn("Plan: 1 zone to enable, 2 to register (3 changes, "
                      "1 wait).", r.stdout)
        r = e.moor("plan", spec, "--format", "json", expect=0)
        step = json.loads(r.stdout)["steps"][0]
        self.assertEqual((step["phase"], step["action"], step["zones"]),
                         ("enable-zones", "enable-zones", ["us-east-1c"]))
        e.fa.reset_counters()
        e.moor("apply", spec, "--yes", expect=0)
        self.assertEqual(e.mutations(), [
            "elb:EnableAvailabilityZonesForLoadBalancer",
            "elb:RegisterInstancesWithLoadBalancer"])
        self.assertEqual(self.zones(), ["us-east-1a", "us-east-1b",
                                        "us-east-1c"])
        self.assertIn(FAR, e.members("web-classic"))
        before = e.mutating()
        e.fa.reset_counters()
        e.moor("plan", spec, "--detailed-exitcode", expect=0)
        # No zone to enable: the VPC is not read.
        self.assertEqual(e.fa.calls().count("ec2:DescribeVpcs"), 0)
        e.moor("apply", spec, "--yes", expect=0)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)

    def test_target_group_zone_is_an_error(self):
        e = self.e
        spec = self.spec(TG)
        e.fa.reset_counters()
        r = e.moor("plan", spec, expect=1)
        self.assertIn("%s:7:9: cannot register %s with api-tg: instance is "
                      "in us-east-1c, where its load balancer api-tg-lb has "
                      "no subnet (it serves us-east-1a, us-east-1b)"
                      % (spec, FAR), r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        self.assertEqual(e.fa.calls().count("elbv2:DescribeLoadBalancers"), 1)

    def test_zones_read_only_for_registrations(self):
        e = self.e
        spec = e.write("spec.yaml", TG.replace(
            "      - {id: %(far)s, port: 9000}\n", "") % {"web": WEB[0]})
        e.moor("apply", spec, "--yes", expect=0)
        e.fa.reset_counters()
        e.moor("plan", spec, "--detailed-exitcode", expect=0)
        self.assertEqual(e.fa.calls().count("elbv2:DescribeLoadBalancers"), 0)


if __name__ == "__main__":
    unittest.main()
