"""A fake Zalo Official Account API (v3 messages, v4 OAuth tokens) for end-to-end tests.

The Gopy Zalo client talks to it over real HTTP on 127.0.0.1::

    async with FakeZaloServer() as zalo:
        settings = Settings(zalo_api_base=zalo.base_url, zalo_oauth_base=zalo.base_url, ...)
        access, refresh = zalo.issue_pair()   # what `gopy zalo connect` would have stored
        user = zalo.user("8123456789012345678", webhook_url)
        await user.follow()
        await user.say("Xin chào")

What it enforces, as Zalo does (answers are HTTP 200 with ``{"error": N, "message": ...}``):

* ``POST /v3.0/oa/message/cs``: the ``access_token`` header must be a token it issued and not expired
  (−216 invalid, −220 expired); text ≤ 2,000 characters; ≤ 5 buttons of type ``oa.query.hide`` with a
  title ≤ 100 characters (−201 invalid parameter); the recipient must follow the OA (−213) and must have
  interacted within 7 days (−230); a rate limit per minute (−32) and injected faults (any error code,
  or HTTP 5xx); optionally no messages at night (−234).
* ``POST /v4/oa/access_token``: header ``secret_key`` = the app secret; ``grant_type=refresh_token`` with a
  refresh token it issued and that was never used (single use: a reused one is −14014, and, as a
  rotation breach, it is recorded in :attr:`reused_refresh_tokens`); ``grant_type=authorization_code``
  with a code it issued and the PKCE ``code_verifier`` matching its challenge.

Everything received is recorded: :attr:`sent` (accepted messages), :attr:`requests` (every message
call, with its error), :attr:`refreshes` (every token call).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from .user import FakeZaloUser

MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
ACCESS_TTL = 25 * 3600
REFRESH_TTL = 90 * 86400
WINDOW = 7 * 86400

ERRORS = {
    -32: "Request limit exceeded",
    -201: "Parameter is invalid",
    -213: "User has not followed OA",
    -216: "Access token is invalid",
    -220: "Access token has expired",
    -227: "User is inactive",
    -230: "User has not interacted with the OA in the last 7 days",
    -232: "User has not interacted with the OA in the last 7 days (quota exceeded)",
    -234: "Messages are not allowed at night",
}


@dataclass
class SentMessage:
    user_id: str
    text: str
    buttons: list[dict[str, str]]
    message_id: str
    at: float

    def button(self, title: str) -> dict[str, str] | None:
        exact = [b for b in self.buttons if b["title"] == title]
        partial = [b for b in self.buttons if title in b["title"]]
        found = exact or partial
        return found[0] if found else None


@dataclass
class MessageRequest:
    user_id: str
    body: dict[str, Any]
    token: str
    error: int  # 0: accepted
    http_status: int = 200


@dataclass
class TokenRequest:
    grant_type: str
    refresh_token: str
    error: int
    at: float


@dataclass
class _ZaloUserState:
    followed: bool = True
    last_interaction: float = 0.0
    active: bool = True


class FakeZaloServer:
    def __init__(
        self,
        *,
        app_id: str = "3608465249409039670",
        app_secret: str = "fake-app-secret",
        oa_secret_key: str = "fake-oa-secret-key",
        oa_id: str = "388613280878808645",
        rate_limit_per_minute: int = 4000,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.oa_id = oa_id
        self.rate_limit_per_minute = rate_limit_per_minute
        self.now: Callable[[], float] = now or time.time
        self.night_refusal = False  # refuse (−234) between 22:00 and 06:00 Vietnam time
        self.host = "127.0.0.1"
        self.port = 0
        self.sent: list[SentMessage] = []
        self.requests: list[MessageRequest] = []
        self.refreshes: list[TokenRequest] = []
        self.reused_refresh_tokens: list[str] = []
        self.access_tokens: dict[str, float] = {}  # token -> expires at
        self.revoked_access: set[str] = set()
        self.refresh_tokens: dict[str, float] = {}  # unused token -> expires at
        self.used_refresh_tokens: set[str] = set()
        self.codes: dict[str, str] = {}  # authorization code -> PKCE challenge
        self.users: dict[str, _ZaloUserState] = {}
        self.faults: list[int] = []  # next message calls answer these codes (>= 500: an HTTP status)
        self.token_delay = 0.0  # seconds the token endpoint waits before answering (races in tests)
        self.token_gate: asyncio.Event | None = None  # when set: token calls wait until it is set
        self._minute: list[float] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeZaloServer:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._message)
        app.router.add_post("/v4/oa/access_token", self._token)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.client = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -------------------------------------------------------------------------------------- helpers

    def issue_pair(self, access_ttl: float = ACCESS_TTL) -> tuple[str, str]:
        """A new access token and refresh token, as the consent or a refresh gives them."""
        access = "acc-" + secrets.token_urlsafe(24)
        refresh = "ref-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = self.now() + access_ttl
        self.refresh_tokens[refresh] = self.now() + REFRESH_TTL
        return access, refresh

    def issue_code(self, code_challenge: str) -> str:
        """An authorization code, as Zalo redirects with after the OA admin consents (PKCE S256)."""
        code = "code-" + secrets.token_urlsafe(16)
        self.codes[code] = code_challenge
        return code

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (as 25 hours later)."""
        for token in self.access_tokens:
            self.access_tokens[token] = self.now() - 1

    def interacted(self, user_id: str) -> None:
        state = self.users.setdefault(user_id, _ZaloUserState())
        state.last_interaction = self.now()

    def set_last_interaction(self, user_id: str, at: float) -> None:
        self.users.setdefault(user_id, _ZaloUserState()).last_interaction = at

    def messages(self, user_id: str) -> list[SentMessage]:
        return [m for m in self.sent if m.user_id == user_id]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until ``condition()`` holds (re-checked whenever a message or token call arrives)."""

        async def wait() -> None:
            while not condition():
                self._changed.clear()
                if condition():
                    return
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def user(
        self,
        user_id: str,
        webhook_url: str,
        handled: Callable[[str], Awaitable[bool]] | None = None,
    ) -> FakeZaloUser:
        from .user import FakeZaloUser

        self.users.setdefault(user_id, _ZaloUserState())
        return FakeZaloUser(self, user_id, webhook_url, handled)

    def signature(self, body: bytes, timestamp: str) -> str:
        """``mac=`` sha256 hex of app id + raw body + timestamp + OA secret key (Zalo's webhook signature)."""
        mac = hashlib.sha256(
            self.app_id.encode() + body + timestamp.encode() + self.oa_secret_key.encode()
        ).hexdigest()
        return f"mac={mac}"

    async def post_event(
        self, webhook_url: str, event: dict[str, Any], *, signature: str | None = None
    ) -> aiohttp.ClientResponse:
        """POST one signed webhook event to the app, as Zalo does; returns the response (read)."""
        assert self.client is not None
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        sig = signature if signature is not None else self.signature(body, str(event["timestamp"]))
        async with self.client.post(
            webhook_url,
            data=body,
            headers={"Content-Type": "application/json", "X-ZEvent-Signature": sig},
        ) as response:
            await response.read()
            return response

    # ------------------------------------------------------------------------------------- handlers

    def _notify(self) -> None:
        self._changed.set()

    def _error(self, code: int) -> web.Response:
        return web.json_response({"error": code, "message": ERRORS.get(code, "Error")})

    async def _message(self, request: web.Request) -> web.Response:
        token = request.headers.get("access_token", "")
        try:
            body = await request.json()
        except ValueError:
            return self._error(-201)
        user_id = str(((body or {}).get("recipient") or {}).get("user_id") or "")
        error, status = self._check_message(token, body, user_id)
        self.requests.append(MessageRequest(user_id, body, token, error, status))
        self._notify()
        if status >= 500:
            return web.Response(status=status, text="Internal Server Error")
        if error:
            return self._error(error)
        message = body.get("message") or {}
        buttons = ((message.get("attachment") or {}).get("payload") or {}).get("buttons") or []
        message_id = secrets.token_hex(16)
        self.sent.append(
            SentMessage(user_id, str(message.get("text") or ""), list(buttons), message_id, self.now())
        )
        self._notify()
        return web.json_response(
            {"data": {"message_id": message_id, "user_id": user_id}, "error": 0, "message": "Success"}
        )

    def _check_message(self, token: str, body: Any, user_id: str) -> tuple[int, int]:
        if self.faults:
            fault = self.faults.pop(0)
            return (0, fault) if fault >= 500 else (fault, 200)
        now = self.now()
        if token not in self.access_tokens or token in self.revoked_access:
            return -216, 200
        if self.access_tokens[token] <= now:
            return -220, 200
        self._minute = [t for t in self._minute if t > now - 60]
        if len(self._minute) >= self.rate_limit_per_minute:
            return -32, 200
        self._minute.append(now)
        if not isinstance(body, dict) or not user_id:
            return -201, 200
        message = body.get("message")
        if not isinstance(message, dict):
            return -201, 200
        text = message.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return -201, 200
        attachment = message.get("attachment")
        if attachment is not None:
            payload = attachment.get("payload") if isinstance(attachment, dict) else None
            buttons = payload.get("buttons") if isinstance(payload, dict) else None
            if attachment.get("type") != "template" or not isinstance(buttons, list):
                return -201, 200
            if not 1 <= len(buttons) <= MAX_BUTTONS:
                return -201, 200
            for b in buttons:
                if not isinstance(b, dict) or b.get("type") != "oa.query.hide":
                    return -201, 200
                title, data = b.get("title"), b.get("payload")
                if not isinstance(title, str) or not 0 < len(title) <= MAX_BUTTON_TITLE:
                    return -201, 200
                if not isinstance(data, str) or not data:
                    return -201, 200
        user = self.users.get(user_id)
        if user is None or not user.followed:
            return -213, 200
        if not user.active:
            return -227, 200
        if now - user.last_interaction > WINDOW:
            return -230, 200
        if self.night_refusal:
            hour = (time.gmtime(now).tm_hour + 7) % 24
            if hour >= 22 or hour < 6:
                return -234, 200
        return 0, 200

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        refresh = str(form.get("refresh_token", ""))
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.token_gate is not None:
            self._notify()
            await self.token_gate.wait()
        error = self._check_token(request, form, grant, refresh)
        self.refreshes.append(TokenRequest(grant, refresh, error, self.now()))
        self._notify()
        if error:
            return web.json_response(
                {"error": error, "error_name": "Invalid parameter", "error_description": "invalid grant"}
            )
        access, new_refresh = self.issue_pair()
        return web.json_response(
            {"access_token": access, "refresh_token": new_refresh, "expires_in": str(ACCESS_TTL)}
        )

    def _check_token(self, request: web.Request, form: Any, grant: str, refresh: str) -> int:
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return -14002
        if grant == "refresh_token":
            if refresh in self.used_refresh_tokens:
                self.reused_refresh_tokens.append(refresh)
                return -14014
            expires = self.refresh_tokens.pop(refresh, None)
            if expires is None or expires <= self.now():
                return -14014
            self.used_refresh_tokens.add(refresh)
            return 0
        if grant == "authorization_code":
            code = str(form.get("code", ""))
            challenge = self.codes.pop(code, None)
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge is None or expected != challenge:
                return -14019
            return 0
        return -14001
