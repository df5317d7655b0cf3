"""Request deserialization and validation driven by botocore's service models.

Only the JSON model files of Debian's python3-botocore are used (through its
loader); the parsing and validation here are our own, so that the fake judges
moor's encoder against the model rather than against botocore's serializer.

Two wire dialects are handled:
  ec2    lists are always flattened as Name.N; a member's wire name is its
         queryName, else its locationName with the first letter upper-cased,
         else the member name (botocore serialize.py EC2Serializer).
  query  lists are Name.member.N (or Name.N when flattened), maps are
         Name.entry.N.key/value, names are locationName or member name
         (botocore serialize.py QuerySerializer).
"""

import base64
import datetime
import re
import threading

import botocore.loaders


class ApiError(Exception):
    """An AWS error to send back: code, message, HTTP status, sender/receiver."""

    def __init__(self, code, message, status=400, sender=True):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender


_loader = None
_loader_lock = threading.Lock()
_models = {}


def load(service):
    """Return the ServiceModel for a botocore service name (cached)."""
    global _loader
    with _loader_lock:
        if service not in _models:
            if _loader is None:
                _loader = botocore.loaders.create_loader()
            raw = _loader.load_service_model(service, "service-2")
            _models[service] = ServiceModel(service, raw)
        return _models[service]


class Operation:
    def __init__(self, model, name, raw):
        self.model = model
        self.name = name
        self.input_shape = raw.get("input", {}).get("shape")
        out = raw.get("output") or {}
        self.output_shape = out.get("shape")
        self.result_wrapper = out.get("resultWrapper")


