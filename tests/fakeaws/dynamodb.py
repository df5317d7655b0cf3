"""DynamoDB (2012-08-10) over the AWS JSON 1.0 protocol: the subset moor's
leases use (README.md, "DynamoDB").

Wire facts (AWS-PROTOCOL.md section 8; botocore's dynamodb model): POST /,
X-Amz-Target DynamoDB_20120810.<Operation>, Content-Type
application/x-amz-json-1.0, SigV4 service "dynamodb"; errors are HTTP 400
(5xx for server faults) with {"__type": "<namespace>#<Code>", "message"}.
Service errors use com.amazonaws.dynamodb.v20120810, authentication and
protocol errors com.amazon.coral.service (as AWS answers them).

Every table has its own lock: a conditional write reads, checks and writes
under it, so two writers never both pass one condition.
"""

import copy
import json
import threading
import time
import uuid
import zlib

import auth
import ddb_expr
import model
from ddb_expr import ExprError
from model import ApiError

TARGET_PREFIX = "DynamoDB_20120810"
SERVICE_NS = "com.amazonaws.dynamodb.v20120810#"
CORAL_NS = "com.amazon.coral.service#"
CONTENT_TYPE = "application/x-amz-json-1.0"
NOT_FOUND = "Requested resource not found"
SCALAR_TYPES = ("S", "N", "B", "BOOL", "NULL")
VALUE_TYPES = SCALAR_TYPES + ("M", "L", "SS", "NS", "BS")
# Legacy (pre-expression) parameters: not served, so that moor cannot
# come to depend on them by accident.
LEGACY = ("Expected", "AttributeUpdates", "ConditionalOperator",
          "ScanFilter", "AttributesToGet", "Segment", "TotalSegments",
          "IndexName")


