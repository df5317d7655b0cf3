"""Shared setup for the fakeaws test modules: one server per test class,
reset before each test, and real botocore clients pointed at it."""

import os
import sys
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from fakeaws_client import (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,  # noqa
                            FakeAws)

FAST = {"classic_health_delay_seconds": 0.5,
        "target_health_delay_seconds": 0.5}


class FakeAwsCase(unittest.TestCase):
    fa = None

    @classmethod
    def setUpClass(cls):
        cls.fa = FakeAws().start()
        cls.session = botocore.session.get_session()

    @classmethod
    def tearDownClass(cls):
        cls.fa.stop()

    def setUp(self):
        self.fa.reset()
        self.fa.set_config(**FAST)
        self._clients = []

    def tearDown(self):
        for c in self._clients:
            c.close()

    def client(self, service, key=DEFAULT_ACCESS_KEY, secret=DEFAULT_SECRET_KEY,
               token=None, region="us-east-1", retries=1):
        c = self.session.create_client(
            service, region_name=region, endpoint_url=self.fa.url,
            aws_access_key_id=key, aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"total_max_attempts": retries},
                          connect_timeout=5, read_timeout=10))
        self._clients.append(c)
        return c

    def assertError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response["Error"])
        return cm.exception.response

    def raw_signed(self, body, service="ec2", key=DEFAULT_ACCESS_KEY,
                   secret=DEFAULT_SECRET_KEY, token=None, headers=None,
                   mutate=None):
        """POST a hand-written body signed with botocore's SigV4Auth.

        mutate(headers dict) may tamper with the signed request.
        Returns (status, body text, response headers).
        """
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        hdrs = {"Content-Type":
                "application/x-www-form-urlencoded; charset=utf-8"}
        hdrs.update(headers or {})
        req = AWSRequest(method="POST", url=self.fa.url + "/",
                         data=body.encode(), headers=hdrs)
        SigV4Auth(Credentials(key, secret, token), service,
                  "us-east-1").add_auth(req)
        p = req.prepare()
        out = dict(p.headers)
        if mutate:
            mutate(out)
        return self.raw(out, p.body)

    def raw(self, headers, body, method="POST", path="/"):
        r = urllib.request.Request(self.fa.url + path, data=body,
                                   headers=headers, method=method)
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.read().decode(), dict(e.headers)

    def instance(self, **spec):
        return self.fa.create_instance(**spec)["InstanceId"]
