"""The unit of work of one API request: authentication, the use case and its audit row share it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from storage.uow import SqlUnitOfWork


async def unit_of_work(request: Request) -> AsyncIterator[SqlUnitOfWork]:
    """One transaction per request: nothing is saved unless the use case commits; leaving rolls back."""
    async with SqlUnitOfWork(request.app.state.services.sessions) as uow:
        yield uow


Uow = Annotated[SqlUnitOfWork, Depends(unit_of_work)]
