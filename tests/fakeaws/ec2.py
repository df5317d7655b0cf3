"""EC2 operations (API version 2016-11-15) over the fake's state.

Handlers take (ctx, params) with params keyed by model member names and
return a dict keyed by the output shape's member names. They run with the
state lock held.
"""

import base64
import hashlib
import json
import re

from model import ApiError
from state import STATE_CODES, check_instance_id, tags_to_list

SECURITY_GROUP = {"GroupName": "default", "GroupId": "sg-0fa0e0000000000d1"}


# -- filters ------------------------------------------------------------------

def _wildcard(value):
    """EC2 filter values accept * and ? wildcards (escaped with backslash)."""
    if "*" not in value and "?" not in value:
        return lambda s: s == value
    out = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    rx = re.compile("".join(out), re.S)
    return lambda s: rx.fullmatch(s) is not None


def compile_filters(filters, table):
    """Turn Filter.N into predicates; unknown names are AWS's error."""
    preds = []
    for f in filters or []:
        name = f.get("Name")
        values = f.get("Values") or []
        if not name:
            raise ApiError("InvalidParameterValue",
                           "The filter 'null' is invalid")
        if name.startswith("tag:"):
            key = name[4:]
            getter = (lambda k: lambda r: [r["tags"][k]] if k in r["tags"]
                      else [])(key)
        elif name in table:
            getter = table[name]
        else:
            raise ApiError("InvalidParameterValue",
                           "The filter '%s' is invalid" % name)
        if not values:
            raise ApiError("InvalidParameterValue",
                           "The filter '%s' requires a value" % name)
        matchers = [_wildcard(v) for v in values]
        preds.append((getter, matchers))

    def match(resource):
        for getter, matchers in preds:
            got = getter(resource)
            if not any(m(str(v)) for v in got for m in matchers):
                return False
        return True
    return match


def _tag_filters(table):
    table["tag-key"] = lambda r: list(r["tags"].keys())
    table["tag-value"] = lambda r: list(r["tags"].values())
    return table


# -- pagination ---------------------------------------------------------------

def _fingerprint(action, params):
    keep = {k: v for k, v in params.items()
            if k not in ("NextToken", "MaxResults")}
    return hashlib.sha256((action + json.dumps(keep, sort_keys=True,
                                               default=str)).encode()
                          ).hexdigest()[:16]


def paginate(items, params, action, default=None):
    """EC2-style MaxResults (5..1000) / NextToken over a list."""
    max_results = params.get("MaxResults")
    token = params.get("NextToken")
    fp = _fingerprint(action, params)
    start = 0
    if token:
        try:
            doc = json.loads(base64.urlsafe_b64decode(token.encode()))
            start = int(doc["o"])
            if doc["f"] != fp or start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ApiError("InvalidPaginationToken",
                           "The specified pagination token is not valid or is "
                           "expired.")
    if max_results is not None:
        if max_results < 5 or max_results > 1000:
            raise ApiError("InvalidParameterValue",
                           "Value ( %d ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000."
                           % max_results)
        size = max_results
    elif token:
        size = 1000
    else:
        size = default
    if size is None:
        return items[start:], None
    page = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps(
            {"o": start + size, "f": fp}).encode()).decode()
    return page, nxt


def _not_found_instances(missing):
    if len(missing) == 1:
        msg = "The instance ID '%s' does not exist" % missing[0]
    else:
        msg = "The instance IDs '%s' do not exist" % ", ".join(missing)
    raise ApiError("InvalidInstanceID.NotFound", msg)


def _lookup_instances(st, ids):
    for iid in ids:
        check_instance_id(iid)
    missing = [i for i in ids if i not in st.instances]
    if missing:
        _not_found_instances(missing)
    return [st.instances[i] for i in dict.fromkeys(ids)]


