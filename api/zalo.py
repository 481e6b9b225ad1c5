"""The Zalo OA channel in the API app: ``POST /zalo/webhook`` and the inbox worker beside it.

The webhook checks ``X-ZEvent-Signature`` (``mac=`` sha256 of app id + raw body + timestamp + OA secret
key) in constant time — 401 and nothing stored otherwise — ignores the OA's own ``oa_*`` echoes, stores
the event in ``zalo_inbox`` keyed by its ``msg_id`` (a re-sent event is stored once) and answers 200 at
once; the worker (:mod:`bot.zalo.worker`) runs the conversation. Ids stay strings (they overflow 64-bit
integers in some clients). Logs carry the event name only, never an id or a text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot.runtime import contact_adapter, conversation_settings
from bot.zalo.client import TokenKeeper, ZaloClient
from bot.zalo.worker import ZaloWorker
from core.config import Settings
from storage import zalo as store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


@dataclass
class ZaloChannel:
    settings: Settings
    http: aiohttp.ClientSession
    worker: ZaloWorker

    @property
    def app_id(self) -> str:
        return self.settings.zalo_app_id or ""

    def signature_ok(self, body: bytes, timestamp: str, header: str) -> bool:
        secret = self.settings.zalo_oa_secret_key
        if secret is None:
            return False
        expected = hashlib.sha256(
            self.app_id.encode() + body + timestamp.encode() + secret.get_secret_value().encode()
        ).hexdigest()
        given = header.strip()
        given = given[4:] if given.lower().startswith("mac=") else given
        return hmac.compare_digest(expected.encode(), given.strip().lower().encode())

    async def close(self) -> None:
        await self.worker.stop()
        await self.http.close()


def build_channel(settings: Settings, svc: Any) -> ZaloChannel:
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    tokens = TokenKeeper(
        sessions=svc.sessions,
        http=http,
        oauth_base=settings.zalo_oauth_base,
        app_id=settings.zalo_app_id or "",
        app_secret=settings.zalo_app_secret.get_secret_value() if settings.zalo_app_secret else "",
        clock=svc.clock,
        ahead_seconds=settings.zalo_refresh_ahead_seconds,
    )
    client = ZaloClient(http=http, tokens=tokens, api_base=settings.zalo_api_base)
    worker = ZaloWorker(
        sessions=svc.sessions,
        client=client,
        conv_settings=conversation_settings(settings),
        hash_key=settings.hash_key.get_secret_value(),
        clock=svc.clock,
        contacts=contact_adapter(settings, svc.clock),
    )
    return ZaloChannel(settings, http, worker)


def event_key(payload: dict[str, Any], event_name: str, user: str, timestamp: str) -> str:
    """``msg_id``; events without one (follow, unfollow) are keyed by name, user and time."""
    message = payload.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    return str(msg_id)[:128] if msg_id else f"{event_name}:{user}:{timestamp}"[:128]


def event_user(payload: dict[str, Any]) -> str:
    for field in ("follower", "sender"):
        value = payload.get(field)
        if isinstance(value, dict) and value.get("id"):
            return str(value["id"])[:64]
    return ""


def _event_time(timestamp: str, now: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now


async def _read_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_BODY_BYTES:
            return None
    return bytes(chunks)


def setup() -> APIRouter:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = app.state.services
        channel = build_channel(svc.settings, svc) if svc.settings.zalo_configured else None
        app.state.zalo = channel
        if channel is not None:
            channel.worker.start()
            log.info("zalo channel on")
        try:
            yield
        finally:
            if channel is not None:
                await channel.close()

    router = APIRouter(tags=["zalo"], lifespan=lifespan)

    @router.post("/zalo/webhook", include_in_schema=False)
    async def zalo_webhook(request: Request) -> JSONResponse:
        channel: ZaloChannel | None = getattr(request.app.state, "zalo", None)
        if channel is None:
            return JSONResponse({"error": "zalo_not_configured"}, status_code=503)
        body = await _read_body(request)
        if body is None:
            return JSONResponse({"error": "too_large"}, status_code=413)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        timestamp = str(payload.get("timestamp", "")) if isinstance(payload, dict) else ""
        signature = request.headers.get("x-zevent-signature", "")
        if not isinstance(payload, dict) or not channel.signature_ok(body, timestamp, signature):
            log.info("zalo webhook refused", extra={"reason": "signature"})
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if str(payload.get("app_id", "")) != channel.app_id:
            log.info("zalo webhook refused", extra={"reason": "app_id"})
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        event_name = str(payload.get("event_name", ""))[:64]
        user = event_user(payload)
        if event_name.startswith("oa_") or not user or not event_name:
            return JSONResponse({"ok": True, "ignored": True})
        svc = request.app.state.services
        now = svc.clock.now()
        async with svc.sessions() as session:
            # the user's row exists before the worker takes the event (it is locked while handled)
            await store.touch_user(session, user, now=now, interacted=False, followed=None)
            new = await store.record_event(
                session,
                msg_id=event_key(payload, event_name, user, timestamp),
                zalo_user_id=user,
                event_name=event_name,
                payload=payload,
                event_at=_event_time(timestamp, now),
                now=now,
            )
            await session.commit()
        if new:
            channel.worker.wake()
        log.info("zalo event stored" if new else "zalo event repeated", extra={"event": event_name})
        return JSONResponse({"ok": True})

    return router
