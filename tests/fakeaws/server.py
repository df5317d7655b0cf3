#!/usr/bin/env python3
"""fakeaws: a local endpoint speaking AWS's wire protocol, for moor's tests.

    python3 tests/fakeaws/server.py --port 0 [--state FILE] [--keys FILE]

prints "listening on 127.0.0.1:PORT" as its first line. Requests are routed
the way one endpoint serving every service must do it: by the service name in
the SigV4 credential scope (ec2, elasticloadbalancing, sts), with the Version
parameter choosing between Classic ELB (2012-06-01) and ELBv2 (2015-12-01).
Unsigned requests (STS AssumeRoleWithWebIdentity) are routed by Version.
/latest/... is IMDSv2 and /_fakeaws/... the JSON control API (README.md).
"""

import argparse
import json
import os
import socket
import struct
import sys
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import auth  # noqa: E402
import control  # noqa: E402
import dynamodb  # noqa: E402
import ec2  # noqa: E402
import elb  # noqa: E402
import faults  # noqa: E402
import metadata  # noqa: E402
import model  # noqa: E402
import sigv4  # noqa: E402
import sts  # noqa: E402
import xmlout  # noqa: E402
from model import ApiError  # noqa: E402
from state import State  # noqa: E402

# service -> (botocore model name, handlers, dialect)
SERVICES = {
    "ec2": ("ec2", ec2.HANDLERS, "ec2"),
    "elb": ("elb", elb.CLASSIC_HANDLERS, "query"),
    "elbv2": ("elbv2", elb.V2_HANDLERS, "query"),
    "sts": ("sts", sts.HANDLERS, "query"),
}
VERSIONS = {"2016-11-15": "ec2", "2012-06-01": "elb", "2015-12-01": "elbv2",
            "2011-06-15": "sts"}
# The JSON-protocol services are routed by the X-Amz-Target prefix, so one
# endpoint (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB) serves them too.
JSON_TARGETS = {dynamodb.TARGET_PREFIX: dynamodb.serve}


class Request:
    __slots__ = ("method", "path", "query", "headers", "body", "auth",
                 "auth_error", "_index")

    def __init__(self, method, target, headers, body):
        self.method = method
        path, _, query = target.partition("?")
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self._index = {}
        for k, v in headers:
            self._index.setdefault(k.lower(), v)
        self.auth = None
        self.auth_error = None
        value = self.header("authorization")
        if value is not None:
            try:
                self.auth = sigv4.parse_authorization(value)
            except sigv4.SigError as e:
                self.auth_error = str(e)

    def header(self, name):
        return self._index.get(name)


class Context:
    """What an operation handler sees."""
    __slots__ = ("state", "keys", "identity", "request_id")

    def __init__(self, state, keys, identity, request_id):
        self.state = state
        self.keys = keys
        self.identity = identity
        self.request_id = request_id