def _asked_instances(st, p):
    """The instances p's InstanceIds name, or every one when it names none."""
    ids = p.get("InstanceIds") or []
    if ids and p.get("MaxResults") is not None:
        # The model docs: "You cannot specify this parameter and
        # the instance IDs parameter in the same request."
        raise ApiError("InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the "
                       "parameter maxResults")
    return _lookup_instances(st, ids) if ids else list(st.instances.values())


# -- rendering ------------------------------------------------------------------

def _dns(ip, region):
    suffix = "ec2.internal" if region == "us-east-1" else \
        "%s.compute.internal" % region
    return "ip-%s.%s" % (ip.replace(".", "-"), suffix)


def _association(st, addr):
    if addr is None:
        return None
    return {"PublicIp": addr["public_ip"], "PublicDnsName": "",
            "IpOwnerId": st.config["account_id"]}


def _instance_enis(st, inst):
    region = st.config["region"]
    out = []
    for eni in inst["network_interfaces"]:
        ips = []
        for n, ip in enumerate(eni["private_ips"]):
            ips.append({"PrivateIpAddress": ip, "Primary": n == 0,
                        "PrivateDnsName": _dns(ip, region),
                        "Association": _association(
                            st, st.address_on(eni["id"], ip))})
        out.append({
            "NetworkInterfaceId": eni["id"],
            "SubnetId": eni["subnet_id"],
            "VpcId": inst["vpc_id"],
            "Description": eni["description"],
            "OwnerId": st.config["account_id"],
            "Status": "in-use",
            "MacAddress": eni["mac_address"],
            "PrivateIpAddress": eni["private_ips"][0],
            "PrivateDnsName": _dns(eni["private_ips"][0], region),
            "SourceDestCheck": True,
            "Groups": [SECURITY_GROUP],
            "Attachment": {"AttachmentId": eni["attachment_id"],
                           "DeviceIndex": eni["device_index"],
                           "Status": "attached",
                           "AttachTime": inst["launch_time"],
                           "DeleteOnTermination": eni["device_index"] == 0,
                           "NetworkCardIndex": 0},
            "Association": _association(
                st, st.address_on(eni["id"], eni["private_ips"][0])),
            "PrivateIpAddresses": ips,
            "InterfaceType": "interface",
        })
    return out


def render_instance(st, inst):
    state = inst["state"]
    d = {
        "InstanceId": inst["id"],
        "ImageId": inst["image_id"],
        "State": {"Code": STATE_CODES[state], "Name": state},
        "PrivateDnsName": "",
        "PublicDnsName": "",
        "StateTransitionReason": "",
        "AmiLaunchIndex": 0,
        "InstanceType": inst["instance_type"],
        "LaunchTime": inst["launch_time"],
        "Placement": {"AvailabilityZone": inst["availability_zone"],
                      "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"},
        "Architecture": "x86_64",
        "RootDeviceType": "ebs",
        "RootDeviceName": "/dev/xvda",
        "Hypervisor": "xen",
        "VirtualizationType": "hvm",
        "ClientToken": "",
        "EbsOptimized": False,
        "EnaSupport": True,
        "Tags": tags_to_list(inst["tags"]) if inst["tags"] else None,
    }
    if state == "terminated":
        # Terminated instances keep no network identity.
        d["SecurityGroups"] = []
        d["NetworkInterfaces"] = []
        d["StateTransitionReason"] = "User initiated"
        return d
    d.update({
        "PrivateDnsName": _dns(inst["private_ip"], st.config["region"]),
        "PrivateIpAddress": inst["private_ip"],
        "SubnetId": inst["subnet_id"],
        "VpcId": inst["vpc_id"],
        "SourceDestCheck": True,
        "SecurityGroups": [SECURITY_GROUP],
        "NetworkInterfaces": _instance_enis(st, inst),
    })
    pub = st.instance_public_ip(inst)
    if pub and (state == "running" or st.address_on(
            inst["network_interfaces"][0]["id"], inst["private_ip"])):
        d["PublicIpAddress"] = pub
    return d


