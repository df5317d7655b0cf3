#!/usr/bin/python3
"""Differential test: moor's Query encoding and SigV4 against botocore's.

Generates seeded random Query-protocol requests (random actions, parameter
names and values with spaces, '+', '/', '~', '%', '=', '&', UTF-8, empty
values, repeated keys, random ordering, random credentials with and without
a session token, random regions, services, hosts and times), has moor's
tests/tools/sigv4_sign build and sign each one, signs the same request with
Debian's python3-botocore (AWSRequest body preparation + SigV4Auth at a
pinned time) and requires identical body bytes and Authorization headers.

Environment: BUILD (the build directory holding tests/tools/sigv4_sign),
SIGV4_DIFF_COUNT (default 2000), SIGV4_DIFF_SEED (default 20150830).
"""
import datetime
import json
import os
import random
import subprocess
import types
import unittest
from urllib.parse import urlencode

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

COUNT = int(os.environ.get("SIGV4_DIFF_COUNT", "2000"))
SEED = int(os.environ.get("SIGV4_DIFF_SEED", "20150830"))
MIN_COUNT = 1000
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


# botocore reads the signing time from datetime.datetime.utcnow() (1.29;
# newer releases use now(timezone.utc)); pin both.
class _PinnedDateTime(datetime.datetime):
    pinned = None

    @classmethod
    def utcnow(cls):
        return cls.pinned

    @classmethod
    def now(cls, tz=None):
        return cls.pinned if tz is None else cls.pinned.replace(tzinfo=tz)


botocore.auth.datetime = types.SimpleNamespace(
    datetime=_PinnedDateTime,
    timezone=datetime.timezone,
    timedelta=datetime.timedelta,
)

# Pieces that exercise the encoders: reserved and unreserved ASCII, the
# characters the task names, multi-byte UTF-8 (2, 3 and 4 bytes).
ATOMS = list("abcXYZ019-_.~ +/%=&?#:;,@!$'()*[]\"<>\\^`{|}\t") + [
    "é", "€", "日本", "😀", "ß", "%20", "%2F", "+", "=", "&", "a b", "~",
    "/", "..", "Ω",
]
NAME_ATOMS = list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") + [
    ".", ".1", ".member.", "Id", " ", "+", "/", "~", "%", "=", "&", "é", "😀",
]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1",
           "us-gov-west-1", "sa-east-1"]