class App:
    def __init__(self):
        self.state = State()
        self.keys = auth.KeyStore()
        self.configured_keys = auth.default_keys()
        self.startup_keys = auth.default_keys()
        self.faults = faults.Faults()
        self.recorder = faults.Recorder()
        self.metadata = metadata.Metadata(self.state, self.keys)
        for svc in SERVICES.values():
            model.load(svc[0])
        model.load("dynamodb")

    def load_keys(self, entries, at_startup=False):
        self.configured_keys = [dict(e) for e in entries]
        self.keys.load(entries)
        if at_startup:
            # POST /_fakeaws/reset goes back to these, not to the defaults.
            self.startup_keys = [dict(e) for e in entries]

    # -- AWS API -----------------------------------------------------------

    def resolve_service(self, req, version):
        scope = req.auth["service"] if req.auth else None
        if scope is None:
            return VERSIONS.get(version)
        if scope == "ec2":
            return "ec2"
        if scope == "sts":
            return "sts"
        if scope == "elasticloadbalancing":
            if version == "2015-12-01":
                return "elbv2"
            return "elb"
        return None

    def api(self, handler, req):
        request_id = str(uuid.uuid4())
        self.recorder.limit = int(self.state.config["request_log_limit"])
        flat = {}
        for k, v in urllib.parse.parse_qsl(req.query, keep_blank_values=True):
            if not k.startswith("X-Amz-"):
                flat[k] = v
        ctype = (req.header("content-type") or "").lower()
        if req.method == "POST" and (not ctype or ctype.startswith(
                "application/x-www-form-urlencoded")):
            try:
                body = req.body.decode("utf-8")
            except UnicodeDecodeError:
                body = ""
            for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True):
                flat[k] = v
        action = flat.pop("Action", None)
        version = flat.pop("Version", None)
        service = self.resolve_service(req, version)
        entry = {"time": time.time(), "service": service or "unknown",
                 "action": action or "", "params": faults.redact(flat),
                 "request_id": request_id, "fault": None, "applied": False,
                 "access_key_id": req.auth["access_key"] if req.auth else None}
        if service is None:
            dialect = "query"
            namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
            if req.auth:
                err = ApiError("SignatureDoesNotMatch",
                               "Credential should be scoped to correct "
                               "service: '%s'." % req.auth["service"], 403)
            else:
                err = ApiError("MissingAuthenticationToken",
                               "Request is missing Authentication Token", 403)
            return self.error(handler, entry, dialect, namespace, err)
        model_name, handlers, dialect = SERVICES[service]
        svc_model = model.load(model_name)
        namespace = svc_model.namespace
        try:
            if not action:
                raise ApiError("MissingAction",
                               "The request must contain the parameter Action")
            op = svc_model.operation(action)
            if op is None or (dialect == "query" and version and
                              version != svc_model.version):
                if dialect == "ec2":
                    raise ApiError("InvalidAction",
                                   "The action %s is not valid for this web "
                                   "service." % action)
                # Coral's wording for an operation the version lacks.
                raise ApiError("InvalidAction",
                               "Could not find operation %s for version %s"
                               % (action, version or "NO_VERSION_SPECIFIED"))
            fn = handlers.get(action)
            if fn is None:
                raise ApiError("InvalidAction",
                               "The action %s is valid for AWS but fakeaws "
                               "does not implement it." % action)
            if service == "sts" and action in sts.UNSIGNED and \
                    req.auth is None and not req.auth_error:
                identity = None
            else:
                identity = auth.authenticate(
                    req, self.keys, dialect, self.state.now(),
                    float(self.state.config["max_clock_skew_seconds"]))
        except ApiError as err:
            return self.error(handler, entry, dialect, namespace, err)

        decision = self.faults.decide(service, action, flat,
                                      req.auth["access_key"] if req.auth
                                      else None)
        entry["fault"] = decision.label
        if decision.latency > 0:
            time.sleep(decision.latency)
        if decision.pre == "reset":
            entry["status"] = 0
            self.recorder.record(entry)
            return handler.reset_connection()
        if decision.pre in ("throttle", "500", "503"):
            code, msg, status, sender = faults.fault_error(dialect,
                                                           decision.pre)
            return self.error(handler, entry, dialect, namespace,
                              ApiError(code, msg, status, sender))
        try:
            params = svc_model.parse(op, flat)
            if dialect == "ec2" and params.get("DryRun"):
                raise ApiError("DryRunOperation",
                               "Request would have succeeded, but DryRun flag "
                               "is set.", 412)
            ctx = Context(self.state, self.keys, identity, request_id)
            with self.state.lock:
                result = fn(ctx, params)
        except ApiError as err:
            return self.error(handler, entry, dialect, namespace, err)
        entry["applied"] = True
        if dialect == "ec2":
            body = xmlout.ec2_response(svc_model, op, result, request_id)
        else:
            body = xmlout.query_response(svc_model, op, result, request_id)
        entry["status"] = 200
        entry["error_code"] = None
        if decision.lose:
            entry["status"] = 0
            self.recorder.record(entry)
            return handler.reset_connection()
        self.recorder.record(entry)
        handler.reply(200, "text/xml;charset=UTF-8", body,
                      {"x-amzn-RequestId": request_id})

    def error(self, handler, entry, dialect, namespace, err):
        rid = entry["request_id"]
        if dialect == "ec2":
            body = xmlout.ec2_error(err.code, err.message, rid)
        else:
            body = xmlout.query_error(namespace, err.code, err.message, rid,
                                      err.sender)
        entry["status"] = err.status
        entry["error_code"] = err.code
        self.recorder.record(entry)
        handler.reply(err.status, "text/xml;charset=UTF-8", body,
                      {"x-amzn-RequestId": rid})

    def json_api(self, handler, req):
        target = req.header("x-amz-target") or ""
        prefix = target.split(".", 1)[0]
        fn = JSON_TARGETS.get(prefix)
        if fn is None:
            body = json.dumps({
                "__type": "com.amazon.coral.service#UnknownOperationException",
                "message": "fakeaws does not serve %s yet" % target}).encode()
            return handler.reply(400, "application/x-amz-json-1.0", body,
                                 {"x-amzn-RequestId": str(uuid.uuid4())})
        return fn(self, handler, req, Context)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeaws"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # Headers and body go out in one write; without NODELAY a small
        # response can still wait for the client's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app.recorder.connection()

    def log_message(self, fmt, *args):
        # Quiet: the request log is in the control API, never on stdout,
        # so secrets in headers cannot leak through it.
        return

    def read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, ctype, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []

    def reset_connection(self):
        """Drop the connection with a TCP RST and no response."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def dispatch(self):
        app = self.server.app
        body = self.read_body()
        headers = list(self.headers.items())
        req = Request(self.command, self.path, headers, body)
        path = req.path
        try:
            if path.startswith("/_fakeaws/") or path == "/_fakeaws":
                if path.startswith("/_fakeaws/container-credentials"):
                    return self._metadata_reply(
                        app.metadata.container(self.command, req.header),
                        "container")
                status, obj = control.handle(app, self.command, path,
                                             req.query, body)
                return self.reply(status, "application/json",
                                  json.dumps(obj, indent=1).encode() + b"\n")
            if path.startswith("/latest/"):
                return self._metadata_reply(
                    app.metadata.imds(self.command, path, req.header), "imds")
            if path.startswith("/v2/credentials"):
                return self._metadata_reply(
                    app.metadata.container(self.command, req.header),
                    "container")
            if req.header("x-amz-target"):
                return app.json_api(self, req)
            return app.api(self, req)
        except Exception as exc:  # a bug in the fake: say so, keep serving
            import traceback
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            msg = json.dumps({"error": "fakeaws internal error: %r" % exc})
            try:
                self.reply(500, "application/json", msg.encode())
            except OSError:
                pass

    def _metadata_reply(self, result, kind):
        self.server.app.recorder.count_other(kind)
        status, ctype, body = result
        self.reply(status, ctype, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app):
        self.app = app
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        # A client that drops its connection (a killed moor, a test that
        # resets on purpose) is normal here, not a server error worth a
        # traceback; anything else still gets one.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--state", help="state JSON file to load at start")
    ap.add_argument("--keys", help="keys JSON file (replaces default keys)")
    args = ap.parse_args(argv)
    app = App()
    if args.keys:
        doc = load_json(args.keys)
        app.load_keys(doc["keys"] if isinstance(doc, dict) else doc,
                      at_startup=True)
    if args.state:
        control.load_state(app, load_json(args.state))
    server = Server((args.host, args.port), app)
    host, port = server.server_address[:2]
    print("listening on %s:%d" % (host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
