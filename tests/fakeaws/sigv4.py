"""AWS Signature Version 4, written from the published algorithm.

This is the fake's own implementation: it shares nothing with moor's C signer
and deliberately does not call botocore's signer, so that a mistake in either
client shows up as a signature mismatch instead of being reproduced here.
It is checked against the official test vectors in tests/data/sigv4/.
"""

import hashlib
import hmac
import re
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# RFC 3986 unreserved characters are the only ones left unencoded.
_UNRESERVED = "-_.~"


class SigError(Exception):
    """A request whose Authorization cannot even be checked (IncompleteSignature)."""


def uri_encode(text, safe=""):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return urllib.parse.quote(text, safe=_UNRESERVED + safe)


def remove_dot_segments(path):
    """RFC 3986 5.2.4, plus collapsing of repeated slashes (non-S3 services)."""
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out)
    last = path.rsplit("/", 1)[-1]
    if (path.endswith("/") or last in (".", "..")) and result != "/":
        result += "/"
    return result


def canonical_uri(raw_path, normalize=True):
    # The path is encoded as received: an already percent-encoded path is
    # encoded a second time, which is what SigV4 asks of every service but S3.
    path = raw_path or "/"
    if normalize:
        path = remove_dot_segments(path)
    return uri_encode(path, safe="/")


def canonical_query(raw_query):
    if not raw_query:
        return ""
    pairs = []
    for part in raw_query.split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        name = urllib.parse.unquote(name)
        value = urllib.parse.unquote(value)
        pairs.append((uri_encode(name), uri_encode(value)))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _trimall(value):
    return " ".join(value.split())


def canonical_headers(headers, signed_names):
    """headers: list of (name, value) in the order received (duplicates kept)."""
    grouped = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(_trimall(value))
    lines = []
    for name in signed_names:
        values = grouped.get(name)
        if values is None:
            raise KeyError(name)
        lines.append(f"{name}:{','.join(values)}\n")
    return "".join(lines)


def canonical_request(method, raw_path, raw_query, headers, signed_names,
                      payload_hash, normalize=True):
    return "\n".join([
        method,
        canonical_uri(raw_path, normalize),
        canonical_query(raw_query),
        canonical_headers(headers, signed_names),
        ";".join(signed_names),
        payload_hash,
    ])


def string_to_sign(amz_date, scope, creq):
    return "\n".join([
        ALGORITHM, amz_date, scope,
        hashlib.sha256(creq.encode("utf-8")).hexdigest(),
    ])


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def signature(secret, date, region, service, sts):
    key = signing_key(secret, date, region, service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


_AUTH_RE = re.compile(r"^\s*(\S+)\s+(.*)$", re.S)


def parse_authorization(value):
    """Split an Authorization header into its parts.

    Raises SigError with AWS's wording for the parts it lacks.
    """
    m = _AUTH_RE.match(value or "")
    if not m or m.group(1) != ALGORITHM:
        raise SigError("Unsupported AWS 'algorithm': '%s'"
                       % (m.group(1) if m else value))
    parts = {}
    for item in m.group(2).split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, val = item.partition("=")
        if not eq:
            raise SigError("'%s' not a valid key=value pair (missing equal-sign) "
                           "in Authorization header: '%s'." % (item, value))
        parts[key.strip()] = val.strip()
    missing = [k for k in ("Credential", "Signature", "SignedHeaders")
               if k not in parts]
    if missing:
        raise SigError(" ".join(
            "Authorization header requires '%s' parameter." % k
            for k in missing) + " Authorization=" + value)
    cred = parts["Credential"].split("/")
    if len(cred) != 5:
        raise SigError("Credential should be scoped to a valid region, not "
                       "'%s'. " % parts["Credential"])
    if cred[4] != "aws4_request":
        raise SigError("Credential should be scoped with a valid terminator: "
                       "'aws4_request', not '%s'." % cred[4])
    signed = parts["SignedHeaders"].split(";")
    return {
        "access_key": cred[0],
        "date": cred[1],
        "region": cred[2],
        "service": cred[3],
        "scope": "/".join(cred[1:]),
        "signed_headers": signed,
        "signature": parts["Signature"],
    }


def compute(method, raw_path, raw_query, headers, auth, secret, payload_hash,
            amz_date, normalize=True):
    """Return (canonical request, string to sign, signature) for a parsed auth."""
    creq = canonical_request(method, raw_path, raw_query, headers,
                             auth["signed_headers"], payload_hash, normalize)
    sts = string_to_sign(amz_date, auth["scope"], creq)
    sig = signature(secret, auth["date"], auth["region"], auth["service"], sts)
    return creq, sts, sig


def authorization_header(access_key, scope, signed_names, sig):
    return "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, access_key, scope, ";".join(signed_names), sig)


def signatures_equal(a, b):
    return hmac.compare_digest(a.encode("ascii", "replace"),
                               b.encode("ascii", "replace"))
