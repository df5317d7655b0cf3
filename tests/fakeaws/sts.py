"""STS (2011-06-15): GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity,
plus the credential issuing shared with the IMDS and container endpoints."""

import hashlib
import re

from model import ApiError

ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)"
                      r"([\w+=,.@-]+)")
DEFAULT_DURATION = 3600
DEFAULT_MAX_SESSION = 3600


def _role_id(role_arn):
    return "AROA" + hashlib.sha256(role_arn.encode()).hexdigest()[:17].upper()


def find_role(st, role_arn):
    """The configured role, or a permissive default when none are configured."""
    m = ROLE_ARN.fullmatch(role_arn or "")
    if not m:
        raise ApiError("ValidationError", "Request ARN is invalid")
    roles = st.config.get("roles")
    if roles is None:
        return {"arn": role_arn}
    for role in roles:
        if role.get("arn") == role_arn:
            return role
    return None


def issue_for_role(st, keys, role_arn, session_name, duration, source):
    m = ROLE_ARN.fullmatch(role_arn)
    account, role_name = m.group(1), m.group(3)
    override = st.config.get("credential_duration_override_seconds")
    lifetime = float(override) if override else float(duration)
    expires = st.now() + lifetime
    arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role_name,
                                                  session_name)
    role_id = _role_id(role_arn)
    key = keys.issue(account, arn, "%s:%s" % (role_id, session_name),
                     expires, source)
    return key, {"AssumedRoleId": "%s:%s" % (role_id, session_name),
                 "Arn": arn}


def _credentials(key):
    return {"AccessKeyId": key["access_key_id"],
            "SecretAccessKey": key["secret_access_key"],
            "SessionToken": key["session_token"],
            "Expiration": key["expiration"]}


def _duration(role, p):
    duration = p.get("DurationSeconds") or DEFAULT_DURATION
    max_session = role.get("max_session_duration", DEFAULT_MAX_SESSION)
    if duration > max_session:
        raise ApiError("ValidationError",
                       "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.")
    return duration


def get_caller_identity(ctx, p):
    k = ctx.identity
    return {"UserId": k["user_id"], "Account": k["account_id"],
            "Arn": k["arn"]}


def assume_role(ctx, p):
    st = ctx.state
    role = find_role(st, p["RoleArn"])
    denied = ApiError("AccessDenied",
                      "User: %s is not authorized to perform: sts:AssumeRole "
                      "on resource: %s" % (ctx.identity["arn"], p["RoleArn"]),
                      403)
    if role is None:
        raise denied
    if role.get("external_id") is not None and \
            p.get("ExternalId") != role["external_id"]:
        raise denied
    duration = _duration(role, p)
    key, user = issue_for_role(st, ctx.keys, p["RoleArn"],
                               p["RoleSessionName"], duration, "sts")
    return {"Credentials": _credentials(key), "AssumedRoleUser": user}


def _web_tokens(st):
    out = {}
    for t in st.config.get("web_identity_tokens") or []:
        if isinstance(t, str):
            t = {"token": t}
        out[t["token"]] = t
    return out


def assume_role_with_web_identity(ctx, p):
    st = ctx.state
    tok = _web_tokens(st).get(p["WebIdentityToken"])
    if tok is None:
        # Wording of the InvalidIdentityToken description in the STS API
        # reference.
        raise ApiError("InvalidIdentityToken",
                       "The web identity token that was passed could not be "
                       "validated by AWS. Get a new identity token from the "
                       "identity provider and then retry the request.")
    role = find_role(st, p["RoleArn"])
    if role is None or (tok.get("role_arn") and
                        tok["role_arn"] != p["RoleArn"]):
        raise ApiError("AccessDenied",
                       "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                       403)
    duration = _duration(role, p)
    key, user = issue_for_role(st, ctx.keys, p["RoleArn"],
                               p["RoleSessionName"], duration, "sts-web")
    return {"Credentials": _credentials(key), "AssumedRoleUser": user,
            "SubjectFromWebIdentityToken": tok.get("subject",
                                                   "system:serviceaccount:"
                                                   "moor:moor"),
            "Provider": tok.get("provider", "oidc.fakeaws.example"),
            "Audience": tok.get("audience", "sts.amazonaws.com")}


HANDLERS = {
    "GetCallerIdentity": get_caller_identity,
    "AssumeRole": assume_role,
    "AssumeRoleWithWebIdentity": assume_role_with_web_identity,
}

# Operations botocore sends unsigned (no Authorization header).
UNSIGNED = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
