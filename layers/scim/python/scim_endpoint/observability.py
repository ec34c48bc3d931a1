"""Logger, Tracer and Metrics, created once and shared by every function.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, set once in
the template's Globals (and by the local server), so code and dashboards cannot disagree on them.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# A read that succeeds publishes no metric of ours; Powertools would warn about that on every warm container.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# Outcomes counted by the functions (no per-tenant dimensions: tenants are told apart in the logs).
AUTHENTICATION_FAILURES = "AuthenticationFailures"
FORBIDDEN = "ForbiddenRequests"
KEY_STORE_UNAVAILABLE = "KeyStoreUnavailable"
SERVER_ERRORS = "ServerErrors"


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
