"""Exports of the gathered entries: filters, columns, pseudonyms, the rows themselves and cursors.

An export row is a plain ``dict`` keyed by :data:`EXPORT_COLUMNS` (:func:`present_row`), delivered page
by page so an export of any size runs in constant memory; ``formats.exports`` encodes the pages as
CSV, JSONL or XLSX.

Files for people (the default of CSV and XLSX) are *worded* (:class:`ExportWording`): the columns of
:data:`WORDED_COLUMNS` under Vietnamese (or English) headers, names instead of codes, the section as its
path and title, times as local ``datetime`` (real dates in XLSX). ``labels=codes`` keeps the machine
layout (:data:`EXPORT_COLUMNS`, codes, ISO 8601 times); JSON Lines is always machine-oriented.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.domain import Channel, FeedbackKind, FeedbackStatus, Source, Stance

MAX_TEXT_FILTER = 200


class LabelMode(StrEnum):
    """How an export names things: ``labels`` (headers and names for people) or ``codes`` (machines)."""

    LABELS = "labels"
    CODES = "codes"


class HiddenFilter(StrEnum):
    """Which entries a listing shows as to moderation: ``exclude`` (the default: hidden entries are
    left out, as in every count and report), ``include`` (all) or ``only`` (the hidden ones)."""

    EXCLUDE = "exclude"
    INCLUDE = "include"
    ONLY = "only"


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
    ``text_contains`` matches the folded text (case, tone-mark placement and punctuation ignored);
    ``q`` is the full-text search: every word of it must appear in the text, case, diacritics and
    punctuation ignored ("chong ngap" finds «Chống ngập»). ``hidden`` (``None``: exclude) says whether
    entries hidden by moderation are left out, included, or the only ones listed.
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
    q: str | None = None
    hidden: HiddenFilter | None = None

    def __post_init__(self) -> None:
        for name in ("created_from", "created_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise errors.InvalidQuery(field=name, reason="timezone")
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise errors.InvalidQuery(field="created_to", reason="range")
        if self.text_contains is not None and len(self.text_contains) > MAX_TEXT_FILTER:
            raise errors.InvalidQuery(field="text_contains", reason="too_long")
        if self.q is not None and len(self.q) > MAX_TEXT_FILTER:
            raise errors.InvalidQuery(field="q", reason="too_long")

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

    def as_json(self) -> dict[str, Any]:
        """The filters set, JSON-ready (what a stored export job keeps); :meth:`from_json` reads it back."""
        return self.as_audit()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedbackFilters:
        """The filters of :meth:`as_json`; an unknown name is an :class:`InvalidQuery`."""
        values: dict[str, Any] = {}
        for name, raw in data.items():
            convert = _FILTER_TYPES.get(name)
            if convert is None:
                raise errors.InvalidQuery(field=name, reason="unknown")
            values[name] = None if raw is None else convert(raw)
        return cls(**values)


_FILTER_TYPES: dict[str, Any] = {
    "kind": FeedbackKind,
    "document_id": int,
    "section_id": int,
    "stance": Stance,
    "category": str,
    "organisation": str,
    "locality": str,
    "channel": Channel,
    "source": Source,
    "status": FeedbackStatus,
    "congress_id": int,
    "period_id": int,
    "topic": str,
    "unit_code": str,
    "created_from": datetime.fromisoformat,
    "created_to": datetime.fromisoformat,
    "text_contains": str,
    "q": str,
    "hidden": HiddenFilter,
}


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
    "hidden_at",
    "hidden_reason",
)


# Columns of a worded export (for people): one "section" column (path and title) instead of number and
# title; the unit's name in "unit_code".
WORDED_COLUMNS: tuple[str, ...] = tuple(
    "section" if column == "section_number" else column
    for column in EXPORT_COLUMNS
    if column != "section_title"
)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to a spreadsheet: exports escape it with a leading '
(formats.exports in Python, storage.export_sql in PostgreSQL)."""