INSTANCE_FILTERS = _tag_filters({
    "instance-id": lambda i: [i["id"]],
    "instance-state-name": lambda i: [i["state"]],
    "instance-state-code": lambda i: [STATE_CODES[i["state"]]],
    "instance-type": lambda i: [i["instance_type"]],
    "image-id": lambda i: [i["image_id"]],
    "reservation-id": lambda i: [i["reservation_id"]],
    "vpc-id": lambda i: [i["vpc_id"]],
    "subnet-id": lambda i: [i["subnet_id"]],
    "availability-zone": lambda i: [i["availability_zone"]],
    "private-ip-address": lambda i: [i["private_ip"]],
    "network-interface.network-interface-id":
        lambda i: [e["id"] for e in i["network_interfaces"]],
    "network-interface.addresses.private-ip-address":
        lambda i: [ip for e in i["network_interfaces"]
                   for ip in e["private_ips"]],
    "network-interface.vpc-id": lambda i: [i["vpc_id"]],
    "network-interface.subnet-id":
        lambda i: [e["subnet_id"] for e in i["network_interfaces"]],
})


# -- operations ---------------------------------------------------------------

def describe_instances(ctx, p):
    st = ctx.state
    candidates = _asked_instances(st, p)
    ipfilter = dict(INSTANCE_FILTERS)
    ipfilter["ip-address"] = lambda i: [st.instance_public_ip(i) or ""]
    match = compile_filters(p.get("Filters"), ipfilter)
    matched = [i for i in candidates if match(i)]
    page, nxt = paginate(matched, p, "DescribeInstances")
    reservations = []
    for inst in page:
        if reservations and reservations[-1]["ReservationId"] == \
                inst["reservation_id"]:
            reservations[-1]["Instances"].append(render_instance(st, inst))
            continue
        reservations.append({
            "ReservationId": inst["reservation_id"],
            "OwnerId": st.config["account_id"],
            "Groups": [],
            "Instances": [render_instance(st, inst)],
        })
    return {"Reservations": reservations, "NextToken": nxt}


STATUS_FILTERS = {
    "instance-id": lambda i: [i["id"]],
    "availability-zone": lambda i: [i["availability_zone"]],
    "instance-state-name": lambda i: [i["state"]],
    "instance-state-code": lambda i: [STATE_CODES[i["state"]]],
    "instance-status.status": lambda i: [check_status(i, "instance")],
    "system-status.status": lambda i: [check_status(i, "system")],
    "instance-status.reachability":
        lambda i: _reachability(check_status(i, "instance")),
    "system-status.reachability":
        lambda i: _reachability(check_status(i, "system")),
}

# Status of a check: what the control set (POST /_fakeaws/instances/status),
# else ok.  EC2 runs the checks only on running instances: the others are
# not-applicable whatever was set.
CHECK_STATUSES = ("ok", "impaired", "insufficient-data", "not-applicable",
                  "initializing")
_REACHABILITY = {"ok": "passed", "impaired": "failed",
                 "initializing": "initializing",
                 "insufficient-data": "insufficient-data"}


def check_status(inst, which):
    if inst["state"] != "running":
        return "not-applicable"
    return (inst.get("status_checks") or {}).get(which) or "ok"


def _reachability(status):
    return [_REACHABILITY[status]] if status in _REACHABILITY else []


def _status_summary(inst, which):
    status = check_status(inst, which)
    out = {"Status": status}
    if status in _REACHABILITY:
        out["Details"] = [{"Name": "reachability",
                           "Status": _REACHABILITY[status]}]
    return out


