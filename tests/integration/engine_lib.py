"""Shared pieces of the engine's integration tests (engine_*.py).

Each test starts its own tests/fakeaws on a free port, seeds it through the
control API, runs the moor binary named by $MOOR with the fake's endpoint
and keys in the environment, and asserts on exit codes, output, the fake's
state and its counters.
"""

import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakeaws"))

from fakeaws_client import FakeAws  # noqa: E402

MOOR = os.environ.get("MOOR") or os.path.join(ROOT, "moor")

VPC = "vpc-0123456789abcdef0"


def iid(n):
    return "i-0a1b2c3d4e5f6%04x" % n


WEB = [iid(i) for i in range(1, 7)]          # role=web
OLD = [iid(0x21), iid(0x22)]                 # role=old, registered now
APP1, APP2 = iid(0x31), iid(0x32)            # role=app
ROGUE = iid(0x99)                            # named by no spec
VIP_APP = "eipalloc-0a1b2c3d4e5f60001"
VIP_OLD = "eipalloc-0a1b2c3d4e5f60002"


def _instance(i, name, role, az, ip):
    tags = {"Name": name}
    if role:
        tags["role"] = role
    return {"id": i, "tags": tags, "vpc_id": VPC,
            "availability_zone": az, "private_ip": ip}


def world():
    """The starting state: old members registered, nothing declared yet."""
    inst = []
    for n, i in enumerate(WEB):
        inst.append(_instance(i, "web-%d" % (n + 1), "web",
                              "us-east-1a" if n % 2 == 0 else "us-east-1b",
                              "10.0.1.%d" % (11 + n)))
    for n, i in enumerate(OLD):
        inst.append(_instance(i, "old-%d" % (n + 1), "old", "us-east-1a",
                              "10.0.2.%d" % (11 + n)))
    inst.append(_instance(APP1, "app-1", "app", "us-east-1a", "10.0.3.11"))
    inst.append(_instance(APP2, "app-2", "app", "us-east-1b", "10.0.3.12"))
    inst.append(_instance(ROGUE, "rogue", None, "us-east-1a", "10.0.9.9"))
    return {
        "config": {"classic_health_delay_seconds": 0.2,
                   "target_health_delay_seconds": 0.2,
                   "deregistration_delay_scale": 0.001},
        "instances": inst,
        "classic_load_balancers": [
            {"name": "web-classic", "vpc_id": VPC,
             "availability_zones": ["us-east-1a", "us-east-1b"],
             "instances": [OLD[0]],
             "connection_draining": {"enabled": True, "timeout": 300}}],
        "load_balancers_v2": [{"name": "web-alb", "type": "application"}],
        "target_groups": [
            {"name": "web-tg", "vpc_id": VPC, "port": 8080,
             "target_type": "instance", "deregistration_delay": 300,
             "targets": [{"id": OLD[0]}, {"id": OLD[1]}]},
            {"name": "api-tg", "vpc_id": VPC, "port": 9000,
             "target_type": "instance", "deregistration_delay": 300,
             "targets": []},
            {"name": "ip-tg", "vpc_id": VPC, "port": 80,
             "target_type": "ip", "deregistration_delay": 0,
             "targets": []}],
        "addresses": [
            {"allocation_id": VIP_APP, "public_ip": "203.0.113.10",
             "tags": {"Name": "vip-app"}, "instance_id": ROGUE},
            {"allocation_id": VIP_OLD, "public_ip": "203.0.113.11",
             "tags": {"Name": "vip-old"}, "instance_id": OLD[0]}],
    }


SPEC = """\
version: 1
region: us-east-1
load_balancers:
  - classic: web-classic
    members:
      - selector: {tags: {role: web}}
    timeout: 30s
  - target_group: web-tg
    members:
      - selector: {tags: {role: web}}
    timeout: 30s
    drain: wait
  - target_group: api-tg
    wait: registered
    members:
      - {id: %(app1)s, port: 9000}
      - {id: %(app1)s, port: 9001}
      - %(app2)s
  - target_group: ip-tg
    wait: none
    members:
      - {ip: 10.0.5.5}
      - {ip: 10.0.5.6, port: 81}
elastic_ips:
  - name: vip-app
    instance: %(app1)s
  - name: vip-old
    none: true
  - name: vip-new
    allocate: true
    instance: %(app2)s
""" % {"app1": APP1, "app2": APP2}


class Env:
    """A running fake, a temporary directory, and moor to run against it."""

    def __init__(self, state=None):
        self.state = copy.deepcopy(state if state is not None else world())
        self.fa = FakeAws(state=self.state)
        self.dir = tempfile.TemporaryDirectory(prefix="moor-it-")

    def __enter__(self):
        self.fa.start()
        return self

    def __exit__(self, *exc):
        self.fa.stop()
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def env(self, **extra):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_")}
        e.update(self.fa.env())
        e.update(AWS_CONFIG_FILE=self.path("no-config"),
                 AWS_SHARED_CREDENTIALS_FILE=self.path("no-credentials"),
                 NO_COLOR="1")
        e.update(extra)
        return e

    def moor(self, *args, expect=None, stdin=subprocess.DEVNULL, **extra):
        r = subprocess.run([MOOR] + list(args), env=self.env(**extra),
                           stdin=stdin, capture_output=True, text=True,
                           timeout=300)
        if expect is not None and r.returncode != expect:
            raise AssertionError(
                "moor %s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s"
                % (" ".join(args), r.returncode, expect, r.stdout,
                   r.stderr))
        return r

    def popen(self, *args):
        return subprocess.Popen([MOOR] + list(args), env=self.env(),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    # -- the fake's view ---------------------------------------------------

    def mutating(self):
        return self.fa.counters()["totals"]["mutating_applied"]

    def mutations(self):
        """Applied mutating calls, in order: ["ec2:AssociateAddress", ...]."""
        return ["%s:%s" % (e["service"], e["action"]) for e in self.fa.log()
                if e["mutating"] and e["applied"]]

    def dump(self):
        return self.fa.get_state()

    def members(self, group):
        st = self.dump()
        for lb in st["classic_load_balancers"]:
            if lb["name"] == group:
                return sorted(i["id"] if isinstance(i, dict) else i
                              for i in lb["instances"])
        for tg in st["target_groups"]:
            if tg["name"] == group:
                return sorted("%s:%s" % (t["id"], t.get("port") or tg["port"])
                              for t in tg["targets"])
        raise KeyError(group)

    def addresses_named(self, name):
        return [a for a in self.dump()["addresses"]
                if (a.get("tags") or {}).get("Name") == name]

    def holder(self, name):
        a = self.addresses_named(name)
        assert len(a) == 1, "%d addresses named %s" % (len(a), name)
        return a[0].get("instance_id") or a[0].get("network_interface_id")


def expect_converged(env, spec_path):
    """The declared state holds and a plan finds nothing to do."""
    before = env.mutating()
    env.moor("plan", spec_path, "--detailed-exitcode", expect=0)
    assert env.mutating() == before, "a plan changed something"
    assert env.members("web-classic") == sorted(WEB), env.members("web-classic")
    assert env.members("web-tg") == sorted("%s:8080" % i for i in WEB)
    assert env.members("api-tg") == sorted(
        ["%s:9000" % APP1, "%s:9001" % APP1, "%s:9000" % APP2])
    assert env.members("ip-tg") == ["10.0.5.5:80", "10.0.5.6:81"]
    assert env.holder("vip-app") == APP1
    assert env.holder("vip-old") is None
    assert env.holder("vip-new") == APP2


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def dumps(obj):
    return json.dumps(obj, indent=1, sort_keys=True)
