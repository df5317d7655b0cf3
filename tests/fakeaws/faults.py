"""Fault injection (seeded), AWS's documented token buckets, and the recorder.

Faults are decided before a request is applied, in this order: latency,
connection reset, throttling, 500/503. "Lose response" is decided with them
but carried out after the change was applied. Every random draw comes from
one random.Random(seed) under a lock, so a test that sends the same requests
in the same order sees the same faults.
"""

import copy
import random
import threading
import time

FAULT_FIELDS = {
    "throttle_rate": 0.0,
    "error_500_rate": 0.0,
    "error_503_rate": 0.0,
    "reset_before_apply_rate": 0.0,
    "lose_response_after_apply_rate": 0.0,
    "latency_fixed_ms": 0.0,
    "latency_jitter_ms": 0.0,
}
# Rule fields that are not rates: DynamoDB's error code for "throttle"
# (ProvisionedThroughputExceededException for item operations and
# ThrottlingException for table operations when unset).
OTHER_FIELDS = {"throttle_error": None}
THROTTLE_ERRORS = ("ProvisionedThroughputExceededException",
                   "ThrottlingException", "RequestLimitExceeded")
# Error codes counted as "throttled".
THROTTLE_CODES = ("Throttling", "RequestLimitExceeded") + THROTTLE_ERRORS
SCRIPT_STEPS = ("ok", "throttle", "500", "503", "reset", "lose")

# AWS-PROTOCOL.md section 7 (EC2 and ELB API throttling pages):
# name -> (capacity, refill per second).
DEFAULT_BUCKETS = {
    "ec2-non-mutating": (100, 20),
    "ec2-unfiltered": (50, 10),
    "ec2-mutating": (50, 5),
    "elb-registration": (20, 4),
    "elb-describe": (40, 10),
    "elb-mutating": (20, 3),
    "elbv2-registration": (20, 4),
    "elbv2-describe": (40, 10),
    "elbv2-mutating": (20, 3),
    "elb-account": (40, 10),
}

# "Unfiltered and unpaginated" describe calls use EC2's smaller bucket.
EC2_UNFILTERED_ACTIONS = {
    "DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces",
    "DescribeSecurityGroups", "DescribeSnapshots",
    "DescribeSpotInstanceRequests", "DescribeVolumes"}
REGISTRATION_ACTIONS = {
    "RegisterTargets", "DeregisterTargets",
    "RegisterInstancesWithLoadBalancer", "DeregisterInstancesFromLoadBalancer"}


def is_mutating(service, action):
    if service in ("sts", "dynamodb"):
        # STS calls change no resource moor manages, and DynamoDB holds
        # only moor's own leases: "mutating" stays the load balancer and
        # address changes a test counts.
        return False
    return not action.startswith(("Describe", "Get", "List", "Search"))


def bucket_names(service, action, raw_params):
    if service == "ec2":
        if not is_mutating(service, action):
            if action in EC2_UNFILTERED_ACTIONS and not any(
                    k.split(".")[0] in ("Filter", "MaxResults", "NextToken",
                                        "InstanceId", "NetworkInterfaceId")
                    for k in raw_params):
                return ["ec2-unfiltered"]
            return ["ec2-non-mutating"]
        return ["ec2-mutating"]
    if service in ("elb", "elbv2"):
        if action in REGISTRATION_ACTIONS:
            cat = "registration"
        elif action.startswith("Describe"):
            cat = "describe"
        else:
            cat = "mutating"
        return ["%s-%s" % (service, cat), "elb-account"]
    if service == "dynamodb":
        # AWS documents no request bucket for DynamoDB (its throttling is
        # per table throughput): no default, but a test can give it one
        # with bucket_overrides {"dynamodb": ...}.
        return ["dynamodb"]
    return []


