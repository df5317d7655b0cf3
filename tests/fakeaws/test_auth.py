"""Authentication errors, STS, IMDSv2 and container credentials."""

import json
import time
import urllib.request

from testbase import FakeAwsCase

from fakeaws_client import (DEFAULT_SESSION_ACCESS_KEY,
                            DEFAULT_SESSION_SECRET_KEY, DEFAULT_SESSION_TOKEN)

EC2_BODY = "Action=DescribeInstances&Version=2016-11-15"
STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"


class SignatureChecks(FakeAwsCase):
    def test_wrong_secret(self):
        for service, body, code in [
                ("ec2", EC2_BODY, "SignatureDoesNotMatch"),
                ("sts", STS_BODY, "SignatureDoesNotMatch")]:
            status, text, _ = self.raw_signed(body, service, secret="wrong")
            self.assertEqual(status, 403, text)
            self.assertIn("<Code>%s</Code>" % code, text)

    def test_unknown_key(self):
        status, text, _ = self.raw_signed(EC2_BODY, "ec2",
                                          key="AKIAUNKNOWNKEY000000")
        self.assertEqual(status, 401)
        self.assertIn("<Code>AuthFailure</Code>", text)
        status, text, _ = self.raw_signed(STS_BODY, "sts",
                                          key="AKIAUNKNOWNKEY000000")
        self.assertEqual(status, 403)
        self.assertIn("<Code>InvalidClientTokenId</Code>", text)

    def test_tampered_request(self):
        def ctype(h):
            h["Content-Type"] = "application/x-www-form-urlencoded"
        status, text, _ = self.raw_signed(EC2_BODY, "ec2", mutate=ctype)
        self.assertEqual(status, 403)

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        from testbase import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
        req = AWSRequest(method="POST", url=self.fa.url + "/",
                         data=EC2_BODY.encode(),
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded"})
        SigV4Auth(Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY), "ec2",
                  "us-east-1").add_auth(req)
        p = req.prepare()
        headers = {k: v for k, v in p.headers.items()
                   if k.lower() != "content-length"}
        status, text, _ = self.raw(headers,
                                   (EC2_BODY + "&MaxResults=5").encode())
        self.assertEqual(status, 403)
        self.assertIn("SignatureDoesNotMatch", text)

    def test_incomplete_and_missing(self):
        status, text, _ = self.raw(
            {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAFAKEAWSEXAMPLE01"
                              "/20260101/us-east-1/ec2/aws4_request",
             "X-Amz-Date": "20260101T000000Z",
             "Content-Type": "application/x-www-form-urlencoded"},
            EC2_BODY.encode())
        self.assertEqual(status, 400)
        self.assertIn("<Code>IncompleteSignature</Code>", text)
        status, text, _ = self.raw(
            {"Content-Type": "application/x-www-form-urlencoded"},
            EC2_BODY.encode())
        self.assertEqual(status, 403)
        self.assertIn("MissingAuthenticationToken", text)

    def test_clock_skew(self):
        self.fa.set_clock_offset(16 * 60)
        status, text, _ = self.raw_signed(EC2_BODY, "ec2")
        self.assertEqual(status, 400)
        self.assertIn("<Code>RequestExpired</Code>", text)
        status, text, _ = self.raw_signed(STS_BODY, "sts")
        self.assertEqual(status, 403)
        self.assertIn("Signature expired", text)
        self.fa.set_clock_offset(-16 * 60)
        status, text, _ = self.raw_signed(STS_BODY, "sts")
        self.assertIn("Signature not yet current", text)
        self.fa.set_clock_offset(14 * 60)
        status, _, _ = self.raw_signed(EC2_BODY, "ec2")
        self.assertEqual(status, 200)

    def test_session_token_required(self):
        # The temporary default key works only with its token.
        ok = self.client("ec2", key=DEFAULT_SESSION_ACCESS_KEY,
                         secret=DEFAULT_SESSION_SECRET_KEY,
                         token=DEFAULT_SESSION_TOKEN)
        ok.describe_instances()
        status, text, _ = self.raw_signed(
            EC2_BODY, "ec2", key=DEFAULT_SESSION_ACCESS_KEY,
            secret=DEFAULT_SESSION_SECRET_KEY)
        self.assertEqual(status, 401)
        self.assertIn("AuthFailure", text)
        status, text, _ = self.raw_signed(
            STS_BODY, "sts", key=DEFAULT_SESSION_ACCESS_KEY,
            secret=DEFAULT_SESSION_SECRET_KEY, token="not-the-token")
        self.assertEqual(status, 403)
        self.assertIn("InvalidClientTokenId", text)

    def test_expired_keys_from_file(self):
        self.fa.load_state({"keys": [
            {"access_key_id": "ASIAEXPIREDKEY000001", "secret_access_key": "s",
             "session_token": "t", "expiration": "2020-01-01T00:00:00Z"}]})
        status, text, _ = self.raw_signed(EC2_BODY, "ec2",
                                          key="ASIAEXPIREDKEY000001",
                                          secret="s", token="t")
        self.assertEqual(status, 400)
        self.assertIn("<Code>RequestExpired</Code>", text)
        status, text, _ = self.raw_signed(
            "Action=DescribeLoadBalancers&Version=2012-06-01",
            "elasticloadbalancing", key="ASIAEXPIREDKEY000001", secret="s",
            token="t")
        self.assertEqual(status, 403)
        self.assertIn("<Code>ExpiredToken</Code>", text)

    def test_get_with_query_string(self):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        from testbase import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
        url = (self.fa.url + "/?Action=DescribeAddresses&Version=2016-11-15"
               "&Filter.1.Name=tag%3AName&Filter.1.Value.1=a%20b")
        req = AWSRequest(method="GET", url=url)
        SigV4Auth(Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY), "ec2",
                  "us-east-1").add_auth(req)
        p = req.prepare()
        status, text, _ = self.raw(dict(p.headers), None, method="GET",
                                   path=p.url[len(self.fa.url):])
        self.assertEqual(status, 200, text)
        self.assertIn("<addressesSet/>", text)
        self.assertEqual(self.fa.log()[-1]["params"]["Filter.1.Value.1"],
                         "a b")

    def test_any_region(self):
        self.client("ec2", region="ap-southeast-2").describe_instances()
        self.client("elbv2", region="eu-central-1").describe_target_groups()


