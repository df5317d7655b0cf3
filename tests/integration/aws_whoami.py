#!/usr/bin/python3
"""`moor whoami` against tests/fakeaws: credential sources, regions,
endpoint overrides, errors, --debug redaction, connection reuse.

Every command runs with a clean environment and a temporary HOME; every
output (stdout and stderr, at --debug too) is searched for the secret keys,
session tokens and web identity token in play (aws_common.Env.run).
"""
import os
import re
import unittest

from aws_common import (CONTAINER_TOKEN, DEFAULT_ACCESS_KEY,
                        DEFAULT_SECRET_KEY, DEFAULT_SESSION_ACCESS_KEY,
                        DEFAULT_SESSION_SECRET_KEY, DEFAULT_SESSION_TOKEN,
                        WEB_TOKEN, AwsTestCase, expect)

USER_ARN = "arn:aws:iam::123456789012:user/moor-test"
ROLE = "arn:aws:iam::123456789012:role/deployer"


def fields(out):
    """whoami's "key: value" lines (endpoints as "endpoint ec2" etc.)."""
    d = {}
    for line in out.splitlines():
        m = re.match(r"^  (\w+)\s+(\S+) \((.*)\)$", line)
        if m:
            d["endpoint " + m.group(1)] = (m.group(2), m.group(3))
            continue
        k, _, v = line.partition(":")
        d[k.strip()] = v.strip()
    return d


def whoami(env, *args, **kw):
    p = env.moor("whoami", *args, **kw)
    expect(p.returncode == 0, "whoami failed (%d): %s" %
           (p.returncode, p.stderr[-2000:]))
    return fields(p.stdout), p


def fails(env, *args, code=1, **kw):
    p = env.moor("whoami", *args, **kw)
    expect(p.returncode == code, "whoami should exit %d, got %d: %s%s" %
           (code, p.returncode, p.stdout, p.stderr))
    return p.stderr


