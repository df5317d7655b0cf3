#!/usr/bin/python3
"""moor watch and edits of its spec, against tests/fakeaws.

Every way a file gets saved is applied (atomic rename, in-place write, a
git checkout of another revision, the directory replaced, SIGHUP); every
bad edit (a YAML error, an invalid value, an emptied or deleted file, an
edit that would empty a group) changes nothing -- fakeaws counts zero
mutating calls -- and is logged with its location, repeatedly until it is
fixed.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch_lib as L  # noqa: E402

A, B, C, D = L.iid(1), L.iid(2), L.iid(3), L.iid(4)
TG = "web-tg"

FA = L.FakeAws(state=L.world(4))


def spec_text(members, extra=""):
    return ("version: 1\n"
            "region: us-east-1\n"
            "load_balancers:\n"
            "  - target_group: %s\n"
            "    members: [%s]\n"
            "    wait: registered\n%s" % (TG, ", ".join(members), extra))


def fresh_world(members=(A,)):
    FA.reset()
    FA.load_state(L.world(4, target_groups=[{
        "name": TG, "port": 8080, "protocol": "HTTP", "vpc_id": L.VPC,
        "targets": [{"id": m} for m in members]}]))
    FA.reset_counters()


class Dir:
    """A spec in a directory of its own."""

    def __init__(self, text):
        self.root = tempfile.mkdtemp(prefix="moor-watch-edits-")
        self.dir = os.path.join(self.root, "conf")
        os.mkdir(self.dir)
        self.path = os.path.join(self.dir, "spec.yaml")
        with open(self.path, "w") as f:
            f.write(text)

    def close(self):
        shutil.rmtree(self.root)


def start(path, *args):
    d = L.Daemon(FA, path, ["--resync", "1s"] + list(args)).start()
    d.wait_event("reconcile", 30)
    return d


def converge(d, members):
    L.wait_until(lambda: L.tg_members(FA, TG) == sorted(members), 30,
                 "members %s" % members)


def quiet_resyncs(d, n=2):
    """Wait for n more full reconciles triggered by the resync timer."""
    mark = d.mark()
    L.wait_until(lambda: len(d.find("reconcile", contains="(resync)",
                                    since=mark)) >= n,
                 30, "%d resyncs" % n)


def expect_untouched(d, since_mark):
    """No mutating call since the counters were reset; a resync ran."""
    quiet_resyncs(d)
    muts = [e["action"] for e in L.mutations(FA)]
    L.expect(not muts, "mutating calls after a bad edit: %s" % muts)
    L.expect(L.tg_members(FA, TG) == [A], L.tg_members(FA, TG))


def session(fn):
    """Run fn(self, dir, daemon) with a fresh world and daemon; stop
    cleanly."""
    def run(self):
        fresh_world()
        sd = Dir(spec_text([A]))
        d = start(sd.path, "--log-format", "text")
        try:
            fn(self, sd, d)
            rc = d.stop()
            L.expect(rc == 0, "moor watch exited %s" % rc)
        finally:
            d.close()
            sd.close()
    run.__name__ = fn.__name__
    return run


class EditsTest(L.WatchTestCase):
    fa = FA

    @session
    def test_atomic_rename_adds_member(self, sd, d):
        L.write_atomic(sd.path, spec_text([A, B]))
        converge(d, [A, B])
        ev = d.wait_event("spec_reloaded", 10)
        self.assertTrue(sd.path in ev[0]["msg"], ev)
        st = d.read_status()
        self.assertTrue(st["spec"]["file"] == "ok", st["spec"])


    @session
    def test_inplace_edit_adds_member(self, sd, d):
        L.write_inplace(sd.path, spec_text([A, C]))
        converge(d, [A, C])
        # Another in-place write, slowly, in pieces: read once complete.
        text = spec_text([A, C, D])
        with open(sd.path, "r+") as f:
            f.truncate()
            for i in range(0, len(text), 40):
                f.write(text[i:i + 40])
                f.flush()
                time.sleep(0.05)
        converge(d, [A, C, D])
        self.assertTrue(
            not d.find("spec_invalid"),
            "a half-written file was read: %s" % d.find("spec_invalid"))

    def test_git_checkout_applies_revision(self):
        fresh_world([A, B])
        repo = tempfile.mkdtemp(prefix="moor-watch-git-")
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e",
                   HOME=repo)

        def git(*args):
            subprocess.run(["git", "-C", repo] + list(args), env=env,
                           check=True, capture_output=True)

        path = os.path.join(repo, "spec.yaml")
        git("init", "-q", "-b", "main")
        with open(path, "w") as f:
            f.write(spec_text([A, B]))
        git("add", "spec.yaml")
        git("commit", "-q", "-m", "two")
        with open(path, "w") as f:
            f.write(spec_text([A, B, C]))
        git("commit", "-q", "-am", "three")
        git("tag", "three")
        git("checkout", "-q", "HEAD~1")
        d = start(path)
        try:
            converge(d, [A, B])
            git("checkout", "-q", "three")
            converge(d, [A, B, C])
            git("checkout", "-q", "main~1")
            converge(d, [A, B])
            self.assertTrue(
                len(d.find("spec_reloaded")) >= 2, d.find("spec_reloaded"))
            self.assertTrue(d.stop() == 0, "exit code")
        finally:
            d.close()
            shutil.rmtree(repo)


    @session
    def test_directory_replaced(self, sd, d):
        new = os.path.join(sd.root, "conf.new")
        os.mkdir(new)
        with open(os.path.join(new, "spec.yaml"), "w") as f:
            f.write(spec_text([A, B]))
        shutil.rmtree(sd.dir)
        os.rename(new, sd.dir)
        converge(d, [A, B])
        # The new directory is watched: a later edit is seen too.
        L.write_atomic(sd.path, spec_text([A, B, C]))
        converge(d, [A, B, C])


    @session
    def test_yaml_error_changes_nothing(self, sd, d):
        converge(d, [A])
        FA.reset_counters()
        mark = d.mark()
        # A YAML syntax error on line 5 (a flow sequence never closed).
        L.write_atomic(sd.path, "version: 1\nregion: us-east-1\n"
                       "load_balancers:\n  - target_group: web-tg\n"
                       "    members: [%s, %s\n" % (A, B))
        ev = d.wait_event("spec_invalid", 10, since=mark)
        self.assertTrue(any("spec.yaml:" in e["msg"] for e in ev), ev)
        located = [e for e in ev if "spec.yaml:" in e["msg"]][0]["msg"]
        self.assertTrue(located.split("spec.yaml:")[1].split(":")[0].isdigit(),
                        "no line number in %r" % located)
        expect_untouched(d, mark)
        # Repeated on every resync while it stays broken.
        self.assertTrue(len(d.find("spec_invalid", contains="still keeping",
                                   since=mark)) >= 1, "no repeated warning")
        st = d.read_status()
        self.assertTrue(st["spec"]["file"] == "invalid", st["spec"])
        self.assertTrue("moor_spec_in_force 0" in d.read_metrics(), "metrics")
        # An invalid value (valid YAML) is refused the same way, with its
        # line and column.
        mark = d.mark()
        L.write_atomic(sd.path, spec_text([A, B]).replace("registered",
                                                          "registred"))
        ev = d.wait_event("spec_invalid", 10, since=mark,
                          contains="spec.yaml:6:11")
        self.assertTrue("registred" in ev[0]["msg"], ev)
        expect_untouched(d, mark)
        # Fixed: applied.
        L.write_atomic(sd.path, spec_text([A, B]))
        converge(d, [A, B])


    @session
    def test_emptied_and_deleted_file_change_nothing(self, sd, d):
        converge(d, [A])
        FA.reset_counters()
        mark = d.mark()
        L.write_inplace(sd.path, "")
        d.wait_event("spec_empty", 10, since=mark)
        expect_untouched(d, mark)
        self.assertTrue(len(d.find("spec_empty", since=mark)) >= 2,
                        "the warning is not repeated on resync")
        L.write_inplace(sd.path, "# nothing here yet\n---\n")
        quiet_resyncs(d, 1)
        os.unlink(sd.path)
        mark = d.mark()
        d.wait_event("spec_missing", 10, since=mark)
        expect_untouched(d, mark)
        self.assertTrue(len(d.find("spec_missing", since=mark)) >= 2,
                        "the warning is not repeated on resync")
        self.assertTrue(d.read_status()["spec"]["file"] == "missing", "status")
        # Back: the same spec as before is restored, a new one applied.
        L.write_atomic(sd.path, spec_text([A, D]))
        converge(d, [A, D])


    @session
    def test_mass_deregistration_refused(self, sd, d):
        L.write_atomic(sd.path, spec_text([A, B, C]))
        converge(d, [A, B, C])
        FA.reset_counters()
        mark = d.mark()
        L.write_atomic(sd.path, spec_text([D]))
        ev = d.wait_event("plan_refused", 15, since=mark)
        self.assertTrue(TG in ev[0]["msg"], ev)
        # Refused again when its backoff is over, never applied.
        L.wait_until(lambda: len(d.find("plan_refused", since=mark)) >= 2, 30,
                     "a second refusal")
        self.assertTrue(
            d.find("backoff", resource=TG, since=mark), "no backoff")
        # Nothing was deregistered; D was not registered either.
        self.assertTrue(
            L.tg_members(FA, TG) == [A, B, C], L.tg_members(FA, TG))
        muts = [e["action"] for e in L.mutations(FA)]
        self.assertTrue(not muts, muts)
        st = d.read_status()
        self.assertTrue(
            st["last_reconcile"]["result"] in ("refused", "ok"), st)
        self.assertTrue(
            st["counters"]["reconcile_refused"] >= 1, st["counters"])
        self.assertTrue(
            'moor_reconcile_total{result="refused"}' in d.read_metrics(),
            "metrics")

    def test_sighup_rereads_now(self):
        fresh_world()
        sd = Dir(spec_text([A]))
        # Inotify would take an hour to notice: only SIGHUP can be the reason.
        d = start(sd.path, "--debounce", "1h")
        try:
            converge(d, [A])
            L.write_atomic(sd.path, spec_text([A, B]))
            time.sleep(0.3)
            self.assertTrue(
                L.tg_members(FA, TG) == [A], "applied before SIGHUP")
            mark = d.mark()
            d.send_signal(signal.SIGHUP)
            d.wait_event("spec_reloaded", 10, since=mark)
            converge(d, [A, B])
            # SIGHUP with nothing changed: re-read, reconciled anyway.
            mark = d.mark()
            d.send_signal(signal.SIGHUP)
            d.wait_event("spec_unchanged", 10, since=mark)
            d.wait_event("reconcile", 10, since=mark, contains="(sighup)")
            self.assertTrue(d.stop() == 0, "exit code")
        finally:
            d.close()
            sd.close()

    def test_edit_not_held_behind_a_health_wait(self):
        """web-tg replaces A by C, which never becomes healthy (timeout 60s);
        an edit of api-tg meanwhile is applied at once, not after the wait,
        and web-tg keeps A (make-before-break)."""
        FA.reset()
        FA.load_state(L.world(4, config={"target_health_delay_seconds": 3600},
                              target_groups=[
            {"name": TG, "port": 8080, "protocol": "HTTP", "vpc_id": L.VPC,
             "targets": [{"id": A}]},
            {"name": "api-tg", "port": 8080, "protocol": "HTTP",
             "vpc_id": L.VPC, "targets": [{"id": B}]}]))
        FA.reset_counters()

        def text(api):
            return ("version: 1\n"
                    "region: us-east-1\n"
                    "load_balancers:\n"
                    "  - target_group: %s\n"
                    "    members: [%s]\n"
                    "    timeout: 60s\n"
                    "  - target_group: api-tg\n"
                    "    members: [%s]\n"
                    "    wait: none\n" % (TG, C, ", ".join(api)))
        sd = Dir(text([B]))
        d = L.Daemon(FA, sd.path, ["--resync", "1h", "--log-format",
                                   "text"]).start()
        try:
            L.wait_until(lambda: C in L.tg_members(FA, TG), 20, "C registered")
            waiting_since = [e for e in FA.log() if e["mutating"] and
                             e["action"] == "RegisterTargets"][0]["time"]
            mark = d.mark()
            L.write_atomic(sd.path, text([B, D]))
            L.wait_until(lambda: L.tg_members(FA, "api-tg") == [B, D], 30,
                         "the edit applied")
            reg = [e for e in FA.log() if e["mutating"] and
                   e["action"] == "RegisterTargets"]
            self.assertTrue(len(reg) == 2, reg)
            # Before web-tg's wait could have timed out: it did not hold the
            # edit back.
            self.assertTrue(
                reg[1]["time"] < waiting_since + 60,
                "the edit waited %.1fs" % (reg[1]["time"] - waiting_since))
            d.wait_event("reconcile_preempted", 10, since=mark)
            # web-tg still waits for C before letting A go.
            self.assertTrue(
                L.tg_members(FA, TG) == [A, C], L.tg_members(FA, TG))
            self.assertTrue(
                not [e for e in FA.log() if e["mutating"] and
                     e["action"] == "DeregisterTargets"], "deregistered")
            self.assertTrue(d.stop() == 0, "exit code")
        finally:
            d.close()
            sd.close()

    def test_first_spec_must_be_valid(self):
        fresh_world()
        sd = Dir("version: 1\nload_balancers:\n  - target_group: web-tg\n"
                 "    memebrs: [%s]\n" % A)
        try:
            p = subprocess.run([L.MOOR, "watch", sd.path], env=dict(
                os.environ, **FA.env()), capture_output=True, text=True,
                timeout=60)
            self.assertTrue(p.returncode == 1, "exit %d" % p.returncode)
            self.assertTrue("spec.yaml:4:5:" in p.stderr, p.stderr)
            self.assertTrue(not L.mutations(FA), "calls were made")
            for args, want in (
                    ([sd.path, "--allow-mass-deregister"],
                     "not available to the daemon"),
                    ([sd.path, "--resync", "5"], "unit"),
                    ([sd.path, "--log-format", "xml"], "text or json"),
                    ([], "usage")):
                p = subprocess.run([L.MOOR, "watch"] + args,
                                   capture_output=True, text=True, timeout=60)
                self.assertTrue(p.returncode == 64,
                                "%s: exit %d" % (args, p.returncode))
                self.assertTrue(want in p.stderr, "%s: %s" % (args, p.stderr))
        finally:
            sd.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
