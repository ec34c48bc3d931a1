"""API Gateway's AWS_IAM authorizer, as the local server plays it: a request to an IAM-authorized route must be
signed with SigV4 (service `execute-api`) by the local server's own credentials (LOCAL_ADMIN), within 15 minutes of
its time. Verified by signing the request again with botocore's signer, from the headers it says it signed, and
comparing signatures; what API Gateway would answer otherwise is the API's gateway response of the same type.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# The local server's fixed IAM identity: what `scim-admin --local` signs with (the signing path is exercised, not
# mocked). Not a secret: it opens the local server's management API, on 127.0.0.1, and nothing else.
LOCAL_ACCOUNT = "000000000000"
LOCAL_ADMIN_ARN = f"arn:aws:iam::{LOCAL_ACCOUNT}:user/scim-local-admin"


@dataclass(frozen=True)
class LocalCredentials:
    access_key: str = "AKIASCIMLOCALADMIN00"
    secret_key: str = "scim-local-admin-secret-not-for-aws"


LOCAL_ADMIN = LocalCredentials()
REGION = "us-east-1"  # the local server's (a request signed for another region is refused, as API Gateway does)
MAX_SKEW = dt.timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})$")


@dataclass(frozen=True)
class Verdict:
    """Who signed (the principal's ARN), or the gateway response type API Gateway would answer."""

    principal: str | None = None
    refusal: str | None = None  # MISSING_AUTHENTICATION_TOKEN, INVALID_SIGNATURE, EXPIRED_TOKEN
    access_key: str | None = None


def verify(method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes,
           credentials: LocalCredentials = LOCAL_ADMIN, now: dt.datetime | None = None) -> Verdict:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    pairs = [(name.lower(), value) for name, value in headers]
    given = dict(pairs)
    match = _AUTHORIZATION.match(given.get("authorization", ""))
    if match is None or "x-amz-date" not in given:
        return Verdict(refusal="MISSING_AUTHENTICATION_TOKEN")
    # The stack's region only (API Gateway checks the scope's region is its own), and the date of the scope the
    # date of x-amz-date.
    if match["key"] != credentials.access_key or match["service"] != "execute-api" or match["region"] != REGION \
            or not given["x-amz-date"].startswith(match["date"]):
        return Verdict(refusal="INVALID_SIGNATURE")
    try:
        signed_at = dt.datetime.strptime(given["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return Verdict(refusal="INVALID_SIGNATURE")
    if abs((now or dt.datetime.now(dt.timezone.utc)) - signed_at) > MAX_SKEW:
        return Verdict(refusal="EXPIRED_TOKEN")
    signed = match["signed"].split(";")
    names = [name for name, _ in pairs]
    # A signed header sent twice is ambiguous (which value was signed?): refused, as AWS does.
    if "host" not in signed or any(names.count(name) != 1 for name in signed) or len(set(signed)) != len(signed):
        return Verdict(refusal="INVALID_SIGNATURE")
    request = AWSRequest(method=method, url=url, data=body, headers={name: given[name] for name in signed})
    signer = SigV4Auth(Credentials(credentials.access_key, credentials.secret_key), "execute-api", match["region"])
    request.context["timestamp"] = given["x-amz-date"]
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return Verdict(refusal="INVALID_SIGNATURE")
    return Verdict(principal=LOCAL_ADMIN_ARN, access_key=credentials.access_key)


def url_of(host: str, target: str) -> str:
    parts = urlsplit(target)
    return f"http://{host}{parts.path}" + (f"?{parts.query}" if parts.query else "")
