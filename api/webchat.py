"""The web chat channel: the same citizen conversation as the bot, in a browser, served by the API app.

``GET /chat`` serves a small page (plain HTML, CSS and one script, no inline code); the script posts each
press or text to ``POST /chat/api/events`` and renders the channel-neutral replies as chat bubbles.

* Session: an id issued only by the server (``secrets``, signed with the hash key) in an HttpOnly,
  SameSite cookie; an id the client made up is never adopted (the page replaces it, the API refuses it).
  When the person consents the id is rotated: the state moves to a new id and the old one is revoked, so
  an id planted in a browser before consent (session fixation) never reaches what the person gives.
  The respondent is the keyed hash (``core.feedback.hash_user_id`` with ``Channel.WEB``) of a random
  subject kept in the session's state and never sent to the browser: no account, nothing else
  identifies the person, and the respondent stays the same across rotations.
* Dialog state lives in the bot's FSM storage (``bot.runtime.build_storage``: SQL by default, Redis with
  ``REDIS_URL``) under an aiogram ``StorageKey(bot_id=0)`` whose chat id is a negative number derived from
  the session id by a keyed hash; the storage's event isolation serialises the events of one session
  (across processes with Redis).
* Protection: a CSRF token bound to the session (HMAC of the session id), an Origin check, per-session and
  per-IP moving-window rate limits (``storage.ratelimit``: in process, or in Redis when ``REDIS_URL`` is
  set), a capped request body, and security headers (CSP without inline scripts, nosniff,
  Referrer-Policy, frame-ancestors).
* Logs carry the event kind, the step and the outcome only: never a session id, an address or a text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from html import escape
from pathlib import Path
from string import Template
from typing import Any, Literal
from urllib.parse import urlsplit

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.fsm.storage.redis import DEFAULT_REDIS_LOCK_KWARGS, RedisEventIsolation, RedisStorage
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.exceptions import LockNotOwnedError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import error_body
from api.webchat_identity import Identity, add_identity_routes
from bot.fsm import SqlStorage, bind_unit_of_work
from bot.runtime import build_storage, conversation_settings
from core.clock import Clock
from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, ConversationSettings, Event, Outcome, Reply
from core.domain import Channel
from core.feedback import hash_user_id
from core.i18n import LANGUAGES, normalize_language, t
from storage.ratelimit import RateLimits, Windows
from storage.uow import EntrypointUnitOfWork
from telemetry.metrics import UPDATE_ERRORS, UPDATES_HANDLED

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
COOKIE = "gopy_chat"
COOKIE_PATH = "/chat"
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{43}\.[0-9a-f]{32}$")  # random part "." its signature
START_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TYPED_COMMAND_RE = re.compile(r"^/([A-Za-z_]{1,32})$")
COMMANDS = frozenset({"start", "menu", "cancel", "help", "language", "mydata", "privacy"})
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
    "privacy_link",
)
#: UI strings that name the issuing body (``{org}``)
ORG_KEYS = ("title",)


class WebChatSettings(BaseSettings):
    """``GOPY_WEBCHAT_*``: rate limits, cookie lifetime and the sites allowed to embed the chat."""

    model_config = SettingsConfigDict(env_prefix="GOPY_WEBCHAT_", env_file=".env", extra="ignore")

    session_limit: int = Field(default=20, ge=1, description="events per window and session")
    ip_limit: int = Field(default=300, ge=1, description="events per window and client address")
    window_seconds: float = Field(default=20.0, gt=0)
    session_days: int = Field(default=30, ge=1)
    embed_origins: list[str] = Field(default_factory=list, description="portal origins that may embed")
    redis_prefix: str = "gopy:webchat:rl:"


# ---------------------------------------------------------------------------------------- Redis turns

# Take the session's lock (redis-py's Lock protocol: SET NX PX with a random token) and, when taken, read
# the dialog state in the same round trip.
ACQUIRE_AND_READ = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('get', KEYS[2])}
end
return {0}
"""
# The same, after counting the event in its moving windows first (ratelimit.HIT_IN_TURN, the same keys and
# arguments after the lock's two): stops at the first full window and answers {-its number}, without the lock.
COUNT_ACQUIRE_AND_READ = """
if #ARGV > 2 then
  local timestamp = tonumber(ARGV[3])
  for i = 1, #KEYS - 2 do
    local key = KEYS[i + 2]
    local limit = tonumber(ARGV[2 * i + 2])
    local expiry = tonumber(ARGV[2 * i + 3])
    local entry = redis.call('lindex', key, limit - 1)
    if entry and tonumber(entry) >= timestamp - expiry then
      return {-i}
    end
    redis.call('lpush', key, timestamp)
    redis.call('ltrim', key, 0, limit - 1)
    redis.call('expire', key, expiry)
  end
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('get', KEYS[2])}
end
return {0}
"""
# Write the new states (SET … EX, or DEL for an empty one, as aiogram's RedisStorage does) and release the
# lock when this token still holds it (redis-py's release check), in one round trip.
WRITE_AND_RELEASE = """
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  local value = ARGV[i + 1]
  if value == '' then
    redis.call('del', KEYS[i])
  elseif ttl > 0 then
    redis.call('set', KEYS[i], value, 'EX', ttl)
  else
    redis.call('set', KEYS[i], value)
  end
end
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  return 1
end
return 0
"""


