"""The web chat channel: the same citizen conversation as the bot, in a browser, served by the API app.

``GET /chat`` serves a small page (plain HTML, CSS and one script, no inline code); the script posts each
press or text to ``POST /chat/api/events`` and renders the channel-neutral replies as chat bubbles.

* Session: a random id in an HttpOnly, SameSite cookie; the respondent is the keyed hash of that id
  (``core.feedback.hash_user_id`` with ``Channel.WEB``): no account, nothing else identifies the person.
* Dialog state lives in the bot's FSM storage (``bot.runtime.build_storage``: SQL by default, Redis with
  ``REDIS_URL``) under an aiogram ``StorageKey(bot_id=0)`` whose chat id is a negative number derived from
  the session id by a keyed hash; the storage's event isolation serialises the events of one session
  (across processes with Redis).
* Protection: a CSRF token bound to the session (HMAC of the session id), an Origin check, per-session and
  per-IP sliding-window rate limits (in process, or in Redis when ``REDIS_URL`` is set), a capped request
  body, and security headers (CSP without inline scripts, nosniff, Referrer-Policy, frame-ancestors).
* Logs carry the event kind, the step and the outcome only: never a session id, an address or a text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path
from string import Template
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import error_body
from bot.fsm import bind_unit_of_work
from bot.metrics import UPDATE_ERRORS, UPDATES_HANDLED
from bot.runtime import build_storage, conversation_settings
from core.clock import Clock
from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, ConversationSettings, Event, Outcome, Reply
from core.domain import Channel
from core.feedback import hash_user_id
from core.i18n import LANGUAGES, normalize_language, t
from storage.uow import EntrypointUnitOfWork

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
COOKIE = "gopy_chat"
COOKIE_PATH = "/chat"
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
START_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TYPED_COMMAND_RE = re.compile(r"^/([A-Za-z_]{1,32})$")
COMMANDS = frozenset({"start", "menu", "cancel", "help", "language", "mydata"})
MAX_CHOICE_CHARS = 64
MAX_BODY_BYTES = 128 * 1024
WEB_KEY_OFFSET = -(1 << 60)
UI_KEYS = (
    "title",
    "heading",
    "menu",
    "language",
    "log_label",
    "input_label",
    "placeholder",
    "send",
    "sending",
    "counter",
    "over_limit",
    "you",
    "bot",
    "slow_down",
    "csrf",
    "error",
    "offline",
    "too_large",
    "buttons_hint",
    "restart_hint",
    "noscript",
    "open",
    "close",
)


class WebChatSettings(BaseSettings):
    """``GOPY_WEBCHAT_*``: rate limits, cookie lifetime and the sites allowed to embed the chat."""

    model_config = SettingsConfigDict(env_prefix="GOPY_WEBCHAT_", env_file=".env", extra="ignore")

    session_limit: int = Field(default=20, ge=1, description="events per window and session")
    ip_limit: int = Field(default=300, ge=1, description="events per window and client address")
    window_seconds: float = Field(default=20.0, gt=0)
    session_days: int = Field(default=30, ge=1)
    embed_origins: list[str] = Field(default_factory=list, description="portal origins that may embed")
    redis_prefix: str = "gopy:webchat:rl:"


# ---------------------------------------------------------------------------------------- rate limits


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count one event; return 0 when allowed, otherwise the seconds to wait."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """A sliding window per key, in this process (one worker; several workers need Redis)."""

    SWEEP_EVERY = 1000

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._hits: dict[str, deque[float]] = {}
        self._calls = 0

    async def hit(self, key: str, limit: int, window: float) -> float:
        now = self._now()
        self._calls += 1
        if self._calls % self.SWEEP_EVERY == 0:
            self._sweep(now, window)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(0.001, hits[0] + window - now)
        hits.append(now)
        return 0.0

    def _sweep(self, now: float, window: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - window]:
            del self._hits[key]

    async def close(self) -> None:
        return None


_REDIS_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
return '0'
"""


