#!/usr/bin/python3
"""The spec format has three descriptions: the parser (`moor validate`),
the JSON Schema (spec/moor.schema.json) and the man page
(docs/moor-spec.5).  Check that they agree:

- every spec in examples/ (not *.cfn.yaml), and every yaml block in README.md, is accepted by
  `moor validate` and by the schema;
- a set of small valid specs is accepted by both (the schema is not
  stricter than the parser);
- a set of invalid specs whose fault the schema can express is rejected by
  both, `moor validate` with a FILE:LINE:COL: line at the expected place;
- every key and every enumerated value the schema knows is documented in
  the man page;
- every long option of the command line (reconciler/cli/) has an entry in
  docs/moor.1.

Run from the repository root with MOOR set (make test does this).
Needs python3-yaml and python3-jsonschema (Debian 12).
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOOR = os.environ.get("MOOR") or os.path.join(ROOT, "moor")


class Core12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1 (yes/no booleans, dates, sexagesimal
    numbers); moor, like YAML language servers, types plain scalars by the
    YAML 1.2 core schema.  Load the examples the way moor reads them."""


Core12Loader.yaml_implicit_resolvers = {}
for tag, regexp, first in [
    ("tag:yaml.org,2002:bool",
     r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int",
     r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    Core12Loader.add_implicit_resolver(tag, re.compile(regexp), list(first))


def _int12(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


Core12Loader.add_constructor("tag:yaml.org,2002:int", _int12)


def load_yaml(text):
    return yaml.load(text, Loader=Core12Loader)


# Small specs both must accept.
VALID = [
    ("bare minimum eip", "version: 1\nelastic_ips:\n  - {name: a, none: true}\n"),
    ("empty members", "version: 1\nload_balancers:\n  - classic: web\n    members: []\n"),
    ("x- keys and anchors",
     "version: 1\nx-p: &p {tcp: 22}\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567, i-89abcdef], probe: *p}\n"),
    ("probes only on candidates",
     "version: 1\nelastic_ips:\n  - name: a\n    failover:\n      candidates:\n"
     "        - {instance: i-01234567, probe: {tcp: 22}}\n"
     "        - {instance: i-89abcdef, probe: {http: \"https://x.example.com/h\"}}\n"),
    ("probes that read AWS",
     "version: 1\nelastic_ips:\n  - name: a\n    failover:\n      candidates:\n"
     "        - {instance: i-01234567, probe: {instance_health: web-elb}}\n"
     "        - {instance: i-89abcdef, probe: {instance_status: ok}}\n"
     "      probe: {target_health: web-tg}\n"),
    ("tag values of any scalar type",
     "version: 1\nload_balancers:\n  - target_group: tg\n    members:\n"
     "      - selector: {tags: {n: 1, b: true, s: x}}\n"),
    ("min_healthy 0 and 100%",
     "version: 1\nload_balancers:\n  - classic: a\n    members: []\n    min_healthy: 0\n"
     "  - classic: b\n    members: []\n    min_healthy: 100%\n"),
    ("ip target group with az all",
     "version: 1\nload_balancers:\n  - target_group: ip-tg\n    members:\n"
     "      - {ip: 192.168.1.1, port: 80, az: all}\n"),
    ("allocate false without name",
     "version: 1\nelastic_ips:\n  - public_ip: 198.51.100.1\n    allocate: false\n"
     "    instance: i-01234567\n"),
    ("gov partition arn",
     "version: 1\nregion: us-gov-west-1\nload_balancers:\n"
     "  - target_group: arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:"
     "123456789012:targetgroup/t/0123456789abcdef\n    members: [i-01234567]\n"),
    ("durations", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    timeout: 1m30s\n    drain: wait\n    drain_timeout: 1.5s\n"),
    ("enable_zones on a classic ELB",
     "version: 1\nload_balancers:\n  - classic: a\n    members: [i-01234567]\n"
     "    enable_zones: true\n"),
]

# (name, yaml, line, col): faults the schema can express; moor must point
# at line:col.
INVALID = [
    ("missing version", "elastic_ips:\n  - {name: a, none: true}\n", 1, 1),
    ("version 2", "version: 2\nelastic_ips:\n  - {name: a, none: true}\n", 1, 10),
    ("version string", "version: \"1\"\nelastic_ips:\n  - {name: a, none: true}\n", 1, 10),
    ("empty", "", 1, 1),
    ("declares nothing", "version: 1\nload_balancers: []\n", 1, 1),
    ("unknown top key", "version: 1\nelastic_ip: []\n", 2, 1),
    ("bad region", "version: 1\nregion: useast1\nelastic_ips:\n  - {name: a, none: true}\n", 2, 9),
    ("unknown lb key", "version: 1\nload_balancers:\n  - classic: web\n    members: []\n"
     "    memebrs: []\n", 5, 5),
    ("classic and target group", "version: 1\nload_balancers:\n  - classic: a\n"
     "    target_group: b\n    members: []\n", 4, 5),
    ("neither", "version: 1\nload_balancers:\n  - members: []\n", 3, 5),
    ("members missing", "version: 1\nload_balancers:\n  - classic: a\n", 3, 5),
    ("members null", "version: 1\nload_balancers:\n  - classic: a\n    members:\n", 4, 13),
    ("bad classic name", "version: 1\nload_balancers:\n  - classic: a_b\n    members: []\n", 3, 14),
    ("bad arn", "version: 1\nload_balancers:\n  - target_group: arn:aws:elasticloadbalancing:"
     "us-east-1:1234:targetgroup/t/0123456789abcdef\n    members: []\n", 3, 19),
    ("bad instance id", "version: 1\nload_balancers:\n  - classic: a\n    members: [i-123]\n", 4, 15),
    ("member twice", "version: 1\nload_balancers:\n  - classic: a\n"
     "    members: [i-01234567, i-01234567]\n", 4, 27),
    ("port on classic", "version: 1\nload_balancers:\n  - classic: a\n"
     "    members: [{id: i-01234567, port: 80}]\n", 4, 32),
    ("ip on classic", "version: 1\nload_balancers:\n  - classic: a\n"
     "    members: [{ip: 10.0.0.1}]\n", 4, 16),
    ("port out of range", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{id: i-01234567, port: 0}]\n", 4, 38),
    ("member id and ip", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{id: i-01234567, ip: 10.0.0.1}]\n", 4, 32),
    ("az without ip", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{id: i-01234567, az: us-east-1a}]\n", 4, 32),
    ("mixed target types", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [i-01234567, {ip: 10.0.0.1}]\n", 4, 27),
    ("bad ip", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{ip: 10.0.0.256}]\n", 4, 20),
    ("selector without tags", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{selector: {states: [running]}}]\n", 4, 26),
    ("selector empty tags", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{selector: {tags: {}}}]\n", 4, 33),
    ("bad state", "version: 1\nload_balancers:\n  - target_group: a\n"
     "    members: [{selector: {tags: {a: b}, states: [up]}}]\n", 4, 50),
    ("bad ownership", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    ownership: mine\n", 5, 16),
    ("bad wait", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    wait: forever\n", 5, 11),
    ("duration without unit", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    timeout: 30\n", 5, 14),
    ("zero duration", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    timeout: 0s\n", 5, 14),
    ("min_healthy 101%", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    min_healthy: 101%\n", 5, 18),
    ("enable_zones on a target group", "version: 1\nload_balancers:\n"
     "  - target_group: a\n    members: [i-01234567]\n    enable_zones: true\n",
     5, 5),
    ("enable_zones yes", "version: 1\nload_balancers:\n  - classic: a\n"
     "    members: []\n    enable_zones: yes\n", 5, 19),
    ("min_healthy negative", "version: 1\nload_balancers:\n  - classic: a\n    members: []\n"
     "    min_healthy: -1\n", 5, 18),
    ("eip without reference", "version: 1\nelastic_ips:\n  - none: true\n", 3, 5),
    ("eip two references", "version: 1\nelastic_ips:\n  - name: a\n"
     "    public_ip: 198.51.100.1\n    none: true\n", 4, 5),
    ("eip without binding", "version: 1\nelastic_ips:\n  - name: a\n", 3, 5),
    ("eip two bindings", "version: 1\nelastic_ips:\n  - name: a\n    none: true\n"
     "    instance: i-01234567\n", 5, 5),
    ("none false", "version: 1\nelastic_ips:\n  - name: a\n    none: false\n", 4, 11),
    ("allocate without name", "version: 1\nelastic_ips:\n  - public_ip: 198.51.100.1\n"
     "    allocate: true\n    none: true\n", 4, 5),
    ("allocate yes", "version: 1\nelastic_ips:\n  - name: a\n    allocate: yes\n"
     "    none: true\n", 4, 15),
    ("private_ip with none", "version: 1\nelastic_ips:\n  - name: a\n    none: true\n"
     "    private_ip: 10.0.0.1\n", 5, 5),
    ("bad allocation id", "version: 1\nelastic_ips:\n  - allocation_id: eipalloc-1\n"
     "    none: true\n", 3, 20),
    ("bad eni", "version: 1\nelastic_ips:\n  - name: a\n    network_interface: eni-1\n", 4, 24),
    ("failover without candidates", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {probe: {tcp: 22}}\n", 4, 15),
    ("failover empty candidates", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [], probe: {tcp: 22}}\n", 4, 28),
    ("candidate twice", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567, i-01234567], probe: {tcp: 22}}\n", 4, 41),
    ("failover without probe", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567, i-89abcdef]}\n", 4, 15),
    ("probe http and tcp", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {tcp: 22, http: \"http://x/\"}}\n",
     4, 59),
    ("probe url scheme", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {http: \"ftp://x/\"}}\n", 4, 56),
    ("probe url placeholder", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {http: \"http://{ip}/\"}}\n", 4, 56),
    ("host with http", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {http: \"http://x/\", host: y}}\n",
     4, 69),
    ("instance_status not ok", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {instance_status: bad}}\n", 4, 67),
    ("target_health bad name", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {target_health: -tg}}\n", 4, 65),
    ("two probe kinds", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {instance_health: web, tcp: 22}}\n", 4, 72),
    ("fall zero", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {tcp: 22}, fall: 0}\n", 4, 66),
    ("bad failback", "version: 1\nelastic_ips:\n  - name: a\n"
     "    failover: {candidates: [i-01234567], probe: {tcp: 22}, failback: back}\n",
     4, 70),
    ("merge key", "version: 1\nx-d: &d {none: true}\nelastic_ips:\n  - <<: *d\n"
     "    name: a\n", 4, 5),
]


class Checker:
    def __init__(self):
        with open(os.path.join(ROOT, "spec", "moor.schema.json")) as f:
            self.schema = json.load(f)
        jsonschema.Draft7Validator.check_schema(self.schema)
        self.validator = jsonschema.Draft7Validator(self.schema)
        self.failures = []
        self.checks = 0
        self.tmpdir = tempfile.TemporaryDirectory(prefix="moor-spec-")
        self.tmp = self.tmpdir.name

    def fail(self, msg):
        self.failures.append(msg)

    def moor(self, path):
        p = subprocess.run([MOOR, "validate", path], capture_output=True,
                           text=True)
        return p.returncode, p.stdout, p.stderr

    def schema_errors(self, text):
        return [e.message for e in self.validator.iter_errors(load_yaml(text))]

    def write(self, name, text):
        path = os.path.join(self.tmp, re.sub(r"[^a-z0-9]+", "-", name) + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def accept(self, name, path, text):
        self.checks += 1
        rc, out, err = self.moor(path)
        if rc != 0 or not out.startswith(path + ": ok ("):
            self.fail("%s: moor validate rejected it (exit %d):\n%s" % (name, rc, err))
        errors = self.schema_errors(text)
        if errors:
            self.fail("%s: the schema rejected it: %s" % (name, "; ".join(errors)))

    def reject(self, name, text, line, col):
        self.checks += 1
        path = self.write(name, text)
        rc, out, err = self.moor(path)
        want = "%s:%d:%d: " % (path, line, col)
        if rc != 1 or out:
            self.fail("%s: moor validate accepted it (exit %d)" % (name, rc))
        else:
            errors = [l for l in err.splitlines() if ": warning: " not in l]
            if not errors or not errors[0].startswith(want):
                self.fail("%s: moor validate's first error is not at %d:%d:\n%s"
                          % (name, line, col, err))
        for l in err.splitlines():
            if not re.match(re.escape(path) + r":\d+:\d+: ", l):
                self.fail("%s: not a FILE:LINE:COL: line: %r" % (name, l))
        if not self.schema_errors(text):
            self.fail("%s: the schema accepted it" % name)

    def cli(self):
        """moor validate's command line: several files, -q, usage."""
        good = self.write("cli good", VALID[0][1])
        bad = self.write("cli bad", INVALID[0][1])
        one = self.write("cli one", "version: 1\nload_balancers:\n"
                         "  - classic: a\n    members: [i-01234567]\n"
                         "elastic_ips:\n  - {name: a, none: true}\n")
        checks = [
            ([good, bad, one], 1,
             "%s: ok (0 load balancers, 0 members, 1 elastic IP)\n"
             "%s: ok (1 load balancer, 1 member, 1 elastic IP)\n" % (good, one),
             r"^%s:1:1: missing 'version: 1'\n$" % re.escape(bad)),
            (["-q", good], 0, "", r"^$"),
            (["--quiet", good, bad], 1, "", r"^%s:1:1: " % re.escape(bad)),
            ([], 64, "", r"^usage: moor validate"),
            (["-x", good], 64, "", r"usage: moor validate"),
            ([os.path.join(self.tmp, "missing.yaml")], 1, "",
             r"^moor: cannot read spec '.*missing\.yaml': No such file"),
        ]
        for args, rc, out, err in checks:
            self.checks += 1
            p = subprocess.run([MOOR, "validate"] + args, capture_output=True,
                               text=True)
            if p.returncode != rc or p.stdout != out or not re.search(err, p.stderr):
                self.fail("moor validate %s: exit %d, stdout %r, stderr %r"
                          % (" ".join(args), p.returncode, p.stdout, p.stderr))

    def documented(self):
        """Every key and enum value of the schema appears in the man page."""
        with open(os.path.join(ROOT, "docs", "moor-spec.5")) as f:
            page = f.read()
        # Drop roff font changes and escapes so words stand alone.
        page = re.sub(r"\\f[BIRP]", "", page).replace("\\-", "-")
        page = page.replace("\\(aq", "'")
        words = set()

        def walk(node):
            if isinstance(node, dict):
                for k, v in node.get("properties", {}).items():
                    words.add(k)
                for v in node.get("enum", []):
                    words.add(str(v))
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(self.schema)
        for w in sorted(words):
            self.checks += 1
            if not re.search(r"(?<![A-Za-z0-9_-])" + re.escape(w) + r"(?![A-Za-z0-9_-])", page):
                self.fail("docs/moor-spec.5 does not mention '%s'" % w)

    def options_documented(self):
        """Every long option reconciler/cli/ parses has its own entry in moor(1).

        An entry is a .TP tag line naming the option; a mention in a list
        ("and the AWS options --region, ...") says nothing of its syntax.
        """
        src = ""
        for path in sorted(glob.glob(os.path.join(ROOT, "reconciler", "cli",
                                                  "*.[ch]"))):
            with open(path) as f:
                src += f.read()
        with open(os.path.join(ROOT, "docs", "moor.1")) as f:
            lines = f.read().splitlines()
        tags = [lines[i + 1].replace("\\-", "-")
                for i in range(len(lines) - 1) if lines[i] == ".TP"]
        names = set(re.findall(
            r'"([a-z][a-z0-9-]*)",\s*(?:required|no|optional)_argument', src))
        if len(names) < 10:
            self.fail("found only %d long options in reconciler/cli/"
                      % len(names))
        for name in sorted(names):
            self.checks += 1
            pat = r"--" + re.escape(name) + r"(?![a-z0-9-])"
            if not any(re.search(pat, t) for t in tags):
                self.fail("docs/moor.1 has no entry for --%s" % name)


def main():
    c = Checker()
    # *.cfn.yaml are CloudFormation templates, not specs.
    examples = sorted(p for p in glob.glob(os.path.join(ROOT, "examples", "*.yaml"))
                      if not p.endswith(".cfn.yaml"))
    if not examples:
        c.fail("no examples found")
    for path in examples:
        with open(path) as f:
            text = f.read()
        c.accept(os.path.relpath(path, ROOT), path, text)
    # The README teaches the format by example; the example must stay valid.
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    blocks = re.findall(r"^```yaml\n(.*?)^```", readme, re.S | re.M)
    if not blocks:
        c.fail("README.md has no yaml example")
    for i, text in enumerate(blocks):
        name = "README.md-example-%d.yaml" % (i + 1)
        c.accept(name, c.write(name, text), text)
    for name, text in VALID:
        c.accept(name, c.write(name, text), text)
    for name, text, line, col in INVALID:
        c.reject(name, text, line, col)
    c.cli()
    c.documented()
    c.options_documented()
    c.tmpdir.cleanup()
    for f in c.failures:
        print("FAIL " + f)
    print("spec consistency: %d examples, %d valid and %d invalid cases, "
          "%d checks, %d failures"
          % (len(examples), len(VALID), len(INVALID), c.checks, len(c.failures)))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