def describe_instance_status(ctx, p):
    st = ctx.state
    if len(p.get("InstanceIds") or []) > 100:
        raise ApiError("InvalidParameterValue",
                       "The maximum number of instance IDs that can be "
                       "specified is 100")
    candidates = _asked_instances(st, p)
    if not p.get("IncludeAllInstances"):
        candidates = [i for i in candidates if i["state"] == "running"]
    match = compile_filters(p.get("Filters"), STATUS_FILTERS)
    matched = [i for i in candidates if match(i)]
    page, nxt = paginate(matched, p, "DescribeInstanceStatus")
    out = []
    for inst in page:
        out.append({
            "InstanceId": inst["id"],
            "AvailabilityZone": inst["availability_zone"],
            "InstanceState": {"Code": STATE_CODES[inst["state"]],
                              "Name": inst["state"]},
            "InstanceStatus": _status_summary(inst, "instance"),
            "SystemStatus": _status_summary(inst, "system"),
        })
    return {"InstanceStatuses": out, "NextToken": nxt}


def _eni_records(st):
    for inst in st.instances.values():
        if inst["state"] == "terminated":
            continue
        for eni in inst["network_interfaces"]:
            yield inst, eni


def _eni_filters(st):
    def addrs(rec):
        inst, eni = rec
        return [a for ip in eni["private_ips"]
                for a in [st.address_on(eni["id"], ip)] if a]
    return {
        "network-interface-id": lambda r: [r[1]["id"]],
        "attachment.instance-id": lambda r: [r[0]["id"]],
        "attachment.attachment-id": lambda r: [r[1]["attachment_id"]],
        "attachment.device-index": lambda r: [r[1]["device_index"]],
        "attachment.status": lambda r: ["attached"],
        "vpc-id": lambda r: [r[0]["vpc_id"]],
        "subnet-id": lambda r: [r[1]["subnet_id"]],
        "availability-zone": lambda r: [r[0]["availability_zone"]],
        "private-ip-address": lambda r: [r[1]["private_ips"][0]],
        "addresses.private-ip-address": lambda r: list(r[1]["private_ips"]),
        "addresses.primary": lambda r: ["true"],
        "association.public-ip": lambda r: [a["public_ip"] for a in addrs(r)],
        "association.allocation-id":
            lambda r: [a["allocation_id"] for a in addrs(r)],
        "association.association-id":
            lambda r: [a["association_id"] for a in addrs(r)],
        "status": lambda r: ["in-use"],
        "owner-id": lambda r: [st.config["account_id"]],
        "mac-address": lambda r: [r[1]["mac_address"]],
        "description": lambda r: [r[1]["description"]],
        "interface-type": lambda r: ["interface"],
        "tag-key": lambda r: [],
        "tag-value": lambda r: [],
    }


