#!/usr/bin/python3
"""moor plan / apply / import against tests/fakeaws.

Converge from empty with the fewest mutating calls in the right order; a
no-op plan and apply make zero mutating calls; drift is found and repaired;
a stale saved plan is refused, and so is a saved plan edited by hand; one
group's failures do not stop the others
and a re-run converges; the output formats; the guards and exit codes; and
import declares the live state so exactly that planning it changes nothing.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_lib as L  # noqa: E402
from engine_lib import APP1, OLD, ROGUE, VIP_APP, WEB  # noqa: E402


class EngineTest(unittest.TestCase):
    def setUp(self):
        self.e = L.Env().__enter__()
        self.addCleanup(self.e.__exit__)
        self.spec = self.e.write("spec.yaml", L.SPEC)

    def test_converge_from_empty_then_noop(self):
        e = self.e
        r = e.moor("apply", self.spec, "--yes", expect=0)
        self.assertIn("Apply complete: 14 done", r.stdout)
        # One batched call per group and one per address.  Apply orders
        # related steps only (a wait on one group holds up no other), so
        # check what must hold: per group, registrations before
        # deregistrations; the allocation before its association.
        got = e.mutations()
        self.assertEqual(sorted(got), sorted([
            "ec2:AllocateAddress",
            "elb:RegisterInstancesWithLoadBalancer",
            "elbv2:RegisterTargets",
            "elbv2:RegisterTargets",
            "elbv2:RegisterTargets",
            "ec2:AssociateAddress",
            "ec2:AssociateAddress",
            "elb:DeregisterInstancesFromLoadBalancer",
            "elbv2:DeregisterTargets",
            "ec2:DisassociateAddress",
        ]))
        calls = [c for c in e.fa.log() if c["mutating"] and c["applied"]]
        last_reg = {}
        for n, c in enumerate(calls):
            p = c["params"]
            group = p.get("LoadBalancerName") or p.get("TargetGroupArn")
            if c["action"] in ("RegisterInstancesWithLoadBalancer",
                               "RegisterTargets"):
                last_reg[group] = n
            if c["action"] in ("DeregisterInstancesFromLoadBalancer",
                               "DeregisterTargets"):
                self.assertIn(group, last_reg, got)
        known = {a["allocation_id"] for a in e.state["addresses"]}
        alloc = [n for n, c in enumerate(calls)
                 if c["action"] == "AllocateAddress"]
        for n, c in enumerate(calls):
            if (c["action"] == "AssociateAddress" and
                    c["params"].get("AllocationId") not in known):
                self.assertLess(alloc[0], n, got)
        L.expect_converged(e, self.spec)
        self.assertEqual(len(e.addresses_named("vip-new")), 1)

        # A no-op plan: exit 0 with --detailed-exitcode, no change made,
        # and only reads (one batched read per kind of resource).
        e.fa.reset_counters()
        r = e.moor("plan", self.spec, "--detailed-exitcode", expect=0)
        self.assertIn("No changes: live state matches", r.stdout)
        c = e.fa.counters()
        self.assertEqual(c["totals"]["mutating"], 0)
        calls = e.fa.calls()
        self.assertEqual(calls.count("ec2:DescribeAddresses"), 1)
        self.assertEqual(calls.count("elbv2:DescribeTargetHealth"), 3)
        # Text shows neither health nor the account, and no step needs
        # them: no Classic health, no group attributes, no identity.
        self.assertEqual(calls.count("elb:DescribeInstanceHealth"), 0)
        self.assertEqual(
            calls.count("elbv2:DescribeTargetGroupAttributes"), 0)
        self.assertEqual(calls.count("sts:GetCallerIdentity"), 0)
        # Nothing to register: no load balancer zones to check.
        self.assertEqual(calls.count("elbv2:DescribeLoadBalancers"), 0)
        # A no-op apply changes nothing either.
        e.fa.reset_counters()
        r = e.moor("apply", self.spec, "--yes", expect=0)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)

    def test_drift_repair(self):
        e = self.e
        e.moor("apply", self.spec, "--yes", expect=0)
        # By hand: a member leaves, an extra one joins, the address moves.
        e.fa.call("POST", "/target-groups/deregister",
                  {"target_group": "web-tg", "targets": [{"id": WEB[1]}]})
        e.fa.call("POST", "/classic-load-balancers/register",
                  {"name": "web-classic", "instances": [OLD[1]]})
        e.fa.associate_address(allocation_id=VIP_APP, instance_id=ROGUE)
        r = e.moor("plan", self.spec, "--detailed-exitcode", expect=2)
        self.assertIn("+ web-tg: register %s:8080 (web-2)  # declared, not "
                      "registered" % WEB[1], r.stdout)
        self.assertIn("- web-classic: deregister %s  # registered, not "
                      "declared" % OLD[1], r.stdout)
        self.assertIn("~ vip-app (203.0.113.10): move %s (private IP "
                      "10.0.9.9) -> %s  # drift: moved to %s out of band"
                      % (ROGUE, APP1, ROGUE), r.stdout)
        self.assertIn("warning: hijack: vip-app is bound to %s" % ROGUE,
                      r.stdout)
        e.fa.reset_counters()
        e.moor("apply", self.spec, "--yes", expect=0)
        self.assertEqual(sorted(e.mutations()), sorted([
            "elbv2:RegisterTargets", "ec2:AssociateAddress",
            "elb:DeregisterInstancesFromLoadBalancer"]))
        L.expect_converged(e, self.spec)

    def test_stale_saved_plan_refused(self):
        e = self.e
        plan = e.path("plan.json")
        r = e.moor("plan", self.spec, "-o", plan, "--detailed-exitcode",
                   expect=2)
        # Behind the plan's back: web-tg loses a member.
        e.fa.call("POST", "/target-groups/deregister",
                  {"target_group": "web-tg", "targets": [{"id": OLD[1]}]})
        e.fa.reset_counters()
        r = e.moor("apply", plan, "--yes", expect=1)
        self.assertIn("Stale plan: these changed since it was made:\n"
                      "  tg:web-tg\nNothing was done.", r.stdout)
        self.assertIn("stale plan: tg:web-tg changed since the plan was "
                      "made", r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        # A fresh plan applies exactly, and converges.
        e.moor("plan", self.spec, "-o", plan, expect=0)
        with open(plan) as f:
            saved = json.load(f)
        e.fa.reset_counters()
        r = e.moor("apply", plan, "--yes", expect=0)
        self.assertEqual(len(e.mutations()), saved["summary"]["steps"] -
                         saved["summary"]["waits"])
        L.expect_converged(e, self.spec)

    def test_partial_failure_then_rerun(self):
        e = self.e
        # Every call on the Classic ELB's registration fails.
        e.fa.set_faults({"actions": {
            "elb:RegisterInstancesWithLoadBalancer": {"error_500_rate": 1.0}}})
        r = e.moor("apply", self.spec, "--yes", "--max-attempts", "1",
                   expect=1)
        self.assertRegex(r.stdout, r"failed   \+ web-classic: register .*\n"
                         r"         error: register web-classic: elb "
                         r"RegisterInstancesWithLoadBalancer: "
                         r"InternalFailure: .*\(HTTP 500, request id "
                         r"[0-9a-f-]+\)\n")
        # One retry layer, the client's (here 1 attempt): apply does not
        # send the call again on its own.
        self.assertEqual(e.fa.calls().count(
            "elb:RegisterInstancesWithLoadBalancer"), 1)
        self.assertIn("skipped    web-classic: wait until healthy", r.stdout)
        self.assertRegex(r.stdout, r"Apply incomplete: 11 done, 0 already "
                         r"in place, 2 skipped, 1 failed\.")
        # The other groups and the addresses converged regardless ...
        self.assertEqual(e.members("web-tg"),
                         sorted("%s:8080" % i for i in WEB))
        self.assertEqual(e.holder("vip-app"), APP1)
        # ... and the classic ELB kept its old member (make-before-break).
        self.assertEqual(e.members("web-classic"), [OLD[0]])
        e.fa.clear_faults()
        r = e.moor("apply", self.spec, "--yes", expect=0)
        self.assertIn("+ web-classic: register", r.stdout)
        L.expect_converged(e, self.spec)

    def test_formats(self):
        e = self.e
        # Formats that record the account, and a saved plan, ask who we
        # are, once.
        for args in (["--format", "json"], ["--format", "markdown"],
                     ["-o", e.path("saved.json")]):
            e.fa.reset_counters()
            e.moor("plan", self.spec, *args, expect=0)
            self.assertEqual(e.fa.calls().count("sts:GetCallerIdentity"), 1,
                             args)
        r = e.moor("plan", self.spec, "--format", "json", expect=0)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format_version"], 2)
        self.assertEqual(doc["spec"]["sha256"], L.sha256_file(self.spec))
        self.assertEqual(doc["account"], "123456789012")
        self.assertEqual(doc["region"], "us-east-1")
        phases = [s["phase_number"] for s in doc["steps"]]
        self.assertEqual(phases, sorted(phases))
        self.assertEqual([s["id"] for s in doc["steps"]],
                         list(range(1, len(doc["steps"]) + 1)))
        # allocate, 6 + 6 + 3 + 2 registrations, move, associate,
        # 1 + 2 deregistrations, disassociate.
        self.assertEqual(doc["summary"]["changes"],
                         1 + 6 + 6 + 3 + 2 + 1 + 1 + 1 + 2 + 1)
        keys = {r["key"] for r in doc["observed"]["resources"]}
        for s in doc["steps"]:
            self.assertTrue(s["precondition"], s)
            for p in s["precondition"]:
                self.assertEqual(len(p["fingerprint"]), 64)
            self.assertIn(s["resource"]["key"], keys)
        r = e.moor("plan", self.spec, "--format", "markdown", expect=0)
        self.assertIn("| web-tg | target group | 2 → 6 | 2 | 6 | 2 |",
                      r.stdout)
        self.assertIn("- `203.0.113.10` (vip-app): %s → %s" % (ROGUE, APP1),
                      r.stdout)
        self.assertIn("<details><summary>", r.stdout)
        self.assertIn("observed fingerprint `%s`"
                      % doc["observed"]["fingerprint"][:16], r.stdout)

    def test_guards_and_exit_codes(self):
        e = self.e
        e.fa.reset_counters()
        # Invalid, empty or unreadable specs are errors, never "nothing".
        empty = e.write("empty.yaml", "")
        r = e.moor("plan", empty, expect=1)
        self.assertIn("empty spec", r.stderr)
        r = e.moor("apply", e.write("bad.yaml", "version: 1\nfoo: 1\n"),
                   "--yes", expect=1)
        self.assertIn("bad.yaml:2:1: unknown key 'foo'", r.stderr)
        e.moor("apply", e.path("missing.yaml"), "--yes", expect=1)
        self.assertEqual(e.fa.counters()["totals"]["requests"], 0)
        # Usage errors.
        e.moor("plan", expect=64)
        e.moor("plan", self.spec, "--format", "yaml", expect=64)
        e.moor("apply", self.spec, "extra", expect=64)
        e.moor("import", expect=64)
        # Without a terminal apply needs --yes.
        r = e.moor("apply", self.spec, expect=1)
        self.assertIn("pass --yes", r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        # --max-changes caps the plan.
        r = e.moor("plan", self.spec, "--max-changes", "5", expect=1)
        self.assertIn("the plan makes 24 changes, more than --max-changes "
                      "5 allows", r.stderr)
        # --max-changes 0: no change allowed, a no-op plan passes.
        r = e.moor("plan", self.spec, "--max-changes", "0", expect=1)
        self.assertIn("the plan makes 24 changes, more than --max-changes "
                      "0 allows", r.stderr)
        e.moor("apply", self.spec, "--max-changes", "0", "--yes", expect=1)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        e.moor("plan", self.spec, "--max-changes", "-1", expect=64)
        # Mass deregistration: a selector that matches nothing.
        e.moor("apply", self.spec, "--yes", expect=0)
        e.moor("plan", self.spec, "--max-changes", "0",
               "--detailed-exitcode", expect=0)
        typo = e.write("typo.yaml", L.SPEC.replace("role: web", "role: wbe"))
        r = e.moor("plan", typo, expect=1)
        self.assertIn("typo.yaml:4:5: refusing to deregister 6 of 6 members "
                      "of web-classic (more than half); if this is intended, "
                      "run moor apply --allow-mass-deregister", r.stderr)
        self.assertIn("typo.yaml:8:5: refusing to deregister 6 of 6 members "
                      "of web-tg", r.stderr)
        self.assertIn("typo.yaml:6:9: warning: web-classic: selector "
                      "role=wbe|running matches no instance", r.stderr)
        e.fa.reset_counters()
        e.moor("apply", typo, "--yes", expect=1)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        r = e.moor("plan", typo, "--allow-mass-deregister",
                   "--detailed-exitcode", expect=2)
        self.assertIn("deregister", r.stdout)
        # --only plans a subset, reading only what it needs.
        e.fa.reset_counters()
        r = e.moor("plan", self.spec, "--only", "vip-app", "ip-tg",
                   "--detailed-exitcode", expect=0)
        calls = e.fa.calls()
        self.assertNotIn("elb:DescribeLoadBalancers", calls)
        r = e.moor("plan", self.spec, "--only", "nope", expect=1)
        self.assertIn("--only: 'nope' is not declared", r.stderr)

    def test_held_back_by_min_healthy_is_a_difference(self):
        # Issue 10: min_healthy 3, a declared target stopped, an undeclared
        # one healthy.  Nothing may be done, but live state differs from
        # the spec: a CI drift check (--detailed-exitcode) must see it.
        e = self.e
        st = L.world()
        for tg in st["target_groups"]:
            if tg["name"] == "web-tg":
                tg["targets"] = [{"id": i} for i in WEB[:4]]
        e.fa.load_state(st)
        for i in (WEB[0], WEB[1], WEB[3]):
            e.fa.set_target_health("web-tg", i, "healthy")
        e.fa.set_instance_state(WEB[2], "stopped")
        spec = e.write("r22.yaml", """\
