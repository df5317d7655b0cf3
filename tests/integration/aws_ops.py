#!/usr/bin/python3
"""Every operation of the AWS provider against tests/fakeaws.

Drives $BUILD/tests/tools/provtool (the provider with the real libcurl
transport, signing and credential chain) and checks its answers against the
fake's state, and the requests the fake received (id lists in chunks of
1,000 that drop the ids AWS names as unknown, filters instead of id lists
elsewhere, batching, pagination followed to the end).
"""
import sys

from aws_common import expect, main

I1, I2, I3, I4 = ("i-0a1b2c3d4e5f6000%d" % i for i in range(1, 5))
VPC = "vpc-0123456789abcdef0"
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def params(fa, action):
    return [e["params"] for e in fa.log() if e["action"] == action]


@case
def identity(env):
    r = env.result("identity")
    expect(r["account"] == "123456789012", r)
    expect(r["arn"] == "arn:aws:iam::123456789012:user/moor-test", r)
    expect(r["credentials"] == "env", r)


@case
def instances_by_id(env):
    # Unknown and malformed ids are absent, not errors.
    r = env.result("instances", I1, I4, "i-0000000000000dead", "bogus", I1)
    got = {i["id"]: i for i in r}
    expect(sorted(got) == [I1, I4], got.keys())
    a = got[I1]
    expect(a["state"] == "running" and a["vpc_id"] == VPC, a)
    expect(a["az"] == "us-east-1a" and a["private_ip"] == "10.0.1.11", a)
    expect(a["public_ip"] == "203.0.113.10", a)
    expect(a["tags"] == {"Name": "web-1", "role": "web", "env": "prod"}, a)
    db = got[I4]
    expect([e["id"] for e in db["enis"]] ==
           ["eni-0a1b2c3d4e5f60004", "eni-0a1b2c3d4e5f60005"], db["enis"])
    expect(db["enis"][0]["private_ips"] == ["10.0.1.20", "10.0.1.21"], db)
    expect(db["enis"][0]["device_index"] == 0, db)
    expect(db["enis"][1]["device_index"] == 1, db)
    # InstanceId.N, never with MaxResults or a filter.  AWS names the
    # malformed id, then the unknown one: each leaves the next request.
    p = params(env.fa, "DescribeInstances")
    ids = [sorted((k, v) for k, v in x.items() if k.startswith("InstanceId."))
           for x in p]
    expect([[v for _, v in x] for x in ids] ==
           [[I1, I4, "i-0000000000000dead", "bogus"],
            [I1, I4, "i-0000000000000dead"], [I1, I4]], ids)
    expect(all("MaxResults" not in x and "NextToken" not in x and
               "Filter.1.Name" not in x for x in p), p)


@case
def instances_by_selector(env):
    r = env.result("select", "role=web", "--state", "running")
    expect(sorted(i["id"] for i in r) == [I1, I2], r)
    r = env.result("select", "role=web")
    expect(len(r) == 3, r)
    # A wildcard in a tag value is matched literally.
    r = env.result("select", "role=w*")
    expect(r == [], r)
    p = params(env.fa, "DescribeInstances")[-1]
    expect(p["Filter.1.Name"] == "tag:role" and
           p["Filter.1.Value.1"] == "w\\*", p)


@case
def pagination_and_chunks(env):
    fa = env.fa
    bulk = [{"id": "i-%017x" % (0xb000 + k), "tags": {"role": "bulk"},
             "vpc_id": VPC} for k in range(1100)]
    state = fa.get_state()
    state["instances"] += bulk
    fa.load_state(state)
    fa.reset_counters()
    r = env.result("select", "role=bulk")
    expect(len(r) == 1100 and len({i["id"] for i in r}) == 1100, len(r))
    p = params(fa, "DescribeInstances")
    expect(len(p) == 2 and "NextToken" not in p[0] and "NextToken" in p[1],
           [sorted(x) for x in p])
    fa.reset_counters()
    ids = [b["id"] for b in bulk[:450]]
    r = env.result("instances", *ids)
    expect(sorted(i["id"] for i in r) == sorted(ids), len(r))
    p = params(fa, "DescribeInstances")
    expect(len(p) == 1 and "MaxResults" not in p[0], len(p))
    expect(sum(1 for k in p[0] if k.startswith("InstanceId.")) == 450, p[0])


