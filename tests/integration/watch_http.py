#!/usr/bin/python3
"""moor watch --listen, against tests/fakeaws with real health servers
(the candidates' private IPs are 127.0.0.2 and .3, as in
watch_failover.py).

GET /metrics is the metrics file's Prometheus text (checked by
prometheus_client's parser and a strict line grammar), /status the
status JSON, /healthz 200 while the loop turns and a spec is in force
(a rejected edit keeps the last good one: 200, naming the file's
fault), 503 with the reason otherwise; HEAD answers like GET,
other methods 405, other paths 404.  --listen that cannot bind fails at
start.  A client sending one byte a second and 500 idle connections do
not delay a failover, and the server sheds them and serves again.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_lib as L  # noqa: E402

A, B = L.iid(1), L.iid(2)
ALLOC = L.alloc_id(1)
IPS = ["127.0.0.2", "127.0.0.3"]

FA = L.FakeAws(state=L.world(3))
PORT = None
SERVERS = []

# The exposition format, line by line (text format 0.0.4).
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^%s(?:\{(?:%s(?:,%s)*)?\})? "
                    r"(?:[-+]?[0-9.eE+-]+|NaN|[-+]Inf)(?: -?[0-9]+)?$"
                    % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP %s .*$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$"
                  % NAME)


def strict_parse(text):
    """{metric name: [sample lines]}; fails on any line off the grammar."""
    assert text.endswith("\n"), "no final newline"
    typed, out = set(), {}
    for line in text.splitlines():
        m = TYPE.match(line)
        if m:
            assert m.group(1) not in typed, "TYPE twice: %s" % line
            typed.add(m.group(1))
            continue
        if HELP.match(line):
            continue
        assert SAMPLE.match(line), "not a sample line: %r" % line
        name = re.match(NAME, line).group(0)
        assert name in typed, "sample before its TYPE: %r" % line
        out.setdefault(name, []).append(line)
    return out


def spec_text():
    return ("version: 1\n"
            "region: us-east-1\n"
            "elastic_ips:\n"
            "  - allocation_id: %s\n"
            "    failover:\n"
            "      candidates: [%s, %s]\n"
            "      probe: {http: \"http://{private_ip}:%d/healthz\"}\n"
            "      interval: 300ms\n"
            "      timeout: 200ms\n"
            "      fall: 2\n"
            "      rise: 2\n"
            "      failback: stay\n" % (ALLOC, A, B, PORT))


def static_spec_text():
    """No failover: nothing but edits and resyncs writes the status."""
    return ("version: 1\n"
            "region: us-east-1\n"
            "elastic_ips:\n"
            "  - allocation_id: %s\n"
            "    instance: %s\n" % (ALLOC, A))


def fetch(url, method="GET"):
    """(status, headers, body) of one request; errors are answers too."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Session(L.SpecSession):
    """A fresh world and moor watch --listen on a free loopback port."""

    def __init__(self, listen=None, resync="1s", text=None, files=True):
        FA.reset()
        FA.load_state(L.world(3, addresses=[{
            "allocation_id": ALLOC, "public_ip": "198.51.100.20",
            "instance_id": A, "tags": {"Name": "vip-app"}}]))
        FA.reset_counters()
        for s in SERVERS:
            s.healthy = True
            s.start()
        self.port = L.free_port(["127.0.0.1"])
        self.url = "http://127.0.0.1:%d" % self.port
        super().__init__(FA, "watch-http", text or spec_text(), [
            "--resync", resync, "--listen",
            listen or "127.0.0.1:%d" % self.port])
        if not files:
            for opt in ("--status-file", "--metrics-file"):
                i = self.d.args.index(opt)
                del self.d.args[i:i + 2]

    def __enter__(self):
        super().__enter__()
        self.d.wait_event("http_listening", 10)
        return self

    def wait_healthy(self):
        L.wait_until(lambda: fetch(self.url + "/healthz")[0] == 200, 20,
                     "/healthz 200")