TIME_COLUMNS: tuple[str, ...] = ("created_at", "updated_at", "withdrawn_at", "hidden_at")
# The columns whose codes a worded export replaces by names (lists, units and catalog names).
LABELLED_COLUMNS: tuple[str, ...] = (
    "kind",
    "stance",
    "category",
    "organisation",
    "locality",
    "age_band",
    "gender",
    "channel",
    "source",
    "status",
    "topic",
    "unit_code",
)
COUNT_COLUMNS: tuple[str, ...] = ("document_code", "section", "stance", "count")


@dataclass(frozen=True)
class ExportLayout:
    """What a spreadsheet export looks like: its columns, their headers, its sheet names."""

    columns: tuple[str, ...] = EXPORT_COLUMNS
    headers: tuple[str, ...] = EXPORT_COLUMNS
    data_sheet: str = "Ý kiến"
    counts_sheet: str = "Thống kê"
    counts_headers: tuple[str, ...] = COUNT_COLUMNS
    times: tuple[str, ...] = field(default=TIME_COLUMNS)


CODES_LAYOUT = ExportLayout()


@dataclass(frozen=True)
class ExportWording:
    """How a file for people names its columns and values, in one language.

    ``values`` maps a column of :data:`LABELLED_COLUMNS` to ``{code: name}`` (a code without a name stays
    as is); ``sections`` maps a section id to its path and title («Phần thứ nhất › II › 2.1. …»).
    """

    language: str
    headers: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]]
    sections: Mapping[int, str]
    whole_document: str
    data_sheet: str
    counts_sheet: str
    counts_headers: tuple[str, ...]

    @property
    def layout(self) -> ExportLayout:
        return ExportLayout(
            columns=WORDED_COLUMNS,
            headers=tuple(self.headers[c] for c in WORDED_COLUMNS),
            data_sheet=self.data_sheet,
            counts_sheet=self.counts_sheet,
            counts_headers=self.counts_headers,
        )

    def label(self, column: str, code: Any) -> Any:
        if code is None:
            return None
        return self.values.get(column, {}).get(str(code), code)

    def section(self, section_id: int | None, document_code: str | None) -> str | None:
        if section_id is not None:
            return self.sections.get(section_id, str(section_id))
        return self.whole_document if document_code else None

    def word(self, row: Mapping[str, Any], presented: Mapping[str, Any]) -> dict[str, Any]:
        """The worded row of a stored ``row`` already presented (pseudonym, local times)."""
        out: dict[str, Any] = {}
        for column in WORDED_COLUMNS:
            if column == "section":
                out[column] = self.section(row.get("section_id"), presented.get("document_code"))
            elif column in LABELLED_COLUMNS:
                out[column] = self.label(column, presented.get(column))
            else:
                out[column] = presented.get(column)
        return out


def search_words(q: str | None) -> list[str]:
    """The words of a full-text search ``q``, folded as the stored search key (:func:`fold_for_search`)."""
    from core.text import fold_for_search

    return fold_for_search(q).split() if q else []


def section_paths(sections: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Every section's label after the numbers of its parts: «Phần thứ nhất › II › 2.1.3. Title»."""
    from core.conversation.citizen.sections import path_label
    from core.domain import Section

    by_id = {
        int(s["id"]): Section(
            id=int(s["id"]),
            document_id=int(s["document_id"]),
            ordinal=int(s.get("ordinal") or 0),
            title=str(s["title"]),
            number=s.get("number"),
            parent_id=s.get("parent_id"),
        )
        for s in sections
    }
    return {sid: path_label(section, by_id) for sid, section in by_id.items()}


def pseudonym(*, key: str, respondent_id: int | None) -> str | None:
    """A stable pseudonym of a respondent: the same person always gets the same ``R-…`` code."""
    if respondent_id is None:
        return None
    return _pseudonym(key, respondent_id)


@lru_cache(maxsize=65_536)  # an export meets the same respondents again and again: one HMAC each
def _pseudonym(key: str, respondent_id: int) -> str:
    digest = hmac.new(key.encode(), f"respondent:{respondent_id}".encode(), hashlib.sha256).hexdigest()
    return "R-" + digest[:12].upper()


@lru_cache(maxsize=65_536)  # bounded; the same respondents recur from page to page
def pseudonym_from_pads(inner: bytes, outer: bytes, respondent_id: int) -> str:
    """:func:`pseudonym` from the key's HMAC pads (:func:`hmac_pads`), which is what
    :class:`SqlEncoding` holds: HMAC(k, m) = SHA-256(outer || SHA-256(inner || m))."""
    message = f"respondent:{respondent_id}".encode()
    digest = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).hexdigest()
    return "R-" + digest[:12].upper()


