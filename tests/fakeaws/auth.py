"""Access keys and request authentication, with each service's real errors.

Error codes and their sources:
  unknown key      EC2 AuthFailure (401) "AWS was not able to validate the
                   provided access credentials"; Query services
                   InvalidClientTokenId (403) "The security token included in
                   the request is invalid." (AWS Common Errors pages).
  bad signature    SignatureDoesNotMatch (403), both dialects.
  malformed auth   IncompleteSignature (400; RDS/IAM "Common Errors").
  clock skew       EC2 RequestExpired (400) "Request has expired."
                   (aws-sdk-go-v2#1674); Query services answer
                   SignatureDoesNotMatch "Signature expired: X is now earlier
                   than Y (Z - 15 min.)" (devsecops/bootcamp#101 for STS
                   AssumeRole, aws-sdk-js#401).
  expired session  EC2 RequestExpired (aws-sdk-go#253 lists it among the
                   expired-credential codes; 99designs/aws-vault#394 shows it
                   for ec2 describe-tags after a session ran out); Query
                   services ExpiredToken (403) "The security token included in
                   the request is expired" (pulumi/pulumi-aws#2560 for STS,
                   mapbox/ecs-watchbot#61 for a Query-protocol service).
"""

import base64
import datetime
import hashlib
import secrets
import string
import threading

import sigv4
from model import ApiError

DEFAULT_ACCESS_KEY = "AKIAFAKEAWSEXAMPLE01"
DEFAULT_SECRET_KEY = "fakeAWS/secret/EXAMPLE+KEY/0000000000001"
DEFAULT_SESSION_ACCESS_KEY = "ASIAFAKEAWSSESSION01"
DEFAULT_SESSION_SECRET_KEY = "fakeAWS/session/EXAMPLE+KEY/00000000001"
DEFAULT_SESSION_TOKEN = "FakeAwsSessionTokenEXAMPLE//0001+tokentokentokentoken="
DEFAULT_ACCOUNT = "123456789012"

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you "
    "provided. Check your AWS Secret Access Key and signing method. Consult "
    "the service documentation for details.")


def default_keys():
    return [
        {"access_key_id": DEFAULT_ACCESS_KEY,
         "secret_access_key": DEFAULT_SECRET_KEY,
         "account_id": DEFAULT_ACCOUNT,
         "arn": "arn:aws:iam::%s:user/moor-test" % DEFAULT_ACCOUNT,
         "user_id": "AIDAFAKEAWSUSER000001"},
        {"access_key_id": DEFAULT_SESSION_ACCESS_KEY,
         "secret_access_key": DEFAULT_SESSION_SECRET_KEY,
         "session_token": DEFAULT_SESSION_TOKEN,
         "account_id": DEFAULT_ACCOUNT,
         "arn": "arn:aws:sts::%s:assumed-role/moor-test-role/session"
                % DEFAULT_ACCOUNT,
         "user_id": "AROAFAKEAWSROLE000001:session"},
    ]