class DdbError(Exception):
    def __init__(self, code, message, status=400, ns=SERVICE_NS, extra=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.ns = ns
        self.extra = extra or {}


def validation(message):
    return DdbError("ValidationException", message)


def not_found(message=NOT_FOUND):
    return DdbError("ResourceNotFoundException", message)


# Query-dialect authentication errors (auth.py) as a JSON service names
# them; DynamoDB answers every one with HTTP 400.
AUTH_CODES = {
    "IncompleteSignature": "IncompleteSignatureException",
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "ExpiredToken": "ExpiredTokenException",
}


# -- request validation against the botocore model ----------------------------

def _coral(name):
    return name[:1].lower() + name[1:]


def _check_shape(shapes, shape_name, value, path, errors):
    shape = shapes[shape_name]
    kind = shape["type"]
    if shape_name == "AttributeValue":
        return      # checked by check_value, with AWS's own wording
    expected = {"structure": dict, "map": dict, "list": list, "string": str,
                "boolean": bool, "integer": int, "long": int,
                "blob": str, "timestamp": (int, float)}.get(kind)
    if expected and (not isinstance(value, expected) or (
            kind in ("integer", "long") and isinstance(value, bool))):
        raise DdbError("SerializationException",
                       "Unexpected value type in payload at '%s'" % path,
                       ns=CORAL_NS)
    if kind == "structure":
        for req in shape.get("required", []):
            if value.get(req) is None:
                errors.append("Value null at '%s' failed to satisfy "
                              "constraint: Member must not be null"
                              % ((path + "." if path else "") + _coral(req)))
        for k, v in value.items():
            if k not in shape["members"]:
                raise validation("fakeaws: unknown parameter %s%s" % (
                    path + "." if path else "", k))
            _check_shape(shapes, shape["members"][k]["shape"], v,
                         (path + "." if path else "") + _coral(k), errors)
    elif kind == "list":
        for i, v in enumerate(value):
            _check_shape(shapes, shape["member"]["shape"], v,
                         "%s.%d.member" % (path, i + 1), errors)
    elif kind == "map":
        for k, v in value.items():
            _check_shape(shapes, shape["value"]["shape"], v,
                         "%s.%s.member" % (path, k), errors)
    elif kind == "string":
        if "enum" in shape and value not in shape["enum"]:
            errors.append("Value '%s' at '%s' failed to satisfy constraint: "
                          "Member must satisfy enum value set: [%s]"
                          % (value, path, ", ".join(shape["enum"])))
        _check_range(shape, len(value), value, path, errors, "length")
        pattern = model._python_pattern(shape.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            errors.append("Value '%s' at '%s' failed to satisfy constraint: "
                          "Member must satisfy regular expression pattern: "
                          "%s" % (value, path, shape["pattern"]))
    elif kind in ("integer", "long"):
        _check_range(shape, value, value, path, errors, "value")


def _check_range(shape, n, value, path, errors, what):
    if "min" in shape and n < shape["min"]:
        errors.append("Value '%s' at '%s' failed to satisfy constraint: "
                      "Member must have %s greater than or equal to %d"
                      % (value, path, what, shape["min"]))
    if "max" in shape and n > shape["max"]:
        errors.append("Value '%s' at '%s' failed to satisfy constraint: "
                      "Member must have %s less than or equal to %d"
                      % (value, path, what, shape["max"]))


# Members newer than Debian's botocore model (1.29), checked here.
NEWER_MEMBERS = {
    "ReturnValuesOnConditionCheckFailure": (
        ("PutItem", "UpdateItem", "DeleteItem"), ("ALL_OLD", "NONE")),
}


def validate_request(op_name, body):
    m = model.load("dynamodb")
    op = m.operation(op_name)
    errors = []
    shape = m.shapes[op.input_shape]
    rest = dict(body)
    for name, (ops, enum) in NEWER_MEMBERS.items():
        if name in body and op_name in ops and name not in shape["members"]:
            value = rest.pop(name)
            if value not in enum:
                errors.append("Value '%s' at '%s' failed to satisfy "
                              "constraint: Member must satisfy enum value "
                              "set: [%s]" % (value, _coral(name),
                                             ", ".join(enum)))
    _check_shape(m.shapes, op.input_shape, rest, "", errors)
    if errors:
        raise validation("%d validation error%s detected: %s" % (
            len(errors), "" if len(errors) == 1 else "s", "; ".join(errors)))
    for k in LEGACY:
        if k in body:
            raise validation("fakeaws: the legacy parameter %s is not "
                             "served; use expressions" % k)


# -- attribute values -----------------------------------------------------------

def check_value(av):
    """Validate one AttributeValue; return it with numbers canonical."""
    if not isinstance(av, dict) or not av:
        raise validation("Supplied AttributeValue is empty, must contain "
                         "exactly one of the supported datatypes")
    if len(av) > 1:
        raise validation("Supplied AttributeValue has more than one "
                         "datatypes set, must contain exactly one of the "
                         "supported datatypes")
    kind, v = next(iter(av.items()))
    if kind not in VALUE_TYPES:
        raise validation("Supplied AttributeValue is empty, must contain "
                         "exactly one of the supported datatypes")
    try:
        return {kind: _check_typed(kind, v)}
    except ExprError as e:
        raise validation(str(e))


def _check_typed(kind, v):
    bad = DdbError("SerializationException",
                   "Unexpected value type in payload", ns=CORAL_NS)
    if kind in ("S", "B", "N") and not isinstance(v, str):
        raise bad
    if kind == "N":
        return ddb_expr.number_text(ddb_expr.number(v))
    if kind == "BOOL" and not isinstance(v, bool):
        raise bad
    if kind == "NULL" and v is not True:
        raise validation("One or more parameter values were invalid: Null "
                         "attribute value types must have the value of true")
    if kind == "M":
        if not isinstance(v, dict):
            raise bad
        return {k: check_value(x) for k, x in v.items()}
    if kind == "L":
        if not isinstance(v, list):
            raise bad
        return [check_value(x) for x in v]
    if kind in ("SS", "NS", "BS"):
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise bad
        if not v:
            raise validation("One or more parameter values were invalid: An "
                             "%s set  may not be empty" % {
                                 "SS": "string", "NS": "number",
                                 "BS": "binary"}[kind])
        if kind == "NS":
            v = [ddb_expr.number_text(ddb_expr.number(x)) for x in v]
        if len(set(v)) != len(v):
            raise validation("One or more parameter values were invalid: "
                             "Input collection %s contains duplicates."
                             % "[" + ", ".join(v) + "]")
        return list(v)
    return v


def check_item(item):
    if not isinstance(item, dict):
        raise DdbError("SerializationException",
                       "Unexpected value type in payload", ns=CORAL_NS)
    return {k: check_value(v) for k, v in item.items()}


# -- tables ------------------------------------------------------------------------

class Table:
    def __init__(self, name, key_schema, attribute_definitions, billing_mode,
                 throughput, created, active_at, region, account):
        self.name = name
        self.key_schema = key_schema
        self.attribute_definitions = attribute_definitions
        self.billing_mode = billing_mode
        self.throughput = throughput
        self.created = created
        self.active_at = active_at
        self.arn = "arn:aws:dynamodb:%s:%s:table/%s" % (region, account, name)
        self.table_id = str(uuid.uuid4())
        self.items = {}
        self.lock = threading.Lock()
        self.key_names = [k["AttributeName"] for k in key_schema]
        self.key_types = {d["AttributeName"]: d["AttributeType"]
                          for d in attribute_definitions}

    def status(self, now):
        return "ACTIVE" if now >= self.active_at else "CREATING"

    def describe(self, now, status=None):
        d = {"AttributeDefinitions": copy.deepcopy(self.attribute_definitions),
             "TableName": self.name,
             "KeySchema": copy.deepcopy(self.key_schema),
             "TableStatus": status or self.status(now),
             "CreationDateTime": self.created,
             "ProvisionedThroughput": {
                 "NumberOfDecreasesToday": 0,
                 "ReadCapacityUnits": self.throughput.get(
                     "ReadCapacityUnits", 0),
                 "WriteCapacityUnits": self.throughput.get(
                     "WriteCapacityUnits", 0)},
             "TableSizeBytes": len(json.dumps(list(self.items.values()))),
             "ItemCount": len(self.items),
             "TableArn": self.arn,
             "TableId": self.table_id}
        if self.billing_mode == "PAY_PER_REQUEST":
            d["BillingModeSummary"] = {
                "BillingMode": "PAY_PER_REQUEST",
                "LastUpdateToPayPerRequestDateTime": self.created}
        return d

    def key_of(self, key, what="key"):
        """The item key as a sortable tuple; key: {name: AttributeValue}."""
        if what == "key" and set(key) != set(self.key_names):
            raise validation("The provided key element does not match the "
                             "schema")
        out = []
        for name in self.key_names:
            av = key.get(name)
            if av is None:
                raise validation("One or more parameter values were invalid: "
                                 "Missing the key %s in the item" % name)
            want = self.key_types[name]
            have = next(iter(av))
            if have != want:
                if what == "key":
                    raise validation("The provided key element does not "
                                     "match the schema")
                raise validation("One or more parameter values were invalid: "
                                 "Type mismatch for key %s expected: %s "
                                 "actual: %s" % (name, want, have))
            if av[have] == "":
                raise validation("One or more parameter values are not "
                                 "valid. The AttributeValue for a key "
                                 "attribute cannot contain an empty string "
                                 "value. Key: %s" % name)
            out.append(ddb_expr.number(av["N"]) if want == "N"
                       else av[want])
        return tuple(out)

    def key_item(self, item):
        return {k: item[k] for k in self.key_names}

    def dump(self):
        with self.lock:
            items = [copy.deepcopy(i) for _, i in sorted(self.items.items())]
        return {"name": self.name, "key_schema": self.key_schema,
                "attribute_definitions": self.attribute_definitions,
                "billing_mode": self.billing_mode, "items": items}


def _table(ctx, name, describe=False):
    with ctx.state.lock:
        t = ctx.state.ddb_tables.get(name)
    if t is None:
        raise not_found("%s: Table: %s not found" % (NOT_FOUND, name)
                        if describe else NOT_FOUND)
    if not describe and t.status(ctx.state.now()) != "ACTIVE":
        raise not_found()
    return t


def create_table(st, p, now):
    """Shared by CreateTable and the state file."""
    name = p["TableName"]
    ks = p["KeySchema"]
    defs = p["AttributeDefinitions"]
    types = [k.get("KeyType") for k in ks]
    if types not in (["HASH"], ["HASH", "RANGE"]):
        raise validation("1 validation error detected: Invalid KeySchema: "
                         "The first KeySchemaElement is not a HASH key type"
                         if types[:1] != ["HASH"] else
                         "Too many hash keys or range keys")
    key_names = [k["AttributeName"] for k in ks]
    def_names = [d["AttributeName"] for d in defs]
    missing = [k for k in key_names if k not in def_names]
    if missing:
        raise validation(
            "One or more parameter values were invalid: Some index key "
            "attributes are not defined in AttributeDefinitions. Keys: [%s], "
            "AttributeDefinitions: [%s]"
            % (", ".join(key_names), ", ".join(def_names)))
    if len(def_names) != len(key_names):
        raise validation(
            "One or more parameter values were invalid: Number of attributes "
            "in KeySchema does not exactly match number of attributes "
            "defined in AttributeDefinitions")
    mode = p.get("BillingMode") or "PROVISIONED"
    tp = p.get("ProvisionedThroughput")
    if mode == "PAY_PER_REQUEST" and tp:
        raise validation(
            "One or more parameter values were invalid: Neither "
            "ReadCapacityUnits nor WriteCapacityUnits can be specified when "
            "BillingMode is PAY_PER_REQUEST")
    if mode == "PROVISIONED" and not tp:
        raise validation(
            "One or more parameter values were invalid: ReadCapacityUnits "
            "and WriteCapacityUnits must both be specified when BillingMode "
            "is PROVISIONED")
    with st.lock:
        if name in st.ddb_tables:
            raise DdbError("ResourceInUseException",
                           "Table already exists: %s" % name)
        delay = float(st.config.get("dynamodb_table_create_seconds") or 0)
        t = Table(name, copy.deepcopy(ks), copy.deepcopy(defs), mode,
                  dict(tp or {}), now, now + delay, st.config["region"],
                  st.config["account_id"])
        st.ddb_tables[name] = t
        return t


def load_tables(st, docs):
    """"dynamodb_tables" of a state file: {name, key_schema,
    attribute_definitions, billing_mode?, items?}; active at once."""
    try:
        _load_tables(st, docs)
    except DdbError as e:
        raise ValueError("dynamodb_tables: %s" % e.message)


def _load_tables(st, docs):
    for d in docs:
        t = create_table(st, {
            "TableName": d["name"], "KeySchema": d["key_schema"],
            "AttributeDefinitions": d["attribute_definitions"],
            "BillingMode": d.get("billing_mode", "PAY_PER_REQUEST")},
            st.now())
        t.active_at = t.created
        for item in d.get("items") or []:
            item = check_item(item)
            t.items[t.key_of(t.key_item(item), "item")] = item


# -- expressions of one request ----------------------------------------------

class Expressions:
    """Parses a request's expressions, then checks names/values use."""

    def __init__(self, p):
        self.names = p.get("ExpressionAttributeNames")
        values = p.get("ExpressionAttributeValues")
        if self.names is not None and not self.names:
            raise validation("ExpressionAttributeNames must not be empty")
        if values is not None and not values:
            raise validation("ExpressionAttributeValues must not be empty")
        for what, given, mark in (("Names", self.names, "#"),
                                  ("Values", values, ":")):
            for k in given or {}:
                if not k.startswith(mark) or not k[1:] or not all(
                        c.isalnum() or c == "_" for c in k[1:]):
                    raise validation('ExpressionAttribute%s contains invalid '
                                     'key: Syntax error; key: "%s"'
                                     % (what, k))
        self.values = None if values is None else {
            k: check_value(v) for k, v in values.items()}
        self.used_names = set()
        self.used_values = set()
        self.seen = False

    def parse(self, p, param, label, kind):
        src = p.get(param)
        if src is None:
            return None
        self.seen = True
        if not src.strip():
            raise validation("Invalid %s: The expression can not be empty;"
                             % label)
        parser = ddb_expr.Parser(src, label, self.names, self.values,
                                 self.used_names, self.used_values)
        try:
            return parser.condition() if kind == "condition" else \
                parser.update()
        except ExprError as e:
            raise validation(str(e))

    def projection(self, p):
        src = p.get("ProjectionExpression")
        if src is None:
            return None
        self.seen = True
        parser = ddb_expr.Parser(src, "ProjectionExpression", self.names,
                                 self.values, self.used_names,
                                 self.used_values)
        try:
            paths = [parser.path()]
            while parser.is_punct(","):
                parser.take()
                paths.append(parser.path())
            parser.done(None)
        except ExprError as e:
            raise validation(str(e))
        if any(len(pth[1]) > 1 for pth in paths):
            raise validation("fakeaws: nested ProjectionExpression paths "
                             "are not served")
        return [pth[1][0] for pth in paths]

    def finish(self):
        for what, given, used in (("Names", self.names, self.used_names),
                                  ("Values", self.values, self.used_values)):
            if given is None:
                continue
            if not self.seen:
                raise validation("ExpressionAttribute%s can only be "
                                 "specified when using expressions" % what)
            unused = sorted(set(given) - used)
            if unused:
                raise validation("Value provided in ExpressionAttribute%s "
                                 "unused in expressions: keys: {%s}"
                                 % (what, ", ".join(unused)))


def _check_condition(item, cond, p):
    if cond is not None and not ddb_expr.evaluate(item or {}, cond):
        extra = {}
        if p.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and item:
            extra["Item"] = copy.deepcopy(item)
        raise DdbError("ConditionalCheckFailedException",
                       "The conditional request failed", extra=extra)


def _return_values(p, allowed):
    rv = p.get("ReturnValues") or "NONE"
    if rv not in allowed:
        raise validation("ReturnValues can only be %s"
                         % " or ".join(allowed))
    return rv


def _consumed(p, table, units):
    if p.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        return {"ConsumedCapacity": {"TableName": table.name,
                                     "CapacityUnits": units}}
    return {}


def _project(item, names):
    if names is None:
        return copy.deepcopy(item)
    return {k: copy.deepcopy(item[k]) for k in names if k in item}


# -- operations ------------------------------------------------------------------

def op_create_table(ctx, p):
    t = create_table(ctx.state, p, ctx.state.now())
    with t.lock:
        return {"TableDescription": t.describe(ctx.state.now())}


def op_describe_table(ctx, p):
    t = _table(ctx, p["TableName"], describe=True)
    with t.lock:    # item counts read while writers run
        return {"Table": t.describe(ctx.state.now())}


def op_delete_table(ctx, p):
    t = _table(ctx, p["TableName"], describe=True)
    with ctx.state.lock:
        ctx.state.ddb_tables.pop(t.name, None)
    with t.lock:
        return {"TableDescription": t.describe(ctx.state.now(), "DELETING")}


def op_list_tables(ctx, p):
    with ctx.state.lock:
        names = sorted(ctx.state.ddb_tables)
    start = p.get("ExclusiveStartTableName")
    if start is not None:
        names = [n for n in names if n > start]
    limit = p.get("Limit") or 100
    out = {"TableNames": names[:limit]}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = names[limit - 1]
    return out


def op_get_item(ctx, p):
    ex = Expressions(p)
    proj = ex.projection(p)
    ex.finish()
    t = _table(ctx, p["TableName"])
    key = check_item(p["Key"])
    k = t.key_of(key)
    with t.lock:
        item = t.items.get(k)
        out = {} if item is None else {"Item": _project(item, proj)}
    out.update(_consumed(p, t, 1.0 if p.get("ConsistentRead") else 0.5))
    return out


def op_put_item(ctx, p):
    rv = _return_values(p, ("NONE", "ALL_OLD"))
    ex = Expressions(p)
    cond = ex.parse(p, "ConditionExpression", "ConditionExpression",
                    "condition")
    ex.finish()
    t = _table(ctx, p["TableName"])
    item = check_item(p["Item"])
    k = t.key_of(item, "item")
    with t.lock:
        old = t.items.get(k)
        _check_condition(old, cond, p)
        t.items[k] = item
    out = {"Attributes": old} if rv == "ALL_OLD" and old else {}
    out.update(_consumed(p, t, 1.0))
    return out


def op_delete_item(ctx, p):
    rv = _return_values(p, ("NONE", "ALL_OLD"))
    ex = Expressions(p)
    cond = ex.parse(p, "ConditionExpression", "ConditionExpression",
                    "condition")
    ex.finish()
    t = _table(ctx, p["TableName"])
    k = t.key_of(check_item(p["Key"]))
    with t.lock:
        old = t.items.get(k)
        _check_condition(old, cond, p)
        t.items.pop(k, None)
    out = {"Attributes": old} if rv == "ALL_OLD" and old else {}
    out.update(_consumed(p, t, 1.0))
    return out


def op_update_item(ctx, p):
    rv = _return_values(p, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW",
                            "UPDATED_NEW"))
    ex = Expressions(p)
    upd = ex.parse(p, "UpdateExpression", "UpdateExpression", "update")
    cond = ex.parse(p, "ConditionExpression", "ConditionExpression",
                    "condition")
    ex.finish()
    t = _table(ctx, p["TableName"])
    key = check_item(p["Key"])
    k = t.key_of(key)
    if upd is not None:
        try:
            ddb_expr.check_paths(upd, set(t.key_names))
        except ExprError as e:
            raise validation(str(e))
    with t.lock:
        old = t.items.get(k)
        _check_condition(old, cond, p)
        base = old if old is not None else dict(key)
        try:
            new = ddb_expr.apply_update(base, upd) if upd else \
                copy.deepcopy(base)
        except ExprError as e:
            raise validation(str(e))
        t.items[k] = new
    out = _consumed(p, t, 1.0)
    attrs = _update_return(rv, old, new, upd)
    if attrs:
        out["Attributes"] = attrs
    return out


def _update_return(rv, old, new, upd):
    if rv == "ALL_OLD":
        return copy.deepcopy(old) if old else None
    if rv == "ALL_NEW":
        return copy.deepcopy(new)
    if rv in ("UPDATED_OLD", "UPDATED_NEW"):
        names = ddb_expr.updated_names(upd or {})
        src = (old or {}) if rv == "UPDATED_OLD" else new
        return {n: copy.deepcopy(src[n]) for n in names if n in src}
    return None


def op_scan(ctx, p):
    ex = Expressions(p)
    filt = ex.parse(p, "FilterExpression", "FilterExpression", "condition")
    proj = ex.projection(p)
    ex.finish()
    t = _table(ctx, p["TableName"])
    select = p.get("Select") or "ALL_ATTRIBUTES"
    if select not in ("ALL_ATTRIBUTES", "COUNT"):
        raise validation("fakeaws: Select %s is not served" % select)
    start = None
    if p.get("ExclusiveStartKey") is not None:
        try:
            start = t.key_of(check_item(p["ExclusiveStartKey"]))
        except DdbError as e:
            raise validation("The provided starting key is invalid: "
                             + e.message)
    limit = p.get("Limit")
    with t.lock:
        keys = sorted(k for k in t.items if start is None or k > start)
        page = keys[:limit] if limit else keys
        scanned = [t.items[k] for k in page]
        matched = [i for i in scanned
                   if filt is None or ddb_expr.evaluate(i, filt)]
        out = {"Count": len(matched), "ScannedCount": len(scanned)}
        if select == "ALL_ATTRIBUTES":
            out["Items"] = [_project(i, proj) for i in matched]
        if limit and len(page) == limit:
            # AWS stops at Limit and hands back where it stopped, even when
            # the next page turns out empty.
            out["LastEvaluatedKey"] = copy.deepcopy(
                t.key_item(t.items[page[-1]]))
    out.update(_consumed(p, t, max(0.5, len(scanned) * 0.5)))
    return out


HANDLERS = {
    "CreateTable": op_create_table,
    "DescribeTable": op_describe_table,
    "DeleteTable": op_delete_table,
    "ListTables": op_list_tables,
    "GetItem": op_get_item,
    "PutItem": op_put_item,
    "UpdateItem": op_update_item,
    "DeleteItem": op_delete_item,
    "Scan": op_scan,
}
CONTROL_PLANE = {"CreateTable", "DeleteTable", "UpdateTable"}


# -- the wire ------------------------------------------------------------------------

def _reply(handler, status, obj, request_id):
    body = json.dumps(obj, separators=(",", ":")).encode()
    handler.reply(status, CONTENT_TYPE, body,
                  {"x-amzn-RequestId": request_id,
                   "x-amz-crc32": str(zlib.crc32(body) & 0xffffffff)})


def _error(app, handler, entry, err):
    obj = {"__type": err.ns + err.code, "message": err.message}
    obj.update(err.extra)
    entry["status"] = err.status
    entry["error_code"] = err.code
    app.recorder.record(entry)
    _reply(handler, err.status, obj, entry["request_id"])


def fault_error(kind, op, decision):
    if kind == "throttle":
        code = decision.throttle_error or (
            "ThrottlingException" if op in CONTROL_PLANE
            else "ProvisionedThroughputExceededException")
        msg = {"ThrottlingException":
               "Rate of requests exceeds the allowed throughput.",
               "ProvisionedThroughputExceededException":
               "The level of configured provisioned throughput for the "
               "table was exceeded. Consider increasing your provisioning "
               "level with the UpdateTable API.",
               "RequestLimitExceeded":
               "Throughput exceeds the current throughput limit for your "
               "account. Please contact AWS Support at "
               "https://aws.amazon.com/support request a limit increase"}
        return DdbError(code, msg.get(code, "Rate exceeded"))
    if kind == "500":
        return DdbError("InternalServerError", "Internal server error", 500)
    return DdbError("ServiceUnavailable", "Service unavailable", 503)


def _authenticate(app, req):
    if req.auth is not None and req.auth["service"] != "dynamodb":
        raise DdbError("InvalidSignatureException",
                       "Credential should be scoped to correct service: "
                       "'dynamodb'. ", ns=CORAL_NS)
    try:
        auth.authenticate(req, app.keys, "query", app.state.now(),
                          float(app.state.config["max_clock_skew_seconds"]))
    except ApiError as e:
        raise DdbError(AUTH_CODES.get(e.code, e.code), e.message,
                       ns=CORAL_NS)


def _operation(target):
    prefix, _, op = target.partition(".")
    m = model.load("dynamodb")
    if prefix != TARGET_PREFIX or m.operation(op) is None:
        raise DdbError("UnknownOperationException", "", ns=CORAL_NS)
    if op not in HANDLERS:
        raise DdbError("UnknownOperationException",
                       "fakeaws does not implement DynamoDB %s" % op,
                       ns=CORAL_NS)
    return op


def serve(app, handler, req, ctx_class):
    """Answer one DynamoDB request (server.JSON_TARGETS)."""
    request_id = str(uuid.uuid4())
    app.recorder.limit = int(app.state.config["request_log_limit"])
    target = req.header("x-amz-target") or ""
    entry = {"time": time.time(), "service": "dynamodb",
             "action": target.partition(".")[2], "params": {},
             "request_id": request_id, "fault": None, "applied": False,
             "access_key_id": req.auth["access_key"] if req.auth else None}
    try:
        op = _operation(target)
        _authenticate(app, req)
        identity = app.keys.get(req.auth["access_key"])
        try:
            body = json.loads(req.body.decode("utf-8") or "{}")
        except ValueError:
            raise DdbError("SerializationException",
                           "Start of structure or map found where not "
                           "expected", ns=CORAL_NS)
        if not isinstance(body, dict):
            raise DdbError("SerializationException",
                           "Unexpected value type in payload", ns=CORAL_NS)
        entry["params"] = body
    except DdbError as err:
        return _error(app, handler, entry, err)

    decision = app.faults.decide("dynamodb", op, {}, req.auth["access_key"])
    entry["fault"] = decision.label
    if decision.latency > 0:
        time.sleep(decision.latency)
    if decision.pre == "reset":
        entry["status"] = 0
        app.recorder.record(entry)
        return handler.reset_connection()
    if decision.pre in ("throttle", "500", "503"):
        return _error(app, handler, entry,
                      fault_error(decision.pre, op, decision))
    try:
        validate_request(op, body)
        ctx = ctx_class(app.state, app.keys, identity, request_id)
        result = HANDLERS[op](ctx, body)
    except DdbError as err:
        return _error(app, handler, entry, err)
    entry["applied"] = True
    entry["status"] = 200
    entry["error_code"] = None
    if decision.lose:
        entry["status"] = 0
        app.recorder.record(entry)
        return handler.reset_connection()
    app.recorder.record(entry)
    _reply(handler, 200, result, request_id)