def describe_network_interfaces(ctx, p):
    st = ctx.state
    ids = p.get("NetworkInterfaceIds") or []
    for eid in ids:
        if not re.fullmatch(r"eni-([0-9a-f]{8}|[0-9a-f]{17})", eid):
            raise ApiError("InvalidNetworkInterfaceID.Malformed",
                           'Invalid id: "%s" (expecting "eni-...")' % eid)
    missing = [e for e in ids if e not in st.enis or
               st.enis[e][0]["state"] == "terminated"]
    if missing:
        raise ApiError("InvalidNetworkInterfaceID.NotFound",
                       "The networkInterface ID '%s' does not exist"
                       % missing[0])
    records = [st.enis[e] for e in dict.fromkeys(ids)] if ids else \
        list(_eni_records(st))
    table = _eni_filters(st)
    preds = compile_filters(
        [f for f in p.get("Filters") or [] if not f.get("Name", "")
         .startswith("tag:")], table)
    # ENIs carry no tags in the fake; a tag filter matches none.
    has_tag_filter = any(f.get("Name", "").startswith("tag:")
                         for f in p.get("Filters") or [])
    matched = [] if has_tag_filter else [r for r in records if preds(r)]
    page, nxt = paginate(matched, p, "DescribeNetworkInterfaces")
    out = []
    for inst, eni in page:
        rendered = _instance_enis(st, {**inst, "network_interfaces": [eni]})[0]
        addr = st.address_on(eni["id"], eni["private_ips"][0])
        nassoc = None
        if addr:
            nassoc = {"PublicIp": addr["public_ip"], "PublicDnsName": "",
                      "IpOwnerId": st.config["account_id"],
                      "AllocationId": addr["allocation_id"],
                      "AssociationId": addr["association_id"]}
        ips = []
        for n, ip in enumerate(eni["private_ips"]):
            a = st.address_on(eni["id"], ip)
            ips.append({
                "PrivateIpAddress": ip, "Primary": n == 0,
                "PrivateDnsName": _dns(ip, st.config["region"]),
                "Association": None if a is None else {
                    "PublicIp": a["public_ip"], "PublicDnsName": "",
                    "IpOwnerId": st.config["account_id"],
                    "AllocationId": a["allocation_id"],
                    "AssociationId": a["association_id"]}})
        att = dict(rendered["Attachment"])
        att["InstanceId"] = inst["id"]
        att["InstanceOwnerId"] = st.config["account_id"]
        out.append({
            "NetworkInterfaceId": eni["id"],
            "AvailabilityZone": inst["availability_zone"],
            "Description": eni["description"],
            "Groups": [SECURITY_GROUP],
            "InterfaceType": "interface",
            "MacAddress": eni["mac_address"],
            "OwnerId": st.config["account_id"],
            "PrivateDnsName": rendered["PrivateDnsName"],
            "PrivateIpAddress": eni["private_ips"][0],
            "PrivateIpAddresses": ips,
            "RequesterManaged": False,
            "SourceDestCheck": True,
            "Status": "in-use",
            "SubnetId": eni["subnet_id"],
            "VpcId": inst["vpc_id"],
            "TagSet": [],
            "Attachment": att,
            "Association": nassoc,
        })
    return {"NetworkInterfaces": out, "NextToken": nxt}


# -- VPCs ------------------------------------------------------------------------

DEFAULT_VPC_CIDR = "172.31.0.0/16"   # every default VPC's, per the VPC guide
OTHER_VPC_CIDR = "10.0.0.0/16"


def render_vpc(st, vpc_id):
    default = st.vpc_is_default(vpc_id)
    cidr = DEFAULT_VPC_CIDR if default else OTHER_VPC_CIDR
    return {
        "VpcId": vpc_id,
        "OwnerId": st.config["account_id"],
        "State": "available",
        "CidrBlock": cidr,
        "CidrBlockAssociationSet": [{
            "CidrBlock": cidr,
            "AssociationId": "vpc-cidr-assoc-" + vpc_id[4:],
            "CidrBlockState": {"State": "associated"}}],
        "DhcpOptionsId": "dopt-0fa0e0000000000d1",
        "InstanceTenancy": "default",
        "IsDefault": default,
        "Tags": [],
    }


def _vpc_filters(st):
    def cidr(v):
        return [DEFAULT_VPC_CIDR if st.vpc_is_default(v) else OTHER_VPC_CIDR]
    return {
        "vpc-id": lambda v: [v],
        "is-default": lambda v: ["true" if st.vpc_is_default(v)
                                 else "false"],
        "state": lambda v: ["available"],
        "owner-id": lambda v: [st.config["account_id"]],
        "cidr": cidr,
        "cidr-block-association.cidr-block": cidr,
        "cidr-block-association.state": lambda v: ["associated"],
        "dhcp-options-id": lambda v: ["dopt-0fa0e0000000000d1"],
        "tag-key": lambda v: [],
        "tag-value": lambda v: [],
    }


