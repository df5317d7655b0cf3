#!/usr/bin/python3
"""moor watch correcting drift and riding out AWS failures, against
tests/fakeaws: changes made through the fake's control API (a member
removed, an address moved, as in the console) are undone within one
resync and counted; an AWS outage and a failing call back off instead of
looping, and the daemon converges once AWS answers again; the JSON log
format and SIGUSR1's status report.
"""
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_lib as L  # noqa: E402

A, B, C = L.iid(1), L.iid(2), L.iid(3)
TG = "web-tg"
ALLOC = L.alloc_id(2)

SPEC = ("version: 1\n"
        "region: us-east-1\n"
        "load_balancers:\n"
        "  - target_group: %s\n"
        "    members: [%s, %s]\n"
        "    wait: registered\n"
        "elastic_ips:\n"
        "  - allocation_id: %s\n"
        "    instance: %s\n" % (TG, A, B, ALLOC, C))

FA = L.FakeAws(state=L.world(3))


class Session:
    def __init__(self, args=(), log_format="text", env=None, config=None,
                 subdir=None):
        FA.reset()
        FA.load_state(L.world(3, config=config, addresses=[{
            "allocation_id": ALLOC, "public_ip": "198.51.100.30",
            "tags": {"Name": "vip-web"}}], target_groups=[{
                "name": TG, "port": 8080, "protocol": "HTTP",
                "vpc_id": L.VPC, "targets": [{"id": A}]}]))
        self.dir = tempfile.mkdtemp(prefix="moor-watch-drift-")
        where = self.dir
        if subdir:
            where = os.path.join(self.dir, subdir)
            os.mkdir(where)
        self.path = os.path.join(where, "spec.yaml")
        with open(self.path, "w") as f:
            f.write(SPEC)
        self.d = L.Daemon(FA, self.path, ["--resync", "1s"] + list(args),
                          log_format=log_format, env=env)

    def __enter__(self):
        self.d.start()
        converged()
        return self.d

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                rc = self.d.stop()
                L.expect(rc == 0, "moor watch exited %s" % rc)
        finally:
            FA.clear_faults()
            self.d.close()
            shutil.rmtree(self.dir)


def converged(timeout=30):
    L.wait_until(lambda: L.tg_members(FA, TG) == [A, B] and
                 L.holder(FA, ALLOC) == C, timeout, "live state = spec")


def resyncs_since(d, mark):
    return d.find("reconcile", contains="(resync)", since=mark)


