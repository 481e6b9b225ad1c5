"""The unit contact's dialog state: typed and versioned, stored as a JSON-serialisable dict.

Kept apart from the citizen's (the adapter stores it under its own key). A state without ``v`` is of
the first shape (before this module existed); it had the same keys, so upgrading it only adds ``v``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

log = logging.getLogger(__name__)

VERSION = 2


class ContactStep(StrEnum):
    IDLE = "idle"  # not (or no longer) a contact, or nothing going on
    BIND = "bind"  # an invite was opened: waiting for the confirmation
    MENU = "menu"
    UPLOAD = "upload"  # a period was picked: waiting for the report file
    SUMMARY = "summary"  # the file is stored: waiting for a short summary (or «skip»)
    OPINIONS = "opinions"  # waiting for the number of opinions collected (or «skip»)
    CONFIRM = "confirm"
    LEAVE = "leave"  # /stop_reminders: waiting for the confirmation


#: Steps in which the contact's texts and files belong to this conversation (not the citizen's).
ACTIVE_STEPS = frozenset(
    s.value
    for s in (
        ContactStep.BIND,
        ContactStep.UPLOAD,
        ContactStep.SUMMARY,
        ContactStep.OPINIONS,
        ContactStep.CONFIRM,
    )
)
#: Steps of a report being submitted (a domain error there keeps the step).
REPORT_STEPS = frozenset({ContactStep.UPLOAD, ContactStep.SUMMARY, ContactStep.OPINIONS, ContactStep.CONFIRM})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReportFile(_Model):
    """A report file already in the file store, waiting for the submission."""

    sha256: str
    size: int
    type: str
    name: str | None = None  # the name it was sent under, cleaned for display


class ContactState(_Model):
    v: int = VERSION
    step: ContactStep = ContactStep.IDLE
    lang: str | None = None  # None: the language the channel reports for the person
    contact_id: int | None = None
    invite: str | None = None  # the hash of the invite being confirmed
    period: int | None = None  # the reporting period of the report being submitted
    file: ReportFile | None = None
    summary: str | None = None
    opinions: int | None = None

    @field_validator("step", mode="before")
    @classmethod
    def _known_step(cls, value: Any) -> Any:
        return value if value in _STEP_VALUES else ContactStep.IDLE

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable dict a channel stores (defaults left out, but the version and step)."""
        rest = self.model_dump(mode="json", exclude_defaults=True)
        return {"v": self.v, "step": self.step.value, **rest}

    def drop_report(self) -> None:
        """Forget the report being submitted."""
        self.period, self.file, self.summary, self.opinions = None, None, None, None


_STEP_VALUES = frozenset(s.value for s in ContactStep)


def load_state(stored: Mapping[str, Any] | None) -> ContactState:
    """The typed state of a stored dict of any version (a new state for None or an unreadable one)."""
    data = {**(stored or {}), "v": VERSION}  # version 1 had the same keys
    try:
        return ContactState.model_validate(data)
    except ValidationError as exc:
        log.warning("unreadable contact dialog state, starting over", extra={"errors": exc.error_count()})
        return ContactState()
