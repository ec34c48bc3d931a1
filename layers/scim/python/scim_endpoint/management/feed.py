"""Reading an IdP's event feed (`GET /admin/v1/idps/{idp}/events`): oldest first, from a cursor, never another IdP's
events (the feed is one partition per IdP), resumable from any cursor it gave out."""

from __future__ import annotations

import json

from ..store.feed import decode_cursor, encode_cursor
from . import Services
from .errors import InvalidRequest
from .models import EventPage


def page(services: Services, idp_id: str, after: str | None, limit: int) -> EventPage:
    try:
        position = decode_cursor(after) if after else None
    except ValueError as error:
        raise InvalidRequest(str(error), "invalid_cursor") from None
    texts, last = services.store.feed.page(idp_id, position, limit)
    following = encode_cursor(last) if last else after
    return EventPage(events=[json.loads(text) for text in texts], next=following)