@case
def instances_by_id_at_scale(env):
    """2,500 ids, 3 of them unknown, in chunks of 1,000: one request per
    chunk, plus one for each chunk whose unknown ids AWS named (the
    instance-id filter would take 13 requests of 200)."""
    fa = env.fa
    known = ["i-%017x" % (0xe000 + k) for k in range(2497)]
    state = fa.get_state()
    state["instances"] += [{"id": i, "vpc_id": VPC} for i in known]
    fa.load_state(state)
    unknown = ["i-%017x" % (0xf000 + k) for k in range(3)]
    # Chunks of 1,000 in order: one unknown in the first, two in the last.
    ids = known[:10] + unknown[:1] + known[10:2000] + unknown[1:] + \
        known[2000:]
    expect(len(ids) == 2500, len(ids))
    fa.reset_counters()
    docs, _ = env.provtool("--stats", "instances", *ids)
    r = docs[0]["result"]
    expect(sorted(i["id"] for i in r) == sorted(known), len(r))
    p = params(fa, "DescribeInstances")
    sizes = sorted(sum(1 for k in x if k.startswith("InstanceId."))
                   for x in p)
    expect(sizes == [498, 500, 999, 1000, 1000], sizes)
    expect(all("MaxResults" not in x and "Filter.1.Name" not in x
               for x in p), "a filter or MaxResults was sent")
    expect(docs[-1]["stats"]["calls"] == 3 + 2, docs[-1])


@case
def enis_and_status(env):
    r = env.result("enis", "eni-0a1b2c3d4e5f60005", "eni-00000000000000bad")
    expect(len(r) == 1 and r[0]["instance_id"] == I4, r)
    expect(r[0]["private_ips"] == ["10.0.3.20"], r)
    r = env.result("status", "--all")
    got = {s["instance_id"]: s for s in r}
    expect(sorted(got) == [I1, I2, I3, I4], got)
    expect(got[I3]["state"] == "stopped", got[I3])
    expect(got[I1]["reachability"] == "passed", got[I1])
    # Running only by default; unknown ids dropped and asked again.
    r = env.result("status", I1, "i-0000000000000dead", I3)
    expect([s["instance_id"] for s in r] == [I1], r)


@case
def classic(env):
    r = env.result("classic", "web-classic", "no-such-classic")
    expect(len(r) == 1, r)
    lb = r[0]
    expect(lb["vpc_id"] == VPC and lb["azs"] == ["us-east-1a", "us-east-1b"],
           lb)
    expect([m["instance_id"] for m in lb["members"]] == [I1], lb)
    expect(lb["members"][0]["health"] == "healthy", lb)
    r = env.result("register-classic", "web-classic", I2, I2)
    r = env.result("classic", "web-classic")
    m = {x["instance_id"]: x for x in r[0]["members"]}
    expect(m[I2]["health"] == "initial", m)
    env.result("deregister-classic", "web-classic", I1)
    r = env.result("classic", "web-classic")
    m = {x["instance_id"]: x for x in r[0]["members"]}
    expect(m.get(I1, {}).get("health") in (None, "draining"), m)
    p = params(env.fa, "RegisterInstancesWithLoadBalancer")
    expect(p == [{"LoadBalancerName": "web-classic",
                  "Instances.member.1.InstanceId": I2}], p)
    err = env.error("register-classic", "no-such-classic", I1)
    expect(err["aws_code"] == "LoadBalancerNotFound", err)
    expect(err["request_id"] and not err["retryable"], err)


@case
def target_groups(env):
    r = env.result("tgs", "web-tg", "web-ip-tg", "no-such-tg")
    got = {t["name"]: t for t in r}
    expect(sorted(got) == ["web-ip-tg", "web-tg"], got.keys())
    web = got["web-tg"]
    expect(web["port"] == 8080 and web["target_type"] == "instance", web)
    expect(web["deregistration_delay_s"] == 300, web)
    expect(sorted((t["id"], t["port"]) for t in web["targets"]) ==
           [(I1, 8080), (I2, 9090)], web["targets"])
    ip = got["web-ip-tg"]
    expect(ip["target_type"] == "ip" and ip["targets"][0]["az"] == "all", ip)
    # By ARN, mixed with a name: the same group once.
    r = env.result("tgs", web["arn"], "web-tg")
    expect(len(r) == 1 and r[0]["arn"] == web["arn"], r)
    arn = web["arn"]
    env.result("register-tg", arn, I2 + ":7070", I1)
    r = env.result("tgs", arn)[0]
    ports = {(t["id"], t["port"]): t["health"] for t in r["targets"]}
    expect(ports.get((I2, 7070)) == "initial", ports)
    env.result("deregister-tg", arn, I2 + ":7070")
    r = env.result("tgs", arn)[0]
    ports = {(t["id"], t["port"]): t["health"] for t in r["targets"]}
    expect(ports.get((I2, 7070)) in (None, "draining"), ports)
    p = params(env.fa, "RegisterTargets")[0]
    expect(p["Targets.member.1.Id"] == I2 and
           p["Targets.member.1.Port"] == "7070" and
           "Targets.member.2.Port" not in p, p)