version: 1
load_balancers:
  - target_group: web-tg
    members: [%s, %s, %s]
    min_healthy: 3
""" % tuple(WEB[:3]))
        held = ("web-tg: held back by min_healthy: deregistering %s:8080 "
                "would leave 2 healthy, the floor is 3" % WEB[3])
        e.fa.reset_counters()
        r = e.moor("plan", spec, "--detailed-exitcode", expect=2)
        self.assertIn("! " + held + "\n", r.stdout)
        self.assertIn("Plan: 1 held back (0 changes): live state differs "
                      "from %s." % spec, r.stdout)
        self.assertNotIn("No changes", r.stdout)
        r = e.moor("plan", spec, "--format", "json", "--detailed-exitcode",
                   expect=2)
        doc = json.loads(r.stdout)
        self.assertTrue(doc["summary"]["has_changes"])
        self.assertEqual(doc["summary"]["held_back"], 1)
        self.assertEqual(doc["summary"]["changes"], 0)
        self.assertEqual(doc["steps"], [])
        [h] = doc["held_back"]
        self.assertEqual((h["action"], h["guard"], h["floor"], h["healthy"]),
                         ("deregister", "min_healthy", 3, 2))
        self.assertEqual(h["resource"]["key"], "tg:web-tg")
        self.assertEqual(h["members"][0]["id"], WEB[3])
        self.assertEqual(h["location"], {"line": 5, "column": 18})
        r = e.moor("plan", spec, "--format", "markdown", expect=0)
        self.assertIn("**Held back**", r.stdout)
        # Apply has nothing it may do: no question, no call, exit 0.
        r = e.moor("apply", spec, "--yes", expect=0)
        self.assertIn("! " + held, r.stdout)
        self.assertIn("nothing to apply", r.stderr)
        saved = e.path("r22.plan")
        e.moor("plan", spec, "-o", saved, expect=0)
        r = e.moor("apply", saved, expect=0)  # no terminal, no --yes
        self.assertIn("nothing to apply", r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        # Once the declared target is back, the held one goes.
        e.fa.set_instance_state(WEB[2], "running")
        e.fa.set_target_health("web-tg", WEB[2], "healthy")
        r = e.moor("plan", spec, "--detailed-exitcode", expect=2)
        self.assertIn("- web-tg: deregister %s:8080" % WEB[3], r.stdout)
        self.assertNotIn("held back", r.stdout)

    def test_preconditions_reported_with_locations(self):
        e = self.e
        e.fa.set_instance_state(WEB[2], "stopped")
        spec = e.write("pre.yaml", """\
