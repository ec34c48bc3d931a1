"""The table stream's consumer: the memberships of removed groups and users, and memberships whose user or group is
gone (scim_endpoint.cleanup). It reports the first record it could not handle, so Lambda retries from there."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from scim_endpoint import cleanup
from scim_endpoint.observability import logger, metrics, tracer
from scim_endpoint.store import store


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    summary = cleanup.handle_records(store(), event.get("Records", []))
    return {"batchItemFailures": summary["batchItemFailures"]}
