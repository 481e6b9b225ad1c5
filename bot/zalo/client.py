"""The Zalo OA API client: consultation messages with buttons, and the access token kept fresh.

* Texts over 2,000 characters are split on word boundaries; buttons (at most 5, ``oa.query.hide``, a title
  of at most 100 characters) go with the last part; a tap comes back as a ``user_send_text`` of the
  button's payload.
* Errors: −32 (rate limit) and HTTP 5xx / network errors are retried with back-off; −216/−220 (token
  invalid or expired) refresh the token once and retry; −213, −227, −230, −232 raise
  :class:`ZaloUnreachable` (not a follower, inactive, outside the 7-day window); anything else (−234:
  not at night, −201: a bad parameter) raises :class:`ZaloError`.
* Tokens live in the database (``zalo_token``). The refresh token is single use, so a refresh is taken
  under a lease claimed by a compare-and-swap on the refresh token's value (one process, one refresh),
  committed before the HTTP call (no connection is held across it); the new pair is stored in a new
  short transaction. Others wait for the new pair, or use the current access token while it is valid.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from storage import zalo as store

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
UNREACHABLE = frozenset({-213, -227, -230, -232})
TOKEN_INVALID = frozenset({-216, -220})
RATE_LIMITED = -32
REFRESH_LEASE_SECONDS = 30.0


class ZaloError(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"Zalo error {code}: {message[:100]}")
        self.code = code


class ZaloUnreachable(ZaloError):
    """The user cannot be messaged: not a follower, inactive, or outside the 7-day window."""


class ZaloNotConnected(ZaloError):
    """No token pair yet: run ``gopy zalo connect``."""

    def __init__(self) -> None:
        super().__init__(0, "not connected")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most ``limit`` characters, cut at a line break or else a space when there is one."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts or ["…"]


def fit_title(title: str, limit: int = MAX_BUTTON_TITLE) -> str:
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title.rfind(" ", 0, limit - 1)
    return title[: cut if cut > limit // 2 else limit - 1].rstrip(" ,.;:") + "…"


class TokenKeeper:
    """The access token from the database, refreshed ahead of expiry by one process at a time."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        http: aiohttp.ClientSession,
        oauth_base: str,
        app_id: str,
        app_secret: str,
        clock: Clock,
        ahead_seconds: float = 3600,
        lease_seconds: float = REFRESH_LEASE_SECONDS,
        wait_step: float = 0.05,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.oauth_base = oauth_base.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.clock = clock
        self.ahead = timedelta(seconds=ahead_seconds)
        self.lease = lease_seconds
        self.wait_step = wait_step
        self.owner = secrets.token_hex(8)
        self.refreshes = 0  # refresh calls this keeper made (tests, status)
        self._local = asyncio.Lock()
        self._cached: store.TokenPair | None = None

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid access token. ``stale``: Zalo refused this one, so refresh unless it was replaced."""
        cached = self._cached
        if (
            cached is not None
            and stale != cached.access_token
            and cached.expires_at - self.ahead > self.clock.now()
        ):
            return cached.access_token  # no database read per message while the token is fresh
        async with self._local:
            deadline = self.clock.now() + timedelta(seconds=self.lease * 2)
            while True:
                pair = await store.read_token(self.sessions)
                self._cached = pair
                if pair is None:
                    raise ZaloNotConnected()
                now = self.clock.now()
                must = stale is not None and pair.access_token == stale
                if not must and pair.expires_at - self.ahead > now:
                    return pair.access_token
                if await store.claim_refresh(
                    self.sessions,
                    refresh_token=pair.refresh_token,
                    owner=self.owner,
                    now=now,
                    lease=self.lease,
                ):
                    return await self._refresh(pair.refresh_token)
                # another process refreshes: the current token serves while it is valid, else wait
                if not must and pair.expires_at > now:
                    return pair.access_token
                if now > deadline:
                    raise ZaloError(0, "token refresh by another process did not finish")
                await asyncio.sleep(self.wait_step)

    async def _refresh(self, refresh_token: str) -> str:
        self.refreshes += 1
        try:
            async with self.http.post(
                f"{self.oauth_base}/v4/oa/access_token",
                headers={"secret_key": self.app_secret},
                data={"app_id": self.app_id, "grant_type": "refresh_token", "refresh_token": refresh_token},
            ) as response:
                body: dict[str, Any] = await response.json(content_type=None)
        except BaseException:
            await self._release(refresh_token)
            raise
        access, new_refresh = body.get("access_token"), body.get("refresh_token")
        if not access or not new_refresh:
            await self._release(refresh_token)
            code = int(body.get("error") or 0)
            log.warning("zalo token refresh refused", extra={"zalo_error": code})
            raise ZaloError(code, str(body.get("error_name") or "refresh refused"))
        now = self.clock.now()
        expires = now + timedelta(seconds=int(body.get("expires_in") or 90000))
        stored = await store.finish_refresh(
            self.sessions,
            old_refresh=refresh_token,
            owner=self.owner,
            access=str(access),
            refresh=str(new_refresh),
            expires_at=expires,
            now=now,
        )
        if not stored:  # the lease lapsed and someone else refreshed: ours is valid anyway
            log.warning("zalo token refreshed after the lease lapsed")
        self._cached = None  # read the stored pair again next time
        log.info("zalo token refreshed")
        return str(access)

    async def _release(self, refresh_token: str) -> None:
        await store.finish_refresh(
            self.sessions,
            old_refresh=refresh_token,
            owner=self.owner,
            access=None,
            refresh=None,
            expires_at=None,
            now=self.clock.now(),
        )


class ZaloClient:
    """Sends consultation messages to Zalo users of the OA."""

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        tokens: TokenKeeper,
        api_base: str,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.api_base = api_base.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff = backoff_seconds

    async def send_text(self, user_id: str, text: str, buttons: Sequence[Button] = ()) -> list[str]:
        """Send ``text`` (split at 2,000 characters) with up to 5 buttons on its last part; message ids."""
        if len(buttons) > MAX_BUTTONS:
            raise ValueError("at most 5 buttons per Zalo message")
        parts = split_text(text)
        ids = []
        for i, part in enumerate(parts):
            message: dict[str, Any] = {"text": part}
            if buttons and i == len(parts) - 1:
                message["attachment"] = {
                    "type": "template",
                    "payload": {
                        "buttons": [
                            {"title": fit_title(b.title), "type": "oa.query.hide", "payload": b.payload}
                            for b in buttons
                        ]
                    },
                }
            ids.append(await self._post({"recipient": {"user_id": user_id}, "message": message}))
        return ids

    async def _post(self, body: dict[str, Any]) -> str:
        refreshed = False
        token = await self.tokens.access_token()
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self.http.post(
                    f"{self.api_base}/v3.0/oa/message/cs", json=body, headers={"access_token": token}
                ) as response:
                    if response.status >= 500:
                        code, answer = 500, {}
                    else:
                        answer = await response.json(content_type=None)
                        code = int(answer.get("error") or 0)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                code, answer = 500, {}
            if code == 0:
                return str((answer.get("data") or {}).get("message_id") or "")
            if code in TOKEN_INVALID and not refreshed:
                refreshed = True
                token = await self.tokens.access_token(stale=token)
                continue
            if code in UNREACHABLE:
                raise ZaloUnreachable(code, str(answer.get("message") or ""))
            if (code == RATE_LIMITED or code >= 500) and attempt < self.max_attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            raise ZaloError(code, str(answer.get("message") or ""))
        raise ZaloError(0, "attempts exhausted")


# ------------------------------------------------------------------------------ the first token pair


@dataclass(frozen=True)
class Consent:
    """The OA admin's consent page (OAuth v4 with PKCE S256) and the verifier kept until the code."""

    url: str
    code_verifier: str
    state: str