version: 1
load_balancers:
  - classic: web-classic
    members: [%s, i-0ffffffffffffffff]
    wait: none
elastic_ips:
  - name: vip-app
    instance: %s
""" % (WEB[2], WEB[2]))
        e.fa.reset_counters()
        r = e.moor("apply", spec, "--yes", expect=1)
        self.assertIn("pre.yaml:4:15: cannot register %s with web-classic: "
                      "instance is stopped, not running" % WEB[2], r.stderr)
        self.assertIn("pre.yaml:4:36: instance i-0ffffffffffffffff does not "
                      "exist", r.stderr)
        self.assertIn("pre.yaml:7:5: cannot associate vip-app with %s: "
                      "instance is stopped, not running" % WEB[2], r.stderr)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)

    def test_import_round_trip(self):
        e = self.e
        e.moor("apply", self.spec, "--yes", expect=0)
        out = e.path("imported.yaml")
        r = e.moor("import", "--classic", "web-classic", "--target-group",
                   "web-tg", "api-tg", "ip-tg", "--eip", "vip-app",
                   "vip-old,vip-new", "-o", out, expect=0)
        with open(out) as f:
            text = f.read()
        self.assertIn("      - %s  # web-1\n" % WEB[0], text)
        self.assertIn("      - id: %s  # app-1\n        port: 9001\n" % APP1,
                      text)
        self.assertIn("  - name: vip-old  # %s, 203.0.113.11\n"
                      "    none: true\n" % L.VIP_OLD, text)
        e.moor("validate", out, expect=0)
        e.fa.reset_counters()
        e.moor("plan", out, "--detailed-exitcode", expect=0)
        self.assertEqual(e.fa.counters()["totals"]["mutating"], 0)
        r = e.moor("import", "--target-group", "nope-tg", expect=1)
        self.assertIn("target group 'nope-tg' does not exist", r.stderr)

    def test_import_failed_write_keeps_the_old_file(self):
        # A write that fails midway (a file size limit here, a full disk
        # in life) must leave the old file whole, as plan -o does.
        e = self.e
        out = e.write("imported.yaml", "# the old spec\n")

        def small_files():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

        r = subprocess.run(
            [L.MOOR, "import", "--classic", "web-classic", "-o", out],
            env=e.env(), stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=60, preexec_fn=small_files)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot write", r.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), "# the old spec\n")
        self.assertEqual(os.listdir(e.dir.name).count("imported.yaml"), 1)
        self.assertEqual([n for n in os.listdir(e.dir.name)
                          if n.startswith("imported.yaml.tmp")], [])


class SavedPlanTest(unittest.TestCase):
    """A saved plan is input: apply plans again and refuses a bent one."""

    SPEC = """\