SERVICES = ["ec2", "elasticloadbalancing", "sts", "dynamodb"]
VERSIONS = ["2016-11-15", "2012-06-01", "2015-12-01", "2011-06-15"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def rand_text(rng, atoms, lo, hi):
    return "".join(rng.choice(atoms) for _ in range(rng.randint(lo, hi)))


def gen_request(rng, i):
    action = "".join(rng.choice(["Describe", "Register", "Assume", "Get",
                                 "Allocate", "Modify"]) +
                     rng.choice(["Instances", "Targets", "Role", "Address",
                                 "X", ""]) for _ in range(rng.randint(1, 2)))
    params = []
    for _ in range(rng.randint(0, 14)):
        if params and rng.random() < 0.15:
            name = rng.choice(params)[0]  # a repeated key
        else:
            name = rand_text(rng, NAME_ATOMS, 1, 12)
        roll = rng.random()
        if roll < 0.12:
            value = ""
        elif roll < 0.2:
            value = rng.choice(["true", "false", str(rng.randint(-5, 10**6))])
        else:
            value = rand_text(rng, ATOMS, 1, 24)
        params.append([name, value])
    rng.shuffle(params)
    region = rng.choice(REGIONS)
    service = rng.choice(SERVICES)
    if rng.random() < 0.3:
        host = "127.0.0.1:%d" % rng.randint(1024, 65535)
        url = "http://%s/" % host
    else:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else \
            "amazonaws.com"
        host = "%s.%s.%s" % (service, region, suffix)
        url = "https://%s/" % host
    when = datetime.datetime(2000, 1, 1) + datetime.timedelta(
        seconds=rng.randint(0, 38 * 365 * 86400))
    creds = {
        "access_key_id": ("ASIA" if i % 2 else "AKIA") +
        "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                for _ in range(16)),
        "secret_access_key": "".join(rng.choice(B64) for _ in range(40)),
    }
    if i % 2:
        creds["session_token"] = "".join(
            rng.choice(B64) for _ in range(rng.randint(16, 400))) + "=="
    return {
        "action": action,
        "version": rng.choice(VERSIONS),
        "params": params,
        "host": host,
        "url": url,
        "region": region,
        "service": service,
        "when": when,
        "amz_date": when.strftime("%Y%m%dT%H%M%SZ"),
        **creds,
    }


def botocore_sign(req):
    pairs = [("Action", req["action"]), ("Version", req["version"])]
    pairs += [(k, v) for k, v in req["params"]]
    names = [k for k, _ in pairs]
    if len(set(names)) == len(names):
        # What botocore's Query serializer hands to AWSRequest: a dict,
        # form-encoded by AWSRequestPreparer._prepare_body.
        data = dict(pairs)
    else:
        # A dict cannot repeat a key; this is the same urlencode call.
        data = urlencode(pairs, doseq=True)
    aws_req = AWSRequest(method="POST", url=req["url"], data=data,
                         headers={"Content-Type": CONTENT_TYPE})
    creds = Credentials(req["access_key_id"], req["secret_access_key"],
                        req.get("session_token"))
    _PinnedDateTime.pinned = req["when"]
    botocore.auth.SigV4Auth(creds, req["service"], req["region"]).add_auth(
        aws_req)
    prepared = aws_req.prepare()
    if prepared.headers["X-Amz-Date"] != req["amz_date"]:
        raise AssertionError("could not pin botocore's clock: "
                             "X-Amz-Date %s, "
                             "wanted %s" % (prepared.headers["X-Amz-Date"],
                                            req["amz_date"]))
    body = prepared.body
    if isinstance(body, bytes):
        body = body.decode("ascii")
    return body, prepared.headers["Authorization"]


class SigV4DifferentialTest(unittest.TestCase):
    def test_query_body_and_authorization_match_botocore(self):
        self.assertGreaterEqual(COUNT, MIN_COUNT,
                                "SIGV4_DIFF_COUNT must be at least %d"
                                % MIN_COUNT)
        tool = os.path.join(os.environ.get("BUILD", "build"), "tests",
                            "tools", "sigv4_sign")
        rng = random.Random(SEED)
        reqs = [gen_request(rng, i) for i in range(COUNT)]
        lines = []
        for r in reqs:
            d = {k: v for k, v in r.items() if k not in ("url", "when")}
            lines.append(json.dumps(d, ensure_ascii=False))
        proc = subprocess.run([tool], input="\n".join(lines) + "\n",
                              capture_output=True, text=True,
                              encoding="utf-8", check=False)
        self.assertEqual(proc.returncode, 0, "sigv4_sign exited with %d:\n%s"
                         % (proc.returncode, proc.stderr))
        out = proc.stdout.splitlines()
        self.assertEqual(len(out), len(reqs),
                         "sigv4_sign answered %d lines for %d requests" %
                         (len(out), len(reqs)))

        failures = 0
        stats = {"token": 0, "repeated": 0, "empty": 0, "utf8": 0}
        for i, (r, line) in enumerate(zip(reqs, out)):
            got = json.loads(line)
            body, authz = botocore_sign(r)
            names = [k for k, _ in r["params"]]
            stats["token"] += "session_token" in r
            stats["repeated"] += len(set(names)) != len(names)
            stats["empty"] += any(v == "" for _, v in r["params"])
            stats["utf8"] += any(ord(c) > 127 for k, v in r["params"]
                                 for c in k + v)
            if "error" in got or got["body"] != body or \
                    got["authorization"] != authz:
                failures += 1
                if failures <= 5:
                    print("MISMATCH request %d (action %s, %d params)" %
                          (i, r["action"], len(r["params"])))
                    print("  moor body:     %r" % got.get("body"))
                    print("  botocore body: %r" % body)
                    print("  moor authz:     %s" % got.get("authorization",
                                                          got.get("error")))
                    print("  botocore authz: %s" % authz)
        self.assertEqual(failures, 0,
                         "sigv4 differential: %d of %d requests differ" %
                         (failures, len(reqs)))
        print("sigv4 differential: %d/%d requests identical to botocore %s "
              "(body and Authorization; %d with session token, %d with "
              "repeated keys, %d with empty values, %d with UTF-8)" %
              (len(reqs), len(reqs), botocore.__version__, stats["token"],
               stats["repeated"], stats["empty"], stats["utf8"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
