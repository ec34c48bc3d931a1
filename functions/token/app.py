"""The OAuth 2.0 token endpoint, POST /v1/oauth2/token: the client credentials grant for the IdPs' OAuth clients
(scim_endpoint.oauth), answering a signed access token for the client's Tenant URL."""

import base64
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from scim_endpoint import api, oauth, observability, snapstart
from scim_endpoint.management import services
from scim_endpoint.observability import logger, metrics, tracer
from scim_endpoint.scim.errors import ScimError
from scim_endpoint.tenants import key_cache, signing_keys

snapstart.register()  # under SnapStart, a restored environment makes its own AWS clients


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = APIGatewayProxyEvent(event)
    found = services()
    authenticate = oauth.client_authenticator(found.store.registry, found.directory, key_cache())
    try:
        response = oauth.handle({"method": request.http_method, "content_type": request.headers.get("Content-Type"),
                                 "authorization": request.headers.get("Authorization"), "body": _body(request),
                                 "source_ip": request.request_context.identity.source_ip},
                                authenticate, lambda: signing_keys().signing(), api.base_url(request))
    except ScimError as error:  # Secrets Manager or DynamoDB away or throttling, keys mid-change: retry
        status = error.status if error.status in (429, 503) else 500
        if status == 500:
            logger.exception("unhandled error")
        response = oauth.OAuthError("temporarily_unavailable" if status != 500 else "server_error", error.detail,
                                    status, {"Retry-After": error.headers.get("Retry-After", "1")}).response()
    except Exception:
        logger.exception("unhandled error")
        response = oauth.OAuthError("server_error", "Internal error.", 500).response()
    observability.count_outcome(response["statusCode"])  # 401s count as authentication failures, 5xx as errors
    logger.info("request handled", extra={"http_method": request.http_method, "route": request.resource,
                                          "status": response["statusCode"]})
    return response


def _body(request: Any) -> str:
    body = request.body or ""
    if request.is_base64_encoded:
        try:
            return base64.b64decode(body).decode()
        except ValueError:  # not base64, or not UTF-8
            return "\x00"  # not form-encoded text: refused as such
    return body
