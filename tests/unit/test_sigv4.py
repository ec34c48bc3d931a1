"""The local server's SigV4 check of management requests (devtools/local/sigv4.py), as API Gateway's AWS_IAM
authorizer answers: who signed, or the refusal."""

from __future__ import annotations

import datetime as dt

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from devtools.local import sigv4

URL = "http://127.0.0.1:3000/admin/v1/idps?limit=2"


def signed(region: str = "us-east-1", secret: str = sigv4.LOCAL_ADMIN.secret_key, body: bytes = b"") -> list:
    request = AWSRequest(method="POST", url=URL, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(sigv4.LOCAL_ADMIN.access_key, secret), "execute-api", region).add_auth(request)
    return list(request.headers.items()) + [("Host", "127.0.0.1:3000")]


def test_a_request_signed_with_the_local_credentials_names_its_principal() -> None:
    verdict = sigv4.verify("POST", URL, signed(body=b"{}"), b"{}")
    assert verdict.principal == sigv4.LOCAL_ADMIN_ARN and verdict.refusal is None


def test_refusals() -> None:
    headers = signed(body=b"{}")
    assert sigv4.verify("POST", URL, headers, b"{ }").refusal == "INVALID_SIGNATURE"  # the body changed
    assert sigv4.verify("POST", URL, signed(region="eu-west-1", body=b"{}"), b"{}").refusal == "INVALID_SIGNATURE"
    assert sigv4.verify("POST", URL, signed(secret="wrong", body=b"{}"), b"{}").refusal == "INVALID_SIGNATURE"
    # A signed header sent twice: which value was signed is ambiguous.
    twice = headers + [("content-type", "application/json")]
    assert sigv4.verify("POST", URL, twice, b"{}").refusal == "INVALID_SIGNATURE"
    assert sigv4.verify("POST", URL, [("Host", "127.0.0.1:3000")], b"{}").refusal == "MISSING_AUTHENTICATION_TOKEN"
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16)
    assert sigv4.verify("POST", URL, headers, b"{}", now=later).refusal == "EXPIRED_TOKEN"