def consent(*, oauth_base: str, app_id: str, redirect_uri: str) -> Consent:
    from urllib.parse import urlencode

    verifier = secrets.token_urlsafe(64)[:86]  # 43-128 characters (RFC 7636)
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "app_id": app_id,
            "redirect_uri": redirect_uri,
            "code_challenge": code_challenge(verifier),
            "state": state,
        }
    )
    return Consent(f"{oauth_base.rstrip('/')}/v4/oa/permission?{query}", verifier, state)


def code_challenge(verifier: str) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def exchange_code(
    http: aiohttp.ClientSession,
    *,
    oauth_base: str,
    app_id: str,
    app_secret: str,
    code: str,
    code_verifier: str,
) -> tuple[str, str, int]:
    """The first ``(access token, refresh token, expires in seconds)`` from the consent's code."""
    async with http.post(
        f"{oauth_base.rstrip('/')}/v4/oa/access_token",
        headers={"secret_key": app_secret},
        data={
            "app_id": app_id,
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
        },
    ) as response:
        body: dict[str, Any] = await response.json(content_type=None)
    if not body.get("access_token") or not body.get("refresh_token"):
        raise ZaloError(int(body.get("error") or 0), str(body.get("error_name") or "code refused"))
    return str(body["access_token"]), str(body["refresh_token"]), int(body.get("expires_in") or 90000)