class RedisRateLimiter:
    """The same sliding window in Redis (one atomic script per event), shared by every worker."""

    def __init__(self, url: str, prefix: str = "gopy:webchat:rl:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._prefix = prefix
        self._script = self._redis.register_script(_REDIS_WINDOW)

    async def hit(self, key: str, limit: int, window: float) -> float:
        result = await self._script(
            keys=[self._prefix + key], args=[time.time(), window, limit, uuid.uuid4().hex]
        )
        wait = float(result.decode() if isinstance(result, bytes) else result)
        return max(0.001, wait) if wait > 0 else 0.0

    async def close(self) -> None:
        await self._redis.aclose()


# ---------------------------------------------------------------------------------------- the channel


@dataclass
class WebChat:
    """Runs the citizen conversation for one web session and keeps its state in the bot's storage."""

    settings: WebChatSettings
    conversation: CitizenConversation
    conv_settings: ConversationSettings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    storage: BaseStorage
    isolation: BaseEventIsolation
    limiter: RateLimiter
    hash_key: str

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.hash_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, sid: str) -> str:
        return self._mac("webchat-csrf", sid)

    def csrf_ok(self, sid: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(sid).encode(), token.encode())

    def storage_key(self, sid: str) -> StorageKey:
        # Telegram ids fit in 52 bits: below -2**60 a web key can never meet a Telegram chat's key.
        chat_id = WEB_KEY_OFFSET - int(self._mac("webchat-key", sid)[:14], 16)
        return StorageKey(bot_id=0, chat_id=chat_id, user_id=chat_id)

    async def limit(self, sid: str, ip: str) -> float:
        """Seconds to wait when this session or this address is going too fast, else 0."""
        window = self.settings.window_seconds
        wait = await self.limiter.hit("s:" + self._mac("rl", sid)[:24], self.settings.session_limit, window)
        if wait:
            return wait
        return await self.limiter.hit("ip:" + self._mac("rl", ip)[:24], self.settings.ip_limit, window)

    async def view(self, sid: str) -> dict[str, Any]:
        async with EntrypointUnitOfWork(self.sessions) as uow:
            with bind_unit_of_work(uow):
                data = await self.storage.get_data(self.storage_key(sid))
        view = data.get("view") or {}
        conv = data.get("conv") or {}
        return {
            "replies": view.get("replies", []),
            "screen": view.get("screen"),
            "notice": None,
            "lang": normalize_language(conv.get("lang")),
        }

    async def handle(self, sid: str, event: Event) -> dict[str, Any]:
        """Run one event under the session's lock, in one unit of work with its dialog state; return what to show."""
        key = self.storage_key(sid)
        async with self.isolation.lock(key), EntrypointUnitOfWork(self.sessions) as uow:
            with bind_unit_of_work(uow):
                data = await self.storage.get_data(key)
                ctx = Context(
                    uow=uow,
                    channel=Channel.WEB,
                    user_hash=hash_user_id(key=self.hash_key, channel=Channel.WEB, channel_user_id=sid),
                    now=self.clock.now(),
                    settings=self.conv_settings,
                )
                outcome = await self.conversation.handle(data.get("conv"), event, ctx)
                previous = data.get("view") or {}
                view = (
                    {"replies": [_reply_json(r) for r in outcome.replies], "screen": outcome.screen}
                    if outcome.replies
                    else previous
                )
                await self.storage.set_data(key, {"conv": outcome.state, "view": view})
            await uow.complete()
        UPDATES_HANDLED.labels(channel="web", kind=event.kind).inc()
        return _outcome_json(outcome)

    async def close(self) -> None:
        await self.limiter.close()
        await self.storage.close()
        await self.isolation.close()


def _reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "choices": [[{"label": c.label, "data": c.data} for c in row] for row in reply.choices],
        "expects_text": reply.expects_text,
        "max_length": reply.max_length,
        "used_length": reply.used_length,
    }


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "replies": [_reply_json(r) for r in outcome.replies],
        "screen": outcome.screen,
        "notice": outcome.notice,
        "lang": normalize_language(outcome.state.get("lang")),
    }