def describe_vpcs(ctx, p):
    """VpcId.N names VPCs that must exist (InvalidVpcID.NotFound), the
    vpc-id filter only narrows; MaxResults 5..1000 / NextToken."""
    st = ctx.state
    known = st.vpcs()
    ids = p.get("VpcIds") or []
    for vid in ids:
        if not re.fullmatch(r"vpc-([0-9a-f]{8}|[0-9a-f]{17})", vid):
            raise ApiError("InvalidVpcID.Malformed",
                           'Invalid id: "%s" (expecting "vpc-...")' % vid)
    missing = [v for v in ids if v not in known]
    if missing:
        raise ApiError("InvalidVpcID.NotFound",
                       "The vpc ID '%s' does not exist" % missing[0])
    candidates = sorted(set(ids)) if ids else known
    filters = p.get("Filters") or []
    preds = compile_filters([f for f in filters if not f.get("Name", "")
                             .startswith("tag:")], _vpc_filters(st))
    # The fake's VPCs carry no tags; a tag filter matches none.
    if any(f.get("Name", "").startswith("tag:") for f in filters):
        candidates = []
    page, nxt = paginate([v for v in candidates if preds(v)], p,
                         "DescribeVpcs")
    return {"Vpcs": [render_vpc(st, v) for v in page], "NextToken": nxt}


def render_address(st, addr):
    inst = st.address_instance(addr)
    return {
        "AllocationId": addr["allocation_id"],
        "PublicIp": addr["public_ip"],
        "Domain": addr["domain"],
        "AssociationId": addr.get("association_id"),
        "InstanceId": inst["id"] if inst else None,
        "NetworkInterfaceId": addr.get("network_interface_id"),
        "NetworkInterfaceOwnerId": st.config["account_id"]
        if addr.get("network_interface_id") else None,
        "PrivateIpAddress": addr.get("private_ip"),
        "Tags": tags_to_list(addr["tags"]) if addr["tags"] else None,
        "PublicIpv4Pool": addr["public_ipv4_pool"],
        "NetworkBorderGroup": addr["network_border_group"],
    }


def _address_filters(st):
    def inst_id(a):
        inst = st.address_instance(a)
        return [inst["id"]] if inst else []
    return _tag_filters({
        "allocation-id": lambda a: [a["allocation_id"]],
        "association-id": lambda a: [a["association_id"]]
        if a.get("association_id") else [],
        "domain": lambda a: [a["domain"]],
        "instance-id": inst_id,
        "network-border-group": lambda a: [a["network_border_group"]],
        "network-interface-id": lambda a: [a["network_interface_id"]]
        if a.get("network_interface_id") else [],
        "network-interface-owner-id": lambda a: [st.config["account_id"]]
        if a.get("network_interface_id") else [],
        "private-ip-address": lambda a: [a["private_ip"]]
        if a.get("private_ip") else [],
        "public-ip": lambda a: [a["public_ip"]],
        "public-ipv4-pool": lambda a: [a["public_ipv4_pool"]],
    })


def describe_addresses(ctx, p):
    st = ctx.state
    result = list(st.addresses.values())
    if p.get("AllocationIds"):
        result = [st.find_address(allocation_id=a)
                  for a in dict.fromkeys(p["AllocationIds"])]
    if p.get("PublicIps"):
        wanted = [st.find_address(public_ip=ip)
                  for ip in dict.fromkeys(p["PublicIps"])]
        ids = {a["allocation_id"] for a in wanted}
        result = [a for a in result if a["allocation_id"] in ids]
    match = compile_filters(p.get("Filters"), _address_filters(st))
    # DescribeAddresses has no pagination (no MaxResults/NextToken in M-ec2).
    return {"Addresses": [render_address(st, a) for a in result if match(a)]}


