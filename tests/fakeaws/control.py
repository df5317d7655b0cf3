"""The JSON control API under /_fakeaws/ (not part of any AWS API).

Every endpoint takes and returns JSON; README.md lists them with examples.
Errors come back as {"error": "..."} with status 400 (bad request) or 404.
"""

import json
import urllib.parse

from model import ApiError


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def load_state(app, doc):
    """Load a whole state document, including its optional "keys"."""
    app.state.load(doc)
    if "keys" in doc:
        app.load_keys(doc["keys"])
    app.metadata.cached.clear()


def dump_state(app):
    doc = app.state.dump()
    doc["keys"] = [dict(k) for k in app.configured_keys]
    return doc


def _need(body, *names):
    for n in names:
        if n not in body:
            raise ControlError(400, "missing field %r" % n)


def _instance(st, iid):
    inst = st.instances.get(iid)
    if inst is None:
        raise ControlError(404, "no instance %s" % iid)
    return inst


def _classic(st, name):
    lb = st.classic.get(name)
    if lb is None:
        raise ControlError(404, "no classic load balancer %s" % name)
    return lb


def _tg(st, ref):
    try:
        return st.find_tg(ref)
    except ApiError:
        raise ControlError(404, "no target group %s" % ref)


def _targets(tg, items):
    out = []
    for t in items:
        if isinstance(t, str):
            t = {"id": t}
        d = {"Id": t["id"], "Port": t.get("port")}
        if t.get("availability_zone"):
            d["AvailabilityZone"] = t["availability_zone"]
        out.append(d)
    return out


def handle(app, method, path, query, raw_body):
    try:
        body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else {}
    except ValueError as e:
        return 400, {"error": "body is not JSON: %s" % e}
    qs = dict(urllib.parse.parse_qsl(query))
    try:
        with app.state.lock:
            return 200, _route(app, method, path.rstrip("/"), qs, body)
    except ControlError as e:
        return e.status, {"error": str(e)}
    except ApiError as e:
        return 400, {"error": e.message, "code": e.code}
    except (ValueError, KeyError, TypeError) as e:
        return 400, {"error": "%s: %s" % (type(e).__name__, e)}


