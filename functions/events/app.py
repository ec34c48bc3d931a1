"""The table stream's events consumer: every committed provisioning change becomes an event, written to its IdP's
feed and published on the stack's EventBridge bus (scim_endpoint.events). It reports the batch's first record when
the feed cannot be written, so Lambda retries the batch; events EventBridge refuses are dead-lettered."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from scim_endpoint.events import consumer
from scim_endpoint.management import services
from scim_endpoint.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer.handle_records(services(), event.get("Records", []))