def allocate_address(ctx, p):
    st = ctx.state
    domain = p.get("Domain", "vpc")
    if domain != "vpc":
        raise ApiError("InvalidParameterValue",
                       "Invalid value '%s' for domain. EC2-Classic has been "
                       "retired; only 'vpc' addresses can be allocated."
                       % domain)
    tags = {}
    for spec in p.get("TagSpecifications") or []:
        rtype = spec.get("ResourceType")
        if rtype != "elastic-ip":
            raise ApiError("InvalidParameterValue",
                           "'%s' is not a valid taggable resource type for "
                           "this operation." % rtype)
        for t in spec.get("Tags") or []:
            key = t.get("Key", "")
            if key.startswith("aws:"):
                raise ApiError("InvalidParameterValue",
                               "Tag keys starting with 'aws:' are reserved "
                               "for internal use")
            tags[key] = t.get("Value", "")
    spec = {"tags": tags}
    if p.get("Address"):
        spec["public_ip"] = p["Address"]
    if p.get("NetworkBorderGroup"):
        spec["network_border_group"] = p["NetworkBorderGroup"]
    addr = st.create_address(spec)
    return {"PublicIp": addr["public_ip"],
            "AllocationId": addr["allocation_id"],
            "PublicIpv4Pool": addr["public_ipv4_pool"],
            "NetworkBorderGroup": addr["network_border_group"],
            "Domain": addr["domain"]}


def _check_prefixed(value, prefix, code):
    if not re.fullmatch(re.escape(prefix) + r"([0-9a-f]{8}|[0-9a-f]{17})",
                        value):
        raise ApiError(code, 'Invalid id: "%s" (expecting "%s...")'
                       % (value, prefix))


def associate_address(ctx, p):
    st = ctx.state
    if p.get("AllocationId"):
        _check_prefixed(p["AllocationId"], "eipalloc-",
                        "InvalidAllocationID.Malformed")
        addr = st.find_address(allocation_id=p["AllocationId"])
    elif p.get("PublicIp"):
        addr = st.find_address(public_ip=p["PublicIp"])
    else:
        raise ApiError("MissingParameter",
                       "Either public IP or allocation id must be specified")
    if p.get("InstanceId"):
        st.find_instance(p["InstanceId"])
    eni_id, private_ip = st.resolve_target(
        p.get("InstanceId"), p.get("NetworkInterfaceId"),
        p.get("PrivateIpAddress"))
    allow = p.get("AllowReassociation")
    if allow is None:
        allow = bool(st.config["allow_reassociation_default"])
    return {"AssociationId": st.associate(addr, eni_id, private_ip, allow)}


def disassociate_address(ctx, p):
    st = ctx.state
    assoc = p.get("AssociationId")
    if assoc:
        _check_prefixed(assoc, "eipassoc-", "InvalidAssociationID.Malformed")
        st.disassociate(assoc)
        return {}
    if p.get("PublicIp"):
        addr = st.find_address(public_ip=p["PublicIp"])
        if addr["domain"] == "vpc":
            raise ApiError("InvalidParameterValue",
                           "You must specify an association id when unmapping "
                           "an address from a VPC instance")
        return {}
    raise ApiError("MissingParameter",
                   "Either public IP or association id must be specified")


def release_address(ctx, p):
    st = ctx.state
    if p.get("AllocationId"):
        addr = st.find_address(allocation_id=p["AllocationId"])
    elif p.get("PublicIp"):
        addr = st.find_address(public_ip=p["PublicIp"])
    else:
        raise ApiError("MissingParameter",
                       "Either public IP or allocation id must be specified")
    if addr.get("association_id"):
        raise ApiError("InvalidIPAddress.InUse",
                       "Address %s is in use." % addr["public_ip"])
    st.release_address(addr)
    return {}


HANDLERS = {
    "DescribeInstances": describe_instances,
    "DescribeInstanceStatus": describe_instance_status,
    "DescribeNetworkInterfaces": describe_network_interfaces,
    "DescribeAddresses": describe_addresses,
    "DescribeVpcs": describe_vpcs,
    "AllocateAddress": allocate_address,
    "AssociateAddress": associate_address,
    "DisassociateAddress": disassociate_address,
    "ReleaseAddress": release_address,
}
