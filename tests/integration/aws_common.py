"""Shared by the tests/integration/aws_*.py tests (not a test itself).

Runs $MOOR and $BUILD/tests/tools/provtool against tests/fakeaws with a
clean environment and a temporary HOME, and checks that no secret, session
token or web identity token ever reaches their stdout or stderr.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fakeaws"))

from fakeaws_client import (  # noqa: E402,F401
    DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, DEFAULT_SESSION_ACCESS_KEY,
    DEFAULT_SESSION_SECRET_KEY, DEFAULT_SESSION_TOKEN, FakeAws, child_env)

BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
MOOR = os.environ.get("MOOR", os.path.join(REPO, "moor"))
PROVTOOL = os.path.join(BUILD, "tests", "tools", "provtool")
EXAMPLE_STATE = os.path.join(REPO, "tests", "fakeaws", "example-state.json")
WEB_TOKEN = "fake-web-identity-token"
CONTAINER_TOKEN = "fake-container-token"
# Credentials the fake issues (STS, IMDS) have session tokens that are
# base64 of b"FQoGZXIvYXdzE" + random: they all start with this.
ISSUED_TOKEN_PREFIX = "RlFvR1pYSXZZWGR6"
SECRETS = [DEFAULT_SECRET_KEY, DEFAULT_SESSION_SECRET_KEY,
           DEFAULT_SESSION_TOKEN, WEB_TOKEN, CONTAINER_TOKEN,
           ISSUED_TOKEN_PREFIX]


class Failure(AssertionError):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


def check_no_secret(text, where):
    for s in SECRETS:
        if s in text:
            raise Failure("a secret (%s...) reached %s" % (s[:6], where))


class Env:
    """A temporary HOME and the environment of one command run."""

    def __init__(self, fa):
        self.fa = fa
        self.home = tempfile.mkdtemp(prefix="moor-aws-")
        os.mkdir(os.path.join(self.home, ".aws"))

    def write(self, rel, text):
        path = os.path.join(self.home, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def environ(self, extra=None, creds=True):
        aws = self.fa.env()
        if not creds:
            del aws["AWS_ACCESS_KEY_ID"]
            del aws["AWS_SECRET_ACCESS_KEY"]
        return child_env(self.home, aws, extra)

    def run(self, argv, extra=None, creds=True, stdin=None, timeout=120):
        p = subprocess.run(argv, env=self.environ(extra, creds),
                           input=stdin, capture_output=True, text=True,
                           timeout=timeout)
        check_no_secret(p.stdout, "stdout of %s" % argv[:2])
        check_no_secret(p.stderr, "stderr of %s" % argv[:2])
        # Sanitizer reports end in a distinctive exit code.
        expect(p.returncode != 99 and "Sanitizer" not in p.stderr,
               "sanitizer report:\n" + p.stderr[-3000:])
        return p

    def moor(self, *args, extra=None, creds=True):
        return self.run([MOOR, *args], extra, creds)

    def provtool(self, *args, extra=None, creds=True, stdin=None,
                 expect_ok=True):
        """provtool's JSON documents, one per output line."""
        p = self.run([PROVTOOL, *args], extra, creds, stdin)
        docs = [json.loads(line) for line in p.stdout.splitlines() if line]
        if expect_ok and p.returncode != 0:
            raise Failure("provtool %s failed (%d): %s %s" %
                          (" ".join(args[:4]), p.returncode,
                           p.stdout[-1500:], p.stderr[-1500:]))
        return docs, p

    def result(self, *args, **kw):
        """The result of one successful provtool command."""
        docs, _ = self.provtool(*args, **kw)
        expect(docs and docs[0].get("ok"), "provtool %s: %s" % (args, docs))
        return docs[0]["result"]

    def error(self, *args, **kw):
        """The error of one failing provtool command."""
        docs, p = self.provtool(*args, expect_ok=False, **kw)
        expect(p.returncode == 1 and docs and not docs[0]["ok"],
               "provtool %s should fail: %s" % (args, docs))
        return docs[0]["error"]

    def close(self):
        shutil.rmtree(self.home)


def log_actions(fa, service=None, since=0):
    return ["%s:%s" % (e["service"], e["action"]) for e in fa.log(since)
            if service is None or e["service"] == service]


class AwsTestCase(unittest.TestCase):
    """One fake for a script's tests; each test starts from the state
    reloaded, with no faults, zeroed counters and a fresh Env."""

    state = EXAMPLE_STATE

    @classmethod
    def setUpClass(cls):
        for path in (MOOR, PROVTOOL):
            if not os.access(path, os.X_OK):
                raise Failure("missing %s (build it first)" % path)
        with open(cls.state) as f:
            cls.initial = json.load(f)
        cls.fa = FakeAws(state=cls.state).start()
        cls.addClassCleanup(cls.fa.stop)

    def setUp(self):
        fa = self.fa
        fa.call("POST", "/reset", {})
        fa.load_state(self.initial)
        fa.clear_faults()
        fa.reset_counters()
        self.env = Env(fa)
        self.addCleanup(self.env.close)
