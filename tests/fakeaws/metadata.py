"""IMDSv2 and the container credentials endpoint, on the fake's own port.

IMDS follows the real paths (PUT /latest/api/token, then GETs carrying
x-aws-ec2-metadata-token); requests without a valid token get 401, as
IMDSv2-only instances answer. Credentials are issued into the key set, so
the API endpoints accept them until they expire.
"""

import json
import secrets
import threading
import time

import auth
import sts

IMDS_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
IMDS_TOKEN_HEADER = "x-aws-ec2-metadata-token"


class Metadata:
    def __init__(self, state, keys):
        self.state = state
        self.keys = keys
        self.lock = threading.Lock()
        self.tokens = {}          # token -> expiry (monotonic)
        self.cached = {}          # source -> key entry

    def _config(self, name):
        return self.state.config.get(name) or {}

    def _role_arn(self, cfg, role_name):
        return cfg.get("role_arn") or "arn:aws:iam::%s:role/%s" % (
            self.state.config["account_id"], role_name)

    def credentials(self, source, cfg, role_name):
        """Current credentials for IMDS or the container endpoint.

        The same set is handed out until less than a fifth of its life is
        left (the real services also rotate well before expiry).
        """
        with self.lock:
            now = self.state.now()
            key = self.cached.get(source)
            if key is not None and self.keys.get(key["access_key_id"]):
                life = key["_lifetime"]
                if key["expiration"] - now > life / 5.0:
                    return key
            duration = cfg.get("credential_duration_seconds") or 21600
            role_arn = self._role_arn(cfg, role_name)
            key, _user = sts.issue_for_role(
                self.state, self.keys, role_arn,
                "i-fakeaws" if source == "imds" else "container", duration,
                source)
            key = dict(key)
            key["_lifetime"] = key["expiration"] - now
            self.cached[source] = key
            return key

    # -- IMDS ----------------------------------------------------------------

    def imds(self, method, path, header):
        """Return (status, content_type, body bytes)."""
        cfg = self._config("imds")
        if path == "/latest/api/token":
            if method != "PUT":
                return 405, "text/plain", b""
            ttl = header(IMDS_TTL_HEADER)
            try:
                ttl = int(ttl)
            except (TypeError, ValueError):
                return 400, "text/plain", b""
            if not 1 <= ttl <= 21600:
                return 400, "text/plain", b""
            token = "AQAEA" + secrets.token_urlsafe(40)
            with self.lock:
                self.tokens[token] = time.monotonic() + ttl
            return 200, "text/plain", token.encode()
        if method != "GET":
            return 405, "text/plain", b""
        token = header(IMDS_TOKEN_HEADER)
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or expiry < time.monotonic():
            return 401, "text/plain", b""
        st = self.state
        region = st.config["region"]
        role = cfg.get("role") or "moor-instance-role"
        az = cfg.get("availability_zone") or region + "a"
        instance_id = cfg.get("instance_id") or "i-0fa4e0000000000aa"
        base = "/latest/meta-data/iam/security-credentials"
        if path in (base, base + "/"):
            return 200, "text/plain", role.encode()
        if path.startswith(base + "/"):
            name = path[len(base) + 1:].rstrip("/")
            if name != role:
                return 404, "text/plain", b""
            key = self.credentials("imds", cfg, role)
            body = {"Code": "Success",
                    "LastUpdated": auth.iso(key["expiration"] -
                                            key["_lifetime"]),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": key["access_key_id"],
                    "SecretAccessKey": key["secret_access_key"],
                    "Token": key["session_token"],
                    "Expiration": auth.iso(key["expiration"])}
            return 200, "text/plain", json.dumps(body, indent=2).encode()
        simple = {
            "/latest/meta-data/placement/region": region,
            "/latest/meta-data/placement/availability-zone": az,
            "/latest/meta-data/instance-id": instance_id,
        }
        # Real IMDS ignores a trailing slash on leaf paths (botocore asks
        # for .../placement/availability-zone/).
        leaf = path.rstrip("/")
        if leaf in simple:
            return 200, "text/plain", simple[leaf].encode()
        if leaf == "/latest/dynamic/instance-identity/document":
            doc = {"accountId": st.config["account_id"],
                   "architecture": "x86_64",
                   "availabilityZone": az,
                   "imageId": "ami-0fa1ce0000000000a",
                   "instanceId": instance_id,
                   "instanceType": "t3.micro",
                   "pendingTime": "2023-11-14T22:13:20Z",
                   "privateIp": "10.0.0.4",
                   "region": region,
                   "version": "2017-09-30"}
            return 200, "application/json", json.dumps(doc, indent=2).encode()
        return 404, "text/plain", b""

    # -- container credentials ------------------------------------------------

    def container(self, method, header):
        cfg = self._config("container_credentials")
        if method != "GET":
            return 405, "application/json", b'{"message":"method not allowed"}'
        expected = cfg.get("authorization_token")
        if expected and header("authorization") != expected:
            return 401, "application/json", json.dumps(
                {"code": "AccessDenied",
                 "message": "invalid authorization token"}).encode()
        role = "moor-task-role"
        key = self.credentials("container", cfg, role)
        body = {"AccessKeyId": key["access_key_id"],
                "SecretAccessKey": key["secret_access_key"],
                "Token": key["session_token"],
                "Expiration": auth.iso(key["expiration"]),
                "RoleArn": self._role_arn(cfg, role),
                "AccountId": self.state.config["account_id"]}
        return 200, "application/json", json.dumps(body).encode()
