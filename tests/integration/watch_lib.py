"""Shared helpers for the moor watch integration tests and benchmark.

Not a test itself (the watch_*.py scripts import it): a fakeaws world
whose instances have 127.0.0.x private IPs, small HTTP health servers on
those addresses, the daemon under test with its stderr parsed line by
line, and waits with generous deadlines (never fixed sleeps for
correctness; tests assert outcomes, not timings).
"""

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fakeaws"))

import fakeaws_client  # noqa: E402
from fakeaws_client import (  # noqa: E402
    DEFAULT_SECRET_KEY, DEFAULT_SESSION_SECRET_KEY, DEFAULT_SESSION_TOKEN)

# The tests start the fake through this module.
FakeAws = fakeaws_client.FakeAws

MOOR = os.environ.get("MOOR") or os.path.join(REPO, "moor")
SECRETS = [DEFAULT_SECRET_KEY, DEFAULT_SESSION_SECRET_KEY,
           DEFAULT_SESSION_TOKEN]
# Sanitizer builds are several times slower: deadlines scale with this.
SLOW = 4 if "san" in os.path.basename(os.path.dirname(MOOR)) else 1

VPC = "vpc-0a0a0a0a0a0a0a0a0"
SUBNET = "subnet-0a0a0a0a0a0a0a0a0"


def iid(n):
    """A well-formed instance id: i- and 17 hex digits."""
    return "i-%017x" % (0xa0000000000000000 + n)


def alloc_id(n):
    return "eipalloc-%017x" % (0xa0000000000000000 + n)


