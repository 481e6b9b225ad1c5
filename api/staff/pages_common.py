"""What the draft, opinion and consolidation pages share: the clock, a domain error as a sentence, local
dates from form fields, and the staff's view of entries (pseudonyms for viewers, profiles for analysts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from api.errors import error_body
from api.staff.security import StaffUser
from core.errors import GopyError
from core.staff.feedback import Presenter


def now(request: Request) -> datetime:
    return request.app.state.services.clock.now()  # type: ignore[no-any-return]


def tz(request: Request) -> Any:
    return request.app.state.services.settings.tz


def error_text(exc: GopyError, lang: str) -> str:
    """The sentence the API would give for ``exc``, in the staffer's language."""
    body = error_body(exc.code, exc.params, exc.message_keys())["error"]
    return str(body["message_en" if lang == "en" else "message_vi"])


def staff_presenter(request: Request, user: StaffUser) -> Presenter:
    """Viewers see pseudonyms; analysts and admins see the respondent and profile (an audited read)."""
    settings = request.app.state.services.settings
    return Presenter(pii=user.can("analyst"), hash_key=settings.hash_key.get_secret_value(), tz=settings.tz)


def local_moment(value: str | None, request: Request) -> datetime | None:
    """A ``datetime-local`` or ``date`` form value as an aware datetime in the configured zone."""
    if not value:
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz(request))
        except ValueError:
            continue
    return None