class RedisTurns:
    """One event's turn on aiogram's Redis storage in two round trips instead of four.

    Same keys, values, expiry and lock as ``RedisEventIsolation.lock`` + ``RedisStorage.get_data`` /
    ``set_data`` (so workers of either kind exclude each other on one session): the lock is redis-py's
    (a random token set with ``NX`` for aiogram's 60 s, retried every 0.1 s while another event of the
    session holds it, released only by its holder), but taking it also reads the state, and writing the
    new state also releases it.
    """

    RETRY_SECONDS = 0.1  # redis-py Lock's default ``sleep``

    def __init__(self, storage: RedisStorage, isolation: RedisEventIsolation) -> None:
        self.storage = storage
        self.isolation = isolation
        self.lock_ms = int(
            float(isolation.lock_kwargs.get("timeout", DEFAULT_REDIS_LOCK_KWARGS["timeout"])) * 1000
        )
        ttl = storage.data_ttl
        self.ttl = 0 if ttl is None else int(ttl.total_seconds() if not isinstance(ttl, int) else ttl)
        self._acquire = storage.redis.register_script(ACQUIRE_AND_READ)
        self._count_and_acquire = storage.redis.register_script(COUNT_ACQUIRE_AND_READ)
        self._release = storage.redis.register_script(WRITE_AND_RELEASE)

    @classmethod
    def of(cls, storage: BaseStorage, isolation: BaseEventIsolation) -> RedisTurns | None:
        if isinstance(storage, RedisStorage) and isinstance(isolation, RedisEventIsolation):
            return cls(storage, isolation)
        return None

    async def begin(self, key: StorageKey, windows: Windows | None = None) -> tuple[str, dict[str, Any]]:
        """Wait for the session's lock; its token and the session's state. With ``windows`` the event is
        first counted in them (in the first round trip only); raises :class:`Refused` (the lock not
        taken) when one of them is full."""
        lock = self.isolation.key_builder.build(key, "lock")
        data = self.storage.key_builder.build(key, "data")
        token = uuid.uuid4().hex  # the holder's random token
        if windows is not None:
            taken = await self._count_and_acquire(
                keys=[lock, data, *windows.keys], args=[token, self.lock_ms, *windows.args]
            )
            if taken[0] < 0:
                raise Refused(-int(taken[0]))
        else:
            taken = await self._acquire(keys=[lock, data], args=[token, self.lock_ms])
        while not taken[0]:
            await asyncio.sleep(self.RETRY_SECONDS)
            taken = await self._acquire(keys=[lock, data], args=[token, self.lock_ms])
        value = taken[1] if len(taken) > 1 and taken[1] else None
        if value is None:
            return token, {}
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        return token, dict(self.storage.json_loads(text))

    async def end(self, key: StorageKey, token: str, writes: list[tuple[StorageKey, dict[str, Any]]]) -> None:
        """Write ``writes`` and release the lock; raises, as redis-py does, when the lock was lost."""
        keys = [self.isolation.key_builder.build(key, "lock")]
        values = [token, str(self.ttl)]
        for where, value in writes:
            keys.append(self.storage.key_builder.build(where, "data"))
            values.append(self.storage.json_dumps(value) if value else "")
        if not await self._release(keys=keys, args=values):
            raise LockNotOwnedError("the session's lock expired before its event was answered")


