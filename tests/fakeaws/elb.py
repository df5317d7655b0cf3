"""Classic ELB (2012-06-01) and ELBv2 (2015-12-01) operations."""

import base64
import json

from model import ApiError


def paginate_marker(items, params, what):
    """Marker/PageSize paging (PageSize 1..400, default 400).

    NextMarker is left out of the last page, so paginators stop.
    """
    size = params.get("PageSize") or 400
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            doc = json.loads(base64.b64decode(marker.encode(), validate=True))
            start = int(doc[what])
            if start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ApiError("ValidationError", "Invalid Marker: '%s'" % marker)
    page = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.b64encode(json.dumps({what: start + size}).encode()
                               ).decode()
    return page, nxt


# -- Classic ELB --------------------------------------------------------------

def render_classic(st, lb):
    hc = lb["health_check"]
    return {
        "LoadBalancerName": lb["name"],
        "DNSName": lb["dns_name"],
        "CanonicalHostedZoneName": lb["dns_name"],
        "CanonicalHostedZoneNameID": "Z35SXDOTRQ7X7K",
        "ListenerDescriptions": [{
            "Listener": {"Protocol": ls["protocol"],
                         "LoadBalancerPort": ls["load_balancer_port"],
                         "InstanceProtocol": ls.get("instance_protocol",
                                                    ls["protocol"]),
                         "InstancePort": ls["instance_port"]},
            "PolicyNames": []} for ls in lb["listeners"]],
        "Policies": {"AppCookieStickinessPolicies": [],
                     "LBCookieStickinessPolicies": [], "OtherPolicies": []},
        "BackendServerDescriptions": [],
        "AvailabilityZones": list(lb["availability_zones"]),
        "Subnets": list(lb["subnets"]),
        "VPCId": lb["vpc_id"],
        "Instances": [{"InstanceId": i} for i in lb["instances"]],
        "HealthCheck": {"Target": hc["target"], "Interval": hc["interval"],
                        "Timeout": hc["timeout"],
                        "UnhealthyThreshold": hc["unhealthy_threshold"],
                        "HealthyThreshold": hc["healthy_threshold"]},
        "SourceSecurityGroup": {"OwnerAlias": st.config["account_id"],
                                "GroupName": "default_elb_%s" % lb["name"]},
        "SecurityGroups": ["sg-0fa0e0000000000d1"],
        "CreatedTime": lb["created_time"],
        "Scheme": lb["scheme"],
    }


def classic_describe_load_balancers(ctx, p):
    st = ctx.state
    names = p.get("LoadBalancerNames") or []
    if names:
        lbs = [st.find_classic(n) for n in dict.fromkeys(names)]
    else:
        lbs = list(st.classic.values())
    page, nxt = paginate_marker(lbs, p, "elb")
    return {"LoadBalancerDescriptions": [render_classic(st, lb)
                                         for lb in page],
            "NextMarker": nxt}


def _instance_ids(p):
    return [i.get("InstanceId") for i in p.get("Instances") or []]


def classic_describe_instance_health(ctx, p):
    st = ctx.state
    st._expire_draining()
    lb = st.find_classic(p["LoadBalancerName"])
    ids = _instance_ids(p)
    if ids:
        for iid in ids:
            inst = st.instances.get(iid)
            if inst is None:
                raise ApiError("InvalidInstance",
                               "Could not find EC2 instance %s." % iid)
        # Named terminated instances are not reported (M-elb doc).
        ids = [i for i in dict.fromkeys(ids)
               if st.instances[i]["state"] != "terminated"]
    else:
        ids = list(lb["instances"])
    states = []
    for iid in ids:
        state, reason, desc = st.classic_health(lb, iid)
        states.append({"InstanceId": iid, "State": state,
                       "ReasonCode": reason, "Description": desc})
    return {"InstanceStates": states}


def classic_register(ctx, p):
    st = ctx.state
    lb = st.find_classic(p["LoadBalancerName"])
    st.classic_register(lb, _instance_ids(p))
    return {"Instances": [{"InstanceId": i} for i in lb["instances"]]}


def classic_deregister(ctx, p):
    st = ctx.state
    lb = st.find_classic(p["LoadBalancerName"])
    st.classic_deregister(lb, _instance_ids(p))
    return {"Instances": [{"InstanceId": i} for i in lb["instances"]]}


