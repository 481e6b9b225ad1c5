"""Rate limits of the staff API: failed authentications per client address (strict), requests per client
address and per API key (generous). Past a limit: 429 with ``Retry-After`` and the API's JSON error body.

Settings (``core.config``): ``GOPY_API_AUTH_FAILURE_LIMIT`` wrong keys per ``GOPY_API_AUTH_FAILURE_WINDOW_SECONDS``;
``GOPY_API_ADDRESS_RATE_LIMIT`` and ``GOPY_API_KEY_RATE_LIMIT`` requests per ``GOPY_API_RATE_WINDOW_SECONDS``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from fastapi import Request

from core import errors
from core.api_keys import Principal
from core.config import Settings
from storage.ratelimit import RateLimits

log = logging.getLogger(__name__)


def client_address(request: Request) -> str:
    """The peer address (uvicorn puts the proxy's ``X-Forwarded-For`` there for trusted proxies)."""
    return request.client.host if request.client else "unknown"


@dataclass
class ApiLimits:
    limits: RateLimits
    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        limits = RateLimits(
            secret=settings.hash_key.get_secret_value(),
            redis_url=settings.redis_url,
            prefix=f"{settings.rate_limit_prefix}:api",
        )
        return cls(limits, settings)

    def _refuse(self, wait: float, reason: str) -> errors.RateLimited:
        log.info("api request refused", extra={"reason": reason})
        return errors.RateLimited(seconds=max(1, math.ceil(wait)))

    async def before_authentication(self, address: str) -> None:
        """Refuse an address that guessed wrong too often, or sends too much; count this request."""
        s = self.settings
        wait = await self.limits.exceeded(
            "auth-fail", address, s.api_auth_failure_limit, s.api_auth_failure_window_seconds
        )
        if wait:
            raise self._refuse(wait, "auth_failures")
        wait = await self.limits.hit("addr", address, s.api_address_rate_limit, s.api_rate_window_seconds)
        if wait:
            raise self._refuse(wait, "address_rate")

    async def failed_authentication(self, address: str) -> None:
        s = self.settings
        await self.limits.hit(
            "auth-fail", address, s.api_auth_failure_limit, s.api_auth_failure_window_seconds
        )

    async def authenticated(self, principal: Principal) -> None:
        s = self.settings
        wait = await self.limits.hit(
            "key", str(principal.key_id), s.api_key_rate_limit, s.api_rate_window_seconds
        )
        if wait:
            raise self._refuse(wait, "key_rate")

    async def close(self) -> None:
        await self.limits.close()