@case
def target_group_delay_cached(env):
    """Reads of the same groups by one provider: health every time, the
    deregistration delay once (kept for 5 minutes)."""
    fa = env.fa
    fa.reset_counters()
    docs, _ = env.provtool("--repeat", "3", "tgs", "web-tg", "web-ip-tg")
    expect(docs[0]["runs"] == 3 and docs[0]["ok"] == 3, docs)
    last = {t["name"]: t for t in docs[0]["last"]}
    expect(last["web-tg"]["deregistration_delay_s"] == 300, last)
    calls = fa.calls()
    expect(calls.count("elbv2:DescribeTargetGroups") == 3, calls)
    expect(calls.count("elbv2:DescribeTargetHealth") == 6, calls)
    expect(calls.count("elbv2:DescribeTargetGroupAttributes") == 2, calls)


@case
def register_batches(env):
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
    expect(sizes == [200, 50], sizes)
    r = env.result("tgs", arn)[0]
    expect(len(r["targets"]) == 252, len(r["targets"]))


@case
def addresses(env):
    r = env.result("addresses")
    expect(len(r) == 3, r)
    r = env.result("addresses", "--name", "vip-db", "--alloc",
                   "eipalloc-0a1b2c3d4e5f60001", "--alloc",
                   "eipalloc-00000000000000bad", "--ip", "203.0.113.10")
    got = {a["tags"]["Name"]: a for a in r}
    expect(sorted(got) == ["vip-db", "vip-web"], got.keys())
    db = got["vip-db"]
    expect(db["eni_id"] == "eni-0a1b2c3d4e5f60004", db)
    expect(db["private_ip"] == "10.0.1.21" and db["instance_id"] == I4, db)
    expect(got["vip-web"]["instance_id"] == I1, got["vip-web"])
    # Filters, one request per kind of key, never AllocationId.N.
    p = params(env.fa, "DescribeAddresses")[1:]
    expect(sorted(x["Filter.1.Name"] for x in p) ==
           ["allocation-id", "public-ip", "tag:Name"], p)


@case
def allocate_associate_disassociate(env):
    a = env.result("allocate", "Name=vip-new", "team=ops")
    expect(a["domain"] == "vpc" and a["allocation_id"].startswith("eipalloc-"),
           a)
    expect(a["tags"] == {"Name": "vip-new", "team": "ops"}, a)
    p = params(env.fa, "AllocateAddress")
    expect(len(p) == 1 and p[0]["Domain"] == "vpc", p)
    expect(p[0]["TagSpecification.1.ResourceType"] == "elastic-ip", p)
    alloc = a["allocation_id"]
    r = env.result("associate", alloc, "--instance", I2)
    assoc = r["association_id"]
    expect(assoc.startswith("eipassoc-"), r)
    # Reassociation refused by request: an error, not retried.
    err = env.error("associate", alloc, "--instance", I1,
                    "--no-reassociation")
    expect(err["aws_code"] == "Resource.AlreadyAssociated", err)
    expect(not err["retryable"] and not err["outcome_unknown"], err)
    p = params(env.fa, "AssociateAddress")
    expect([x["AllowReassociation"] for x in p] == ["true", "false"], p)
    # ENI + private IP.
    r = env.result("associate", alloc, "--eni", "eni-0a1b2c3d4e5f60004",
                   "--private-ip", "10.0.1.20")
    r = env.result("addresses", "--alloc", alloc)[0]
    expect(r["eni_id"] == "eni-0a1b2c3d4e5f60004" and
           r["private_ip"] == "10.0.1.20", r)
    env.result("disassociate", r["association_id"])
    r = env.result("addresses", "--alloc", alloc)[0]
    expect(r["association_id"] is None and r["instance_id"] is None, r)


@case
def aws_errors(env):
    err = env.error("identity", extra={"AWS_SECRET_ACCESS_KEY": "wrong"})
    expect(err["aws_code"] == "SignatureDoesNotMatch", err)
    expect(err["http_status"] == 403 and err["request_id"], err)
    err = env.error("instances", I1,
                    extra={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"})
    expect(err["aws_code"] == "AuthFailure" and not err["retryable"], err)
    expect("ec2 DescribeInstances" in err["message"], err)


sys.exit(main(CASES))