class TokenBucket:
    def __init__(self, capacity, rate):
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.tokens = float(capacity)
        self.stamp = time.monotonic()

    def refill(self):
        now = time.monotonic()
        self.tokens = min(self.capacity,
                          self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


class Decision:
    __slots__ = ("latency", "pre", "lose", "label", "throttle_error")

    def __init__(self):
        self.throttle_error = None
        self.latency = 0.0
        self.pre = None        # None, "reset", "throttle", "500", "503"
        self.lose = False
        self.label = None


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.set({})

    def set(self, cfg):
        """Replace the fault configuration (see README.md, "Faults")."""
        cfg = copy.deepcopy(cfg or {})
        for spec in [cfg.get("global") or {}] + list(
                (cfg.get("actions") or {}).values()):
            for k in spec:
                if k not in FAULT_FIELDS and k not in OTHER_FIELDS and \
                        k != "script":
                    raise ValueError("unknown fault field %r" % k)
            if spec.get("throttle_error") not in (None,) + THROTTLE_ERRORS:
                raise ValueError("throttle_error must be one of %s"
                                 % ", ".join(THROTTLE_ERRORS))
            for step in spec.get("script") or []:
                if step not in SCRIPT_STEPS:
                    raise ValueError("unknown script step %r" % step)
        with self.lock:
            self.cfg = cfg
            self.rng = random.Random(cfg.get("seed", 0))
            self.scripts = {k: list(v.get("script") or [])
                            for k, v in (cfg.get("actions") or {}).items()}
            self.global_script = list((cfg.get("global") or {}).get("script")
                                      or [])
            buckets = dict(DEFAULT_BUCKETS)
            for name, ov in (cfg.get("bucket_overrides") or {}).items():
                buckets[name] = (ov["capacity"], ov["refill_per_second"])
            self.buckets = {k: TokenBucket(*v) for k, v in buckets.items()}

    def get(self):
        with self.lock:
            out = copy.deepcopy(self.cfg)
            out["remaining_scripts"] = {k: list(v)
                                        for k, v in self.scripts.items() if v}
            if self.global_script:
                out["remaining_scripts"]["global"] = list(self.global_script)
            out["buckets"] = {}
            for k, b in self.buckets.items():
                b.refill()
                out["buckets"][k] = {"capacity": b.capacity,
                                     "refill_per_second": b.rate,
                                     "tokens": round(b.tokens, 3)}
            return out

    def _spec_keys(self, service, action, access_key):
        keys = ["%s:*" % service, action, "%s:%s" % (service, action)]
        if access_key:
            # A rule scoped to one access key ("dynamodb:*@AKIA...") is more
            # specific than the same rule for everyone.
            keys = keys + ["*@" + access_key] + \
                ["%s@%s" % (k, access_key) for k in keys]
        return keys

    def decide(self, service, action, raw_params, access_key=None):
        d = Decision()
        with self.lock:
            actions = self.cfg.get("actions") or {}
            spec = dict(FAULT_FIELDS, **OTHER_FIELDS)
            spec.update({k: v for k, v in (self.cfg.get("global") or {}).items()
                         if k != "script"})
            script = None
            for key in self._spec_keys(service, action, access_key):
                if key in actions:
                    spec.update({k: v for k, v in actions[key].items()
                                 if k != "script"})
                    if self.scripts.get(key):
                        script = self.scripts[key]
            if script is None and self.global_script:
                script = self.global_script
            d.throttle_error = spec["throttle_error"]
            rng = self.rng
            d.latency = (float(spec["latency_fixed_ms"]) +
                         rng.random() * float(spec["latency_jitter_ms"])) / 1e3
            if script:
                step = script.pop(0)
                if step in ("throttle", "500", "503", "reset"):
                    d.pre = step
                elif step == "lose":
                    d.lose = True
                d.label = "script:" + step if step != "ok" else None
                return d
            if self.cfg.get("token_buckets"):
                names = bucket_names(service, action, raw_params)
                bs = [self.buckets[n] for n in names if n in self.buckets]
                for b in bs:
                    b.refill()
                if all(b.tokens >= 1 for b in bs):
                    for b in bs:
                        b.tokens -= 1
                else:
                    d.pre = "throttle"
                    d.label = "token-bucket"
                    return d
            draws = [rng.random() for _ in range(5)]
            if draws[0] < spec["reset_before_apply_rate"]:
                d.pre = "reset"
            elif draws[1] < spec["throttle_rate"]:
                d.pre = "throttle"
            elif draws[2] < spec["error_500_rate"]:
                d.pre = "500"
            elif draws[3] < spec["error_503_rate"]:
                d.pre = "503"
            elif draws[4] < spec["lose_response_after_apply_rate"]:
                d.lose = True
            if d.pre:
                d.label = d.pre
            elif d.lose:
                d.label = "lose"
            return d


def fault_error(dialect, kind):
    """(code, message, status, sender) for an injected error."""
    if kind == "throttle":
        if dialect == "ec2":
            return ("RequestLimitExceeded", "Request limit exceeded.", 503,
                    False)
        return ("Throttling", "Rate exceeded", 400, True)
    if kind == "500":
        if dialect == "ec2":
            return ("InternalError",
                    "An internal error has occurred", 500, False)
        return ("InternalFailure",
                "The request processing has failed because of an unknown "
                "error, exception or failure.", 500, False)
    if dialect == "ec2":
        return ("Unavailable",
                "The server is overloaded and can't handle the request.",
                503, False)
    return ("ServiceUnavailable", "Service is unavailable.", 503, False)


# Parameters whose values never go into the log.
SECRET_PARAMS = ("WebIdentityToken", "SAMLAssertion", "SecretAccessKey",
                 "SessionToken", "TokenCode", "Password")


def redact(params):
    out = {}
    for k, v in params.items():
        last = k.split(".")[-1]
        out[k] = "<redacted>" if last in SECRET_PARAMS else v
    return out


class Recorder:
    def __init__(self, limit=100000):
        self.lock = threading.Lock()
        self.limit = limit
        self.reset()

    def reset(self):
        with self.lock:
            self.seq = 0
            self.entries = []
            self.by_action = {}
            self.by_service = {}
            self.totals = {"requests": 0, "mutating": 0, "mutating_applied": 0,
                           "errors": 0, "throttled": 0, "faulted": 0,
                           "connections": 0, "imds": 0, "container": 0}

    def connection(self):
        with self.lock:
            self.totals["connections"] += 1

    def count_other(self, kind):
        with self.lock:
            self.totals[kind] += 1

    def record(self, entry):
        """entry: service, action, params, status, error_code, fault, applied."""
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            key = "%s:%s" % (entry["service"], entry["action"])
            mutating = is_mutating(entry["service"], entry["action"])
            entry["mutating"] = mutating
            a = self.by_action.setdefault(key, {
                "count": 0, "ok": 0, "errors": 0, "throttled": 0,
                "faulted": 0, "applied": 0, "mutating": mutating})
            s = self.by_service.setdefault(entry["service"], {
                "count": 0, "ok": 0, "errors": 0, "mutating": 0})
            t = self.totals
            a["count"] += 1
            s["count"] += 1
            t["requests"] += 1
            if mutating:
                s["mutating"] += 1
                t["mutating"] += 1
                if entry.get("applied"):
                    t["mutating_applied"] += 1
            if entry.get("applied"):
                a["applied"] += 1
            if entry["status"] == 200 and not entry.get("fault"):
                a["ok"] += 1
                s["ok"] += 1
            elif entry.get("error_code") or entry["status"] != 200:
                a["errors"] += 1
                s["errors"] += 1
                t["errors"] += 1
            if entry.get("fault"):
                a["faulted"] += 1
                t["faulted"] += 1
            if entry.get("error_code") in THROTTLE_CODES:
                a["throttled"] += 1
                t["throttled"] += 1
            self.entries.append(entry)
            if len(self.entries) > self.limit:
                del self.entries[:len(self.entries) - self.limit]

    def counters(self):
        with self.lock:
            return {"totals": dict(self.totals),
                    "by_service": copy.deepcopy(self.by_service),
                    "by_action": copy.deepcopy(self.by_action)}

    def log(self, since=0):
        with self.lock:
            return [dict(e) for e in self.entries if e["seq"] > since]
