"""API-key authentication: ``Authorization: Bearer <key>``, scopes checked by ``require_scopes(...)``.

Any router can protect a route with ``principal: Principal = Depends(require_scopes(Scope.REPORTS_READ))``;
the key is read in the request's unit of work (:mod:`api.unit_of_work`), so authentication, the use
case and its audit row are one transaction. Missing or bad key: 401; missing scope: 403; both with the
JSON error body of :mod:`api.errors`. Wrong keys and request floods are limited per client address and
per key (:mod:`api.limits`): 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.limits import client_address
from api.unit_of_work import unit_of_work
from core import errors
from core.api_keys import Principal, Scope
from core.staff.api_keys import authenticate
from storage.uow import SqlUnitOfWork

bearer = HTTPBearer(auto_error=False, description="A Gopy API key: `gopy apikey create`.")


def _services(request: Request) -> Any:
    return request.app.state.services


def require_scopes(*scopes: Scope | str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency that authenticates the key and checks it holds every scope given."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        uow: SqlUnitOfWork = Depends(unit_of_work),
    ) -> Principal:
        limits = _services(request).limits
        address = client_address(request)
        await limits.before_authentication(address)
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise errors.ApiKeyInvalid(reason="missing")
        try:
            principal = await authenticate(uow=uow, secret=credentials.credentials)
        except errors.ApiKeyInvalid:
            await limits.failed_authentication(address)
            raise
        await limits.authenticated(principal)
        for scope in scopes:
            if not principal.has(scope):
                raise errors.ScopeMissing(scope=str(scope))
        request.state.principal = principal
        return principal

    return dependency
