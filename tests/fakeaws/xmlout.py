"""XML responses written from the botocore output shapes.

Handlers return plain dicts keyed by model member names; the element names,
list wrappers (<xSet><item> for EC2, <member> for Query) and value formats
all come from the model, so every response has the shape real AWS sends.
A key that the output shape does not declare is a bug in the fake and raises.
"""

import datetime
from xml.sax.saxutils import escape

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def format_timestamp(value):
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        value = value.timestamp()
    dt = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


class Writer:
    """Serializes values of one service model; plans are cached per shape."""

    def __init__(self, model):
        self.model = model
        self.shapes = model.shapes
        self._plans = {}

    def _plan(self, shape_name):
        plan = self._plans.get(shape_name)
        if plan is None:
            plan = {}
            for mname, ref in self.shapes[shape_name].get("members", {}).items():
                plan[mname] = (ref.get("locationName", mname), ref["shape"])
            self._plans[shape_name] = plan
        return plan

    def write(self, out, shape_name, value, tag):
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if value is None:
            return
        if kind == "structure":
            out.append(f"<{tag}>")
            self.write_members(out, shape_name, value)
            out.append(f"</{tag}>")
        elif kind == "list":
            member = shape["member"]
            item_tag = member.get("locationName", "member")
            if shape.get("flattened"):
                for item in value:
                    self.write(out, member["shape"], item, item_tag or tag)
                return
            if not value:
                out.append(f"<{tag}/>")
                return
            out.append(f"<{tag}>")
            for item in value:
                self.write(out, member["shape"], item, item_tag)
            out.append(f"</{tag}>")
        elif kind == "map":
            ktag = shape["key"].get("locationName", "key")
            vtag = shape["value"].get("locationName", "value")
            out.append(f"<{tag}>")
            for k, v in value.items():
                out.append("<entry>")
                self.write(out, shape["key"]["shape"], k, ktag)
                self.write(out, shape["value"]["shape"], v, vtag)
                out.append("</entry>")
            out.append(f"</{tag}>")
        else:
            out.append(f"<{tag}>{self.scalar(kind, value)}</{tag}>")

    def write_members(self, out, shape_name, value):
        plan = self._plan(shape_name)
        for key, v in value.items():
            if v is None:
                continue
            try:
                tag, member_shape = plan[key]
            except KeyError:
                raise KeyError(f"{shape_name} has no member {key}") from None
            self.write(out, member_shape, v, tag)

    @staticmethod
    def scalar(kind, value):
        if kind == "boolean":
            return "true" if value else "false"
        if kind == "timestamp":
            return format_timestamp(value)
        if kind in ("integer", "long"):
            return str(int(value))
        return escape(str(value))


_writers = {}


def writer(model):
    w = _writers.get(model.name)
    if w is None:
        w = _writers[model.name] = Writer(model)
    return w


def ec2_response(model, op, data, request_id):
    """<OpResponse xmlns><requestId/>members...</OpResponse> (no Result)."""
    out = [XML_DECL,
           f'<{op.name}Response xmlns="{model.namespace}/">',
           f"<requestId>{request_id}</requestId>"]
    if op.output_shape:
        writer(model).write_members(out, op.output_shape, data or {})
    elif op.name.startswith(("Disassociate", "Release")):
        # Operations without an output shape still answer <return>true</return>.
        out.append("<return>true</return>")
    out.append(f"</{op.name}Response>")
    return "".join(out).encode("utf-8")


def query_response(model, op, data, request_id):
    """<OpResponse><OpResult>…</OpResult><ResponseMetadata>…</OpResponse>."""
    out = [XML_DECL, f'<{op.name}Response xmlns="{model.namespace}">']
    if op.output_shape:
        wrapper = op.result_wrapper or f"{op.name}Result"
        out.append(f"<{wrapper}>")
        writer(model).write_members(out, op.output_shape, data or {})
        out.append(f"</{wrapper}>")
    out.append("<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>"
               % request_id)
    out.append(f"</{op.name}Response>")
    return "".join(out).encode("utf-8")


def ec2_error(code, message, request_id):
    # Note RequestID, not RequestId (EC2 errors-overview; botocore parsers.py).
    return (XML_DECL + "<Response><Errors><Error><Code>%s</Code><Message>%s"
            "</Message></Error></Errors><RequestID>%s</RequestID></Response>"
            % (escape(code), escape(message), request_id)).encode("utf-8")


def query_error(namespace, code, message, request_id, sender=True):
    return (XML_DECL + '<ErrorResponse xmlns="%s"><Error><Type>%s</Type>'
            "<Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>%s</RequestId></ErrorResponse>"
            % (namespace, "Sender" if sender else "Receiver", escape(code),
               escape(message), request_id)).encode("utf-8")