class EventIn(BaseModel):
    """What the page posts: a typed text, a pressed choice (with its screen), or a command."""

    kind: Literal["text", "choice", "command"]
    value: str = Field(max_length=60_000)
    screen: int | None = Field(default=None, ge=0, le=10**9)
    args: str = Field(default="", max_length=64)

    def to_event(self, max_text: int) -> Event | None:
        """The conversation event, or None when the input cannot come from the page."""
        if self.kind == "text":
            typed = TYPED_COMMAND_RE.match(self.value.strip())
            if typed and typed.group(1).lower() in COMMANDS:
                return Event.command(typed.group(1).lower())  # "/mydata" typed in the box, as in Telegram
            return Event.text(self.value) if len(self.value) <= max_text else None
        if self.kind == "choice":
            ok = 0 < len(self.value) <= MAX_CHOICE_CHARS and self.value.isprintable()
            return Event.choice(self.value, self.screen) if ok else None
        if self.value not in COMMANDS:
            return None
        if self.args and (self.value != "start" or not START_RE.match(self.args)):
            return None
        return Event.command(self.value, self.args)


# ---------------------------------------------------------------------------------------- HTTP layer


def _static(name: str) -> tuple[bytes, str]:
    body = (HERE / "static" / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:12]


STATIC_TYPES = {"chat.css": "text/css; charset=utf-8", "chat.js": "text/javascript; charset=utf-8"}
STATIC = {name: _static(name) for name in STATIC_TYPES}
EMBED_JS = (HERE / "static" / "embed.js").read_text(encoding="utf-8")
PAGE = Template((HERE / "templates" / "chat.html").read_text(encoding="utf-8"))


def security_headers(response: Response, settings: WebChatSettings) -> None:
    ancestors = " ".join(["'self'", *settings.embed_origins])
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")


class SecureRoute(APIRoute):
    """Every response of the web chat carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            security_headers(response, _chat(request).settings)
            return response

        return secured


def _chat(request: Request) -> WebChat:
    return request.app.state.webchat  # type: ignore[no-any-return]


def _session(request: Request) -> str | None:
    sid = request.cookies.get(COOKIE, "")
    return sid if SESSION_RE.match(sid) else None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _error(status: int, code: str, *, retry_after: float | None = None, **params: Any) -> JSONResponse:
    """The API's error shape: ``{"error": {"code", "message_vi", "message_en", ...}}``."""
    extra: dict[str, Any] = {}
    headers = {}
    if retry_after is not None:
        extra["retry_after"] = math.ceil(retry_after)
        headers["Retry-After"] = str(math.ceil(retry_after))
    return JSONResponse(error_body(f"webchat.{code}", params, **extra), status_code=status, headers=headers)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


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


def ui_strings() -> dict[str, dict[str, str]]:
    return {lang: {k: t(f"webchat.{k}", lang) for k in UI_KEYS} for lang in LANGUAGES}