class Fail(AssertionError):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def wait_until(fn, timeout, what, interval=0.05):
    """Poll fn() until it returns something true; fail after timeout."""
    end = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
        except (OSError, ValueError, KeyError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


# --- files -------------------------------------------------------------------

def write_atomic(path, text):
    """Write a temporary file and rename it over path (editors, git)."""
    tmp = os.path.join(os.path.dirname(path),
                       ".%s.tmp%d" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def write_inplace(path, text):
    """Truncate and rewrite the same inode (echo > file)."""
    with open(path, "r+" if os.path.exists(path) else "w") as f:
        f.seek(0)
        f.truncate()
        f.write(text)


# --- health servers ------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        srv = self.server.owner
        srv.hits += 1
        code = 200 if srv.healthy else 503
        body = b"ok\n" if srv.healthy else b"unhealthy\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The daemon gives up on a probe at its timeout and closes the
        # connection: that is the behaviour under test, not an error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class HealthServer:
    """GET anything: 200 while healthy, 503 otherwise; stop() closes the
    listening socket, so connections are refused."""

    def __init__(self, ip, port):
        self.ip = ip
        self.port = port
        self.healthy = True
        self.hits = 0
        self.srv = None
        self.thread = None

    def start(self):
        if self.srv:
            return self
        end = time.monotonic() + 10
        while True:
            try:
                self.srv = _Server((self.ip, self.port), _Handler)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        self.srv.owner = self
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if not self.srv:
            return
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join()
        self.srv = None

    @property
    def running(self):
        return self.srv is not None


def free_port(ips):
    """A TCP port free on every one of ips."""
    for _ in range(100):
        s = socket.socket()
        s.bind((ips[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for ip in ips:
            t = socket.socket()
            try:
                t.bind((ip, port))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return port
    raise Fail("no free port")


# --- the fake world -----------------------------------------------------------------

def world(n_instances=3, addresses=(), target_groups=(), config=None):
    """A fakeaws state: instances 1..n on 127.0.0.(n+1), running."""
    st = {"config": {"region": "us-east-1",
                     "target_health_delay_seconds": 0.1,
                     "classic_health_delay_seconds": 0.1,
                     "deregistration_delay_scale": 0.0}}
    st["config"].update(config or {})
    st["instances"] = [{"id": iid(i), "state": "running",
                        "private_ip": "127.0.0.%d" % (i + 1),
                        "vpc_id": VPC, "subnet_id": SUBNET,
                        "tags": {"Name": "node-%d" % i, "role": "web"}}
                       for i in range(1, n_instances + 1)]
    st["addresses"] = list(addresses)
    st["target_groups"] = list(target_groups)
    return st


def holder(fa, allocation):
    for a in fa.get_state()["addresses"]:
        if a.get("allocation_id") == allocation:
            return a.get("instance_id")
    raise Fail("no address %s" % allocation)


def wait_holder(fa, allocation, want, timeout=30):
    """Wait until the address is associated with instance want."""
    wait_until(lambda: holder(fa, allocation) == want, timeout,
               "the address on %s" % want)


def tg_members(fa, name):
    """Registered (not draining) target ids of a group."""
    for g in fa.get_state()["target_groups"]:
        if g["name"] == name:
            return sorted(t["id"] for t in g.get("targets", []))
    raise Fail("no target group %s" % name)


def mutations(fa, since=0):
    return [e for e in fa.log(since) if e["mutating"]]


def last_seq(fa):
    entries = fa.log()
    return entries[-1]["seq"] if entries else 0


# --- the daemon -------------------------------------------------------------------

TEXT_LINE = re.compile(r"^(\S+) (\w+) (\w+)(?: (\S+))?: (.*)$")


class Event(dict):
    """One log line: time, level, event, resource, msg (+ raw)."""


def parse_line(line, json_format):
    if json_format:
        try:
            d = json.loads(line)
        except ValueError:
            return None
        e = Event(d)
        e["raw"] = line
        return e
    m = TEXT_LINE.match(line)
    if not m:
        return None
    return Event(time=m.group(1), level=m.group(2), event=m.group(3),
                 resource=m.group(4), msg=m.group(5), raw=line)


class Daemon:
    """moor watch in a subprocess; stderr is collected and parsed."""

    def __init__(self, fa, spec, args=(), env=None, cwd=None,
                 log_format="text"):
        self.fa = fa
        self.spec = spec
        self.json = log_format == "json"
        self.tmp = tempfile.mkdtemp(prefix="moor-watch-")
        self.status = os.path.join(self.tmp, "status.json")
        self.metrics = os.path.join(self.tmp, "moor.prom")
        self.args = [MOOR, "watch", spec, "--status-file", self.status,
                     "--metrics-file", self.metrics,
                     "--log-format", log_format] + list(args)
        self.env = fakeaws_client.child_env(self.tmp, fa.env(), env)
        self.cwd = cwd
        self.proc = None
        self.lines = []
        self.events = []
        self.lock = threading.Lock()
        self.reader = None

    def start(self):
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=self.cwd,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            if os.environ.get("WATCH_TEST_VERBOSE"):
                sys.stderr.write("    | %s\n" % line)
            ev = parse_line(line, self.json)
            with self.lock:
                self.lines.append(line)
                if ev is not None:
                    self.events.append(ev)

    def log_text(self):
        with self.lock:
            return "\n".join(self.lines)

    def find(self, event, resource=None, contains=None, since=0):
        with self.lock:
            evs = list(self.events[since:])
        return [e for e in evs if e.get("event") == event and
                (resource is None or e.get("resource") == resource) and
                (contains is None or contains in e.get("msg", ""))]

    def mark(self):
        """Index to pass as since= to see only later events."""
        with self.lock:
            return len(self.events)

    def wait_event(self, event, timeout=20, resource=None, contains=None,
                   since=0):
        def look():
            if self.proc.poll() is not None:
                raise Fail("moor watch exited (%s) while waiting for %s:\n%s"
                           % (self.proc.returncode, event,
                              self.log_text()[-4000:]))
            return self.find(event, resource, contains, since)
        return wait_until(look, timeout, "event %s" % event)

    def read_status(self):
        with open(self.status) as f:
            return json.load(f)

    def wait_up(self, *instances):
        """Until the status shows the first address's candidates among
        instances up."""
        def ok():
            st = self.read_status()
            c = {c["instance"]: c for c in st["addresses"][0]["candidates"]}
            return all(c[i]["health"] == "up" for i in instances)
        wait_until(ok, 30, "candidates %s up" % (instances,))

    def read_metrics(self):
        with open(self.metrics) as f:
            return f.read()

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal, wait, return the exit code; checks no secret leaked."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("moor watch did not exit after %s:\n%s"
                       % (sig, self.log_text()[-4000:]))
        self.reader.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        text = self.log_text()
        for s in SECRETS:
            expect(s not in text, "a secret reached the log")
        return rc

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            if self.reader is not None:
                self.reader.join(timeout=10)
            for f in (self.proc.stdout, self.proc.stderr):
                if not f.closed:
                    f.close()
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)


class SpecSession:
    """A spec file in a directory of its own (named after the script) and
    moor watch on it.  `with` starts the daemon and gives it; on leaving
    without an exception the daemon must exit 0; the files go either way."""

    def __init__(self, fa, name, text, args=()):
        self.dir = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                "moor-%s-%d" % (name, os.getpid()))
        os.makedirs(self.dir, exist_ok=True)
        self.path = os.path.join(self.dir, "spec.yaml")
        with open(self.path, "w") as f:
            f.write(text)
        self.d = Daemon(fa, self.path, list(args))

    def __enter__(self):
        self.d.start()
        return self.d

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                rc = self.d.stop()
                expect(rc == 0, "moor watch exited %s" % rc)
        finally:
            self.d.close()
            os.unlink(self.path)
            os.rmdir(self.dir)


# --- running tests ------------------------------------------------------------------

class WatchTestCase(unittest.TestCase):
    """The script's fake (fa, a FakeAws not yet started) runs for all of
    its tests, as one fake per script is quicker; each test loads the
    world it needs."""

    fa = None

    @classmethod
    def setUpClass(cls):
        cls.fa.start()
        cls.addClassCleanup(cls.fa.stop)

    @classmethod
    def health_servers(cls, ips):
        """A port free on every one of ips and a HealthServer (not yet
        started) on each, stopped after the class's tests."""
        port = free_port(ips)
        servers = [HealthServer(ip, port) for ip in ips]
        for s in servers:
            cls.addClassCleanup(s.stop)
        return port, servers