class HttpTest(L.WatchTestCase):
    fa = FA

    @classmethod
    def setUpClass(cls):
        global PORT
        PORT, SERVERS[:] = cls.health_servers(IPS)
        super().setUpClass()

    def test_metrics_status_and_routes(self):
        with Session() as s:
            s.d.wait_up(A, B)
            s.wait_healthy()
            code, hdr, body = fetch(s.url + "/metrics")
            self.assertEqual(code, 200)
            self.assertEqual(hdr["Content-Type"],
                             "text/plain; version=0.0.4; charset=utf-8")
            fams = {f.name: f for f in text_string_to_metric_families(body)}
            self.assertEqual(fams["moor_spec_in_force"].samples[0].value, 1)
            up = {smp.labels["instance"]: smp.value
                  for smp in fams["moor_probe_up"].samples}
            self.assertEqual(up, {A: 1, B: 1})
            # The same metrics as the file, by the strict grammar too.
            self.assertEqual(set(strict_parse(body)),
                             set(strict_parse(s.d.read_metrics())))
            # curl, as a shell probe or a scrape script reads it.
            out = subprocess.run(["curl", "-fsS", "-m", "10",
                                  s.url + "/metrics"],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(set(strict_parse(out.stdout)),
                             set(strict_parse(body)))

            code, hdr, body = fetch(s.url + "/status")
            self.assertEqual(code, 200)
            self.assertEqual(hdr["Content-Type"], "application/json")
            st = json.loads(body)
            self.assertEqual(st["format"], "moor-watch-status")
            self.assertEqual(st["spec"]["sha256"],
                             s.d.read_status()["spec"]["sha256"])
            self.assertEqual(st["addresses"][0]["holder"], A)

            code, hdr, body = fetch(s.url + "/healthz")
            self.assertEqual((code, body), (200, "ok\n"))
            code, hdr, body = fetch(s.url + "/metrics", "HEAD")
            self.assertEqual((code, body), (200, ""))
            self.assertTrue(hdr["Content-Type"].startswith("text/plain"))
            for m in ("POST", "PUT", "DELETE"):
                code, hdr, _ = fetch(s.url + "/metrics", m)
                self.assertEqual(code, 405, m)
                self.assertEqual(hdr["Allow"], "GET, HEAD")
            self.assertEqual(fetch(s.url + "/")[0], 404)
            self.assertEqual(fetch(s.url + "/status.json")[0], 404)

    def test_healthz_200_while_the_last_good_spec_is_in_force(self):
        # Without status or metrics files: the endpoint alone.
        with Session(resync="1h", text=static_spec_text(),
                     files=False) as s:
            s.wait_healthy()
            mark = s.d.mark()
            L.write_atomic(s.path, "version: 1\nregion: us-east-1\n"
                           "bogus: [\n")
            s.d.wait_event("spec_invalid", 10, since=mark)
            L.wait_until(lambda: "not:" in fetch(s.url + "/healthz")[2], 10,
                         "/healthz names the rejected file")
            code, _, body = fetch(s.url + "/healthz")
            self.assertEqual(code, 200, body)
            self.assertTrue(body.startswith(
                "ok: the last good spec stays in force; "
                "the file on disk is not: "), body)
            self.assertIn("syntax error", body)
            self.assertEqual(json.loads(fetch(s.url + "/status")[2])
                             ["spec"]["file"], "invalid")
            L.write_atomic(s.path, static_spec_text())
            L.wait_until(lambda: fetch(s.url + "/healthz")[2] == "ok\n", 10,
                         "/healthz ok")

    def test_cannot_listen_fails_at_start(self):
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        try:
            with open(os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                   "moor-http-%d.yaml" % os.getpid()),
                      "w") as f:
                f.write(spec_text())
            for listen, rc, says in [
                    ("127.0.0.1:%d" % port, 1,
                     "cannot listen on 127.0.0.1:%d: Address already in use"
                     % port),
                    ("localhost:80", 64, "'localhost' is not an IPv4"),
                    ("99999", 64, "the port must be a number")]:
                d = L.Daemon(FA, f.name, ["--listen", listen])
                try:
                    d.start()
                    self.assertEqual(d.proc.wait(timeout=20), rc, listen)
                    d.reader.join(timeout=10)
                    self.assertIn(says, d.log_text())
                finally:
                    d.close()
                    d.proc.stdout.close()
                    d.proc.stderr.close()
            os.unlink(f.name)
        finally:
            held.close()

    def test_slow_and_idle_clients_do_not_stall_failover(self):
        with Session() as s:
            s.d.wait_up(A, B)
            s.wait_healthy()
            stop = threading.Event()
            slow = socket.create_connection(("127.0.0.1", s.port))

            def dribble():
                req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" * 100
                for byte in req:
                    if stop.wait(1):
                        return
                    try:
                        slow.send(bytes([byte]))
                    except OSError:
                        return
            t = threading.Thread(target=dribble, daemon=True)
            t.start()
            # The slow client holds a connection; others are still served.
            time.sleep(2)
            self.assertEqual(fetch(s.url + "/healthz")[0], 200)
            idle = [socket.create_connection(("127.0.0.1", s.port))
                    for _ in range(500)]
            try:
                seq = L.last_seq(FA)
                start = time.monotonic()
                SERVERS[0].stop()
                L.wait_until(lambda: L.holder(FA, ALLOC) == B, 30,
                             "the address on %s" % B)
                took = time.monotonic() - start
                calls = [e for e in FA.log(seq)
                         if e["action"] == "AssociateAddress"]
                self.assertEqual(len(calls), 1, calls)
                print("failover with a slow client and 500 idle "
                      "connections: %.2fs" % took, file=sys.stderr)
                # The idle ones are closed by the server: over the cap at
                # once, the rest after the idle timeout.
                for c in idle:
                    c.settimeout(30)
                    self.assertEqual(c.recv(1), b"")
                s.wait_healthy()
            finally:
                stop.set()
                t.join()
                slow.close()
                for c in idle:
                    c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