# values an export row passes on as they are (exact types: a StrEnum is a str but is turned into its value)
_AS_IS = frozenset({str, int, float, bool, type(None)})


def present_row(
    row: Mapping[str, Any], *, pii: bool, hash_key: str, tz: ZoneInfo, iso_times: bool = True
) -> dict[str, Any]:
    """One export row from a storage row: pseudonymised respondent, local ISO 8601 times (or, with
    ``iso_times=False``, local times as naive ``datetime``: what a spreadsheet shows)."""
    get = row.get
    out: dict[str, Any] = {column: get(column) for column in EXPORT_COLUMNS}  # the columns, in order
    rid = get("respondent_id")
    out["respondent"] = (
        (rid if rid is None else str(rid)) if pii else pseudonym(key=hash_key, respondent_id=rid)
    )
    for column, value in out.items():
        if value.__class__ in _AS_IS:
            continue
        if isinstance(value, datetime):
            local = value.astimezone(tz)
            out[column] = local.isoformat() if iso_times else local.replace(tzinfo=None, microsecond=0)
        elif isinstance(value, StrEnum):
            out[column] = value.value
    return out


@dataclass(frozen=True)
class SqlEncoding:
    """What a database needs to write an export's CSV or JSON Lines rows itself, byte for byte as
    ``formats.exports`` writes the presented rows (storage's fast path on PostgreSQL).

    ``columns`` in order; ``iso_times``: ISO 8601 local times with their offset (the machine layout), else
    ``YYYY-MM-DD HH:MM:SS`` local (a file for people); ``tz_name`` the IANA zone; ``pii``: the respondent
    id, else its pseudonym from ``hmac_inner`` / ``hmac_outer`` (the HMAC-SHA256 key pads, so the
    database computes :func:`pseudonym` without holding the key as text); ``labels`` / ``sections`` /
    ``whole_document``: the names of a worded file (:class:`ExportWording`), empty for codes.
    """

    fmt: ExportFormat
    columns: tuple[str, ...]
    iso_times: bool
    tz_name: str
    pii: bool
    hmac_inner: bytes
    hmac_outer: bytes
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sections: Mapping[str, str] = field(default_factory=dict)
    whole_document: str | None = None
    worded: bool = False


def hmac_pads(key: str) -> tuple[bytes, bytes]:
    """The inner and outer pads of HMAC-SHA256 for ``key``: HMAC(k, m) = H(outer || H(inner || m))."""
    raw = key.encode()
    if len(raw) > 64:  # SHA-256's block size
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in raw), bytes(b ^ 0x5C for b in raw)


def sql_encoding(
    fmt: ExportFormat,
    *,
    pii: bool,
    hash_key: str,
    tz: tzinfo,
    wording: ExportWording | None,
) -> SqlEncoding | None:
    """The :class:`SqlEncoding` of a CSV or JSONL export, or ``None`` when only Python can write it
    (XLSX, or a time zone that is not a named IANA zone)."""
    if fmt is ExportFormat.XLSX or not isinstance(tz, ZoneInfo) or not tz.key:
        return None
    if fmt is ExportFormat.JSONL and wording is not None:  # JSON Lines is the machine layout only
        return None
    inner, outer = hmac_pads(hash_key)
    if wording is None or fmt is ExportFormat.JSONL:
        return SqlEncoding(fmt, EXPORT_COLUMNS, True, tz.key, pii, inner, outer)
    return SqlEncoding(
        fmt,
        WORDED_COLUMNS,
        False,
        tz.key,
        pii,
        inner,
        outer,
        labels={c: dict(wording.values.get(c, {})) for c in LABELLED_COLUMNS},
        sections={str(k): v for k, v in wording.sections.items()},
        whole_document=wording.whole_document,
        worded=True,
    )


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