class ServiceModel:
    def __init__(self, name, raw):
        self.name = name
        meta = raw["metadata"]
        self.protocol = meta["protocol"]
        self.version = meta["apiVersion"]
        self.namespace = meta.get("xmlNamespace", "")
        self.shapes = raw["shapes"]
        self.operations = {k: Operation(self, k, v)
                           for k, v in raw["operations"].items()}
        self._wire_names = {}

    def operation(self, action):
        return self.operations.get(action)

    # -- wire names ---------------------------------------------------------

    def wire_members(self, shape_name):
        """Map wire name -> (member name, member ref) for an input structure."""
        cached = self._wire_names.get(shape_name)
        if cached is not None:
            return cached
        result = {}
        for mname, ref in self.shapes[shape_name].get("members", {}).items():
            result[self.input_name(mname, ref)] = (mname, ref)
        self._wire_names[shape_name] = result
        return result

    def input_name(self, member_name, ref):
        if self.protocol == "ec2":
            if "queryName" in ref:
                return ref["queryName"]
            if "locationName" in ref:
                loc = ref["locationName"]
                return loc[0].upper() + loc[1:]
            return member_name
        return ref.get("locationName", member_name)

    # -- parsing ------------------------------------------------------------

    def parse(self, op, params):
        """Turn flat wire params into a dict keyed by member names.

        Raises ApiError with the code this service's real endpoint uses.
        """
        if op.input_shape is None:
            if params:
                self._unknown(sorted(params)[0])
            return {}
        tree = {}
        for key, value in params.items():
            node = tree
            parts = key.split(".")
            for part in parts[:-1]:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = {None: nxt} if nxt is not None else {}
                    node[part] = nxt
                node = nxt
            last = parts[-1]
            if isinstance(node.get(last), dict):
                node[last][None] = value
            else:
                node[last] = value
        errors = []
        result = self._parse_structure(op.input_shape, tree, "", "", errors)
        if errors:
            self._raise_validation(errors)
        return result

    def _unknown(self, wire_path):
        if self.protocol == "ec2":
            # e.g. "UnknownParameter: The parameter ImageType is not
            # recognized" (appoxy/aws#32, aws/aws-cli#21).
            raise ApiError("UnknownParameter",
                           "The parameter %s is not recognized" % wire_path)
        # No public source shows what Coral query services (ELB, STS) say
        # about an undeclared parameter; the fake rejects it so that a
        # misspelt parameter in moor fails loudly instead of being ignored.
        raise ApiError("ValidationError",
                       "Unrecognized parameter: %s" % wire_path)

    def _raise_validation(self, errors):
        # errors: list of (ec2_code, ec2_message, coral_message)
        if self.protocol == "ec2":
            code, message, _ = errors[0]
            raise ApiError(code, message)
        n = len(errors)
        raise ApiError("ValidationError", "%d validation error%s detected: %s" % (
            n, "" if n == 1 else "s", "; ".join(e[2] for e in errors)))

    def _parse_structure(self, shape_name, node, wire_prefix, coral_prefix,
                         errors):
        shape = self.shapes[shape_name]
        if not isinstance(node, dict):
            self._unknown(wire_prefix or "?")
        members = self.wire_members(shape_name)
        out = {}
        for key in node:
            if key is None:
                continue
            wire_path = f"{wire_prefix}.{key}" if wire_prefix else key
            if key not in members:
                self._unknown(wire_path)
            mname, ref = members[key]
            coral_path = ((coral_prefix + ".") if coral_prefix else "") + \
                mname[0].lower() + mname[1:]
            out[mname] = self._parse_value(ref["shape"], node[key], wire_path,
                                           coral_path, errors)
        for req in shape.get("required", []):
            if req not in out:
                ref = shape["members"][req]
                wire = self.input_name(req, ref)
                full = f"{wire_prefix}.{wire}" if wire_prefix else wire
                cpath = ((coral_prefix + ".") if coral_prefix else "") + \
                    req[0].lower() + req[1:]
                errors.append((
                    "MissingParameter",
                    "The request must contain the parameter %s" % full,
                    "Value null at '%s' failed to satisfy constraint: "
                    "Member must not be null" % cpath))
        return out

    def _parse_value(self, shape_name, node, wire_path, coral_path, errors):
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return self._parse_structure(shape_name, node, wire_path,
                                         coral_path, errors)
        if kind == "list":
            return self._parse_list(shape_name, node, wire_path, coral_path,
                                    errors)
        if kind == "map":
            return self._parse_map(shape_name, node, wire_path, coral_path,
                                   errors)
        if isinstance(node, dict):
            if None in node and len(node) == 1:
                node = node[None]
            else:
                sub = sorted(k for k in node if k is not None)[0]
                self._unknown(f"{wire_path}.{sub}")
        return self._parse_scalar(shape_name, shape, node, wire_path,
                                  coral_path, errors)

    def _indexed(self, node, wire_path):
        items = []
        for key, value in node.items():
            if key is None:
                continue
            if not key.isdigit() or int(key) < 1:
                self._unknown(f"{wire_path}.{key}")
            items.append((int(key), key, value))
        items.sort()
        return items

    def _parse_list(self, shape_name, node, wire_path, coral_path, errors):
        shape = self.shapes[shape_name]
        member = shape["member"]
        if not isinstance(node, dict):
            # The query protocol sends "Name=" for an empty list.
            if node == "" and self.protocol == "query":
                return []
            self._unknown(wire_path)
        if self.protocol == "ec2" or shape.get("flattened"):
            container, prefix = node, wire_path
        else:
            inner = member.get("locationName", "member")
            extra = [k for k in node if k not in (None, inner)]
            if extra:
                self._unknown(f"{wire_path}.{sorted(extra)[0]}")
            container = node.get(inner, {})
            prefix = f"{wire_path}.{inner}"
            if not isinstance(container, dict):
                self._unknown(prefix)
        out = []
        for idx, key, value in self._indexed(container, prefix):
            out.append(self._parse_value(
                member["shape"], value, f"{prefix}.{key}",
                f"{coral_path}.{idx}.member", errors))
        if self.protocol == "query":
            self._check_length(shape, len(out), coral_path, errors, "length")
        return out

    def _parse_map(self, shape_name, node, wire_path, coral_path, errors):
        shape = self.shapes[shape_name]
        key_name = shape["key"].get("locationName", "key")
        value_name = shape["value"].get("locationName", "value")
        if not isinstance(node, dict):
            self._unknown(wire_path)
        if not shape.get("flattened"):
            node = node.get("entry", {})
            wire_path += ".entry"
        out = {}
        for _idx, key, entry in self._indexed(node, wire_path):
            if not isinstance(entry, dict) or key_name not in entry:
                self._unknown(f"{wire_path}.{key}")
            k = self._parse_value(shape["key"]["shape"], entry[key_name],
                                  f"{wire_path}.{key}.{key_name}",
                                  coral_path, errors)
            v = self._parse_value(shape["value"]["shape"],
                                  entry.get(value_name, ""),
                                  f"{wire_path}.{key}.{value_name}",
                                  coral_path, errors)
            out[k] = v
        return out

    def _type_error(self, value, wire_path, coral_path, expected, errors):
        errors.append((
            "InvalidParameterValue",
            "Value (%s) for parameter %s is invalid. Expected: '%s'."
            % (value, wire_path, expected),
            "Value '%s' at '%s' failed to satisfy constraint: Member must be "
            "of type %s" % (value, coral_path, expected)))

    def _parse_scalar(self, shape_name, shape, value, wire_path, coral_path,
                      errors):
        kind = shape["type"]
        if kind in ("integer", "long"):
            if not re.fullmatch(r"-?\d+", value.strip()):
                self._type_error(value, wire_path, coral_path, kind, errors)
                return None
            num = int(value)
            if self.protocol == "query":
                if "min" in shape and num < shape["min"]:
                    errors.append((None, None,
                                   "Value '%d' at '%s' failed to satisfy "
                                   "constraint: Member must have value greater "
                                   "than or equal to %d"
                                   % (num, coral_path, shape["min"])))
                if "max" in shape and num > shape["max"]:
                    errors.append((None, None,
                                   "Value '%d' at '%s' failed to satisfy "
                                   "constraint: Member must have value less "
                                   "than or equal to %d"
                                   % (num, coral_path, shape["max"])))
            return num
        if kind in ("float", "double"):
            try:
                return float(value)
            except ValueError:
                self._type_error(value, wire_path, coral_path, kind, errors)
                return None
        if kind == "boolean":
            low = value.strip().lower()
            if low not in ("true", "false"):
                self._type_error(value, wire_path, coral_path, "Boolean",
                                 errors)
                return None
            return low == "true"
        if kind == "timestamp":
            parsed = parse_timestamp(value)
            if parsed is None:
                self._type_error(value, wire_path, coral_path, "Timestamp",
                                 errors)
            return parsed
        if kind == "blob":
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                self._type_error(value, wire_path, coral_path, "Blob", errors)
                return None
        # string
        if self.protocol == "query":
            self._check_length(shape, len(value), coral_path, errors, "length")
            enum = shape.get("enum")
            if enum and value not in enum:
                errors.append((None, None,
                               "Value '%s' at '%s' failed to satisfy "
                               "constraint: Member must satisfy enum value "
                               "set: [%s]" % (value, coral_path,
                                              ", ".join(enum))))
            pattern = _python_pattern(shape.get("pattern"))
            if pattern is not None and not pattern.fullmatch(value):
                errors.append((None, None,
                               "Value '%s' at '%s' failed to satisfy "
                               "constraint: Member must satisfy regular "
                               "expression pattern: %s"
                               % (value, coral_path, shape["pattern"])))
        return value

    def _check_length(self, shape, n, coral_path, errors, what):
        if "min" in shape and n < shape["min"]:
            errors.append((None, None,
                           "Value at '%s' failed to satisfy constraint: "
                           "Member must have %s greater than or equal to %d"
                           % (coral_path, what, shape["min"])))
        if "max" in shape and n > shape["max"]:
            errors.append((None, None,
                           "Value at '%s' failed to satisfy constraint: "
                           "Member must have %s less than or equal to %d"
                           % (coral_path, what, shape["max"])))


_pattern_cache = {}


def _python_pattern(pattern):
    """Compile a model pattern when Python's re reads it the way Java does.

    Patterns with \\p{..} classes or astral \\u escapes are skipped: Python
    would read them differently and reject valid input.
    """
    if not pattern:
        return None
    if pattern in _pattern_cache:
        return _pattern_cache[pattern]
    compiled = None
    if "\\p{" not in pattern and "\\u" not in pattern:
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = None
    _pattern_cache[pattern] = compiled
    return compiled


def parse_timestamp(value):
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ",
                "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            dt = datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return dt.timestamp()
    return None
