#!/usr/bin/env python3
"""fakeaws scale figures: a printout, not a timed test (run by `make bench`).

State: 10,000 instances, 1,000 addresses (half associated), 100 Classic
ELBs and 20 target groups. Reports the time to load it, to serve a
1,000-instance DescribeInstances page (server alone over a kept-alive
connection, and through botocore including its XML parsing), to page
through all instances, and a few other calls.
"""

import http.client
import json
import os
import statistics
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fakeaws_client import (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,  # noqa
                            FakeAws)

N_INSTANCES = 10000
N_ADDRESSES = 1000
N_CLASSIC = 100
N_TG = 20
VPC = "vpc-0b0b0b0b0b0b0b0b0"


def build_state():
    instances = []
    for n in range(N_INSTANCES):
        instances.append({
            "id": "i-%017x" % (0x100000 + n),
            "vpc_id": VPC,
            "availability_zone": "us-east-1%s" % "abc"[n % 3],
            "state": "running" if n % 10 else "stopped",
            "tags": {"Name": "node-%05d" % n, "role": ["web", "db", "cache"][
                n % 3], "env": "prod" if n % 2 else "dev"},
        })
    classic = [{"name": "lb-%03d" % n, "vpc_id": VPC,
                "availability_zones": ["us-east-1a", "us-east-1b"],
                "instances": ["i-%017x" % (0x100000 + n * 50 + k)
                              for k in range(20)]}
               for n in range(N_CLASSIC)]
    tgs = [{"name": "tg-%02d" % n, "vpc_id": VPC, "port": 8080,
            "targets": [{"id": "i-%017x" % (0x100000 + n * 100 + k + 1)}
                        for k in range(50)]} for n in range(N_TG)]
    addresses = [{"tags": {"Name": "vip-%04d" % n},
                  **({"instance_id": "i-%017x" % (0x100001 + n * 7)}
                     if n % 2 == 0 else {})}
                 for n in range(N_ADDRESSES)]
    return {"config": {"classic_health_delay_seconds": 0,
                       "target_health_delay_seconds": 0,
                       "address_pool": ["198.51.100.0/24", "203.0.113.0/24",
                                        "192.0.2.0/24", "100.64.0.0/20"]},
            "instances": instances, "classic_load_balancers": classic,
            "target_groups": tgs, "addresses": addresses}


def signed(url, body, service):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=url + "/", data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-"
                              "urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY), service,
              "us-east-1").add_auth(req)
    p = req.prepare()
    return dict(p.headers), p.body


def timed(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), result


def main():
    t0 = time.perf_counter()
    fa = FakeAws().start()
    startup = time.perf_counter() - t0
    try:
        doc = build_state()
        body = json.dumps(doc).encode()
        print("fakeaws bench: %d instances, %d addresses, %d classic ELBs, "
              "%d target groups (state JSON %.1f MB)" % (
                  N_INSTANCES, N_ADDRESSES, N_CLASSIC, N_TG,
                  len(body) / 1e6))
        print("  server start (models loaded)        %7.3f s" % startup)
        t = time.perf_counter()
        req = urllib.request.Request(fa.url + "/_fakeaws/state", data=body,
                                     method="PUT")
        with urllib.request.urlopen(req) as r:
            loaded = json.loads(r.read())
        load = time.perf_counter() - t
        assert loaded["instances"] == N_INSTANCES, loaded
        print("  state load (PUT /_fakeaws/state)    %7.3f s" % load)

        conn = http.client.HTTPConnection("127.0.0.1", fa.port)

        def raw(action_body, service="ec2"):
            headers, b = signed(fa.url, action_body, service)
            conn.request("POST", "/", body=b, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == 200, data[:300]
            return data

        page_body = "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000"
        med, best, data = timed(lambda: raw(page_body), 5)
        assert data.count(b"<instanceId>") == 1000
        print("  DescribeInstances 1000/page, server %7.3f s median (%.3f "
              "best, %.1f MB XML)" % (med, best, len(data) / 1e6))

        import botocore.session
        from botocore.config import Config
        ec2 = botocore.session.get_session().create_client(
            "ec2", region_name="us-east-1", endpoint_url=fa.url,
            aws_access_key_id=DEFAULT_ACCESS_KEY,
            aws_secret_access_key=DEFAULT_SECRET_KEY,
            config=Config(retries={"total_max_attempts": 1}))
        med, best, r = timed(lambda: ec2.describe_instances(MaxResults=1000),
                             3)
        assert sum(len(x["Instances"]) for x in r["Reservations"]) == 1000
        print("  DescribeInstances 1000/page, botocore %5.3f s median "
              "(incl. botocore's XML parsing)" % med)

        def all_pages():
            n = 0
            for page in ec2.get_paginator("describe_instances").paginate(
                    PaginationConfig={"PageSize": 1000}):
                n += sum(len(x["Instances"]) for x in page["Reservations"])
            return n
        med, _best, n = timed(all_pages, 1)
        assert n == N_INSTANCES
        print("  all %d instances, 10 pages, botocore %6.3f s" % (n, med))

        filt = ("Action=DescribeInstances&Version=2016-11-15&Filter.1.Name="
                "tag%3Arole&Filter.1.Value.1=web&Filter.2.Name=instance-"
                "state-name&Filter.2.Value.1=running&MaxResults=1000")
        med, _b, data = timed(lambda: raw(filt), 5)
        print("  filtered scan of 10,000 (tag+state)  %7.3f s median "
              "(first page)" % med)
        med, _b, data = timed(lambda: raw(
            "Action=DescribeAddresses&Version=2016-11-15"), 5)
        assert data.count(b"<allocationId>") == N_ADDRESSES
        print("  DescribeAddresses (1,000, unpaged)  %7.3f s median" % med)
        med, _b, data = timed(lambda: raw(
            "Action=DescribeLoadBalancers&Version=2012-06-01",
            "elasticloadbalancing"), 5)
        assert data.count(b"<LoadBalancerName>") == N_CLASSIC
        print("  Classic DescribeLoadBalancers (100) %7.3f s median" % med)
        med, _b, _d = timed(lambda: raw(
            "Action=DescribeInstances&Version=2016-11-15&InstanceId.1="
            "i-%017x" % 0x100005), 20)
        print("  DescribeInstances one id            %7.4f s median" % med)
        t = time.perf_counter()
        n = 200
        for _ in range(n):
            raw("Action=GetCallerIdentity&Version=2011-06-15", "sts")
        rate = n / (time.perf_counter() - t)
        print("  small requests on one connection     %7.0f /s" % rate)
        conn.close()
        ec2.close()
        c = fa.counters()["totals"]
        print("  connections accepted: %d, API requests: %d"
              % (c["connections"], c["requests"]))
        t = time.perf_counter()
        with urllib.request.urlopen(fa.url + "/_fakeaws/state") as r:
            size = len(r.read())
        print("  state dump (GET /_fakeaws/state)    %7.3f s (%.1f MB)"
              % (time.perf_counter() - t, size / 1e6))
    finally:
        fa.stop()


if __name__ == "__main__":
    main()
