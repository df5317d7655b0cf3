"""The fake's world: instances, ENIs, Classic ELBs, target groups, addresses.

One State object holds everything behind one lock. Resources are plain dicts
close to the JSON file format (see README.md), so that load and dump stay
simple and the demo state can be written by hand.

Health is computed when read, from registration times and the configured
delays, so that nothing has to run in the background.
"""

import copy
import ipaddress
import secrets
import threading
import time

from model import ApiError

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32,
               "terminated": 48, "stopping": 64, "stopped": 80}

DEFAULT_CONFIG = {
    "region": "us-east-1",
    "account_id": "123456789012",
    "default_vpc_id": "vpc-0a0a0a0a0a0a0a0a0",
    "default_subnet_id": "subnet-0a0a0a0a0a0a0a0a0",
    # Seconds until a new Classic ELB member is InService / a new target is
    # healthy. Fractions are fine (tests use 0.2).
    "classic_health_delay_seconds": 2.0,
    "target_health_delay_seconds": 2.0,
    # Multiplies deregistration delays and connection-draining timeouts, so
    # a state can keep AWS's 300 s attribute and still drain in 0.3 s.
    "deregistration_delay_scale": 1.0,
    "address_pool": ["198.51.100.0/24", "203.0.113.0/24"],
    "address_limit": None,
    # AssociateAddress without AllowReassociation: current AWS docs say
    # "Reassociation is automatic, but you can specify false".
    "allow_reassociation_default": True,
    "clock_offset_seconds": 0.0,
    "max_clock_skew_seconds": 900,
    # When set, credentials from STS, IMDS and the container endpoint live
    # this many seconds whatever was asked, so refresh can be tested.
    "credential_duration_override_seconds": None,
    "roles": None,
    "web_identity_tokens": ["fake-web-identity-token"],
    "imds": {"role": "moor-instance-role", "instance_id": None,
             "availability_zone": None,
             "role_arn": None, "credential_duration_seconds": 21600},
    "container_credentials": {"authorization_token": "fake-container-token",
                              "role_arn": None,
                              "credential_duration_seconds": 21600},
    "request_log_limit": 100000,
    # CreateTable answers CREATING; the table is ACTIVE this many seconds
    # later (DescribeTable polls see it change; item calls before then get
    # ResourceNotFoundException, as on AWS).
    "dynamodb_table_create_seconds": 0.0,
}


