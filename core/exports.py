"""Exports of the gathered entries: filters, columns, pseudonyms, the rows themselves and cursors.

An export row is a plain ``dict`` keyed by :data:`EXPORT_COLUMNS` (:func:`present_row`), delivered page
by page so an export of any size runs in constant memory; ``formats.exports`` encodes the pages as
CSV, JSONL or XLSX.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.domain import Channel, FeedbackKind, FeedbackStatus, Source, Stance

MAX_TEXT_FILTER = 200


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.CSV: "text/csv; charset=utf-8",
            ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat.JSONL: "application/x-ndjson",
        }[self]


@dataclass(frozen=True)
class FeedbackFilters:
    """The filters shared by the list endpoint, every export and ``gopy export feedback``.

    ``None`` means "no filter". ``created_from`` is inclusive, ``created_to`` exclusive;
    ``text_contains`` matches the folded text (case, tone-mark placement and punctuation ignored).
    """

    kind: FeedbackKind | None = None
    document_id: int | None = None
    section_id: int | None = None
    stance: Stance | None = None
    category: str | None = None
    organisation: str | None = None
    locality: str | None = None
    channel: Channel | None = None
    source: Source | None = None
    status: FeedbackStatus | None = None
    congress_id: int | None = None
    period_id: int | None = None
    topic: str | None = None
    unit_code: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text_contains: str | None = None

    def __post_init__(self) -> None:
        for name in ("created_from", "created_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise errors.InvalidQuery(field=name, reason="timezone")
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise errors.InvalidQuery(field="created_to", reason="range")
        if self.text_contains is not None and len(self.text_contains) > MAX_TEXT_FILTER:
            raise errors.InvalidQuery(field="text_contains", reason="too_long")

    def as_audit(self) -> dict[str, Any]:
        """The filters actually set, JSON-ready, for the audit log."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# Columns of every export, in order. ``respondent`` is a pseudonym unless the key may read PII.
EXPORT_COLUMNS: tuple[str, ...] = (
    "receipt_code",
    "kind",
    "document_code",
    "section_number",
    "section_title",
    "stance",
    "text",
    "respondent",
    "category",
    "organisation",
    "locality",
    "age_band",
    "gender",
    "channel",
    "source",
    "status",
    "congress_code",
    "period_code",
    "topic",
    "unit_code",
    "created_at",
    "updated_at",
    "withdrawn_at",
)


def pseudonym(*, key: str, respondent_id: int | None) -> str | None:
    """A stable pseudonym of a respondent: the same person always gets the same ``R-…`` code."""
    if respondent_id is None:
        return None
    digest = hmac.new(key.encode(), f"respondent:{respondent_id}".encode(), hashlib.sha256).hexdigest()
    return "R-" + digest[:12].upper()


def present_row(row: Mapping[str, Any], *, pii: bool, hash_key: str, tz: ZoneInfo) -> dict[str, Any]:
    """One export row from a storage row: pseudonymised respondent, local ISO 8601 times."""
    out: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        if column == "respondent":
            rid = row.get("respondent_id")
            value: Any = (
                (rid if rid is None else str(rid)) if pii else pseudonym(key=hash_key, respondent_id=rid)
            )
        else:
            value = row.get(column)
        if isinstance(value, datetime):
            value = value.astimezone(tz).isoformat()
        elif isinstance(value, StrEnum):
            value = value.value
        out[column] = value
    return out


def parse_cursor(cursor: str | None) -> int | None:
    """Decode the opaque pagination cursor (the last id seen); a malformed one is an InvalidQuery."""
    if cursor is None or cursor == "":
        return None
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        data = json.loads(raw)
        last = data["after"] if isinstance(data, dict) else None
    except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError) as exc:
        raise errors.InvalidQuery(field="cursor", reason="malformed") from exc
    if not isinstance(last, int) or isinstance(last, bool) or not 0 <= last < 2**62:
        raise errors.InvalidQuery(field="cursor", reason="malformed")
    return last


def make_cursor(last_id: int) -> str:
    """The opaque cursor that continues after ``last_id``."""
    import base64

    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def utc_moment(field: str, value: datetime | str | None, tz: tzinfo) -> datetime | None:
    """A filter's moment in UTC (as stored): ISO text or a datetime, local time when no offset is given.
    :class:`InvalidQuery` when it is not a date or UTC cannot hold it (0001-01-01 local is before year 1)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise errors.InvalidQuery(field=field, reason="out_of_range") from exc