def parse_time(value):
    if value is None or isinstance(value, (int, float)):
        return value
    dt = datetime.datetime.strptime(value.replace(".000", ""),
                                    "%Y-%m-%dT%H:%M:%SZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def iso(ts):
    return datetime.datetime.fromtimestamp(
        ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _random(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


class KeyStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {}
        self.load(default_keys())

    def load(self, entries):
        with self.lock:
            self.keys = {}
            for e in entries:
                self._add(e)

    def _add(self, e):
        e = dict(e)
        for field in ("access_key_id", "secret_access_key"):
            if not e.get(field):
                raise ValueError("key entry needs %s" % field)
        e.setdefault("account_id", DEFAULT_ACCOUNT)
        e.setdefault("arn", "arn:aws:iam::%s:user/%s" % (
            e["account_id"], e["access_key_id"].lower()))
        e.setdefault("user_id", "AIDA" + e["access_key_id"][4:])
        e["expiration"] = parse_time(e.get("expiration"))
        self.keys[e["access_key_id"]] = e
        return e

    def add(self, entry):
        with self.lock:
            return self._add(entry)

    def dump(self):
        with self.lock:
            out = []
            for e in self.keys.values():
                d = dict(e)
                if d.get("expiration") is not None:
                    d["expiration"] = iso(d["expiration"])
                else:
                    d.pop("expiration", None)
                out.append(d)
            return out

    def get(self, akid):
        with self.lock:
            return self.keys.get(akid)

    def issue(self, account_id, arn, user_id, expires_at, source):
        """Create temporary credentials and accept them from now on."""
        akid = "ASIA" + _random(string.ascii_uppercase + string.digits, 16)
        secret = _random(string.ascii_letters + string.digits + "/+", 40)
        token = base64.b64encode(
            b"FQoGZXIvYXdzE" + secrets.token_bytes(120)).decode()
        return self.add({"access_key_id": akid, "secret_access_key": secret,
                         "session_token": token, "expiration": expires_at,
                         "account_id": account_id, "arn": arn,
                         "user_id": user_id, "source": source})


def _dialect_error(dialect, ec2, query):
    code, message, status = ec2 if dialect == "ec2" else query
    return ApiError(code, message, status)


def authenticate(req, keys, dialect, now, max_skew):
    """Verify the request's SigV4 signature; return the key entry.

    req: object with method, path, query, headers (list of pairs), body,
    header(name), auth (parsed Authorization or None).
    dialect: "ec2" or "query" (which error codes the service speaks).
    """
    if req.auth_error:
        raise ApiError("IncompleteSignature", req.auth_error, 400)
    auth = req.auth
    if auth is None:
        raise ApiError("MissingAuthenticationToken",
                       "Request is missing Authentication Token", 403)
    if "host" not in auth["signed_headers"]:
        raise ApiError("IncompleteSignature",
                       "'Host' or ':authority' must be a 'SignedHeader' in "
                       "the AWS Authorization.", 400)
    amz_date = req.header("x-amz-date")
    if amz_date is None:
        date_hdr = req.header("date")
        if date_hdr is None:
            raise ApiError("IncompleteSignature",
                           "Authorization header requires existence of either "
                           "a 'X-Amz-Date' or a 'Date' header. Authorization="
                           + req.header("authorization"), 400)
        try:
            import email.utils
            dt = email.utils.parsedate_to_datetime(date_hdr)
            amz_date = dt.astimezone(datetime.timezone.utc).strftime(
                "%Y%m%dT%H%M%SZ")
        except (TypeError, ValueError):
            raise ApiError("IncompleteSignature",
                           "Date must be in ISO-8601 'basic format'.", 400)
    try:
        req_time = datetime.datetime.strptime(
            amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise ApiError("IncompleteSignature",
                       "Date must be in ISO-8601 'basic format'. Got '%s'."
                       % amz_date, 400)

    key = keys.get(auth["access_key"])
    invalid_key = _dialect_error(
        dialect,
        ("AuthFailure",
         "AWS was not able to validate the provided access credentials", 401),
        ("InvalidClientTokenId",
         "The security token included in the request is invalid.", 403))
    if key is None:
        raise invalid_key
    token = req.header("x-amz-security-token")
    if key.get("session_token"):
        # Temporary keys are only valid together with their session token.
        if token is None or token != key["session_token"]:
            raise invalid_key
    elif token is not None:
        raise invalid_key

    payload = req.header("x-amz-content-sha256")
    body_hash = hashlib.sha256(req.body).hexdigest()
    if payload is None or payload == sigv4.UNSIGNED_PAYLOAD:
        payload = payload or body_hash
    elif payload != body_hash:
        raise ApiError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    try:
        _creq, _sts, sig = sigv4.compute(
            req.method, req.path, req.query, req.headers, auth,
            key["secret_access_key"], payload, amz_date)
    except KeyError:
        # A header named in SignedHeaders is not in the request.
        raise ApiError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    if auth["date"] != amz_date[:8]:
        raise ApiError("SignatureDoesNotMatch",
                       "Date in Credential scope does not match YYYYMMDD from "
                       "ISO-8601 version of date from HTTP: '%s' != '%s', from "
                       "'%s'." % (auth["date"], amz_date[:8], amz_date), 403)
    if not sigv4.signatures_equal(sig, auth["signature"]):
        raise ApiError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)

    skew = req_time - now
    if abs(skew) > max_skew:
        if dialect == "ec2":
            raise ApiError("RequestExpired", "Request has expired.", 400)
        fmt = "%Y%m%dT%H%M%SZ"

        def stamp(t):
            return datetime.datetime.fromtimestamp(
                t, datetime.timezone.utc).strftime(fmt)
        mins = int(max_skew // 60)
        if skew < 0:
            msg = "Signature expired: %s is now earlier than %s (%s - %d min.)" \
                % (amz_date, stamp(now - max_skew), stamp(now), mins)
        else:
            msg = ("Signature not yet current: %s is still later than %s "
                   "(%s + %d min.)" % (amz_date, stamp(now + max_skew),
                                       stamp(now), mins))
        raise ApiError("SignatureDoesNotMatch", msg, 403)

    if key.get("expiration") is not None and key["expiration"] <= now:
        raise _dialect_error(
            dialect, ("RequestExpired", "Request has expired.", 400),
            ("ExpiredToken",
             "The security token included in the request is expired", 403))
    return key