def gen_id(prefix, n=17):
    return prefix + secrets.token_hex((n + 1) // 2)[:n]


def tags_to_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    # -- lifecycle -------------------------------------------------------

    def reset(self):
        with self.lock:
            self.config = copy.deepcopy(DEFAULT_CONFIG)
            self.instances = {}      # id -> instance
            self.enis = {}           # eni id -> (instance, eni)
            self.classic = {}        # name -> classic ELB
            self.tgs = {}            # arn -> target group
            self.tg_names = {}       # name -> arn
            self.v2_lbs = {}         # arn -> ELBv2 load balancer
            self.addresses = {}      # allocation id -> address
            self._ip_counter = 10
            self._used_private = set()
            self._used_public = set()
            self._bound = {}         # (eni id, private ip) -> address
            self.ddb_tables = {}     # name -> dynamodb.Table

    def now(self):
        return time.time() + float(self.config.get("clock_offset_seconds") or 0)

    def update_config(self, patch):
        with self.lock:
            for k, v in patch.items():
                if k not in DEFAULT_CONFIG:
                    raise ValueError("unknown config key %r" % k)
                if isinstance(DEFAULT_CONFIG[k], dict) and isinstance(v, dict):
                    merged = dict(self.config.get(k) or {})
                    merged.update(v)
                    self.config[k] = merged
                else:
                    self.config[k] = v

    def load(self, doc):
        """Replace everything with a state document (see README.md)."""
        with self.lock:
            self.reset()
            self.update_config(doc.get("config") or {})
            for inst in doc.get("instances") or []:
                self.create_instance(inst)
            for lb in doc.get("classic_load_balancers") or []:
                self.create_classic(lb)
            for lb in doc.get("load_balancers_v2") or []:
                self.create_v2_lb(lb)
            for tg in doc.get("target_groups") or []:
                self.create_target_group(tg)
            for addr in doc.get("addresses") or []:
                self.create_address(addr)
            if doc.get("dynamodb_tables"):
                import dynamodb
                dynamodb.load_tables(self, doc["dynamodb_tables"])

    def dump(self):
        with self.lock:
            self._expire_draining()
            return {
                "config": copy.deepcopy(self.config),
                "instances": [self._dump_instance(i)
                              for i in self.instances.values()],
                "classic_load_balancers": [self._dump_classic(lb)
                                           for lb in self.classic.values()],
                "load_balancers_v2": [copy.deepcopy(lb)
                                      for lb in self.v2_lbs.values()],
                "target_groups": [self._dump_tg(tg)
                                  for tg in self.tgs.values()],
                "addresses": [self._dump_address(a)
                              for a in self.addresses.values()],
                "dynamodb_tables": [t.dump()
                                    for t in self.ddb_tables.values()],
            }

    # -- instances -------------------------------------------------------

    def _next_private_ip(self):
        while True:
            n = self._ip_counter
            self._ip_counter += 1
            ip = "10.%d.%d.%d" % (n // 62500, n // 250 % 250, n % 250 + 4)
            if ip not in self._used_private:
                return ip

    def create_instance(self, spec):
        with self.lock:
            cfg = self.config
            iid = spec.get("id") or gen_id("i-")
            if iid in self.instances:
                raise ValueError("instance %s already exists" % iid)
            state = spec.get("state", "running")
            if state not in STATE_CODES:
                raise ValueError("bad instance state %r" % state)
            az = spec.get("availability_zone") or cfg["region"] + "a"
            subnet = spec.get("subnet_id") or cfg["default_subnet_id"]
            enis_spec = spec.get("network_interfaces")
            private_ip = spec.get("private_ip")
            if not enis_spec:
                enis_spec = [{"private_ips": [private_ip or
                                              self._next_private_ip()]}]
            enis = []
            for idx, e in enumerate(enis_spec):
                ips = list(e.get("private_ips") or [])
                if not ips:
                    ips = [private_ip if idx == 0 and private_ip
                           else self._next_private_ip()]
                eni = {
                    "id": e.get("id") or gen_id("eni-"),
                    "device_index": e.get("device_index", idx),
                    "private_ips": ips,
                    "subnet_id": e.get("subnet_id") or subnet,
                    "attachment_id": e.get("attachment_id") or
                    gen_id("eni-attach-"),
                    "mac_address": e.get("mac_address") or
                    "02:%s" % ":".join(secrets.token_hex(5)[i:i + 2]
                                       for i in range(0, 10, 2)),
                    "description": e.get("description", ""),
                }
                if eni["id"] in self.enis:
                    raise ValueError("ENI %s already exists" % eni["id"])
                enis.append(eni)
            enis.sort(key=lambda e: e["device_index"])
            for eni in enis:
                self._used_private.update(eni["private_ips"])
            inst = {
                "id": iid,
                "state": state,
                "vpc_id": spec.get("vpc_id") or cfg["default_vpc_id"],
                "subnet_id": subnet,
                "availability_zone": az,
                "private_ip": enis[0]["private_ips"][0],
                "tags": dict(spec.get("tags") or {}),
                "network_interfaces": enis,
                "instance_type": spec.get("instance_type", "t3.micro"),
                "image_id": spec.get("image_id", "ami-0fa1ce0000000000a"),
                "launch_time": spec.get("launch_time", 1700000000.0),
                "reservation_id": spec.get("reservation_id") or gen_id("r-"),
                "public_ip": spec.get("public_ip"),
            }
            if spec.get("status_checks"):
                inst["status_checks"] = dict(spec["status_checks"])
            self.instances[iid] = inst
            for eni in enis:
                self.enis[eni["id"]] = (inst, eni)
            return inst

    def _dump_instance(self, inst):
        return copy.deepcopy(inst)

    def release_address(self, addr):
        del self.addresses[addr["allocation_id"]]
        self._used_public.discard(addr["public_ip"])

    def set_instance_state(self, iid, state):
        with self.lock:
            inst = self.instances.get(iid)
            if inst is None:
                raise KeyError(iid)
            if state not in STATE_CODES:
                raise ValueError("bad instance state %r" % state)
            inst["state"] = state
            if state == "terminated":
                # A terminated instance loses its addresses; targets and
                # Classic ELB members are removed by the services.
                for addr in self.addresses.values():
                    if addr.get("network_interface_id") in \
                            {e["id"] for e in inst["network_interfaces"]}:
                        self._clear_association(addr)
                for lb in self.classic.values():
                    lb["instances"].pop(iid, None)
                for tg in self.tgs.values():
                    for key in [k for k in tg["targets"] if k[0] == iid]:
                        self._start_draining(tg, key)
            return inst

    def instance_public_ip(self, inst):
        eni = inst["network_interfaces"][0]
        addr = self.address_on(eni["id"], eni["private_ips"][0])
        if addr:
            return addr["public_ip"]
        return inst.get("public_ip")

    def address_on(self, eni_id, private_ip):
        return self._bound.get((eni_id, private_ip))

    # -- addresses -------------------------------------------------------

    def _pool_ips(self):
        for cidr in self.config["address_pool"]:
            net = ipaddress.ip_network(cidr, strict=False)
            for ip in net.hosts():
                yield str(ip)

    def _allocate_public_ip(self):
        for ip in self._pool_ips():
            if ip not in self._used_public:
                return ip
        raise ApiError("AddressLimitExceeded",
                       "The maximum number of addresses has been reached.")

    def create_address(self, spec):
        with self.lock:
            limit = self.config.get("address_limit")
            if limit is not None and len(self.addresses) >= limit:
                raise ApiError("AddressLimitExceeded",
                               "The maximum number of addresses has been "
                               "reached.")
            alloc = spec.get("allocation_id") or gen_id("eipalloc-")
            if alloc in self.addresses:
                raise ValueError("address %s already exists" % alloc)
            ip = spec.get("public_ip")
            if ip and ip in self._used_public:
                raise ApiError("InvalidParameterValue",
                               "Address %s is already allocated." % ip)
            addr = {
                "allocation_id": alloc,
                "public_ip": ip or self._allocate_public_ip(),
                "domain": spec.get("domain", "vpc"),
                "tags": dict(spec.get("tags") or {}),
                "network_border_group": spec.get("network_border_group") or
                self.config["region"],
                "public_ipv4_pool": spec.get("public_ipv4_pool", "amazon"),
                "association_id": None,
                "network_interface_id": None,
                "private_ip": None,
            }
            self.addresses[alloc] = addr
            self._used_public.add(addr["public_ip"])
            target_instance = spec.get("instance_id")
            target_eni = spec.get("network_interface_id")
            if target_eni:
                # A dump names both; the ENI is the precise one.
                target_instance = None
            if target_instance or target_eni:
                eni_id, pip = self.resolve_target(
                    target_instance, target_eni, spec.get("private_ip"),
                    check_state=False)
                self.associate(addr, eni_id, pip, allow_reassociation=True,
                               association_id=spec.get("association_id"))
            return addr

    def _dump_address(self, addr):
        d = {k: v for k, v in addr.items() if v is not None}
        inst = self.address_instance(addr)
        if inst:
            d["instance_id"] = inst["id"]
        return copy.deepcopy(d)

    def address_instance(self, addr):
        eni_id = addr.get("network_interface_id")
        if not eni_id or eni_id not in self.enis:
            return None
        return self.enis[eni_id][0]

    def resolve_target(self, instance_id, eni_id, private_ip, check_state=True):
        """Find (eni id, private ip) for an association, with AWS's errors."""
        if instance_id and eni_id:
            raise ApiError("InvalidParameterCombination",
                           "You may specify either an instance ID or a "
                           "network interface ID, but not both.")
        if instance_id:
            inst = self.find_instance(instance_id)
            if check_state and inst["state"] not in ("running", "stopped"):
                raise ApiError("IncorrectInstanceState",
                               "The instance '%s' is not in a valid state for "
                               "this operation." % instance_id)
            if len(inst["network_interfaces"]) > 1:
                # Real wording: hashicorp/terraform-provider-aws#6476,
                # cilium/cilium#39654.
                raise ApiError("InvalidInstanceID",
                               "There are multiple interfaces attached to "
                               "instance '%s'. Please specify an interface ID "
                               "for the operation instead." % instance_id)
            eni = inst["network_interfaces"][0]
        elif eni_id:
            if eni_id not in self.enis:
                raise ApiError("InvalidNetworkInterfaceID.NotFound",
                               "The networkInterface ID '%s' does not exist"
                               % eni_id)
            inst, eni = self.enis[eni_id]
            if check_state and inst["state"] not in ("running", "stopped"):
                raise ApiError("IncorrectInstanceState",
                               "The instance '%s' is not in a valid state for "
                               "this operation." % inst["id"])
        else:
            raise ApiError("MissingParameter",
                           "Either an instance ID or a network interface ID "
                           "must be specified.")
        if private_ip is None:
            private_ip = eni["private_ips"][0]
        elif private_ip not in eni["private_ips"]:
            raise ApiError("InvalidParameterValue",
                           "The specified private IP address %s is not "
                           "assigned to the network interface %s."
                           % (private_ip, eni["id"]))
        return eni["id"], private_ip

    def associate(self, addr, eni_id, private_ip, allow_reassociation,
                  association_id=None):
        same = (addr.get("network_interface_id") == eni_id and
                addr.get("private_ip") == private_ip)
        if addr.get("association_id") and not same and not allow_reassociation:
            raise ApiError("Resource.AlreadyAssociated",
                           "resource %s is already associated with "
                           "associate-id %s" % (addr["allocation_id"],
                                                addr["association_id"]))
        if same and addr.get("association_id"):
            return addr["association_id"]
        # An address already on that private IP is moved off it (AWS docs:
        # "the existing address is disassociated from the instance").
        other = self.address_on(eni_id, private_ip)
        if other is not None and other is not addr:
            self._clear_association(other)
        self._clear_association(addr)
        addr["network_interface_id"] = eni_id
        addr["private_ip"] = private_ip
        addr["association_id"] = association_id or gen_id("eipassoc-")
        self._bound[(eni_id, private_ip)] = addr
        return addr["association_id"]

    def _clear_association(self, addr):
        key = (addr.get("network_interface_id"), addr.get("private_ip"))
        if self._bound.get(key) is addr:
            del self._bound[key]
        addr["association_id"] = None
        addr["network_interface_id"] = None
        addr["private_ip"] = None

    def disassociate(self, association_id):
        for addr in self.addresses.values():
            if addr.get("association_id") == association_id:
                self._clear_association(addr)
                return addr
        raise ApiError("InvalidAssociationID.NotFound",
                       "The association ID '%s' does not exist"
                       % association_id)

    def find_address(self, allocation_id=None, public_ip=None):
        if allocation_id:
            addr = self.addresses.get(allocation_id)
            if addr is None:
                raise ApiError("InvalidAllocationID.NotFound",
                               "The allocation ID '%s' does not exist"
                               % allocation_id)
            return addr
        for addr in self.addresses.values():
            if addr["public_ip"] == public_ip:
                return addr
        raise ApiError("InvalidAddress.NotFound",
                       "Address '%s' not found." % public_ip)

    # -- lookups ---------------------------------------------------------

    def find_instance(self, iid):
        check_instance_id(iid)
        inst = self.instances.get(iid)
        if inst is None:
            raise ApiError("InvalidInstanceID.NotFound",
                           "The instance ID '%s' does not exist" % iid)
        return inst

    # -- VPCs ------------------------------------------------------------

    def vpc_is_default(self, vpc_id):
        """The account's default VPC is config default_vpc_id: where AWS
        puts what names no VPC, as the fake does."""
        return vpc_id == self.config["default_vpc_id"]

    def vpcs(self):
        """The VPCs that exist: the default one and every VPC a resource
        names, sorted by id."""
        with self.lock:
            ids = {self.config["default_vpc_id"]}
            ids.update(i["vpc_id"] for i in self.instances.values()
                       if i["state"] != "terminated")
            for coll in (self.classic, self.v2_lbs, self.tgs):
                ids.update(r["vpc_id"] for r in coll.values())
            return sorted(v for v in ids if v)

    # -- Classic ELB -----------------------------------------------------

    def create_classic(self, spec):
        with self.lock:
            name = spec["name"]
            if name in self.classic:
                raise ValueError("load balancer %s already exists" % name)
            region = self.config["region"]
            cd = spec.get("connection_draining") or {}
            lb = {
                "name": name,
                "vpc_id": spec.get("vpc_id") or self.config["default_vpc_id"],
                "availability_zones": list(spec.get("availability_zones") or
                                           [region + "a"]),
                "subnets": list(spec.get("subnets") or []),
                "dns_name": spec.get("dns_name") or
                "%s-%d.%s.elb.amazonaws.com" % (name, 1000000 + len(
                    self.classic), region),
                "created_time": spec.get("created_time", 1700000000.0),
                "scheme": spec.get("scheme", "internet-facing"),
                "listeners": spec.get("listeners") or [
                    {"protocol": "HTTP", "load_balancer_port": 80,
                     "instance_protocol": "HTTP", "instance_port": 80}],
                "health_check": spec.get("health_check") or {
                    "target": "HTTP:80/", "interval": 30, "timeout": 5,
                    "unhealthy_threshold": 2, "healthy_threshold": 10},
                "connection_draining": {
                    "enabled": bool(cd.get("enabled", False)),
                    "timeout": cd.get("timeout", 300)},
                "cross_zone": bool(spec.get("cross_zone", True)),
                "instances": {},
                "health_overrides": {},
                "draining": {},
            }
            for m in spec.get("instances") or []:
                if isinstance(m, str):
                    m = {"id": m}
                lb["instances"][m["id"]] = {
                    "registered_at": m.get("registered_at", 0.0)}
            for iid, ov in (spec.get("health_overrides") or {}).items():
                lb["health_overrides"][iid] = ov
            for iid, until in (spec.get("draining") or {}).items():
                lb["draining"][iid] = float(until)
            self.classic[name] = lb
            return lb

    def _dump_classic(self, lb):
        d = copy.deepcopy(lb)
        d["instances"] = [{"id": k, **v} for k, v in lb["instances"].items()]
        d["draining"] = dict(lb["draining"])
        return d

    def find_classic(self, name):
        lb = self.classic.get(name)
        if lb is None:
            raise ApiError("LoadBalancerNotFound",
                           "There is no ACTIVE Load Balancer named '%s'" % name)
        return lb

    def classic_register(self, lb, ids):
        for iid in ids:
            inst = self.instances.get(iid)
            if inst is None or inst["state"] == "terminated":
                raise ApiError("InvalidInstance",
                               "EC2 instance %s is not in a valid state or "
                               "does not exist." % iid)
            if inst["vpc_id"] != lb["vpc_id"]:
                raise ApiError("InvalidInstance",
                               "EC2 instance %s is not in the same VPC as "
                               "ELB." % iid)
        now = self.now()
        for iid in ids:
            if iid not in lb["instances"]:
                lb["instances"][iid] = {"registered_at": now}
            lb["draining"].pop(iid, None)

    def classic_deregister(self, lb, ids):
        for iid in ids:
            if iid not in self.instances:
                raise ApiError("InvalidInstance",
                               "EC2 instance %s is not in a valid state or "
                               "does not exist." % iid)
        cd = lb["connection_draining"]
        for iid in ids:
            if lb["instances"].pop(iid, None) is not None and cd["enabled"]:
                lb["draining"][iid] = self.now() + cd["timeout"] * \
                    self.config["deregistration_delay_scale"]

    def classic_health(self, lb, iid):
        """(State, ReasonCode, Description) for one instance, as AWS words it."""
        now = self.now()
        until = lb["draining"].get(iid)
        if iid not in lb["instances"]:
            if until is not None and until > now:
                return ("OutOfService", "Instance",
                        "Instance deregistration currently in progress.")
            return ("OutOfService", "N/A",
                    "Instance is not currently registered with the "
                    "LoadBalancer.")
        inst = self.instances.get(iid)
        if inst is None or inst["state"] != "running":
            st = inst["state"] if inst else "terminated"
            return ("OutOfService", "Instance", "Instance is in %s state." % st)
        ov = lb["health_overrides"].get(iid)
        if ov:
            return (ov.get("state", "OutOfService"),
                    ov.get("reason_code", "Instance"),
                    ov.get("description",
                           "Instance has failed at least the "
                           "UnhealthyThreshold number of health checks "
                           "consecutively."))
        if inst["availability_zone"] not in lb["availability_zones"]:
            return ("OutOfService", "ELB",
                    "Instance is in the EC2 Availability Zone for which "
                    "LoadBalancer is not configured to route traffic to.")
        reg = lb["instances"][iid]["registered_at"]
        if now - reg < float(self.config["classic_health_delay_seconds"]):
            return ("OutOfService", "ELB",
                    "Instance registration is still in progress.")
        return ("InService", "N/A", "N/A")

    # -- ELBv2 -----------------------------------------------------------

    def _arn(self, kind, name):
        return "arn:aws:elasticloadbalancing:%s:%s:%s/%s/%s" % (
            self.config["region"], self.config["account_id"], kind, name,
            secrets.token_hex(8))

    def create_v2_lb(self, spec):
        with self.lock:
            name = spec["name"]
            lb_type = spec.get("type", "application")
            kind = {"application": "app", "network": "net",
                    "gateway": "gwy"}[lb_type]
            arn = spec.get("arn") or self._arn("loadbalancer/" + kind, name)
            lb = {
                "arn": arn, "name": name, "type": lb_type,
                "vpc_id": spec.get("vpc_id") or self.config["default_vpc_id"],
                "scheme": spec.get("scheme", "internet-facing"),
                # An ALB needs subnets in at least two zones.
                "availability_zones": list(spec.get("availability_zones") or
                                           [self.config["region"] + "a",
                                            self.config["region"] + "b"]),
                "dns_name": spec.get("dns_name") or "%s-%d.%s.elb.amazonaws.com"
                % (name, 2000000 + len(self.v2_lbs), self.config["region"]),
                "created_time": spec.get("created_time", 1700000000.0),
            }
            self.v2_lbs[arn] = lb
            return lb

    def create_target_group(self, spec):
        with self.lock:
            name = spec["name"]
            if name in self.tg_names:
                raise ValueError("target group %s already exists" % name)
            arn = spec.get("arn") or self._arn("targetgroup", name)
            lbs = spec.get("load_balancer_arns")
            if lbs is None:
                # A target group no load balancer uses reports every target
                # "unused" (Target.NotInUse); give it one unless told not to.
                lbs = [self.create_v2_lb({"name": (name + "-lb")[:32]})["arn"]]
            tg = {
                "arn": arn, "name": name,
                "vpc_id": spec.get("vpc_id") or self.config["default_vpc_id"],
                "target_type": spec.get("target_type", "instance"),
                "protocol": spec.get("protocol", "HTTP"),
                "port": spec.get("port", 80),
                "deregistration_delay": spec.get("deregistration_delay", 300),
                "load_balancer_arns": list(lbs),
                "health_check": spec.get("health_check") or {
                    "protocol": "HTTP", "port": "traffic-port", "path": "/",
                    "interval": 30, "timeout": 5, "healthy_threshold": 5,
                    "unhealthy_threshold": 2, "matcher": "200"},
                "targets": {},
                "draining": {},
            }
            for t in spec.get("targets") or []:
                if isinstance(t, str):
                    t = {"id": t}
                port = t.get("port") or tg["port"]
                tg["targets"][(t["id"], port)] = {
                    "availability_zone": t.get("availability_zone"),
                    "registered_at": t.get("registered_at", 0.0),
                    "override": t.get("health_override")}
            for t in spec.get("draining") or []:
                tg["draining"][(t["id"], t["port"])] = {
                    "until": t["until"],
                    "availability_zone": t.get("availability_zone")}
            self.tgs[arn] = tg
            self.tg_names[name] = arn
            return tg

    def _dump_tg(self, tg):
        d = {k: copy.deepcopy(v) for k, v in tg.items()
             if k not in ("targets", "draining")}
        d["targets"] = []
        for (tid, port), t in tg["targets"].items():
            item = {"id": tid, "port": port,
                    "registered_at": t["registered_at"]}
            if t.get("availability_zone"):
                item["availability_zone"] = t["availability_zone"]
            if t.get("override"):
                item["health_override"] = t["override"]
            d["targets"].append(item)
        d["draining"] = [{"id": tid, "port": port, **v}
                         for (tid, port), v in tg["draining"].items()]
        return d

    def find_tg(self, ref):
        arn = self.tg_names.get(ref, ref)
        tg = self.tgs.get(arn)
        if tg is None:
            raise ApiError("TargetGroupNotFound",
                           "Target groups '%s' not found" % ref)
        return tg

    def _start_draining(self, tg, key):
        t = tg["targets"].pop(key, None)
        if t is None:
            return
        delay = float(tg["deregistration_delay"]) * \
            float(self.config["deregistration_delay_scale"])
        if delay > 0:
            tg["draining"][key] = {"until": self.now() + delay,
                                   "availability_zone":
                                   t.get("availability_zone")}

    def _expire_draining(self):
        now = self.now()
        for tg in self.tgs.values():
            for key in [k for k, v in tg["draining"].items()
                        if v["until"] <= now]:
                del tg["draining"][key]
        for lb in self.classic.values():
            for iid in [k for k, v in lb["draining"].items() if v <= now]:
                del lb["draining"][iid]

    def tg_register(self, tg, targets):
        self._expire_draining()
        for t in targets:
            tid = t["Id"]
            if tg["target_type"] == "instance":
                if t.get("AvailabilityZone"):
                    raise ApiError("ValidationError",
                                   "You cannot specify an Availability Zone "
                                   "for an instance target.")
                if not looks_like_instance_id(tid):
                    raise ApiError("ValidationError",
                                   "Instance ID '%s' is not valid" % tid)
                inst = self.instances.get(tid)
                if inst is None:
                    raise ApiError("InvalidTarget",
                                   "The following targets are not valid "
                                   "instances: '%s'" % tid)
                if inst["vpc_id"] != tg["vpc_id"]:
                    raise ApiError("InvalidTarget",
                                   "The following targets are not in the "
                                   "target group VPC '%s': '%s'"
                                   % (tg["vpc_id"], tid))
                if inst["state"] != "running":
                    raise ApiError("InvalidTarget",
                                   "The following targets are not in a "
                                   "running state and cannot be registered: "
                                   "'%s'" % tid)
            elif tg["target_type"] == "ip":
                try:
                    ipaddress.ip_address(tid)
                except ValueError:
                    raise ApiError("ValidationError",
                                   "'%s' is not a valid IP address" % tid)
        if len(tg["targets"]) + len(targets) > 1000:
            raise ApiError("TooManyTargets",
                           "You've reached the limit on the number of targets "
                           "registered to a target group")
        now = self.now()
        for t in targets:
            key = (t["Id"], t.get("Port") or tg["port"])
            tg["draining"].pop(key, None)
            if key not in tg["targets"]:
                tg["targets"][key] = {
                    "availability_zone": t.get("AvailabilityZone"),
                    "registered_at": now, "override": None}

    def tg_deregister(self, tg, targets):
        self._expire_draining()
        for t in targets:
            self._start_draining(tg, (t["Id"], t.get("Port") or tg["port"]))

    def target_health(self, tg, key):
        """(State, Reason, Description) as ELBv2 reports them."""
        now = self.now()
        t = tg["targets"].get(key)
        if t is None:
            d = tg["draining"].get(key)
            if d is not None and d["until"] > now:
                return ("draining", "Target.DeregistrationInProgress",
                        "Target deregistration is in progress")
            return ("unused", "Target.NotRegistered",
                    "Target is not registered to the target group")
        if tg["target_type"] == "instance":
            inst = self.instances.get(key[0])
            if inst is None or inst["state"] != "running":
                st = inst["state"] if inst else "terminated"
                return ("unused", "Target.InvalidState",
                        "Target is in the %s state" % st)
        if not tg["load_balancer_arns"]:
            return ("unused", "Target.NotInUse",
                    "Target group is not configured to receive traffic from "
                    "the load balancer")
        if t.get("override"):
            ov = t["override"]
            if isinstance(ov, str):
                ov = {"state": ov}
            state = ov.get("state", "unhealthy")
            defaults = {
                "unhealthy": ("Target.FailedHealthChecks",
                              "Health checks failed"),
                "unavailable": ("Elb.InternalError",
                                "Target health is unavailable"),
                "initial": ("Elb.InitialHealthChecking",
                            "Initial health checks in progress"),
                "healthy": (None, None),
            }.get(state, (None, None))
            return (state, ov.get("reason", defaults[0]),
                    ov.get("description", defaults[1]))
        if now - t["registered_at"] < float(
                self.config["target_health_delay_seconds"]):
            return ("initial", "Elb.RegistrationInProgress",
                    "Target registration is in progress")
        return ("healthy", None, None)


def looks_like_instance_id(iid):
    import re
    return bool(re.fullmatch(r"i-([0-9a-f]{8}|[0-9a-f]{17})", iid or ""))


def check_instance_id(iid):
    if not looks_like_instance_id(iid):
        raise ApiError("InvalidInstanceID.Malformed",
                       'Invalid id: "%s"' % iid)
