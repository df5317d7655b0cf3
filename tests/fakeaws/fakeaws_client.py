"""Helpers for tests that drive fakeaws: start it, then use its control API.

Talks to the fake over HTTP only; it imports nothing from moor.

    from fakeaws_client import FakeAws
    with FakeAws(state={"instances": [{"tags": {"role": "web"}}]}) as fa:
        env = fa.env()              # AWS_ENDPOINT_URL, keys, region
        fa.set_faults({"actions": {"AssociateAddress": {"script": ["throttle"]}}})
        ...
        assert fa.counters()["totals"]["mutating"] == 0
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
PYTHON = os.environ.get("FAKEAWS_PYTHON", "/usr/bin/python3")

DEFAULT_ACCESS_KEY = "AKIAFAKEAWSEXAMPLE01"
DEFAULT_SECRET_KEY = "fakeAWS/secret/EXAMPLE+KEY/0000000000001"
DEFAULT_SESSION_ACCESS_KEY = "ASIAFAKEAWSSESSION01"
DEFAULT_SESSION_SECRET_KEY = "fakeAWS/session/EXAMPLE+KEY/00000000001"
DEFAULT_SESSION_TOKEN = "FakeAwsSessionTokenEXAMPLE//0001+tokentokentokentoken="


def child_env(home, *layers):
    """The environment of a program under test: PATH, HOME=home and this
    process's sanitizer options, then each layer (a dict, or None) in
    turn, where a value of None removes the variable."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    for layer in layers:
        for k, v in (layer or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


class ControlError(Exception):
    def __init__(self, status, body):
        super().__init__("fakeaws control API: HTTP %d: %s" % (status, body))
        self.status = status
        self.body = body


class FakeAws:
    """A fakeaws server in a subprocess on a free port."""

    def __init__(self, state=None, keys=None, python=PYTHON):
        self.python = python
        self.state = state
        self.keys = keys
        self.proc = None
        self.port = None
        self._tmp = []

    # -- lifecycle ---------------------------------------------------------

    def _write_tmp(self, doc):
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(doc, f)
        f.close()
        self._tmp.append(f.name)
        return f.name

    def start(self):
        cmd = [self.python, SERVER, "--port", "0"]
        if self.state is not None:
            cmd += ["--state", self.state if isinstance(self.state, str)
                    else self._write_tmp(self.state)]
        if self.keys is not None:
            cmd += ["--keys", self.keys if isinstance(self.keys, str)
                    else self._write_tmp(self.keys)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=None, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("fakeaws did not start: %r" % line)
        self.port = int(line.rsplit(":", 1)[1])
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        for name in self._tmp:
            try:
                os.unlink(name)
            except OSError:
                pass
        self._tmp = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self, session=False, region="us-east-1"):
        """Environment variables pointing an AWS client at the fake."""
        env = {"AWS_ENDPOINT_URL": self.url, "AWS_REGION": region,
               "AWS_DEFAULT_REGION": region,
               "AWS_EC2_METADATA_DISABLED": "true"}
        if session:
            env.update(AWS_ACCESS_KEY_ID=DEFAULT_SESSION_ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=DEFAULT_SESSION_SECRET_KEY,
                       AWS_SESSION_TOKEN=DEFAULT_SESSION_TOKEN)
        else:
            env.update(AWS_ACCESS_KEY_ID=DEFAULT_ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET_KEY)
        return env

    # -- control API -----------------------------------------------------------

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_fakeaws" + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise ControlError(e.code, e.read().decode(errors="replace"))

    def get_state(self):
        return self.call("GET", "/state")

    dump_state = get_state

    def load_state(self, doc):
        return self.call("PUT", "/state", doc)

    def reset(self):
        return self.call("POST", "/reset", {})

    def set_config(self, **patch):
        return self.call("PATCH", "/config", patch)

    def set_clock_offset(self, seconds):
        return self.call("PUT", "/clock", {"offset_seconds": seconds})

    def create_instance(self, **spec):
        return self.call("POST", "/instances", spec)

    def set_instance_state(self, instance_id, state):
        return self.call("POST", "/instances/state",
                         {"id": instance_id, "state": state})

    def set_status_checks(self, instance_id, **checks):
        """system= / instance= an EC2 check status ("impaired", ...);
        None puts it back to ok."""
        return self.call("POST", "/instances/status",
                         dict(id=instance_id, **checks))

    def create_classic_lb(self, **spec):
        return self.call("POST", "/classic-load-balancers", spec)

    def create_v2_lb(self, **spec):
        return self.call("POST", "/load-balancers-v2", spec)

    def create_target_group(self, **spec):
        return self.call("POST", "/target-groups", spec)

    def create_address(self, **spec):
        return self.call("POST", "/addresses", spec)

    def associate_address(self, **spec):
        return self.call("POST", "/addresses/associate", spec)

    def disassociate_address(self, **spec):
        return self.call("POST", "/addresses/disassociate", spec)

    def set_instance_health(self, lb_name, instance_id, state, **extra):
        return self.call("POST", "/classic-load-balancers/health",
                         dict(name=lb_name, instance_id=instance_id,
                              state=state, **extra))

    def set_target_health(self, target_group, target_id, state, port=None,
                          **extra):
        return self.call("POST", "/target-groups/health",
                         dict(target_group=target_group, id=target_id,
                              port=port, state=state, **extra))

    def set_faults(self, cfg):
        return self.call("PUT", "/faults", cfg)

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def counters(self):
        return self.call("GET", "/counters")

    get_counters = counters

    def log(self, since=0):
        return self.call("GET", "/log?since=%d" % since)["entries"]

    def reset_counters(self):
        return self.call("POST", "/counters/reset", {})

    def dynamodb_items(self, table):
        """The items of a DynamoDB table, in key order (AttributeValue
        maps, as the API returns them)."""
        for t in self.get_state().get("dynamodb_tables") or []:
            if t["name"] == table:
                return t["items"]
        raise KeyError("no DynamoDB table %s" % table)

    def calls(self, service=None):
        """["ec2:DescribeInstances", ...] in the order they were received."""
        return ["%s:%s" % (e["service"], e["action"]) for e in self.log()
                if service is None or e["service"] == service]


if __name__ == "__main__":
    # Handy by hand: start a fake with an optional state file and wait.
    fa = FakeAws(state=sys.argv[1] if len(sys.argv) > 1 else None).start()
    print(fa.url, flush=True)
    try:
        fa.proc.wait()
    except KeyboardInterrupt:
        fa.stop()
