"""Lambda containers as threads of one process, for the local server and the tests.

Lambda runs each container of a function in a process of its own, serving one request at a time, and the runtime
code relies on that. Here several containers of a function are threads of one process, each with its own import of
the function's module (its own resolver). Two things the runtime keeps per process must then be kept per container:

- Powertools keeps the event being resolved on the class `BaseRouter`, shared by every resolver of the process, so
  one container could route another's request: each resolver keeps its own event (a container serves one request
  at a time, so its resolver's attribute is its request's);
- the count of DynamoDB calls a request made (its log line says how many) is kept per thread;
- Powertools' metrics are one set per process, flushed at the end of each invocation: adding to the set and
  flushing it take one lock, so one container's flush never meets another's half-made set (its metrics may go out
  in another container's flush, which changes no total);
- Powertools' Logger keeps its keys (`idp_id`, `principal`, the Lambda context, the correlation id) on its one
  formatter: they are kept per thread, so one container's `clear_state` or keys never reach another's lines (a
  request's audit line keeps its own principal while the stream's consumer starts in another thread).

`isolate()` does these, once; the runtime package carries no code for this.
"""

from __future__ import annotations

import threading
from typing import Any

_installed = False


def isolate() -> None:
    global _installed
    if _installed:
        return
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    from scim_endpoint import observability

    shared_resolve = ApiGatewayResolver.resolve

    def resolve(self: Any, event: Any, context: Any) -> Any:
        self.current_event = self._to_proxy_event(event)
        self.lambda_context = context
        return shared_resolve(self, event, context)

    ApiGatewayResolver.resolve = resolve  # type: ignore[method-assign]
    observability._calls = threading.local()
    _serialize_metrics()
    _thread_local_log_keys()
    _installed = True


def _thread_local_log_keys() -> None:
    """The formatter's `log_format` (the keys every line carries) per thread: each thread starts from the keys the
    formatter was built with, as a fresh Lambda process does."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    local = threading.local()
    built = LambdaPowertoolsFormatter.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        built(self, *args, **kwargs)
        self.__dict__["_built_log_format"] = dict(self.log_format)

    def get(self: Any) -> dict:
        formats = local.__dict__.setdefault("formats", {})
        if id(self) not in formats:
            # A formatter built before this patch keeps its keys in its own dict: that is where threads start from.
            built = self.__dict__.setdefault("_built_log_format", dict(self.__dict__.get("log_format", {})))
            formats[id(self)] = dict(built)
        return formats[id(self)]

    def set_(self: Any, value: dict) -> None:
        local.__dict__.setdefault("formats", {})[id(self)] = value

    LambdaPowertoolsFormatter.__init__ = init  # type: ignore[method-assign]
    LambdaPowertoolsFormatter.log_format = property(get, set_)  # type: ignore[attr-defined]


def _serialize_metrics() -> None:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    lock = threading.RLock()
    for name in ("add_metric", "flush_metrics", "clear_metrics"):
        shared = getattr(AmazonCloudWatchEMFProvider, name)

        def locked(self: Any, *args: Any, _shared: Any = shared, **kwargs: Any) -> Any:
            with lock:
                return _shared(self, *args, **kwargs)

        setattr(AmazonCloudWatchEMFProvider, name, locked)