class Sts(FakeAwsCase):
    def test_caller_identity(self):
        ident = self.client("sts").get_caller_identity()
        self.assertEqual(ident["Account"], "123456789012")
        self.assertEqual(ident["Arn"], "arn:aws:iam::123456789012:user/moor-test")

    def test_assume_role_creds_work_and_expire(self):
        self.fa.set_config(credential_duration_override_seconds=2)
        sts = self.client("sts")
        out = sts.assume_role(RoleArn="arn:aws:iam::210987654321:role/deploy",
                              RoleSessionName="moor-1", DurationSeconds=900)
        c = out["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::210987654321:assumed-role/deploy/moor-1")
        temp = self.client("sts", key=c["AccessKeyId"],
                           secret=c["SecretAccessKey"],
                           token=c["SessionToken"])
        who = temp.get_caller_identity()
        self.assertEqual(who["Account"], "210987654321")
        self.assertEqual(who["Arn"], out["AssumedRoleUser"]["Arn"])
        time.sleep(2.1)
        self.assertError("ExpiredToken", temp.get_caller_identity)
        ec2 = self.client("ec2", key=c["AccessKeyId"],
                          secret=c["SecretAccessKey"], token=c["SessionToken"])
        self.assertError("RequestExpired", ec2.describe_instances)

    def test_assume_role_rules(self):
        sts = self.client("sts")
        status, text, _ = self.raw_signed(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&"
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx", "sts")
        self.assertEqual(status, 400)
        self.assertIn("Value at 'roleSessionName' failed to satisfy "
                      "constraint: Member must have length greater than or "
                      "equal to 2", text)
        status, text, _ = self.raw_signed(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=a%20b&"
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx", "sts")
        self.assertIn("regular expression pattern", text)
        status, text, _ = self.raw_signed(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=ok&"
            "DurationSeconds=899&"
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx", "sts")
        self.assertIn("Member must have value greater than or equal to 900",
                      text)
        self.assertError("ValidationError", sts.assume_role,
                         RoleArn="arn:aws:iam::123456789012:role/x",
                         RoleSessionName="ok", DurationSeconds=7200)
        self.fa.set_config(roles=[
            {"arn": "arn:aws:iam::123456789012:role/ext",
             "external_id": "secret-ext", "max_session_duration": 43200}])
        self.assertError("AccessDenied", sts.assume_role,
                         RoleArn="arn:aws:iam::123456789012:role/ext",
                         RoleSessionName="ok")
        self.assertError("AccessDenied", sts.assume_role,
                         RoleArn="arn:aws:iam::123456789012:role/other",
                         RoleSessionName="ok")
        out = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/ext",
                              RoleSessionName="ok", ExternalId="secret-ext",
                              DurationSeconds=43200)
        left = out["Credentials"]["Expiration"].timestamp() - time.time()
        self.assertGreater(left, 43000)

    def test_web_identity_unsigned(self):
        from botocore import UNSIGNED
        from botocore.config import Config
        sts = self.session.create_client(
            "sts", region_name="us-east-1", endpoint_url=self.fa.url,
            config=Config(signature_version=UNSIGNED))
        self._clients.append(sts)
        out = sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::123456789012:role/web",
            RoleSessionName="pod", WebIdentityToken="fake-web-identity-token")
        self.assertTrue(out["Credentials"]["SessionToken"])
        self.assertTrue(out["SubjectFromWebIdentityToken"])
        self.assertError("InvalidIdentityToken",
                         sts.assume_role_with_web_identity,
                         RoleArn="arn:aws:iam::123456789012:role/web",
                         RoleSessionName="pod", WebIdentityToken="wrong-token")
        # Other STS operations still need a signature.
        self.assertError("MissingAuthenticationToken", sts.get_caller_identity)
        log = self.fa.log()
        self.assertEqual(log[-3]["params"]["WebIdentityToken"], "<redacted>")
        self.assertNotIn("fake-web-identity-token", json.dumps(log))

    def test_web_identity_botocore_fetcher(self):
        """botocore's own web-identity credential fetcher (token file)."""
        import os
        import tempfile
        from botocore.credentials import \
            AssumeRoleWithWebIdentityCredentialFetcher
        from botocore.utils import FileWebIdentityTokenLoader
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("fake-web-identity-token")

        def creator(service, **kw):
            # Debian's botocore predates AWS_ENDPOINT_URL, so the endpoint is
            # passed the old way.
            kw["endpoint_url"] = self.fa.url
            kw.setdefault("region_name", "us-east-1")
            c = self.session.create_client(service, **kw)
            self._clients.append(c)
            return c
        try:
            fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
                client_creator=creator,
                web_identity_token_loader=FileWebIdentityTokenLoader(f.name),
                role_arn="arn:aws:iam::123456789012:role/web",
                extra_args={"RoleSessionName": "ci"})
            creds = fetcher.fetch_credentials()
        finally:
            os.unlink(f.name)
        sts = self.client("sts", key=creds["access_key"],
                          secret=creds["secret_key"], token=creds["token"])
        self.assertEqual(sts.get_caller_identity()["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/web/ci")


class Metadata(FakeAwsCase):
    def get(self, path, headers=None, method="GET", data=None):
        req = urllib.request.Request(self.fa.url + path, headers=headers or {},
                                     method=method, data=data)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.read().decode()

    def token(self, ttl="21600"):
        return self.get("/latest/api/token", method="PUT", data=b"",
                        headers={"x-aws-ec2-metadata-token-ttl-seconds": ttl})

    def test_imdsv2_flow(self):
        status, tok = self.token()
        self.assertEqual(status, 200)
        h = {"x-aws-ec2-metadata-token": tok}
        self.assertEqual(self.get("/latest/meta-data/placement/region", h),
                         (200, "us-east-1"))
        status, role = self.get(
            "/latest/meta-data/iam/security-credentials/", h)
        self.assertEqual(role, "moor-instance-role")
        status, body = self.get(
            "/latest/meta-data/iam/security-credentials/" + role, h)
        creds = json.loads(body)
        self.assertEqual(creds["Code"], "Success")
        self.assertEqual(creds["Type"], "AWS-HMAC")
        for k in ("AccessKeyId", "SecretAccessKey", "Token", "Expiration",
                  "LastUpdated"):
            self.assertIn(k, creds)
        doc = json.loads(self.get(
            "/latest/dynamic/instance-identity/document", h)[1])
        self.assertEqual(doc["region"], "us-east-1")
        # The issued credentials are accepted by the API.
        ec2 = self.client("ec2", key=creds["AccessKeyId"],
                          secret=creds["SecretAccessKey"],
                          token=creds["Token"])
        ec2.describe_instances()

    def test_imds_requires_token(self):
        self.assertEqual(self.get("/latest/meta-data/placement/region")[0],
                         401)
        self.assertEqual(self.get("/latest/meta-data/placement/region",
                                  {"x-aws-ec2-metadata-token": "bogus"})[0],
                         401)
        self.assertEqual(self.token(ttl="0")[0], 400)
        self.assertEqual(self.token(ttl="21601")[0], 400)
        self.assertEqual(self.get("/latest/api/token")[0], 405)

    def test_botocore_imds_fetcher(self):
        from botocore.utils import InstanceMetadataFetcher, \
            InstanceMetadataRegionFetcher
        fetcher = InstanceMetadataFetcher(
            timeout=2, num_attempts=1,
            env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.fa.url + "/"},
            config={"ec2_metadata_service_endpoint": self.fa.url + "/",
                    "ec2_metadata_v1_disabled": True})
        creds = fetcher.retrieve_iam_role_credentials()
        self.assertEqual(creds["role_name"], "moor-instance-role")
        self.assertTrue(creds["token"])
        region = InstanceMetadataRegionFetcher(
            timeout=2, num_attempts=1,
            env={}, config={"ec2_metadata_service_endpoint":
                            self.fa.url + "/"}).retrieve_region()
        self.assertEqual(region, "us-east-1")

    def test_credentials_rotate_when_short(self):
        self.fa.set_config(imds={"credential_duration_seconds": 1})
        status, tok = self.token()
        h = {"x-aws-ec2-metadata-token": tok}
        path = "/latest/meta-data/iam/security-credentials/moor-instance-role"
        first = json.loads(self.get(path, h)[1])
        again = json.loads(self.get(path, h)[1])
        self.assertEqual(first["AccessKeyId"], again["AccessKeyId"])
        time.sleep(0.9)
        later = json.loads(self.get(path, h)[1])
        self.assertNotEqual(first["AccessKeyId"], later["AccessKeyId"])

    def test_container_credentials(self):
        path = "/_fakeaws/container-credentials"
        status, body = self.get(path, {"Authorization": "wrong"})
        self.assertEqual(status, 401)
        status, body = self.get(path,
                                {"Authorization": "fake-container-token"})
        self.assertEqual(status, 200)
        creds = json.loads(body)
        sts = self.client("sts", key=creds["AccessKeyId"],
                          secret=creds["SecretAccessKey"],
                          token=creds["Token"])
        self.assertIn("assumed-role/moor-task-role",
                      sts.get_caller_identity()["Arn"])
        status, _ = self.get("/v2/credentials/abc",
                             {"Authorization": "fake-container-token"})
        self.assertEqual(status, 200)

    def test_botocore_container_provider(self):
        from botocore.credentials import ContainerProvider
        prov = ContainerProvider(environ={
            "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                self.fa.url + "/_fakeaws/container-credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "fake-container-token"})
        creds = prov.load().get_frozen_credentials()
        self.assertTrue(creds.access_key.startswith("ASIA"))
        self.assertTrue(creds.token)
