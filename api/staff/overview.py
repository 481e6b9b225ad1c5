"""GET /staff: the overview (counts only; any role)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.staff.rendering import render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from core.staff.overview import console_overview

router = APIRouter(route_class=StaffRoute, include_in_schema=False)


def heartbeat(request: Request) -> dict[str, object]:
    """The scheduler's heartbeat file: when it last ticked, and whether that is recent."""
    svc = request.app.state.services
    try:
        line = svc.settings.heartbeat_file.read_text(encoding="utf-8").split()[0]
        at = datetime.fromisoformat(line)
    except (OSError, ValueError, IndexError):
        return {"at": None, "fresh": False}
    age = (svc.clock.now() - at.astimezone(UTC)).total_seconds()
    return {"at": at.astimezone(svc.settings.tz), "fresh": age <= 3 * svc.settings.scheduler_tick_seconds}


@router.get("/staff")
async def overview(request: Request, uow: Uow, user: StaffUser = require_staff("viewer")) -> Response:
    svc = request.app.state.services
    data = await console_overview(
        uow=uow, now=svc.clock.now(), tz=svc.settings.tz, zalo=svc.settings.zalo_configured
    )
    return render(
        request,
        "overview.html",
        {"overview": data, "heartbeat": heartbeat(request), "tz": svc.settings.tz},
        user=user,
    )