def setup() -> APIRouter:
    """The router of the web chat; its lifespan builds the channel once the app's services exist."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = app.state.services
        settings = svc.settings
        storage, isolation = build_storage(settings, svc.sessions, svc.clock)
        web_settings = WebChatSettings()
        limiter: RateLimiter = (
            RedisRateLimiter(settings.redis_url, web_settings.redis_prefix)
            if settings.redis_url
            else MemoryRateLimiter()
        )
        chat = WebChat(
            settings=web_settings,
            conversation=CitizenConversation(),
            conv_settings=conversation_settings(settings),
            sessions=svc.sessions,
            clock=svc.clock,
            storage=storage,
            isolation=isolation,
            limiter=limiter,
            hash_key=settings.hash_key.get_secret_value(),
        )
        app.state.webchat = chat
        try:
            yield
        finally:
            await chat.close()

    router = APIRouter(tags=["web chat"], route_class=SecureRoute, lifespan=lifespan)

    @router.get("/chat", include_in_schema=False)
    async def chat_page(request: Request) -> Response:
        """The chat page; starts a session (cookie) when there is none."""
        chat = _chat(request)
        sid = _session(request)
        fresh = sid is None
        if sid is None:
            sid = secrets.token_urlsafe(32)
        lang = "vi" if fresh else (await chat.view(sid))["lang"]
        ui = ui_strings()
        page = PAGE.substitute(
            lang=lang,
            csrf_token=chat.csrf_token(sid),
            css=f"/chat/static/chat.css?v={STATIC['chat.css'][1]}",
            js=f"/chat/static/chat.js?v={STATIC['chat.js'][1]}",
            ui_json=json.dumps(ui, ensure_ascii=False).replace("<", "\\u003c"),
            **{k: _html(v) for k, v in ui[lang].items()},
        )
        response = Response(page, media_type="text/html; charset=utf-8")
        embeddable = bool(chat.settings.embed_origins)
        response.set_cookie(
            COOKIE,
            sid,
            max_age=chat.settings.session_days * 86400,
            path=COOKIE_PATH,
            httponly=True,
            secure=embeddable or request.url.scheme == "https",
            samesite="none" if embeddable else "lax",
        )
        return response

    @router.get("/chat/static/{name}", include_in_schema=False)
    async def chat_static(name: str) -> Response:
        if name not in STATIC:
            return Response(status_code=404)
        body, _digest = STATIC[name]
        return Response(
            body, media_type=STATIC_TYPES[name], headers={"Cache-Control": "public, max-age=86400"}
        )

    @router.get("/chat/embed.js", include_in_schema=False)
    async def chat_embed(request: Request) -> Response:
        """A snippet a portal can paste: a button that opens the chat in a frame."""
        base = str(request.base_url).rstrip("/")
        ui = ui_strings()
        body = (
            EMBED_JS.replace("__GOPY_CHAT_URL__", json.dumps(base + "/chat"))
            .replace("__GOPY_OPEN__", json.dumps(ui["vi"]["open"]))
            .replace("__GOPY_CLOSE__", json.dumps(ui["vi"]["close"]))
        )
        return Response(
            body,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600", "Cross-Origin-Resource-Policy": "cross-origin"},
        )

    @router.get("/chat/api/history")
    async def chat_history(request: Request) -> JSONResponse:
        """The last screen of this session (after a reload or a server restart)."""
        sid = _session(request)
        if sid is None:
            return JSONResponse({"replies": [], "screen": None, "notice": None, "lang": "vi"})
        return JSONResponse(await _chat(request).view(sid))

    @router.post("/chat/api/events")
    async def chat_event(request: Request) -> JSONResponse:
        """One press, text or command of the person; answers with the replies to show."""
        chat = _chat(request)
        sid = _session(request)
        if sid is None:
            return _error(403, "csrf")
        if not chat.csrf_ok(sid, request.headers.get("x-csrf-token", "")) or not _same_origin(request):
            log.info("web chat refused", extra={"reason": "csrf"})
            return _error(403, "csrf")
        wait = await chat.limit(sid, _client_ip(request))
        if wait:
            log.info("web chat refused", extra={"reason": "rate_limited"})
            return _error(429, "slow_down", retry_after=wait, seconds=math.ceil(wait))
        body = await _read_body(request)
        if body is None:
            return _error(413, "too_large")
        try:
            event = EventIn.model_validate_json(body).to_event(2 * chat.conv_settings.max_text_length)
        except ValidationError:
            event = None
        if event is None:
            return _error(400, "error")
        try:
            result = await chat.handle(sid, event)
        except Exception:
            UPDATE_ERRORS.labels(channel="web").inc()
            log.exception("web chat event failed", extra={"kind": event.kind})
            return _error(500, "error")
        return JSONResponse(result)

    return router


def _html(value: str) -> str:
    return escape(value, quote=True)