class WhoamiTest(AwsTestCase):
    def test_env_credentials(self):
        env = self.env
        f, _ = whoami(env)
        self.assertTrue(
            f["account"] == "123456789012" and f["arn"] == USER_ARN, f)
        self.assertTrue(f["credentials"] == "env", f)
        self.assertTrue(f["region"] == "us-east-1 (AWS_REGION)", f)
        self.assertTrue(
            f["profile"] == "default" and f["max attempts"] == "3", f)
        for svc in ("ec2", "elb", "elbv2", "sts", "dynamodb"):
            self.assertTrue(
                f["endpoint " + svc] == (env.fa.url, "AWS_ENDPOINT_URL"), f)
        # Session credentials from the environment.
        env.fa.call("POST", "/keys", {
            "access_key_id": DEFAULT_SESSION_ACCESS_KEY,
            "secret_access_key": DEFAULT_SESSION_SECRET_KEY,
            "session_token": DEFAULT_SESSION_TOKEN,
            "arn": "arn:aws:sts::123456789012:assumed-role/moor-test-role/s"})
        f, _ = whoami(env, "--debug", extra={
            "AWS_ACCESS_KEY_ID": DEFAULT_SESSION_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DEFAULT_SESSION_SECRET_KEY,
            "AWS_SESSION_TOKEN": DEFAULT_SESSION_TOKEN})
        self.assertTrue("assumed-role/moor-test-role" in f["arn"], f)

    def test_profile_credentials(self):
        env = self.env
        env.write(".aws/credentials",
                  "[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                  % (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
        env.write(".aws/config", "[profile dev]\nregion = eu-west-2\n"
                  "max_attempts = 6\n")
        f, _ = whoami(env, "--profile", "dev", "--debug", creds=False,
                      extra={"AWS_REGION": None, "AWS_DEFAULT_REGION": None})
        self.assertTrue(
            f["credentials"] == "profile:dev" and f["profile"] == "dev", f)
        self.assertTrue(f["region"] == "eu-west-2 (profile)", f)
        self.assertTrue(f["max attempts"] == "6", f)
        # AWS_PROFILE names it too; --region and --max-attempts win.
        f, _ = whoami(env, "--region", "ap-south-1", "--max-attempts", "2",
                      creds=False, extra={"AWS_PROFILE": "dev"})
        self.assertTrue(f["region"] == "ap-south-1 (--region)", f)
        self.assertTrue(f["max attempts"] == "2" and f["profile"] == "dev", f)

    def test_assume_role_profile(self):
        env = self.env
        env.write(".aws/credentials",
                  "[base]\naws_access_key_id = %s\n"
                  "aws_secret_access_key = %s\n"
                  % (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
        env.write(".aws/config",
                  "[profile dev]\nrole_arn = %s\nsource_profile = base\n"
                  "role_session_name = moor-it\n" % ROLE)
        f, p = whoami(env, "--profile", "dev", "--debug", creds=False)
        self.assertTrue(f["credentials"] == "profile:dev (assume-role)", f)
        self.assertTrue(
            f["arn"] == "arn:aws:sts::123456789012:assumed-role/deployer/"
            "moor-it", f)
        calls = [e["action"] for e in env.fa.log() if e["service"] == "sts"]
        self.assertTrue(calls == ["AssumeRole", "GetCallerIdentity"], calls)
        # The exchanges are logged (STS too), never their bodies or headers.
        self.assertTrue(p.stderr.count(" http_exchange") >= 2, p.stderr)
        self.assertTrue(
            "AccessKeyId" not in p.stderr and "Authorization" not in p.stderr
            and "Signature=" not in p.stderr, p.stderr)

    def test_web_identity(self):
        env = self.env
        tok = env.write("token", WEB_TOKEN)
        f, _ = whoami(env, "--debug", creds=False, extra={
            "AWS_WEB_IDENTITY_TOKEN_FILE": tok, "AWS_ROLE_ARN": ROLE,
            "AWS_ROLE_SESSION_NAME": "ci"})
        self.assertTrue(f["credentials"] == "web-identity", f)
        self.assertTrue(f["arn"].endswith("assumed-role/deployer/ci"), f)

    def test_instance_and_container_credentials(self):
        env = self.env
        url = env.fa.url
        f, _ = whoami(env, "--debug", creds=False, extra={
            "AWS_EC2_METADATA_DISABLED": None,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": url + "/"})
        self.assertTrue(f["credentials"] == "imds", f)
        self.assertTrue("assumed-role/moor-instance-role" in f["arn"], f)
        f, _ = whoami(env, "--debug", creds=False, extra={
            "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                url + "/_fakeaws/container-credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": CONTAINER_TOKEN})
        self.assertTrue(f["credentials"] == "container", f)

    def test_credential_process(self):
        env = self.env
        script = env.write("creds.sh",
                           "#!/bin/sh\nprintf '%%s' '{\"Version\": 1, "
                           "\"AccessKeyId\": \"%s\", \"SecretAccessKey\": "
                           "\"%s\"}'\n"
                           % (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
        os.chmod(script, 0o700)
        env.write(".aws/config", "[profile proc]\ncredential_process = %s\n"
                  % script)
        f, _ = whoami(env, "--profile", "proc", "--debug", creds=False)
        self.assertTrue(f["credentials"] == "credential-process", f)
        self.assertTrue(f["arn"] == USER_ARN, f)

    def test_endpoint_overrides(self):
        env = self.env
        url = env.fa.url
        f, _ = whoami(env, extra={
            "AWS_ENDPOINT_URL": None, "AWS_ENDPOINT_URL_STS": url,
            "AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:9",
            "AWS_ENDPOINT_URL_DYNAMODB": url + "/"})
        self.assertTrue(f["endpoint sts"] == (url, "AWS_ENDPOINT_URL_STS"), f)
        self.assertTrue(f["endpoint dynamodb"] ==
                        (url, "AWS_ENDPOINT_URL_DYNAMODB"), f)
        self.assertTrue(f["endpoint ec2"] == ("http://127.0.0.1:9",
                                              "AWS_ENDPOINT_URL_EC2"), f)
        self.assertTrue(
            f["endpoint elb"] ==
            ("https://elasticloadbalancing.us-east-1.amazonaws.com",
             "default"), f)
        # A profile's [services] section, and its own endpoint_url.
        keys = "aws_access_key_id = %s\naws_secret_access_key = %s\n" % (
            DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        env.write(".aws/config",
                  "[profile local]\nservices = fake\n" + keys +
                  "[services fake]\nsts =\n  endpoint_url = %s\n"
                  "elastic_load_balancing_v2 =\n  endpoint_url = %s/v2\n"
                  "[profile own]\nendpoint_url = %s\n" % (url, url, url)
                  + keys)
        f, _ = whoami(env, "--profile", "local",
                      extra={"AWS_ENDPOINT_URL": None})
        self.assertTrue(f["endpoint sts"] == (url, "profile services"), f)
        self.assertTrue(
            f["endpoint elbv2"] == (url + "/v2", "profile services"), f)
        self.assertTrue(f["endpoint ec2"][1] == "default", f)
        f, _ = whoami(env, "--profile", "own",
                      extra={"AWS_ENDPOINT_URL": None})
        self.assertTrue(f["endpoint sts"] == (url, "profile endpoint_url"), f)

    def test_region_from_imds(self):
        env = self.env
        env.fa.set_config(region="eu-west-3")
        f, _ = whoami(env, extra={
            "AWS_REGION": None, "AWS_DEFAULT_REGION": None,
            "AWS_EC2_METADATA_DISABLED": None,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": env.fa.url + "/"})
        self.assertTrue(f["region"] == "eu-west-3 (imds)", f)

    def test_errors(self):
        env = self.env
        err = fails(env, creds=False)
        self.assertTrue(
            "no AWS credentials" in err and "env:" in err and "imds:" in err,
            err)
        err = fails(env, extra={"AWS_SECRET_ACCESS_KEY": "wrong/secret"})
        self.assertTrue(
            "SignatureDoesNotMatch" in err and "request id" in err, err)
        self.assertTrue("came from env" in err, err)
        err = fails(env, "--profile", "nope")
        self.assertTrue("nope" in err, err)
        err = fails(env, extra={"AWS_REGION": None,
                                "AWS_DEFAULT_REGION": None})
        self.assertTrue("region" in err, err)
        err = fails(env, extra={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
        self.assertTrue("sts GetCallerIdentity" in err, err)
        err = fails(env, extra={"AWS_ENDPOINT_URL": "ftp://x"})
        self.assertTrue("ftp://x" in err, err)
        # AWS_CA_BUNDLE reaches libcurl: an unreadable bundle fails the TLS
        # setup at once (not retried), naming the file.
        https = env.fa.url.replace("http://", "https://")
        err = fails(env, "--debug",
                    extra={"AWS_ENDPOINT_URL": https,
                           "AWS_CA_BUNDLE": "/nonexistent/ca.pem"})
        self.assertTrue("/nonexistent/ca.pem" in err, err)
        self.assertTrue(err.count(" http_exchange") == 1, err)
        env.write(".aws/config", "[default]\nca_bundle = /nonexistent/b.pem\n")
        err = fails(env, extra={"AWS_ENDPOINT_URL": https})
        self.assertTrue("/nonexistent/b.pem" in err, err)
        for bad in (["--max-attempts", "0"], ["--rate-limit", "nope=1/1"],
                    ["--connect-timeout", "5"], ["--bogus"], ["extra"]):
            fails(env, *bad, code=64)
        p = env.moor("whoami", "--help")
        self.assertTrue(
            p.returncode == 0 and "usage: moor whoami" in p.stdout, p.stdout)

    def test_debug_lines(self):
        env = self.env
        _, p = whoami(env, "--debug", "--rate-limit", "off")
        lines = [x for x in p.stderr.splitlines() if " http_exchange" in x]
        self.assertTrue(len(lines) == 1, p.stderr)
        line = lines[0]
        self.assertTrue(
            re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z debug "
                     r"http_exchange: POST ", line), line)
        for key in ("method=POST", "status=200", "attempt=1/3",
                    "action=GetCallerIdentity", "request_id=", "duration_ms="):
            self.assertTrue(key in line, line)

    def test_debug_every_op_redacted(self):
        """Every provider op at --debug, on web-identity (STS-issued) creds."""
        env = self.env
        tok = env.write("token", WEB_TOKEN)
        arn = env.result("tgs", "web-tg")[0]["arn"]
        i1, i2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"
        alloc = "eipalloc-0a1b2c3d4e5f60001"
        lines = ["identity", "instances %s" % i1, "select role=web",
                 "enis eni-0a1b2c3d4e5f60004", "status --all",
                 "classic web-classic", "tgs web-tg", "addresses",
                 "register-classic web-classic %s" % i2,
                 "deregister-classic web-classic %s" % i2,
                 "register-tg %s %s" % (arn, i2),
                 "deregister-tg %s %s" % (arn, i2),
                 "associate %s --instance %s" % (alloc, i2),
                 "allocate Name=debug-test"]
        docs, p = env.provtool("--debug", "batch", stdin="\n".join(lines),
                               creds=False, extra={
                                   "AWS_WEB_IDENTITY_TOKEN_FILE": tok,
                                   "AWS_ROLE_ARN": ROLE})
        self.assertTrue(all(d["ok"] for d in docs), docs)
        self.assertTrue(
            docs[0]["result"]["credentials"] == "web-identity", docs[0])
        self.assertTrue(
            p.stderr.count("http_exchange") >= len(lines), p.stderr)
        # Secrets are checked by Env.run; headers never appear at all.
        for word in ("Authorization", "X-Amz-Security-Token",
                     "SecretAccessKey", "SessionToken", "WebIdentityToken="):
            self.assertTrue(
                word not in p.stderr and word not in p.stdout, word)

    def test_connection_reuse(self):
        env = self.env
        fa = env.fa
        before = fa.counters()["totals"]["connections"]
        docs, _ = env.provtool("--repeat", "20", "--stats", "identity")
        after = fa.counters()["totals"]["connections"]
        st = docs[-1]["stats"]
        self.assertTrue(docs[0]["ok"] == 20, docs[0])
        self.assertTrue(st["connections"] == 1 and st["exchanges"] == 20, st)
        # provtool's one connection, and the counters call itself.
        self.assertTrue(after - before <= 2, (before, after))
        docs, _ = env.provtool("--repeat", "20", "--forbid-reuse", "--stats",
                               "identity")
        self.assertTrue(docs[-1]["stats"]["connections"] == 20, docs[-1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