class Refused(Exception):
    """The event's ``number``-th moving window is full (nothing taken, the later windows not counted)."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


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
    limiter: RateLimits
    hash_key: str
    identity: Identity

    @cached_property
    def turns(self) -> RedisTurns | None:
        """With aiogram's Redis storage and lock: the lock, the read and the write in two round trips."""
        return RedisTurns.of(self.storage, self.isolation)

    @cached_property
    def ui(self) -> dict[str, dict[str, str]]:
        """The page's texts in every language (fixed for the process: built once, not per page)."""
        return ui_strings(self.identity)

    @cached_property
    def ui_json(self) -> str:
        return json.dumps(self.ui, ensure_ascii=False).replace("<", "\\u003c")

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.hash_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def new_session_id(self) -> str:
        """A fresh session id: 256 random bits and their signature (only the server can make one)."""
        token = secrets.token_urlsafe(32)
        return f"{token}.{self._mac('webchat-sid', token)[:32]}"

    def known_session(self, value: str) -> str | None:
        """``value`` when the server issued it (well formed, signature valid), else None."""
        if not SESSION_RE.match(value):
            return None
        token, _, signature = value.partition(".")
        return value if hmac.compare_digest(self._mac("webchat-sid", token)[:32], signature) else None

    async def revoked(self, sid: str) -> bool:
        """The id was rotated away (consent was given under it): it must not be used any more."""
        async with EntrypointUnitOfWork(self.sessions) as uow:
            with bind_unit_of_work(uow):
                return bool((await self.storage.get_data(self.storage_key(sid))).get("revoked"))

    def csrf_token(self, sid: str) -> str:
        return self._mac("webchat-csrf", sid)

    def csrf_ok(self, sid: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(sid).encode(), token.encode())

    def storage_key(self, sid: str) -> StorageKey:
        # Telegram ids fit in 52 bits: below -2**60 a web key can never meet a Telegram chat's key.
        chat_id = WEB_KEY_OFFSET - int(self._mac("webchat-key", sid)[:14], 16)
        return StorageKey(bot_id=0, chat_id=chat_id, user_id=chat_id)

    def _limits(self, sid: str, ip: str) -> tuple[tuple[str, str, int, float], ...]:
        window = self.settings.window_seconds
        return ("s", sid, self.settings.session_limit, window), ("ip", ip, self.settings.ip_limit, window)

    async def limit(self, sid: str, ip: str) -> float:
        """Seconds to wait when this session or this address is going too fast, else 0."""
        return await self.limiter.hit_each(*self._limits(sid, ip))

    def windows(self, sid: str, ip: str) -> Windows | None:
        """With Redis turns and limits: the event's windows, counted as its turn takes the session's lock
        (one round trip for both), else None (``limit`` counts it first)."""
        return self.limiter.windows(*self._limits(sid, ip)) if self.turns is not None else None

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

    async def handle(
        self, sid: str, event: Event, windows: Windows | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """Run one event under the session's lock, in one unit of work with its dialog state; return what to
        show and, when the person consented now, the new session id (the old one is revoked). ``windows``
        (Redis turns): the event is counted in them as the lock is taken; raises :class:`RateLimited`
        when one is full.

        With the SQL storage the state is written in the event's transaction. With Redis it is written
        once that transaction is committed and its connection is back in the pool: no connection is held
        across a call to Redis, and a failed commit never leaves a state that claims what was not saved.
        """
        key = self.storage_key(sid)
        turns = self.turns
        if turns is None:
            async with self.isolation.lock(key):
                outcome, rotated = await self._turn(key, None, event)
        else:
            try:
                token, data = await turns.begin(key, windows)
            except Refused as refused:
                assert windows is not None
                wait = await self.limiter.refused_wait(windows, refused.number)
                if wait:
                    raise RateLimited(wait) from None
                token, data = await turns.begin(key)  # the storage did not tell the wait: let through
            writes: list[tuple[StorageKey, dict[str, Any]]] = []
            try:
                outcome, rotated = await self._turn(key, data, event, writes)
            finally:
                await turns.end(key, token, writes)  # the lock is released whatever happened
        UPDATES_HANDLED.labels(channel="web", kind=event.kind).inc()
        return _outcome_json(outcome), rotated

    async def _turn(
        self,
        key: StorageKey,
        data: dict[str, Any] | None,
        event: Event,
        redis_writes: list[tuple[StorageKey, dict[str, Any]]] | None = None,
    ) -> tuple[Outcome, str | None]:
        """The event under the session's lock: ``data`` is the state when already read (Redis turns), and
        then the new state is put in ``redis_writes`` once the transaction is committed."""
        in_transaction = isinstance(self.storage, SqlStorage)
        async with EntrypointUnitOfWork(self.sessions) as uow:
            with bind_unit_of_work(uow):
                if data is None:
                    # Redis: read before the first statement takes a connection (sessions begin lazily)
                    data = await self.storage.get_data(key)
                if data.get("revoked"):
                    raise SessionRevoked()
                subject = data.get("subject") or secrets.token_urlsafe(32)
                ctx = Context(
                    uow=uow,
                    channel=Channel.WEB,
                    user_hash=hash_user_id(key=self.hash_key, channel=Channel.WEB, channel_user_id=subject),
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
                state = {"subject": subject, "conv": outcome.state, "view": view}
                rotated = self.new_session_id() if outcome.consented else None
                writes: list[tuple[StorageKey, dict[str, Any]]] = (
                    [(key, state)]
                    if rotated is None
                    else [(self.storage_key(rotated), state), (key, {"revoked": True})]
                )
                if in_transaction:
                    for where, value in writes:
                        await self.storage.set_data(where, value)
            await uow.complete()
        if not in_transaction:
            if redis_writes is not None:
                redis_writes.extend(writes)  # written as the lock is released
            else:
                for where, value in writes:
                    await self.storage.set_data(where, value)
        return outcome, rotated

    async def close(self) -> None:
        await self.limiter.close()
        await self.storage.close()
        await self.isolation.close()


class SessionRevoked(Exception):
    """The session id was rotated away; the page must be reloaded."""


class RateLimited(Exception):
    """The session or the address is going too fast: ``wait`` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def _reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "choices": [[{"label": c.label, "data": c.data} for c in row] for row in reply.choices],
        "expects_text": reply.expects_text,
        "max_length": reply.max_length,
        "used_length": reply.used_length,
        "input_hint": reply.input_hint,
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


STATIC_TYPES = {
    "chat.css": "text/css; charset=utf-8",
    "chat.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
STATIC = {name: _static(name) for name in STATIC_TYPES}
EMBED_JS = (HERE / "static" / "embed.js").read_text(encoding="utf-8")
PAGE = Template((HERE / "templates" / "chat.html").read_text(encoding="utf-8"))


def security_headers(response: Response, settings: WebChatSettings, image_origin: str = "") -> None:
    ancestors = " ".join(["'self'", *settings.embed_origins])
    images = " ".join(["'self'", "data:", *([image_origin] if image_origin else [])])
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; "
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
            chat = _chat(request)
            security_headers(response, chat.settings, chat.identity.image_origin)
            return response

        return secured


def _chat(request: Request) -> WebChat:
    return request.app.state.webchat  # type: ignore[no-any-return]


def _session(request: Request) -> str | None:
    """The session id of the cookie when the server issued it; a client-made id counts as none."""
    return _chat(request).known_session(request.cookies.get(COOKIE, ""))


def _set_session_cookie(response: Response, request: Request, sid: str) -> None:
    settings = _chat(request).settings
    embeddable = bool(settings.embed_origins)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=settings.session_days * 86400,
        path=COOKIE_PATH,
        httponly=True,
        secure=embeddable or request.url.scheme == "https",
        samesite="none" if embeddable else "lax",
    )


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


def _slow_down(wait: float) -> JSONResponse:
    log.info("web chat refused", extra={"reason": "rate_limited"})
    return _error(429, "slow_down", retry_after=wait, seconds=math.ceil(wait))


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


def ui_strings(identity: Identity) -> dict[str, dict[str, str]]:
    """The page's texts in every language; ``org`` and ``contact`` come from the settings."""
    strings = {}
    for lang in LANGUAGES:
        texts = {k: t(f"webchat.{k}", lang) for k in UI_KEYS}
        org = identity.org(lang)
        for key in ORG_KEYS:
            texts[key] = texts[key].replace("{org}", org)
        strings[lang] = {**texts, "org": org, "contact": identity.contact(lang)}
    return strings


def setup() -> APIRouter:
    """The router of the web chat; its lifespan builds the channel once the app's services exist."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = app.state.services
        settings = svc.settings
        storage, isolation = build_storage(settings, svc.sessions, svc.clock)
        web_settings = WebChatSettings()
        limiter = RateLimits(
            secret=settings.hash_key.get_secret_value(),
            redis_url=settings.redis_url,
            prefix=web_settings.redis_prefix,
        )
        conv_settings = conversation_settings(settings)
        chat = WebChat(
            settings=web_settings,
            conversation=CitizenConversation(),
            conv_settings=conv_settings,
            sessions=svc.sessions,
            clock=svc.clock,
            storage=storage,
            isolation=isolation,
            limiter=limiter,
            hash_key=settings.hash_key.get_secret_value(),
            identity=Identity.from_settings(settings, conv_settings),
        )
        app.state.webchat = chat
        _ = chat.ui_json  # the page's texts (every language's catalog read) before the first person comes
        try:
            yield
        finally:
            await chat.close()

    router = APIRouter(tags=["web chat"], route_class=SecureRoute, lifespan=lifespan)

    # first: the route of every click (routes are matched in order; no other one shares its path)
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
        ip = _client_ip(request)
        # with Redis a well-formed event is counted as its turn takes the session's lock (one round trip);
        # otherwise, as without Redis, it is counted before anything else is answered
        windows = chat.windows(sid, ip)
        if windows is None and (wait := await chat.limit(sid, ip)):
            return _slow_down(wait)
        body = await _read_body(request)
        event = None
        if body is not None:
            try:
                event = EventIn.model_validate_json(body).to_event(2 * chat.conv_settings.max_text_length)
            except ValidationError:
                event = None
        if event is None and windows is not None and (wait := await chat.limit(sid, ip)):
            return _slow_down(wait)
        if body is None:
            return _error(413, "too_large")
        if event is None:
            return _error(400, "error")
        try:
            result, rotated = await chat.handle(sid, event, windows)
        except RateLimited as limited:
            return _slow_down(limited.wait)
        except SessionRevoked:
            log.info("web chat refused", extra={"reason": "revoked_session"})
            return _error(403, "csrf")
        except Exception:
            UPDATE_ERRORS.labels(channel="web").inc()
            log.exception("web chat event failed", extra={"kind": event.kind})
            return _error(500, "error")
        if rotated is None:
            return JSONResponse(result)
        # consent given: from now on only the new id (and its CSRF token) work
        response = JSONResponse({**result, "csrf": chat.csrf_token(rotated)})
        _set_session_cookie(response, request, rotated)
        return response

    @router.get("/chat", include_in_schema=False)
    async def chat_page(request: Request) -> Response:
        """The chat page; starts a session (cookie) when there is none."""
        chat = _chat(request)
        sid = _session(request)
        if sid is not None and await chat.revoked(sid):
            sid = None
        fresh = sid is None
        if sid is None:
            sid = chat.new_session_id()
        lang = "vi" if fresh else (await chat.view(sid))["lang"]
        ui = chat.ui
        page = PAGE.substitute(
            lang=lang,
            csrf_token=chat.csrf_token(sid),
            css=f"/chat/static/chat.css?v={STATIC['chat.css'][1]}",
            js=f"/chat/static/chat.js?v={STATIC['chat.js'][1]}",
            icon=_html(chat.identity.icon),
            logo=chat.identity.logo_html(),
            ui_json=chat.ui_json,
            **{k: _html(v) for k, v in ui[lang].items()},
        )
        response = Response(page, media_type="text/html; charset=utf-8")
        _set_session_cookie(response, request, sid)
        return response

    @router.get("/chat/static/{name}", include_in_schema=False)
    async def chat_static(name: str) -> Response:
        if name not in STATIC:
            return Response(status_code=404)
        body, _digest = STATIC[name]
        return Response(
            body, media_type=STATIC_TYPES[name], headers={"Cache-Control": "public, max-age=86400"}
        )

    css = f"/chat/static/chat.css?v={STATIC['chat.css'][1]}"
    add_identity_routes(router, lambda request: _chat(request).identity, css)

    @router.get("/chat/embed.js", include_in_schema=False)
    async def chat_embed(request: Request) -> Response:
        """A snippet a portal can paste: a button that opens the chat in a frame, named after the body."""
        base = str(request.base_url).rstrip("/")
        identity = _chat(request).identity
        ui = _chat(request).ui
        icon = identity.icon if identity.icon.startswith("https://") else base + identity.icon
        body = (
            EMBED_JS.replace("__GOPY_CHAT_URL__", json.dumps(base + "/chat"))
            .replace("__GOPY_OPEN__", json.dumps(ui["vi"]["open"]))
            .replace("__GOPY_CLOSE__", json.dumps(ui["vi"]["close"]))
            .replace("__GOPY_TITLE__", json.dumps(ui["vi"]["title"]))
            .replace("__GOPY_ICON__", json.dumps(icon))
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
        if sid is None or await _chat(request).revoked(sid):
            return JSONResponse({"replies": [], "screen": None, "notice": None, "lang": "vi"})
        return JSONResponse(await _chat(request).view(sid))

    return router


def _html(value: str) -> str:
    return escape(value, quote=True)