def _route(app, method, path, qs, body):
    st = app.state
    p = path[len("/_fakeaws"):]
    key = (method, p)

    if key == ("GET", "/health"):
        return {"ok": True}
    if key == ("GET", "/state"):
        return dump_state(app)
    if key == ("PUT", "/state"):
        load_state(app, body)
        return {"ok": True, "instances": len(st.instances),
                "classic_load_balancers": len(st.classic),
                "target_groups": len(st.tgs),
                "addresses": len(st.addresses)}
    if key == ("POST", "/reset"):
        st.reset()
        app.load_keys(app.startup_keys)
        app.faults.set({})
        app.recorder.reset()
        app.metadata.cached.clear()
        return {"ok": True}
    if key == ("GET", "/config"):
        return st.config
    if method in ("PUT", "PATCH", "POST") and p == "/config":
        st.update_config(body)
        return st.config
    if method in ("PUT", "POST") and p == "/clock":
        _need(body, "offset_seconds")
        st.update_config({"clock_offset_seconds": float(body["offset_seconds"])})
        return {"offset_seconds": st.config["clock_offset_seconds"],
                "now": st.now()}

    # instances
    if key == ("POST", "/instances"):
        from ec2 import render_instance
        return render_instance(st, st.create_instance(body))
    if key == ("POST", "/instances/state"):
        _need(body, "id", "state")
        _instance(st, body["id"])
        st.set_instance_state(body["id"], body["state"])
        return {"id": body["id"], "state": body["state"]}

    if key == ("POST", "/instances/status"):
        # EC2 status checks: {"id", "system"?, "instance"?}; null = ok.
        from ec2 import CHECK_STATUSES, check_status
        _need(body, "id")
        inst = _instance(st, body["id"])
        checks = dict(inst.get("status_checks") or {})
        for which in ("system", "instance"):
            if which not in body:
                continue
            if body[which] is None:
                checks.pop(which, None)
            elif body[which] not in CHECK_STATUSES:
                raise ControlError(400, "bad %s status %r (one of %s)" % (
                    which, body[which], ", ".join(CHECK_STATUSES)))
            else:
                checks[which] = body[which]
        inst["status_checks"] = checks
        return {"id": inst["id"], "system": check_status(inst, "system"),
                "instance": check_status(inst, "instance")}

    # Classic ELB
    if key == ("POST", "/classic-load-balancers"):
        return st._dump_classic(st.create_classic(body))
    if key == ("POST", "/classic-load-balancers/register"):
        _need(body, "name", "instances")
        lb = _classic(st, body["name"])
        st.classic_register(lb, body["instances"])
        return {"instances": list(lb["instances"])}
    if key == ("POST", "/classic-load-balancers/deregister"):
        _need(body, "name", "instances")
        lb = _classic(st, body["name"])
        st.classic_deregister(lb, body["instances"])
        return {"instances": list(lb["instances"])}
    if key == ("POST", "/classic-load-balancers/health"):
        _need(body, "name", "instance_id")
        lb = _classic(st, body["name"])
        if body.get("state") is None:
            lb["health_overrides"].pop(body["instance_id"], None)
        else:
            ov = {"state": body["state"]}
            for f in ("reason_code", "description"):
                if f in body:
                    ov[f] = body[f]
            lb["health_overrides"][body["instance_id"]] = ov
        s, r, d = st.classic_health(lb, body["instance_id"])
        return {"state": s, "reason_code": r, "description": d}

    # ELBv2
    if key == ("POST", "/load-balancers-v2"):
        return st.create_v2_lb(body)
    if key == ("POST", "/target-groups"):
        return st._dump_tg(st.create_target_group(body))
    if key == ("POST", "/target-groups/register"):
        _need(body, "target_group", "targets")
        tg = _tg(st, body["target_group"])
        st.tg_register(tg, _targets(tg, body["targets"]))
        return st._dump_tg(tg)
    if key == ("POST", "/target-groups/deregister"):
        _need(body, "target_group", "targets")
        tg = _tg(st, body["target_group"])
        st.tg_deregister(tg, _targets(tg, body["targets"]))
        return st._dump_tg(tg)
    if key == ("POST", "/target-groups/health"):
        _need(body, "target_group", "id")
        tg = _tg(st, body["target_group"])
        tkey = (body["id"], body.get("port") or tg["port"])
        if tkey not in tg["targets"]:
            raise ControlError(404, "target %s:%s is not registered"
                               % tkey)
        if body.get("state") is None:
            tg["targets"][tkey]["override"] = None
        else:
            ov = {"state": body["state"]}
            for f in ("reason", "description"):
                if f in body:
                    ov[f] = body[f]
            tg["targets"][tkey]["override"] = ov
        s, r, d = st.target_health(tg, tkey)
        return {"state": s, "reason": r, "description": d}

    # addresses
    if key == ("POST", "/addresses"):
        from ec2 import render_address
        return render_address(st, st.create_address(body))
    if key == ("POST", "/addresses/associate"):
        addr = st.find_address(allocation_id=body.get("allocation_id"),
                               public_ip=body.get("public_ip"))
        eni, ip = st.resolve_target(body.get("instance_id"),
                                    body.get("network_interface_id"),
                                    body.get("private_ip"), check_state=False)
        st.associate(addr, eni, ip, allow_reassociation=True)
        from ec2 import render_address
        return render_address(st, addr)
    if key == ("POST", "/addresses/disassociate"):
        if body.get("association_id"):
            addr = st.disassociate(body["association_id"])
        else:
            addr = st.find_address(allocation_id=body.get("allocation_id"),
                                   public_ip=body.get("public_ip"))
            st._clear_association(addr)
        from ec2 import render_address
        return render_address(st, addr)

    # faults
    if key == ("GET", "/faults"):
        return app.faults.get()
    if method in ("PUT", "POST") and p == "/faults":
        app.faults.set(body)
        return app.faults.get()
    if key == ("DELETE", "/faults"):
        app.faults.set({})
        return app.faults.get()

    # counters and log
    if key == ("GET", "/counters"):
        return app.recorder.counters()
    if key == ("GET", "/log"):
        return {"entries": app.recorder.log(int(qs.get("since", 0)))}
    if method in ("POST", "DELETE") and p in ("/counters/reset", "/log/reset",
                                              "/counters", "/log"):
        app.recorder.reset()
        return {"ok": True}

    # keys (secrets are never returned)
    if key == ("GET", "/keys"):
        return {"keys": [_public_key(k) for k in app.keys.dump()]}
    if key == ("POST", "/keys"):
        entry = app.keys.add(body)
        app.configured_keys.append(dict(body))
        return _public_key(entry)
    if key == ("PUT", "/keys"):
        app.load_keys(body["keys"] if isinstance(body, dict) else body)
        return {"keys": [_public_key(k) for k in app.keys.dump()]}

    raise ControlError(404, "no control endpoint %s %s" % (method, path))


def _public_key(k):
    return {"access_key_id": k["access_key_id"],
            "account_id": k.get("account_id"), "arn": k.get("arn"),
            "temporary": bool(k.get("session_token")),
            "expiration": k.get("expiration") if isinstance(
                k.get("expiration"), str) else None,
            "source": k.get("source", "configured")}
