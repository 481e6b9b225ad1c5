"""The request middleware of the API: a request id for every log record of the request, one log line
per request (method, route template, status, duration; never an address, a query or a body)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import logcontext

log = logging.getLogger("api.request")
HEADER = "X-Request-ID"
INCOMING_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Set ``core.logcontext.request_id`` (a proxy's ``X-Request-ID`` when well formed, else a new id),
    echo it in the response, and log the request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(HEADER, "")
        request_id = incoming if INCOMING_RE.match(incoming) else uuid.uuid4().hex
        token = logcontext.request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            self._log(scope, 500, started)
            raise  # the id stays set, so the error handler's record carries it too
        self._log(scope, status, started)
        logcontext.request_id.reset(token)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "route": route_of(scope),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )


def route_of(scope: Scope) -> str:
    """The matched path with each path parameter's value put back as ``{name}``; ``unmatched`` for a 404."""
    if scope.get("endpoint") is None:
        return "unmatched"
    params = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    segments = str(scope.get("path", "")).split("/")
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in segments)