def classic_enable_zones(ctx, p):
    """EnableAvailabilityZonesForLoadBalancer: adds the zones (enabling an
    enabled one changes nothing) and answers the updated list.  The API
    reference documents LoadBalancerNotFound as its only own error, and
    that the action serves EC2-Classic and the default VPC only."""
    st = ctx.state
    lb = st.find_classic(p["LoadBalancerName"])
    if not st.vpc_is_default(lb["vpc_id"]):
        # The reference: "For load balancers in a non-default VPC, use
        # AttachLoadBalancerToSubnets."  It names no error code for the
        # refusal; this is the code ELB gives invalid configuration changes.
        raise ApiError("InvalidConfigurationRequest",
                       "Availability Zones can be enabled only for a load "
                       "balancer in EC2-Classic or a default VPC; %s is in "
                       "%s: use AttachLoadBalancerToSubnets"
                       % (lb["name"], lb["vpc_id"]), status=409)
    with st.lock:
        for z in p["AvailabilityZones"]:
            if z not in lb["availability_zones"]:
                lb["availability_zones"].append(z)
        return {"AvailabilityZones": list(lb["availability_zones"])}


def classic_describe_attributes(ctx, p):
    lb = ctx.state.find_classic(p["LoadBalancerName"])
    cd = lb["connection_draining"]
    return {"LoadBalancerAttributes": {
        "CrossZoneLoadBalancing": {"Enabled": lb["cross_zone"]},
        "AccessLog": {"Enabled": False},
        "ConnectionDraining": {"Enabled": cd["enabled"],
                               "Timeout": cd["timeout"]},
        "ConnectionSettings": {"IdleTimeout": 60},
        "AdditionalAttributes": [
            {"Key": "elb.http.desyncmitigationmode", "Value": "defensive"}],
    }}


CLASSIC_HANDLERS = {
    "DescribeLoadBalancers": classic_describe_load_balancers,
    "DescribeInstanceHealth": classic_describe_instance_health,
    "RegisterInstancesWithLoadBalancer": classic_register,
    "DeregisterInstancesFromLoadBalancer": classic_deregister,
    "DescribeLoadBalancerAttributes": classic_describe_attributes,
    "EnableAvailabilityZonesForLoadBalancer": classic_enable_zones,
}


# -- ELBv2 ----------------------------------------------------------------------

def render_tg(tg):
    hc = tg["health_check"]
    d = {
        "TargetGroupArn": tg["arn"],
        "TargetGroupName": tg["name"],
        "Protocol": tg["protocol"],
        "Port": tg["port"],
        "VpcId": tg["vpc_id"],
        "HealthCheckProtocol": hc.get("protocol", "HTTP"),
        "HealthCheckPort": str(hc.get("port", "traffic-port")),
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": hc.get("interval", 30),
        "HealthCheckTimeoutSeconds": hc.get("timeout", 5),
        "HealthyThresholdCount": hc.get("healthy_threshold", 5),
        "UnhealthyThresholdCount": hc.get("unhealthy_threshold", 2),
        "LoadBalancerArns": list(tg["load_balancer_arns"]),
        "TargetType": tg["target_type"],
        "IpAddressType": "ipv4",
    }
    if tg["protocol"] in ("HTTP", "HTTPS"):
        d["HealthCheckPath"] = hc.get("path", "/")
        d["Matcher"] = {"HttpCode": str(hc.get("matcher", "200"))}
        d["ProtocolVersion"] = "HTTP1"
    return d


def _one_of(p, names):
    given = [n for n in names if p.get(n)]
    if len(given) > 1:
        raise ApiError("ValidationError",
                       "%s and %s cannot be specified at the same time"
                       % (given[0], given[1]))


def describe_target_groups(ctx, p):
    st = ctx.state
    _one_of(p, ["LoadBalancerArn", "TargetGroupArns", "Names"])
    if p.get("Names"):
        missing = [n for n in p["Names"] if n not in st.tg_names]
        if missing:
            raise ApiError("TargetGroupNotFound",
                           "One or more target groups not found")
        tgs = [st.tgs[st.tg_names[n]] for n in dict.fromkeys(p["Names"])]
    elif p.get("TargetGroupArns"):
        missing = [a for a in p["TargetGroupArns"] if a not in st.tgs]
        if missing:
            raise ApiError("TargetGroupNotFound",
                           "One or more target groups not found")
        tgs = [st.tgs[a] for a in dict.fromkeys(p["TargetGroupArns"])]
    elif p.get("LoadBalancerArn"):
        if p["LoadBalancerArn"] not in st.v2_lbs:
            raise ApiError("LoadBalancerNotFound",
                           "One or more load balancers not found")
        tgs = [tg for tg in st.tgs.values()
               if p["LoadBalancerArn"] in tg["load_balancer_arns"]]
    else:
        tgs = list(st.tgs.values())
    page, nxt = paginate_marker(tgs, p, "tg")
    return {"TargetGroups": [render_tg(tg) for tg in page], "NextMarker": nxt}