version: 1
region: us-east-1
load_balancers:
  - classic: web-classic
    members: [%s, %s]
""" % (WEB[0], WEB[1])

    def setUp(self):
        st = L.world()
        st["classic_load_balancers"][0]["instances"] = WEB[:3]
        self.e = L.Env(st).__enter__()
        self.addCleanup(self.e.__exit__)
        self.spec = self.e.write("s.yaml", self.SPEC)
        self.plan = self.e.path("s.plan")
        self.e.moor("plan", self.spec, "-o", self.plan, expect=0)
        with open(self.plan) as f:
            self.doc = json.load(f)

    def apply_edited(self, *args):
        with open(self.plan, "w") as f:
            json.dump(self.doc, f, indent=1)
        self.e.fa.reset_counters()
        r = self.e.moor("apply", self.plan, "--yes", *args, expect=1)
        self.assertEqual(self.e.fa.counters()["totals"]["mutating"], 0)
        self.assertEqual(self.e.members("web-classic"), sorted(WEB[:3]))
        return r

    def test_issue_10_members_edited(self):
        # The plan deregisters one member; the file is edited to list all.
        (step,) = self.doc["steps"]
        self.assertEqual(step["action"], "deregister")
        self.assertEqual([m["id"] for m in step["members"]], [WEB[2]])
        step["members"] = [{"id": i} for i in WEB[:3]]
        r = self.apply_edited()
        self.assertIn("s.plan: step 1 (deregister web-classic) is not what "
                      "moor plans from its spec and the live state: members "
                      "differ (the plan lists 3, moor plans 1); run moor "
                      "plan again", r.stderr)
        # The summary edited to match changes nothing.
        self.doc["summary"]["changes"] = 3
        self.doc["summary"]["deregister"] = 3
        r = self.apply_edited()
        self.assertIn("step 1 (deregister web-classic)", r.stderr)
        # Neither does the guard flag: the group would be emptied.
        r = self.apply_edited("--allow-mass-deregister")
        self.assertIn("step 1 (deregister web-classic)", r.stderr)

    def test_summary_and_spec_edited(self):
        self.doc["summary"]["changes"] = 0
        r = self.apply_edited()
        self.assertIn("s.plan: the summary says 0 changes, the steps make 1",
                      r.stderr)
        self.doc["summary"]["changes"] = 1
        # The spec it carries must be the one it was made from.
        self.doc["spec"]["content"] += "# edited\n"
        r = self.apply_edited()
        self.assertIn("spec content does not match spec sha256", r.stderr)

    def test_honest_plan_applies(self):
        self.assertEqual(self.doc["format_version"], 2)
        self.assertEqual(self.doc["spec"]["content"], self.SPEC)
        self.assertEqual(self.doc["options"], {"only": []})
        self.e.fa.reset_counters()
        self.e.moor("apply", self.plan, "--yes", expect=0)
        self.assertEqual(self.e.mutations(),
                         ["elb:DeregisterInstancesFromLoadBalancer"])
        self.assertEqual(self.e.members("web-classic"), sorted(WEB[:2]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
