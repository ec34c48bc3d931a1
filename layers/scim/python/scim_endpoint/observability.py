"""Logger, Tracer and Metrics, created once and shared by every function, and the names of what they count.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, set once in
the template's Globals (and by the local server), so code and dashboards cannot disagree on them.
"""

import os
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled


def tracing_on() -> bool:
    """Whether this environment traces: Powertools would (not disabled by POWERTOOLS_TRACE_DISABLED, in Lambda, not
    under `sam local`), and the function has X-Ray tracing on (Lambda gives it the daemon's address only then)."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")
    return not disabled and in_lambda and bool(os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))


class _NoTracer:
    """What the functions use of Powertools' Tracer, doing nothing: Powertools' Tracer imports the X-Ray SDK even when
    tracing is off, and an environment that does not trace never imports it (docs/performance.md has the figures)."""

    @staticmethod
    def capture_lambda_handler(lambda_handler: Any = None, capture_response: bool | None = None,
                               capture_error: bool | None = None) -> Any:
        return lambda_handler if lambda_handler is not None else (lambda handler: handler)


logger = Logger()
# Only the AWS SDK is patched: every call out of a function is an AWS call, and patching every library X-Ray knows
# (Powertools' default) costs a cold start more for nothing.
tracer: Any = Tracer(patch_modules=("botocore",)) if tracing_on() else _NoTracer()
metrics = Metrics()

# A read that succeeds publishes no metric of ours; Powertools would warn about that on every warm container.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# Every metric the functions emit, and what it counts. The dashboard and alarms in template.yaml name these, and a
# test holds the two in step. No per-tenant dimensions (cost and cardinality): tenants are told apart in the logs.
METRICS = {
    "UsersCreated": "users created (POST /Users)",
    "UsersUpdated": "users changed by PUT or PATCH",
    "UsersDeactivated": "users whose active went from true to false (how Entra disables)",
    "UsersReactivated": "users whose active went from false to true",
    "UsersDeleted": "users deleted",
    "GroupsCreated": "groups created",
    "GroupsUpdated": "groups whose own attributes changed (PUT, PATCH)",
    "GroupsRenamed": "groups whose displayName changed",
    "GroupsDeleted": "groups deleted",
    "MembersAdded": "memberships written by POST, PUT or PATCH of groups",
    "MembersRemoved": "memberships removed by PUT or PATCH of groups",
    "BadRequests": "requests answered 400 (invalid filter, value, syntax, path)",
    "AuthenticationFailures": "requests answered 401 (missing, unknown, revoked or another IdP's token)",
    "ForbiddenRequests": "requests answered 403 (the key lacks the privilege)",
    "NotFound": "requests answered 404",
    "Conflicts": "requests answered 409 (userName, displayName or externalId taken)",
    "PreconditionFailures": "requests answered 412 (If-Match names another version)",
    "ThrottledRequests": "requests answered 429 (DynamoDB throttling, or a change that kept losing races)",
    "ServerErrors": "requests answered 5xx by the functions (500: a bug; 503: a dependency unreachable)",
    "KeyStoreUnavailable": "requests refused because Secrets Manager could not be read (503)",
    "EventsPublished": "change events EventBridge accepted (the stream's events consumer)",
    "EventsFailed": "change events EventBridge refused on a first attempt (retried)",
    "EventsDeadLettered": "change events EventBridge still refused after retries, sent to the events dead-letter queue",
}
# Milliseconds per request, with the dimension `Operation` ("PATCH /Groups/{id}"): API Gateway's latency metrics
# cannot tell the SCIM operations apart.
OPERATION_LATENCY = "OperationLatency"

_BY_STATUS = {400: "BadRequests", 401: "AuthenticationFailures", 403: "ForbiddenRequests", 404: "NotFound",
              409: "Conflicts", 412: "PreconditionFailures", 429: "ThrottledRequests"}


class _Calls:
    """AWS calls made so far by this process (a Lambda container serves one request at a time, so the difference
    across a request is that request's cost)."""

    dynamodb = 0


_calls: Any = _Calls()


def dynamodb_call() -> None:
    """Called by the store for each DynamoDB call it makes."""
    _calls.dynamodb = getattr(_calls, "dynamodb", 0) + 1


def dynamodb_calls() -> int:
    return getattr(_calls, "dynamodb", 0)


def count(name: str, value: int = 1) -> None:
    if name not in METRICS:
        raise KeyError(f"{name} is not in observability.METRICS")
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_outcome(status: int) -> None:
    """The metric of a request's status, when it is one we count."""
    if status >= 500:
        count("ServerErrors")
    elif status in _BY_STATUS:
        count(_BY_STATUS[status])


def operation_latency(operation: str, milliseconds: float) -> None:
    if is_metrics_disabled():  # single_metric does not ask, unlike `metrics`
        return
    with single_metric(name=OPERATION_LATENCY, unit=MetricUnit.Milliseconds, value=milliseconds,
                       default_dimensions=metrics.default_dimensions) as metric:
        metric.add_dimension(name="Operation", value=operation)


def record_change(resource_type: str, resource_id: str, before: dict | None, after: dict | None) -> None:
    """Add to this request's log line what it changed — the provisioning activity trail (docs/operations.md): the
    resource and the names of the attributes that changed, never their values (they hold personal data)."""
    logger.append_keys(resource_type=resource_type, resource_id=resource_id,
                       attributes_changed=",".join(changed_attributes(before or {}, after or {})))


def record_members(group_id: str, added: int, removed: int) -> None:
    logger.append_keys(resource_type="Group", resource_id=group_id, members_added=added, members_removed=removed)


def changed_attributes(before: dict, after: dict) -> list[str]:
    """Names of the attributes that differ (a resource as kept, or as shown: `schemas`, `id` and `meta` are not
    attributes a client changes); an extension's as `<urn>:<attribute>`."""
    names = []
    for key in sorted((set(before) | set(after)) - {"schemas", "id", "meta"}, key=str.lower):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key.startswith("urn:") and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            old, new = old or {}, new or {}
            names += [f"{key}:{sub}" for sub in sorted(set(old) | set(new), key=str.lower) if old.get(sub) != new.get(sub)]
        else:
            names.append(key)
    return names
