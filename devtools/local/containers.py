"""Lambda containers as threads of one process, for the local server and the tests.

Lambda runs each container of a function in a process of its own, serving one request at a time, and the runtime
code relies on that. Here several containers of a function are threads of one process, each with its own import of
the function's module (its own resolver). Two things the runtime keeps per process must then be kept per container:

- Powertools keeps the event being resolved on the class `BaseRouter`, shared by every resolver of the process, so
  one container could route another's request: each resolver keeps its own event (a container serves one request
  at a time, so its resolver's attribute is its request's);
- the count of DynamoDB calls a request made (its log line says how many) is kept per thread.

`isolate()` does both, once; the runtime package carries no code for this.
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
    _installed = True
