#!/usr/bin/python3
"""Every operation of the AWS provider against tests/fakeaws.

Drives $BUILD/tests/tools/provtool (the provider with the real libcurl
transport, signing and credential chain) and checks its answers against the
fake's state, and the requests the fake received (id lists in chunks of
1,000 that drop the ids AWS names as unknown, filters instead of id lists
elsewhere, batching, pagination followed to the end).
"""
import unittest

from aws_common import AwsTestCase

I1, I2, I3, I4 = ("i-0a1b2c3d4e5f6000%d" % i for i in range(1, 5))
VPC = "vpc-0123456789abcdef0"


def params(fa, action):
    return [e["params"] for e in fa.log() if e["action"] == action]


class OpsTest(AwsTestCase):
    def test_identity(self):
        env = self.env
        r = env.result("identity")
        self.assertTrue(r["account"] == "123456789012", r)
        self.assertTrue(
            r["arn"] == "arn:aws:iam::123456789012:user/moor-test", r)
        self.assertTrue(r["credentials"] == "env", r)

    def test_instances_by_id(self):
        env = self.env
        # Unknown and malformed ids are absent, not errors.
        r = env.result("instances", I1, I4, "i-0000000000000dead", "bogus", I1)
        got = {i["id"]: i for i in r}
        self.assertTrue(sorted(got) == [I1, I4], got.keys())
        a = got[I1]
        self.assertTrue(a["state"] == "running" and a["vpc_id"] == VPC, a)
        self.assertTrue(
            a["az"] == "us-east-1a" and a["private_ip"] == "10.0.1.11", a)
        self.assertTrue(a["public_ip"] == "203.0.113.10", a)
        self.assertTrue(
            a["tags"] == {"Name": "web-1", "role": "web", "env": "prod"}, a)
        db = got[I4]
        self.assertTrue(
            [e["id"] for e in db["enis"]] ==
            ["eni-0a1b2c3d4e5f60004", "eni-0a1b2c3d4e5f60005"], db["enis"])
        self.assertTrue(
            db["enis"][0]["private_ips"] == ["10.0.1.20", "10.0.1.21"], db)
        self.assertTrue(db["enis"][0]["device_index"] == 0, db)
        self.assertTrue(db["enis"][1]["device_index"] == 1, db)
        # InstanceId.N, never with MaxResults or a filter.  AWS names the
        # malformed id, then the unknown one: each leaves the next request.
        p = params(env.fa, "DescribeInstances")
        ids = [sorted((k, v) for k, v in x.items()
                      if k.startswith("InstanceId."))
               for x in p]
        self.assertTrue([[v for _, v in x] for x in ids] ==
                        [[I1, I4, "i-0000000000000dead", "bogus"],
                         [I1, I4, "i-0000000000000dead"], [I1, I4]], ids)
        self.assertTrue(all("MaxResults" not in x and "NextToken" not in x and
                            "Filter.1.Name" not in x for x in p), p)

    def test_instances_by_selector(self):
        env = self.env
        r = env.result("select", "role=web", "--state", "running")
        self.assertTrue(sorted(i["id"] for i in r) == [I1, I2], r)
        r = env.result("select", "role=web")
        self.assertTrue(len(r) == 3, r)
        # A wildcard in a tag value is matched literally.
        r = env.result("select", "role=w*")
        self.assertTrue(r == [], r)
        p = params(env.fa, "DescribeInstances")[-1]
        self.assertTrue(p["Filter.1.Name"] == "tag:role" and
                        p["Filter.1.Value.1"] == "w\\*", p)

    def test_pagination_and_chunks(self):
        env = self.env
        fa = env.fa
        bulk = [{"id": "i-%017x" % (0xb000 + k), "tags": {"role": "bulk"},
                 "vpc_id": VPC} for k in range(1100)]
        state = fa.get_state()
        state["instances"] += bulk
        fa.load_state(state)
        fa.reset_counters()
        r = env.result("select", "role=bulk")
        self.assertTrue(
            len(r) == 1100 and len({i["id"] for i in r}) == 1100, len(r))
        p = params(fa, "DescribeInstances")
        self.assertTrue(
            len(p) == 2 and "NextToken" not in p[0] and "NextToken" in p[1],
            [sorted(x) for x in p])
        fa.reset_counters()
        ids = [b["id"] for b in bulk[:450]]
        r = env.result("instances", *ids)
        self.assertTrue(sorted(i["id"] for i in r) == sorted(ids), len(r))
        p = params(fa, "DescribeInstances")
        self.assertTrue(len(p) == 1 and "MaxResults" not in p[0], len(p))
        self.assertTrue(
            sum(1 for k in p[0] if k.startswith("InstanceId.")) == 450, p[0])

    def test_instances_by_id_at_scale(self):
        """2,500 ids, 3 of them unknown, in chunks of 1,000: one request per
        chunk, plus one for each chunk whose unknown ids AWS named (the
        instance-id filter would take 13 requests of 200)."""
        env = self.env
        fa = env.fa
        known = ["i-%017x" % (0xe000 + k) for k in range(2497)]
        state = fa.get_state()
        state["instances"] += [{"id": i, "vpc_id": VPC} for i in known]
        fa.load_state(state)
        unknown = ["i-%017x" % (0xf000 + k) for k in range(3)]
        # Chunks of 1,000 in order: one unknown in the first, two in the last.
        ids = known[:10] + unknown[:1] + known[10:2000] + unknown[1:] + \
            known[2000:]
        self.assertTrue(len(ids) == 2500, len(ids))
        fa.reset_counters()
        docs, _ = env.provtool("--stats", "instances", *ids)
        r = docs[0]["result"]
        self.assertTrue(sorted(i["id"] for i in r) == sorted(known), len(r))
        p = params(fa, "DescribeInstances")
        sizes = sorted(sum(1 for k in x if k.startswith("InstanceId."))
                       for x in p)
        self.assertTrue(sizes == [498, 500, 999, 1000, 1000], sizes)
        self.assertTrue(all("MaxResults" not in x and "Filter.1.Name" not in x
                            for x in p), "a filter or MaxResults was sent")
        self.assertTrue(docs[-1]["stats"]["calls"] == 3 + 2, docs[-1])

    def test_enis_and_status(self):
        env = self.env
        r = env.result("enis", "eni-0a1b2c3d4e5f60005",
                       "eni-00000000000000bad")
        self.assertTrue(len(r) == 1 and r[0]["instance_id"] == I4, r)
        self.assertTrue(r[0]["private_ips"] == ["10.0.3.20"], r)
        r = env.result("status", "--all")
        got = {s["instance_id"]: s for s in r}
        self.assertTrue(sorted(got) == [I1, I2, I3, I4], got)
        self.assertTrue(got[I3]["state"] == "stopped", got[I3])
        self.assertTrue(got[I1]["reachability"] == "passed", got[I1])
        # Running only by default; unknown ids dropped and asked again.
        r = env.result("status", I1, "i-0000000000000dead", I3)
        self.assertTrue([s["instance_id"] for s in r] == [I1], r)

    def test_classic(self):
        env = self.env
        r = env.result("classic", "web-classic", "no-such-classic")
        self.assertTrue(len(r) == 1, r)
        lb = r[0]
        self.assertTrue(
            lb["vpc_id"] == VPC and lb["azs"] == ["us-east-1a", "us-east-1b"],
            lb)
        self.assertTrue([m["instance_id"] for m in lb["members"]] == [I1], lb)
        self.assertTrue(lb["members"][0]["health"] == "healthy", lb)
        r = env.result("register-classic", "web-classic", I2, I2)
        r = env.result("classic", "web-classic")
        m = {x["instance_id"]: x for x in r[0]["members"]}
        self.assertTrue(m[I2]["health"] == "initial", m)
        env.result("deregister-classic", "web-classic", I1)
        r = env.result("classic", "web-classic")
        m = {x["instance_id"]: x for x in r[0]["members"]}
        self.assertTrue(m.get(I1, {}).get("health") in (None, "draining"), m)
        p = params(env.fa, "RegisterInstancesWithLoadBalancer")
        self.assertTrue(p == [{"LoadBalancerName": "web-classic",
                               "Instances.member.1.InstanceId": I2}], p)
        err = env.error("register-classic", "no-such-classic", I1)
        self.assertTrue(err["aws_code"] == "LoadBalancerNotFound", err)
        self.assertTrue(err["request_id"] and not err["retryable"], err)

    def test_target_groups(self):
        env = self.env
        r = env.result("tgs", "web-tg", "web-ip-tg", "no-such-tg")
        got = {t["name"]: t for t in r}
        self.assertTrue(sorted(got) == ["web-ip-tg", "web-tg"], got.keys())
        web = got["web-tg"]
        self.assertTrue(
            web["port"] == 8080 and web["target_type"] == "instance", web)
        self.assertTrue(web["deregistration_delay_s"] == 300, web)
        self.assertTrue(sorted((t["id"], t["port"]) for t in web["targets"]) ==
                        [(I1, 8080), (I2, 9090)], web["targets"])
        ip = got["web-ip-tg"]
        self.assertTrue(
            ip["target_type"] == "ip" and ip["targets"][0]["az"] == "all", ip)
        # By ARN, mixed with a name: the same group once.
        r = env.result("tgs", web["arn"], "web-tg")
        self.assertTrue(len(r) == 1 and r[0]["arn"] == web["arn"], r)
        arn = web["arn"]
        env.result("register-tg", arn, I2 + ":7070", I1)
        r = env.result("tgs", arn)[0]
        ports = {(t["id"], t["port"]): t["health"] for t in r["targets"]}
        self.assertTrue(ports.get((I2, 7070)) == "initial", ports)
        env.result("deregister-tg", arn, I2 + ":7070")
        r = env.result("tgs", arn)[0]
        ports = {(t["id"], t["port"]): t["health"] for t in r["targets"]}
        self.assertTrue(ports.get((I2, 7070)) in (None, "draining"), ports)
        p = params(env.fa, "RegisterTargets")[0]
        self.assertTrue(p["Targets.member.1.Id"] == I2 and
                        p["Targets.member.1.Port"] == "7070" and
                        "Targets.member.2.Port" not in p, p)

    def test_target_group_delay_cached(self):
        """Reads of the same groups by one provider: health every time, the
        deregistration delay once (kept for 5 minutes)."""
        env = self.env
        fa = env.fa
        fa.reset_counters()
        docs, _ = env.provtool("--repeat", "3", "tgs", "web-tg", "web-ip-tg")
        self.assertTrue(docs[0]["runs"] == 3 and docs[0]["ok"] == 3, docs)
        last = {t["name"]: t for t in docs[0]["last"]}
        self.assertTrue(last["web-tg"]["deregistration_delay_s"] == 300, last)
        calls = fa.calls()
        self.assertTrue(calls.count("elbv2:DescribeTargetGroups") == 3, calls)
        self.assertTrue(calls.count("elbv2:DescribeTargetHealth") == 6, calls)
        self.assertTrue(
            calls.count("elbv2:DescribeTargetGroupAttributes") == 2, calls)

    def test_register_batches(self):
        env = self.env
        fa = env.fa
        bulk = [{"id": "i-%017x" % (0xc000 + k), "vpc_id": VPC}
                for k in range(250)]
        state = fa.get_state()
        state["instances"] += bulk
        fa.load_state(state)
        fa.reset_counters()
        arn = env.result("tgs", "web-tg")[0]["arn"]
        env.result("register-tg", arn, *[b["id"] for b in bulk])
        p = params(fa, "RegisterTargets")
        sizes = [sum(1 for k in x if k.endswith(".Id")) for x in p]
        self.assertTrue(sizes == [200, 50], sizes)
        r = env.result("tgs", arn)[0]
        self.assertTrue(len(r["targets"]) == 252, len(r["targets"]))

    def test_addresses(self):
        env = self.env
        r = env.result("addresses")
        self.assertTrue(len(r) == 3, r)
        r = env.result("addresses", "--name", "vip-db", "--alloc",
                       "eipalloc-0a1b2c3d4e5f60001", "--alloc",
                       "eipalloc-00000000000000bad", "--ip", "203.0.113.10")
        got = {a["tags"]["Name"]: a for a in r}
        self.assertTrue(sorted(got) == ["vip-db", "vip-web"], got.keys())
        db = got["vip-db"]
        self.assertTrue(db["eni_id"] == "eni-0a1b2c3d4e5f60004", db)
        self.assertTrue(
            db["private_ip"] == "10.0.1.21" and db["instance_id"] == I4, db)
        self.assertTrue(got["vip-web"]["instance_id"] == I1, got["vip-web"])
        # Filters, one request per kind of key, never AllocationId.N.
        p = params(env.fa, "DescribeAddresses")[1:]
        self.assertTrue(sorted(x["Filter.1.Name"] for x in p) ==
                        ["allocation-id", "public-ip", "tag:Name"], p)

    def test_allocate_associate_disassociate(self):
        env = self.env
        a = env.result("allocate", "Name=vip-new", "team=ops")
        self.assertTrue(
            a["domain"] == "vpc" and
            a["allocation_id"].startswith("eipalloc-"), a)
        self.assertTrue(a["tags"] == {"Name": "vip-new", "team": "ops"}, a)
        p = params(env.fa, "AllocateAddress")
        self.assertTrue(len(p) == 1 and p[0]["Domain"] == "vpc", p)
        self.assertTrue(
            p[0]["TagSpecification.1.ResourceType"] == "elastic-ip", p)
        alloc = a["allocation_id"]
        r = env.result("associate", alloc, "--instance", I2)
        assoc = r["association_id"]
        self.assertTrue(assoc.startswith("eipassoc-"), r)
        # Reassociation refused by request: an error, not retried.
        err = env.error("associate", alloc, "--instance", I1,
                        "--no-reassociation")
        self.assertTrue(err["aws_code"] == "Resource.AlreadyAssociated", err)
        self.assertTrue(
            not err["retryable"] and not err["outcome_unknown"], err)
        p = params(env.fa, "AssociateAddress")
        self.assertTrue(
            [x["AllowReassociation"] for x in p] == ["true", "false"], p)
        # ENI + private IP.
        r = env.result("associate", alloc, "--eni", "eni-0a1b2c3d4e5f60004",
                       "--private-ip", "10.0.1.20")
        r = env.result("addresses", "--alloc", alloc)[0]
        self.assertTrue(r["eni_id"] == "eni-0a1b2c3d4e5f60004" and
                        r["private_ip"] == "10.0.1.20", r)
        env.result("disassociate", r["association_id"])
        r = env.result("addresses", "--alloc", alloc)[0]
        self.assertTrue(
            r["association_id"] is None and r["instance_id"] is None, r)

    def test_aws_errors(self):
        env = self.env
        err = env.error("identity", extra={"AWS_SECRET_ACCESS_KEY": "wrong"})
        self.assertTrue(err["aws_code"] == "SignatureDoesNotMatch", err)
        self.assertTrue(err["http_status"] == 403 and err["request_id"], err)
        err = env.error("instances", I1,
                        extra={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"})
        self.assertTrue(
            err["aws_code"] == "AuthFailure" and not err["retryable"], err)
        self.assertTrue("ec2 DescribeInstances" in err["message"], err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
