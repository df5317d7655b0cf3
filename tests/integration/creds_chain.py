#!/usr/bin/python3
"""Every credential source of moor's chain against tests/fakeaws.

Drives $BUILD/tests/tools/creds_probe (moor's chain, region resolution and
real libcurl transport) with a clean environment and a temporary HOME for
each case, and checks the source it reports, that the credentials work
(sts:GetCallerIdentity signed with them, verified by the fake), which calls
reached the fake, and that no secret or token appears anywhere in the
probe's stdout or stderr (which carries every log event down to debug).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import aws_common
from aws_common import (BUILD, CONTAINER_TOKEN, DEFAULT_ACCESS_KEY,
                        DEFAULT_SECRET_KEY, DEFAULT_SESSION_ACCESS_KEY,
                        DEFAULT_SESSION_SECRET_KEY, DEFAULT_SESSION_TOKEN,
                        WEB_TOKEN, FakeAws, child_env)

PROBE = os.path.join(BUILD, "tests", "tools", "creds_probe")
ACCOUNT = "123456789012"
# aws_common's (the keys, the web identity and container tokens, the
# prefix of every session token the fake issues) and the process helper's.
SECRETS = aws_common.SECRETS + ["process/secret/EXAMPLE"]


class Ctx:
    def __init__(self, fa):
        self.fa = fa
        self.home = tempfile.mkdtemp(prefix="moor-creds-")
        os.mkdir(os.path.join(self.home, ".aws"))

    def write(self, rel, text, mode=0o600):
        path = os.path.join(self.home, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run(self, env=None, args=(), expect_ok=True):
        full = child_env(self.home, {"AWS_ENDPOINT_URL": self.fa.url,
                                     "AWS_EC2_METADATA_DISABLED": "true"},
                         env)
        p = subprocess.run([PROBE, *args], env=full, capture_output=True,
                           text=True, timeout=120)
        for s in SECRETS:
            if s in p.stdout or s in p.stderr:
                raise AssertionError("a secret (%s...) reached the output"
                                     % s[:6])
        if expect_ok and p.returncode != 0:
            raise AssertionError("probe failed (%d): %s" %
                                 (p.returncode, p.stderr[-2000:]))
        if not expect_ok and p.returncode != 1:
            raise AssertionError("probe should fail with 1, got %d: %s" %
                                 (p.returncode, p.stdout + p.stderr))
        gets = []
        info = {"stderr": p.stderr, "gets": gets, "callers": []}
        for line in p.stdout.splitlines():
            # Values may hold spaces ("profile:dev (assume-role)").
            fields = dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", line))
            if "get" in fields:
                gets.append(fields)
            elif "caller" in fields:
                info["callers"].append(fields["caller"])
            else:
                info.update(fields)
        return info

    def close(self):
        shutil.rmtree(self.home)


def sts_calls(fa, action):
    return [e for e in fa.log() if e["service"] == "sts" and
            e["action"] == action]


class CredsChainTest(unittest.TestCase):
    """Each test with a fresh Ctx against one fake, reset before each."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PROBE):
            raise AssertionError("no %s: build the test tools first" % PROBE)
        cls.fa = FakeAws().start()
        cls.addClassCleanup(cls.fa.stop)

    def setUp(self):
        self.fa.reset()
        self.c = Ctx(self.fa)
        self.addCleanup(self.c.close)

    # --- environment ---------------------------------------------------------

    def test_env_static(self):
        c = self.c
        r = c.run({"AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY,
                   "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_KEY,
                   "AWS_REGION": "eu-west-1"})
        g = r["gets"][0]
        self.assertTrue(
            g["source"] == "env" and g["access_key_id"] == DEFAULT_ACCESS_KEY
            and g["token"] == "no" and g["expires"] == "never", g)
        self.assertTrue(r["region"] == "eu-west-1" and
                        r["region_source"] == "AWS_REGION", r)
        self.assertTrue(
            r["callers"] == ["arn:aws:iam::%s:user/moor-test" % ACCOUNT],
            r["callers"])

    def test_env_session(self):
        c = self.c
        r = c.run({"AWS_ACCESS_KEY_ID": DEFAULT_SESSION_ACCESS_KEY,
                   "AWS_SECRET_ACCESS_KEY": DEFAULT_SESSION_SECRET_KEY,
                   "AWS_SESSION_TOKEN": DEFAULT_SESSION_TOKEN,
                   "AWS_DEFAULT_REGION": "ap-south-1"})
        self.assertTrue(r["gets"][0]["token"] == "yes", r)
        self.assertTrue(r["region_source"] == "AWS_DEFAULT_REGION", r)
        self.assertTrue(
            "assumed-role/moor-test-role" in r["callers"][0], r["callers"])

    def test_env_session_token_is_signed(self):
        c = self.c
        # Without the token the fake refuses the temporary key: moor sends it.
        r = c.run({"AWS_ACCESS_KEY_ID": DEFAULT_SESSION_ACCESS_KEY,
                   "AWS_SECRET_ACCESS_KEY": DEFAULT_SESSION_SECRET_KEY},
                  expect_ok=False)
        self.assertTrue("InvalidClientTokenId" in r["stderr"], r["stderr"])

    # --- web identity ------------------------------------------------------

    def test_web_identity(self):
        c = self.c
        tok = c.write("oidc-token", WEB_TOKEN)
        r = c.run({"AWS_WEB_IDENTITY_TOKEN_FILE": tok,
                   "AWS_ROLE_ARN":
                   "arn:aws:iam::%s:role/ci-deployer" % ACCOUNT,
                   "AWS_ROLE_SESSION_NAME": "gha-run-7"})
        g = r["gets"][0]
        self.assertTrue(
            g["source"] == "web-identity" and g["token"] == "yes" and
            g["access_key_id"].startswith("ASIA") and g["account"] == ACCOUNT,
            g)
        self.assertTrue(
            r["callers"] == ["arn:aws:sts::%s:assumed-role/ci-deployer/"
                             "gha-run-7" % ACCOUNT], r["callers"])
        calls = sts_calls(c.fa, "AssumeRoleWithWebIdentity")
        self.assertTrue(len(calls) == 1 and calls[0]["access_key_id"] is None,
                        "one unsigned AssumeRoleWithWebIdentity: %r" % calls)

    def test_web_identity_service_endpoint_wins(self):
        c = self.c
        # AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL (a dead port here).
        tok = c.write("oidc-token", WEB_TOKEN)
        r = c.run({"AWS_WEB_IDENTITY_TOKEN_FILE": tok,
                   "AWS_ROLE_ARN": "arn:aws:iam::%s:role/ci" % ACCOUNT,
                   "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                   "AWS_ENDPOINT_URL_STS": c.fa.url + "/"},
                  args=["--no-verify"])
        self.assertTrue(r["gets"][0]["source"] == "web-identity", r)

    def test_web_identity_rejected(self):
        c = self.c
        tok = c.write("oidc-token", "not-the-right-token")
        r = c.run({"AWS_WEB_IDENTITY_TOKEN_FILE": tok,
                   "AWS_ROLE_ARN": "arn:aws:iam::%s:role/ci" % ACCOUNT},
                  expect_ok=False)
        self.assertTrue(
            "InvalidIdentityToken" in r["stderr"] and
            "credentials from web-identity" in r["stderr"], r["stderr"])
        self.assertTrue(
            "not-the-right-token" not in r["stderr"], "token leaked")

    def test_web_identity_refresh(self):
        c = self.c
        # Credentials that live 500 s are always in the mandatory window:
        # every get must refresh, and each new set must work.
        c.fa.set_config(credential_duration_override_seconds=500)
        tok = c.write("oidc-token", WEB_TOKEN)
        r = c.run({"AWS_WEB_IDENTITY_TOKEN_FILE": tok,
                   "AWS_ROLE_ARN": "arn:aws:iam::%s:role/ci" % ACCOUNT},
                  args=["--gets", "3"])
        keys = [g["access_key_id"] for g in r["gets"]]
        self.assertTrue(len(set(keys)) == 3, "three refreshes: %r" % keys)
        self.assertTrue(len(r["callers"]) == 3, r["callers"])
        self.assertTrue(len(sts_calls(c.fa, "AssumeRoleWithWebIdentity")) == 3,
                        "three STS calls")

    def test_web_identity_advisory_refresh(self):
        c = self.c
        # 700 s: inside the advisory window (15 min), outside the mandatory
        # one (10 min): each get tries a refresh and gets new keys.
        c.fa.set_config(credential_duration_override_seconds=700)
        tok = c.write("oidc-token", WEB_TOKEN)
        r = c.run({"AWS_WEB_IDENTITY_TOKEN_FILE": tok,
                   "AWS_ROLE_ARN": "arn:aws:iam::%s:role/ci" % ACCOUNT},
                  args=["--gets", "2"])
        keys = [g["access_key_id"] for g in r["gets"]]
        self.assertTrue(len(set(keys)) == 2, "advisory refresh: %r" % keys)

    # --- shared files --------------------------------------------------------

    def test_profile_default_static(self):
        c = self.c
        c.write(".aws/credentials", "[default]\naws_access_key_id = %s\n"
                "aws_secret_access_key = %s\n" % (DEFAULT_ACCESS_KEY,
                                                   DEFAULT_SECRET_KEY))
        c.write(".aws/config", "[default]\nregion = eu-central-1\n")
        r = c.run()
        self.assertTrue(r["gets"][0]["source"] == "profile:default", r)
        self.assertTrue(r["region"] == "eu-central-1" and
                        r["region_source"] == "profile", r)
        self.assertTrue(
            r["callers"][0].endswith(":user/moor-test"), r["callers"])

    def test_profile_credentials_file_wins(self):
        c = self.c
        # [profile dev] in config vs [dev] in credentials: the latter's keys.
        c.write(".aws/config",
                "[profile dev]\nregion = us-west-2\n"
                "aws_access_key_id = %s\naws_secret_access_key = %s\n"
                "aws_session_token = %s\n"
                "[dev2]\nregion = us-west-2\n" % (
                    DEFAULT_SESSION_ACCESS_KEY, DEFAULT_SESSION_SECRET_KEY,
                    DEFAULT_SESSION_TOKEN))
        c.write(".aws/credentials", "[dev]\naws_access_key_id = %s\n"
                "aws_secret_access_key = %s\n" % (DEFAULT_ACCESS_KEY,
                                                   DEFAULT_SECRET_KEY))
        r = c.run({"AWS_PROFILE": "dev"})
        g = r["gets"][0]
        self.assertTrue(
            g["source"] == "profile:dev" and
            g["access_key_id"] == DEFAULT_ACCESS_KEY and g["token"] == "no",
            g)
        self.assertTrue(r["region"] == "us-west-2", r)
        # [dev2] in the config file is not a profile (no "profile " prefix).
        r = c.run({"AWS_PROFILE": "dev2"}, expect_ok=False)
        self.assertTrue("profile 'dev2' not found" in r["stderr"], r["stderr"])

    def test_profile_paths_from_env(self):
        c = self.c
        cfg = c.write("elsewhere-config", "[profile x]\nregion = sa-east-1\n")
        creds = c.write("elsewhere-creds", "[x]\naws_access_key_id = %s\n"
                        "aws_secret_access_key = %s\n" % (DEFAULT_ACCESS_KEY,
                                                           DEFAULT_SECRET_KEY))
        r = c.run({"AWS_CONFIG_FILE": cfg,
                   "AWS_SHARED_CREDENTIALS_FILE": creds},
                  args=["--profile", "x"])
        self.assertTrue(r["gets"][0]["source"] == "profile:x", r)
        self.assertTrue(r["region"] == "sa-east-1", r)

    def test_assume_role(self):
        c = self.c
        role = "arn:aws:iam::%s:role/deployer" % ACCOUNT
        c.fa.set_config(roles=[{"arn": role, "external_id": "ext-1"}])
        c.write(".aws/credentials", "[base]\naws_access_key_id = %s\n"
                "aws_secret_access_key = %s\n" % (DEFAULT_ACCESS_KEY,
                                                   DEFAULT_SECRET_KEY))
        c.write(".aws/config",
                "[profile deployer]\nrole_arn = %s\nsource_profile = base\n"
                "external_id = ext-1\nrole_session_name = moor-it\n"
                "duration_seconds = 900\nregion = us-east-2\n"
                "[profile wrong]\nrole_arn = %s\nsource_profile = base\n"
                "external_id = nope\n" % (role, role))
        r = c.run({"AWS_PROFILE": "deployer"})
        g = r["gets"][0]
        self.assertTrue(g["source"] == "profile:deployer (assume-role)" and
                        g["token"] == "yes", g)
        self.assertTrue(
            r["callers"] == ["arn:aws:sts::%s:assumed-role/deployer/moor-it"
                             % ACCOUNT], r["callers"])
        calls = sts_calls(c.fa, "AssumeRole")
        self.assertTrue(len(calls) == 1, calls)
        self.assertTrue(calls[0]["access_key_id"] == DEFAULT_ACCESS_KEY,
                        "AssumeRole signed with the source profile's key")
        self.assertTrue(
            calls[0]["params"].get("DurationSeconds") in ("900", 900) and
            calls[0]["params"].get("ExternalId") == "ext-1",
            calls[0]["params"])
        r = c.run({"AWS_PROFILE": "wrong"}, expect_ok=False)
        self.assertTrue(
            "AccessDenied" in r["stderr"] and
            "assume role for profile 'wrong'" in r["stderr"], r["stderr"])

    def test_assume_role_chained_and_credential_source(self):
        c = self.c
        c.write(".aws/config",
                "[profile one]\nrole_arn = arn:aws:iam::%s:role/one\n"
                "credential_source = Environment\n"
                "[profile two]\nrole_arn = arn:aws:iam::%s:role/two\n"
                "source_profile = one\nrole_session_name = second\n"
                % (ACCOUNT, ACCOUNT))
        env = {"AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_KEY}
        # --profile takes the environment out of the chain (botocore), so it
        # serves only as the credential_source of profile one.
        r = c.run(env, args=["--profile", "two"])
        self.assertTrue(
            r["gets"][0]["source"] == "profile:two (assume-role)", r)
        self.assertTrue(r["callers"][0].endswith(":assumed-role/two/second"),
                        r["callers"])
        calls = sts_calls(c.fa, "AssumeRole")
        self.assertTrue(
            len(calls) == 2 and calls[0]["access_key_id"] ==
            DEFAULT_ACCESS_KEY and
            calls[1]["access_key_id"].startswith("ASIA"),
            "role two assumed with role one's keys: %r" % calls)
        # With AWS_PROFILE the environment's keys are used directly.
        r = c.run(dict(env, AWS_PROFILE="two"))
        self.assertTrue(r["gets"][0]["source"] == "env", r)

    def test_credential_process(self):
        c = self.c
        helper = c.write("helper.sh",
                         "#!/bin/sh\necho 'helper says hello' >&2\n"
                         "printf '%%s' '{\"Version\": 1, \"AccessKeyId\": "
                         "\"%s\", \"SecretAccessKey\": \"%s\", "
                         "\"SessionToken\": "
                         "\"%s\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n"
                         % (DEFAULT_SESSION_ACCESS_KEY,
                            DEFAULT_SESSION_SECRET_KEY,
                            DEFAULT_SESSION_TOKEN), mode=0o700)
        c.write(".aws/config", "[default]\ncredential_process = %s --arg "
                "'process/secret/EXAMPLE'\n"
                "[profile broken]\ncredential_process = sh -c 'exit 7'\n"
                % helper)
        r = c.run()
        g = r["gets"][0]
        self.assertTrue(g["source"] == "credential-process" and
                        g["access_key_id"] == DEFAULT_SESSION_ACCESS_KEY and
                        g["expires"] == "2099-01-01T00:00:00Z", g)
        self.assertTrue(
            "helper says hello" in r["stderr"], "stderr is inherited")
        self.assertTrue(
            "assumed-role/moor-test-role" in r["callers"][0], r["callers"])
        r = c.run({"AWS_PROFILE": "broken"}, expect_ok=False)
        self.assertTrue(
            "credential_process exited with status 7" in r["stderr"],
            r["stderr"])

    # --- container and IMDS --------------------------------------------------

    def test_container(self):
        c = self.c
        url = c.fa.url + "/_fakeaws/container-credentials"
        r = c.run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": CONTAINER_TOKEN})
        g = r["gets"][0]
        self.assertTrue(
            g["source"] == "container" and g["account"] == ACCOUNT, g)
        self.assertTrue(
            "assumed-role/moor-task-role" in r["callers"][0], r["callers"])
        tok = c.write("eks-token", CONTAINER_TOKEN)
        r = c.run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tok,
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"})
        self.assertTrue(r["gets"][0]["source"] == "container", r)
        r = c.run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"},
                  expect_ok=False)
        self.assertTrue("HTTP 401" in r["stderr"], r["stderr"])

    def test_imds(self):
        c = self.c
        r = c.run({"AWS_EC2_METADATA_DISABLED": None,
                   "AWS_EC2_METADATA_SERVICE_ENDPOINT": c.fa.url + "/"})
        g = r["gets"][0]
        self.assertTrue(g["source"] == "imds" and g["token"] == "yes", g)
        # No region anywhere else: IMDS names it.
        self.assertTrue(
            r["region"] == "us-east-1" and r["region_source"] == "imds", r)
        self.assertTrue("assumed-role/moor-instance-role" in r["callers"][0],
                        r["callers"])
        self.assertTrue(
            c.fa.counters()["totals"]["imds"] >= 4, "IMDS was asked")

    def test_nothing_anywhere(self):
        c = self.c
        r = c.run({"AWS_EC2_METADATA_DISABLED": None,
                   "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"},
                  expect_ok=False)
        self.assertTrue(r.get("region") == "none", r)
        for part in ("no AWS credentials found",
                     "env: AWS_ACCESS_KEY_ID not set",
                     "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set",
                     "profile: profile 'default' not in", "container: ",
                     "imds: no answer from http://127.0.0.1:1"):
            self.assertTrue(
                part in r["stderr"], "%r not in %r" % (part, r["stderr"]))
        r = c.run({}, expect_ok=False)
        self.assertTrue(
            "imds: disabled by AWS_EC2_METADATA_DISABLED" in r["stderr"],
            r["stderr"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
