"""Context of the log records: the id of the HTTP request or the chat update being handled.

The API's request middleware sets ``request_id`` and the bot's update middleware ``update_id``; the log
set-up (``cli.logs``) adds them to every record emitted meanwhile, in the text and the JSON format.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("gopy_request_id", default=None)
update_id: ContextVar[int | None] = ContextVar("gopy_update_id", default=None)


def current() -> dict[str, str | int]:
    """The ids set in this context (none, one or both)."""
    found: dict[str, str | int] = {}
    if (rid := request_id.get()) is not None:
        found["request_id"] = rid
    if (uid := update_id.get()) is not None:
        found["update_id"] = uid
    return found
