"""The fake's SigV4 verifier against the official vectors and botocore's signer."""

import datetime
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sigv4  # noqa: E402

# One copy of the official vectors serves the product and the fake.
VECTORS = os.path.join(HERE, "..", "data", "sigv4")
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = ("6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf"
                 "194267")


def parse_raw_request(text):
    """Split a raw HTTP request as written in the vector files.

    Header continuation lines (leading whitespace) are folded into the
    previous header with a single space, as the multiline vector requires.
    """
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    first = lines[0]
    method, rest = first.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return method, path, query, headers, body.encode("utf-8")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def classic_cases():
    cases = []
    for root, _dirs, files in os.walk(VECTORS):
        if "aws-c-auth-v4" in root:
            continue
        name = os.path.basename(root)
        if name + ".req" in files:
            cases.append((name, root))
    return sorted(cases)


def header_value(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v.strip()
    return None


class ClassicVectors(unittest.TestCase):
    def test_case_count(self):
        self.assertEqual(len(classic_cases()), 34)

    def test_canonical_request_string_to_sign_and_authorization(self):
        for name, root in classic_cases():
            with self.subTest(case=name):
                base = os.path.join(root, name)
                method, path, query, headers, body = parse_raw_request(
                    read(base + ".req"))
                if name == "get-vanilla-with-session-token":
                    headers.append(("X-Amz-Security-Token", SESSION_TOKEN))
                expected_authz = read(base + ".authz")
                auth = sigv4.parse_authorization(expected_authz)
                import hashlib
                creq, sts, sig = sigv4.compute(
                    method, path, query, headers, auth, SECRET,
                    hashlib.sha256(body).hexdigest(),
                    header_value(headers, "x-amz-date"))
                self.assertEqual(creq, read(base + ".creq"))
                self.assertEqual(sts, read(base + ".sts"))
                self.assertEqual(
                    sigv4.authorization_header("AKIDEXAMPLE", auth["scope"],
                                               auth["signed_headers"], sig),
                    expected_authz)

    def test_signed_requests_verify(self):
        # The .sreq files are complete signed requests: verifying them is
        # exactly what the server does with an incoming request.
        import hashlib
        for name, root in classic_cases():
            with self.subTest(case=name):
                base = os.path.join(root, name)
                method, path, query, headers, body = parse_raw_request(
                    read(base + ".sreq"))
                authz = header_value(headers, "authorization")
                if authz != read(base + ".authz"):
                    # This one .sreq carries a garbled signature (a rotation
                    # of the token); its .authz is right and is checked above.
                    self.assertEqual(name, "get-vanilla-with-session-token")
                    authz = read(base + ".authz")
                auth = sigv4.parse_authorization(authz)
                _c, _s, sig = sigv4.compute(
                    method, path, query, headers, auth, SECRET,
                    hashlib.sha256(body).hexdigest(),
                    header_value(headers, "x-amz-date"))
                self.assertTrue(sigv4.signatures_equal(sig, auth["signature"]))
                _c, _s, bad = sigv4.compute(
                    method, path, query, headers, auth, SECRET + "x",
                    hashlib.sha256(body).hexdigest(),
                    header_value(headers, "x-amz-date"))
                self.assertFalse(sigv4.signatures_equal(bad, auth["signature"]))


class AwsCAuthVectors(unittest.TestCase):
    def cases(self):
        root = os.path.join(VECTORS, "aws-c-auth-v4")
        return sorted(d for d in os.listdir(root)
                      if os.path.isdir(os.path.join(root, d)))

    def test_case_count(self):
        self.assertEqual(len(self.cases()), 38)

    def test_header_signing(self):
        import hashlib
        root = os.path.join(VECTORS, "aws-c-auth-v4")
        for name in self.cases():
            with self.subTest(case=name):
                d = os.path.join(root, name)
                ctx = json.loads(read(os.path.join(d, "context.json")))
                method, path, query, headers, body = parse_raw_request(
                    read(os.path.join(d, "header-signed-request.txt")))
                auth = sigv4.parse_authorization(
                    header_value(headers, "authorization"))
                payload = header_value(headers, "x-amz-content-sha256") or \
                    hashlib.sha256(body).hexdigest()
                ts = datetime.datetime.strptime(ctx["timestamp"],
                                                "%Y-%m-%dT%H:%M:%SZ")
                creq, sts, sig = sigv4.compute(
                    method, path, query, headers, auth,
                    ctx["credentials"]["secret_access_key"], payload,
                    ts.strftime("%Y%m%dT%H%M%SZ"), ctx["normalize"])
                self.assertEqual(
                    creq, read(os.path.join(d, "header-canonical-request.txt")))
                self.assertEqual(
                    sts, read(os.path.join(d, "header-string-to-sign.txt")))
                self.assertEqual(
                    sig, read(os.path.join(d, "header-signature.txt")).strip())
                self.assertEqual(sig, auth["signature"])


class AuthorizationParsing(unittest.TestCase):
    def test_missing_parts(self):
        with self.assertRaises(sigv4.SigError) as cm:
            sigv4.parse_authorization(
                "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/ec2/aws4_request")
        self.assertIn("'Signature'", str(cm.exception))
        self.assertIn("'SignedHeaders'", str(cm.exception))

    def test_bad_terminator(self):
        with self.assertRaises(sigv4.SigError) as cm:
            sigv4.parse_authorization(
                "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/ec2/aws5, "
                "SignedHeaders=host, Signature=00")
        self.assertIn("aws4_request", str(cm.exception))

    def test_other_algorithm(self):
        with self.assertRaises(sigv4.SigError):
            sigv4.parse_authorization("AWS3 foo=bar")

    def test_dot_segments(self):
        self.assertEqual(sigv4.remove_dot_segments("/a/b/../c/./d"), "/a/c/d")
        self.assertEqual(sigv4.remove_dot_segments("//a//"), "/a/")
        self.assertEqual(sigv4.remove_dot_segments("/a/."), "/a/")
        self.assertEqual(sigv4.remove_dot_segments(""), "/")


class BotocoreSigner(unittest.TestCase):
    """Requests signed by botocore's own SigV4Auth verify with our code."""

    def sign_and_verify(self, body, token=None, service="ec2"):
        import hashlib
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        creds = Credentials("AKIDEXAMPLE", SECRET, token)
        req = AWSRequest(method="POST", url="http://127.0.0.1:8080/",
                         data=body, headers={
                             "Content-Type": "application/x-www-form-urlencoded;"
                                             " charset=utf-8"})
        SigV4Auth(creds, service, "eu-west-3").add_auth(req)
        prepared = req.prepare()
        headers = list(prepared.headers.items())
        headers.append(("Host", "127.0.0.1:8080"))
        auth = sigv4.parse_authorization(prepared.headers["Authorization"])
        self.assertEqual(auth["service"], service)
        self.assertEqual(auth["region"], "eu-west-3")
        if token:
            self.assertIn("x-amz-security-token", auth["signed_headers"])
        _c, _s, sig = sigv4.compute(
            "POST", "/", "", headers, auth, SECRET,
            hashlib.sha256(body.encode()).hexdigest(),
            prepared.headers["X-Amz-Date"])
        return sig == auth["signature"]

    def test_query_body(self):
        self.assertTrue(self.sign_and_verify(
            "Action=DescribeInstances&Version=2016-11-15&"
            "Filter.1.Name=tag%3Arole&Filter.1.Value.1=web"))

    def test_session_token(self):
        self.assertTrue(self.sign_and_verify(
            "Action=GetCallerIdentity&Version=2011-06-15", token="tok/+=",
            service="sts"))

    def test_tampered_body_fails(self):
        import hashlib
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method="POST", url="http://127.0.0.1:8080/",
                         data="Action=A", headers={})
        SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "ec2",
                  "us-east-1").add_auth(req)
        p = req.prepare()
        headers = list(p.headers.items()) + [("Host", "127.0.0.1:8080")]
        auth = sigv4.parse_authorization(p.headers["Authorization"])
        _c, _s, sig = sigv4.compute(
            "POST", "/", "", headers, auth, SECRET,
            hashlib.sha256(b"Action=B").hexdigest(), p.headers["X-Amz-Date"])
        self.assertNotEqual(sig, auth["signature"])


if __name__ == "__main__":
    unittest.main()
