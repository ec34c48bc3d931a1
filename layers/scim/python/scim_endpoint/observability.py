"""Logger, Tracer and Metrics, created once and shared by every function.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, set once in
the template's Globals (and by the local server), so code and dashboards cannot disagree on them.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
