"""The management API's background jobs, from the jobs queue: an IdP's erasure, a large export. One message at a
time; a job that needs longer than one invocation queues its own continuation, and a job that fails is received
again a minute later (after a few attempts, the message goes to the jobs dead-letter queue)."""

import json

from aws_lambda_powertools.utilities.typing import LambdaContext

from scim_endpoint.management import erasure, export, services
from scim_endpoint.observability import logger, metrics, tracer

# What a step may use of an invocation before it queues the rest (the function's timeout is longer).
STEP_SECONDS = 8 * 60
# A failed job is received again after this (its next attempt), up to the queue's maxReceiveCount.
RETRY_SECONDS = 60


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    failures = []
    for record in event.get("Records", []):
        try:
            job = json.loads(record["body"])
            logger.append_keys(idp_id=job.get("idp_id"), job=job.get("job"))
            if job.get("job") == erasure.ERASE_JOB:
                erasure.erase_step(services(), job["idp_id"], STEP_SECONDS)
            elif job.get("job") == erasure.FEED_SWEEP_JOB:
                erasure.sweep_feed(services(), job["idp_id"])
            elif job.get("job") == export.EXPORT_JOB:
                export.run(services(), job["idp_id"], job["export_id"], STEP_SECONDS)
            else:
                logger.error("a message that names no job")
        except Exception:
            logger.exception("a job failed")
            failures.append({"itemIdentifier": record.get("messageId")})
            _retry_soon(record)
    return {"batchItemFailures": failures}


def _retry_soon(record: dict) -> None:
    try:
        services().jobs.retry_after(record["receiptHandle"], RETRY_SECONDS)
    except Exception:  # then it is received again after the queue's visibility timeout
        logger.warning("could not shorten a failed job's wait")