class DriftTest(L.WatchTestCase):
    fa = FA

    def test_drift_corrected_within_one_resync(self):
        with Session() as d:
            # Let the start-up reconcile be the spec's last full apply.
            L.wait_until(lambda: resyncs_since(d, 0), 20, "a resync")
            mark = d.mark()
            FA.call("POST", "/target-groups/deregister",
                    {"target_group": TG, "targets": [{"id": B}]})
            FA.associate_address(allocation_id=ALLOC, instance_id=A)
            self.assertTrue(L.tg_members(FA, TG) == [A], "drift not made")
            converged()
            # Logged when the reconcile that fixed it completes.
            fixed = L.wait_until(lambda: len(d.find("drift_corrected",
                                                    since=mark)) >= 2 and
                                 d.find("drift_corrected", since=mark), 10,
                                 "two drift_corrected events")
            self.assertTrue(len(fixed) == 2, fixed)
            self.assertTrue(
                {e["resource"] for e in fixed} == {TG, ALLOC}, fixed)
            # Undone by the first resync that saw it: at most the one that
            # may have been running when the drift was made came before.
            done = L.wait_until(
                lambda: [e for e in resyncs_since(d, mark)
                         if "drift" in e["msg"]], 10, "the reconcile summary")
            first = resyncs_since(d, mark).index(done[0])
            self.assertTrue(
                first <= 1, "drift undone only by resync #%d" % (first + 1))
            L.wait_until(lambda: "moor_drift_corrections_total 2" in
                         d.read_metrics(), 10, "the drift counter")
            st = d.read_status()
            self.assertTrue(
                st["counters"]["drift_corrections"] == 2, st["counters"])
            g = st["groups"][0]
            self.assertTrue(g["label"] == TG and g["members_total"] == 2, g)
            a = st["addresses"][0]
            self.assertTrue(a["holder"] == C and not a["failover"], a)

    def test_spec_reverted_is_not_drift(self):
        """A -> B -> A: moor undoing its own B is no drift; a hand-made
        change after that is."""
        with Session() as d:
            L.wait_until(lambda: resyncs_since(d, 0), 20, "a resync")
            mark = d.mark()
            # B adds C and names a group that does not exist, so B is never
            # applied whole: A stays the spec "last applied in full".
            L.write_atomic(d.spec, SPEC.replace(
                "members: [%s, %s]" % (A, B),
                "members: [%s, %s, %s]" % (A, B, C)).replace(
                "elastic_ips:\n", "  - target_group: missing-tg\n"
                "    members: [%s]\nelastic_ips:\n" % A))
            L.wait_until(lambda: L.tg_members(FA, TG) == [A, B, C], 20,
                         "C registered by the edit")
            L.write_atomic(d.spec, SPEC)
            converged()
            quiet = d.mark()
            L.wait_until(lambda: len(resyncs_since(d, quiet)) >= 2, 20,
                         "two resyncs")
            self.assertTrue(not d.find("drift_corrected", since=mark),
                            "reverting the spec counted as drift: %s" %
                            d.find("drift_corrected", since=mark))
            self.assertTrue(
                "moor_drift_corrections_total 0" in d.read_metrics(),
                d.read_metrics())
            # A change by hand is drift.
            FA.call("POST", "/target-groups/deregister",
                    {"target_group": TG, "targets": [{"id": B}]})
            converged()
            L.wait_until(lambda: "moor_drift_corrections_total 1" in
                         d.read_metrics(), 10, "the drift counter")

    def test_aws_outage_backs_off_then_converges(self):
        with Session(["--max-attempts", "1"]) as d:
            FA.set_faults({"global": {"error_503_rate": 1.0}})
            mark = d.mark()
            FA.call("POST", "/target-groups/deregister",
                    {"target_group": TG, "targets": [{"id": B}]})
            seq = L.last_seq(FA)
            d.wait_event("observe_failed", 20, since=mark)
            time.sleep(6)
            # Backing off (1 s, 2 s, 4 s ...), not looping: a handful of
            # attempts in 6 s, each three reads tried at most three times.
            # Requests first: an attempt's requests reach fakeaws before its
            # observe_failed line reaches us (later still under sanitizers).
            requests = len(FA.log(seq))
            time.sleep(0.5)
            attempts = d.find("observe_failed", since=mark)
            self.assertTrue(1 <= len(attempts) <= 4,
                            "%d attempts in 6s" % len(attempts))
            self.assertTrue(
                requests <= (len(attempts) + 1) * 3 * 3,
                "%d requests in 6s, %d attempts" % (requests, len(attempts)))
            waits = [re.search(r"next attempt in (\S+)", e["msg"]).group(1)
                     for e in d.find("backoff", since=mark)]
            self.assertTrue(
                len(waits) >= 2 and
                waits == ["1s", "2s", "4s", "8s"][:len(waits)], waits)
            self.assertTrue(d.proc.poll() is None, "the daemon died")
            st = d.read_status()
            self.assertTrue(st["last_error"]["aws_code"] == "Unavailable",
                            st["last_error"])
            self.assertTrue(st["last_error"]["request_id"], st["last_error"])
            self.assertTrue(st["counters"]["resources_backing_off"] >= 1, st)
            FA.clear_faults()
            converged(40)
            d.wait_event("drift_corrected", 10, since=mark, resource=TG)

    def test_failing_call_backs_off_per_resource(self):
        with Session(["--max-attempts", "1"]) as d:
            FA.set_faults({"actions": {"elbv2:RegisterTargets":
                                       {"error_500_rate": 1.0}}})
            mark = d.mark()
            FA.call("POST", "/target-groups/deregister",
                    {"target_group": TG, "targets": [{"id": B}]})
            # The address, drifted at the same time, is fixed regardless.
            FA.associate_address(allocation_id=ALLOC, instance_id=A)
            ev = d.wait_event("apply_failed", 20, since=mark, resource=TG)
            e = ev[0]
            self.assertTrue(e["level"] == "error", e)
            self.assertTrue("aws_code=InternalFailure" in e["raw"], e["raw"])
            self.assertTrue("request_id=" in e["raw"], e["raw"])
            L.wait_until(lambda: L.holder(FA, ALLOC) == C, 20, "the address")
            d.wait_event("backoff", 10, since=mark, resource=TG)
            FA.clear_faults()
            converged(40)

    def test_credentials_refresh_underway(self):
        # Container credentials that live 6 s: the fake rotates them every
        # ~5 s and the provider must keep fetching fresh ones.
        env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
               "AWS_CONTAINER_CREDENTIALS_FULL_URI":
               FA.url + "/_fakeaws/container-credentials",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "fake-container-token"}
        cfg = {"container_credentials": {"credential_duration_seconds": 6}}
        with Session(env=env, config=cfg) as d:
            seq = L.last_seq(FA)
            time.sleep(7)
            FA.call("POST", "/target-groups/deregister",
                    {"target_group": TG, "targets": [{"id": B}]})
            converged()
            log = FA.log(seq)
            keys = {e["access_key_id"] for e in log if e["access_key_id"]}
            self.assertTrue(
                len(keys) >= 2, "credentials never rotated: %s" % keys)
            bad = [e for e in log if e.get("error_code") in (
                "ExpiredToken", "RequestExpired", "InvalidClientTokenId",
                "AuthFailure")]
            self.assertTrue(not bad, bad[:2])
            self.assertTrue(
                not d.find("observe_failed"), d.find("observe_failed"))
        # Issued session tokens start with this (base64 of "FQoGZXIvYXdzE").
        self.assertTrue(
            "RlFvR1pYSXZZWGR6" not in d.log_text(), "a token was logged")

    def test_json_log_and_sigusr1_status(self):
        # A directory name that is not UTF-8 still gives valid JSON.
        with Session(log_format="json", subdir=os.fsdecode(b"conf-\xe9")) as d:
            d.wait_event("reconcile", 20)
            mark = d.mark()
            d.send_signal(signal.SIGUSR1)
            d.wait_event("status", 10, since=mark)
            d.wait_event("status_group", 10, since=mark, resource=TG)
            ev = d.wait_event("status_address", 10, since=mark, resource=ALLOC)
            self.assertTrue(C in ev[0]["msg"], ev)
        # Every line of the log is one JSON object with the fixed members.
        for line in d.lines:
            obj = json.loads(line)
            for k in ("time", "level", "event", "msg"):
                self.assertTrue(k in obj, "%s missing in %s" % (k, line))
            self.assertTrue(
                re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                         obj["time"]), obj["time"])
        steps = [json.loads(x) for x in d.lines
                 if json.loads(x)["event"] == "apply_step"]
        self.assertTrue(steps and steps[0].get("resource"), steps)
        started = [json.loads(x) for x in d.lines
                   if json.loads(x)["event"] == "watch_started"][0]
        self.assertTrue(
            "conf-\ufffd/spec.yaml" in started["msg"], started["msg"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