def _health_entry(st, tg, key, az):
    state, reason, desc = st.target_health(tg, key)
    hc_port = tg["health_check"].get("port", "traffic-port")
    target = {"Id": key[0], "Port": key[1]}
    if az:
        target["AvailabilityZone"] = az
    return {
        "Target": target,
        "HealthCheckPort": str(key[1] if hc_port == "traffic-port"
                               else hc_port),
        "TargetHealth": {"State": state, "Reason": reason,
                         "Description": desc},
    }


def describe_target_health(ctx, p):
    st = ctx.state
    st._expire_draining()
    tg = st.find_tg(p["TargetGroupArn"])
    out = []
    if p.get("Targets"):
        for t in p["Targets"]:
            tid = t["Id"]
            if tg["target_type"] == "instance" and tid not in st.instances:
                raise ApiError("InvalidTarget",
                               "The following targets are not valid instances:"
                               " '%s'" % tid)
            if t.get("Port"):
                keys = [(tid, t["Port"])]
            else:
                keys = [k for k in list(tg["targets"]) + list(tg["draining"])
                        if k[0] == tid] or [(tid, tg["port"])]
            for key in keys:
                info = tg["targets"].get(key) or tg["draining"].get(key) or {}
                out.append(_health_entry(st, tg, key,
                                         info.get("availability_zone")))
        return {"TargetHealthDescriptions": out}
    for key, info in list(tg["targets"].items()) + \
            list(tg["draining"].items()):
        out.append(_health_entry(st, tg, key, info.get("availability_zone")))
    return {"TargetHealthDescriptions": out}


def describe_target_group_attributes(ctx, p):
    tg = ctx.state.find_tg(p["TargetGroupArn"])
    delay = tg["deregistration_delay"]
    delay_text = str(int(delay)) if float(delay) == int(delay) else \
        str(int(delay) + 1)
    attrs = [
        ("deregistration_delay.timeout_seconds", delay_text),
        ("stickiness.enabled", "false"),
        ("stickiness.type", "lb_cookie"),
        ("load_balancing.algorithm.type", "round_robin"),
        ("slow_start.duration_seconds", "0"),
        ("deregistration_delay.connection_termination.enabled", "false"),
    ]
    return {"Attributes": [{"Key": k, "Value": v} for k, v in attrs]}


def register_targets(ctx, p):
    st = ctx.state
    tg = st.find_tg(p["TargetGroupArn"])
    st.tg_register(tg, p["Targets"])
    return {}


def deregister_targets(ctx, p):
    st = ctx.state
    tg = st.find_tg(p["TargetGroupArn"])
    st.tg_deregister(tg, p["Targets"])
    return {}


def render_v2_lb(lb):
    return {
        "LoadBalancerArn": lb["arn"],
        "DNSName": lb["dns_name"],
        "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
        "CreatedTime": lb["created_time"],
        "LoadBalancerName": lb["name"],
        "Scheme": lb["scheme"],
        "VpcId": lb["vpc_id"],
        "State": {"Code": "active"},
        "Type": lb["type"],
        "AvailabilityZones": [{"ZoneName": z} for z in
                              lb["availability_zones"]],
        "SecurityGroups": [],
        "IpAddressType": "ipv4",
    }


def v2_describe_load_balancers(ctx, p):
    st = ctx.state
    _one_of(p, ["LoadBalancerArns", "Names"])
    if p.get("LoadBalancerArns"):
        if any(a not in st.v2_lbs for a in p["LoadBalancerArns"]):
            raise ApiError("LoadBalancerNotFound",
                           "One or more load balancers not found")
        lbs = [st.v2_lbs[a] for a in dict.fromkeys(p["LoadBalancerArns"])]
    elif p.get("Names"):
        by_name = {lb["name"]: lb for lb in st.v2_lbs.values()}
        if any(n not in by_name for n in p["Names"]):
            raise ApiError("LoadBalancerNotFound",
                           "One or more load balancers not found")
        lbs = [by_name[n] for n in dict.fromkeys(p["Names"])]
    else:
        lbs = list(st.v2_lbs.values())
    page, nxt = paginate_marker(lbs, p, "lb")
    return {"LoadBalancers": [render_v2_lb(lb) for lb in page],
            "NextMarker": nxt}


V2_HANDLERS = {
    "DescribeTargetGroups": describe_target_groups,
    "DescribeTargetHealth": describe_target_health,
    "DescribeTargetGroupAttributes": describe_target_group_attributes,
    "RegisterTargets": register_targets,
    "DeregisterTargets": deregister_targets,
    "DescribeLoadBalancers": v2_describe_load_balancers,
}
