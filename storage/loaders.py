"""Loaders for the bundled, staff-editable data files: plans, lists, localities (CSV), draft documents.

Every loader runs inside the caller's session and flushes; the caller commits once, so a bad file
leaves nothing half-loaded. Loading is idempotent: rows are matched by code and updated.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DataFileError, DocumentImportError
from core.i18n import t
from core.parsed_document import DRAFT_SUFFIXES, DraftFile
from core.staff.ports import LoadReport
from core.text import normalize_input
from storage.loaders_reporting import load_units
from storage.models import (
    CongressRow,
    DocumentRow,
    FeedbackRow,
    ReferenceItemRow,
    ReportingPeriodRow,
    SectionRow,
)

RELATIVE_DATE = re.compile(r"^([+-]\d+)d$")


ReadDraft = Callable[[bytes, str], DraftFile]  # raw bytes and file name -> the parsed draft
YamlLoader = Callable[[AsyncSession, dict[str, Any], LoadReport, datetime], Awaitable[None]]
YAML_LOADERS: dict[str, YamlLoader] = {}


def yaml_loader(kind: str) -> Callable[[YamlLoader], YamlLoader]:
    """Register a loader for YAML files whose top-level ``kind`` is ``kind``."""

    def register(fn: YamlLoader) -> YamlLoader:
        YAML_LOADERS[kind] = fn
        return fn

    return register


async def load_file(
    session: AsyncSession, path: Path, *, now: datetime, read_draft: ReadDraft | None = None
) -> LoadReport:
    """Load one data file of any supported kind (by suffix, then by its ``kind`` key); a draft document is
    read by ``read_draft`` (``formats.drafts.read_draft``, passed in by the caller)."""
    if not path.is_file():
        raise DataFileError(reason="not_found", detail=str(path))
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise DataFileError(reason="yaml", detail=str(exc)[:300]) from exc
        if not isinstance(data, dict) or data.get("kind") not in YAML_LOADERS:
            kinds = ", ".join(sorted(YAML_LOADERS))
            raise DataFileError(reason="unknown_kind", detail=f"expected 'kind:' one of {kinds}")
        report = LoadReport(path.name, str(data["kind"]))
        await YAML_LOADERS[data["kind"]](session, data, report, now)
        return report
    if suffix == ".csv":
        return await load_localities_csv(session, path.read_bytes(), source=path.name)
    if suffix in DRAFT_SUFFIXES:
        if read_draft is None:
            raise DataFileError(reason="unsupported_format", detail=path.suffix)
        draft = read_draft(path.read_bytes(), path.name)
        return await store_document(session, draft, now=now, skip_used=True)
    raise DataFileError(reason="unsupported_format", detail=path.suffix)


# --------------------------------------------------------------------------- lists


async def upsert_reference(
    session: AsyncSession,
    list_name: str,
    items: list[dict[str, Any]],
    report: LoadReport,
    *,
    deactivate_missing: bool,
) -> None:
    existing = {
        row.code: row
        for row in await session.scalars(
            select(ReferenceItemRow).where(ReferenceItemRow.list_name == list_name)
        )
    }
    seen = set()
    for ordinal, item in enumerate(items, start=1):
        code = str(item.get("code") or "").strip()
        name_vi = normalize_input(str(item.get("vi") or item.get("name_vi") or ""))
        if not code or not name_vi or len(code) > 64:
            raise DataFileError(reason="bad_item", detail=f"{list_name} #{ordinal}: code and vi are required")
        if code in seen:
            raise DataFileError(reason="duplicate_code", detail=f"{list_name}: {code}")
        seen.add(code)
        name_en = normalize_input(str(item.get("en") or item.get("name_en") or name_vi))
        parent = item.get("parent_code") or None
        row = existing.get(code)
        if row is None:
            session.add(
                ReferenceItemRow(
                    list_name=list_name,
                    code=code,
                    name_vi=name_vi,
                    name_en=name_en,
                    ordinal=ordinal,
                    parent_code=parent,
                    active=True,
                )
            )
            report.add(f"{list_name} created")
        else:
            row.name_vi, row.name_en, row.ordinal, row.parent_code, row.active = (
                name_vi,
                name_en,
                ordinal,
                parent,
                True,
            )
            report.add(f"{list_name} updated")
    if deactivate_missing:
        for code, row in existing.items():
            if code not in seen and row.active:
                row.active = False
                report.add(f"{list_name} deactivated")
    await session.flush()


@yaml_loader("lists")
async def load_lists(session: AsyncSession, data: dict[str, Any], report: LoadReport, now: datetime) -> None:
    """Load ``lists: {name: [{code, vi, en}, ...]}``."""
    lists = data.get("lists")
    if not isinstance(lists, dict):
        raise DataFileError(reason="bad_structure", detail="'lists' must be a mapping")
    for list_name, items in lists.items():
        if not isinstance(items, list):
            raise DataFileError(reason="bad_structure", detail=f"list {list_name} must be a sequence")
        await upsert_reference(session, str(list_name), items, report, deactivate_missing=True)


async def load_localities_csv(
    session: AsyncSession, content: bytes, *, source: str = "localities.csv"
) -> LoadReport:
    """Load localities from CSV with columns ``code,name_vi,name_en[,kind,parent_code]`` (UTF-8); lines
    starting with ``#`` are comments."""
    report = LoadReport(source, "localities")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(reason="encoding", detail="CSV must be UTF-8") from exc
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]  # comments
    reader = csv.DictReader(io.StringIO("".join(lines)))
    if not reader.fieldnames or not {"code", "name_vi"} <= set(reader.fieldnames):
        raise DataFileError(
            reason="csv_header", detail="columns code,name_vi[,name_en,kind,parent_code] required"
        )
    items = [
        {
            "code": row.get("code"),
            "vi": row.get("name_vi"),
            "en": row.get("name_en"),
            "parent_code": row.get("parent_code"),
        }
        for row in reader
    ]
    await upsert_reference(session, "localities", items, report, deactivate_missing=True)
    return report


# --------------------------------------------------------------------------- plans


def resolve_date(value: Any, *, now: datetime, tz: ZoneInfo) -> datetime:
    """A plan date: ``YYYY-MM-DD`` or ``+Nd``/``-Nd`` (days from today), 00:00 local, in UTC."""
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=tz)
        return local.astimezone(UTC)
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        match = RELATIVE_DATE.match(text)
        if match:
            day = now.astimezone(tz).date() + timedelta(days=int(match.group(1)))
        else:
            try:
                day = date.fromisoformat(text)
            except ValueError as exc:
                raise DataFileError(reason="bad_date", detail=text) from exc
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def due_of_month(month: str, *, due_day: int, tz: ZoneInfo) -> datetime:
    """Due instant of a reporting month: 00:00 local on ``due_day`` of that month."""
    try:
        year, mon = (int(x) for x in str(month).split("-"))
        return datetime(year, mon, due_day, tzinfo=tz).astimezone(UTC)
    except (ValueError, TypeError) as exc:
        raise DataFileError(reason="bad_month", detail=str(month)) from exc


@yaml_loader("plan")
async def load_plan(session: AsyncSession, data: dict[str, Any], report: LoadReport, now: datetime) -> None:
    """Load congresses, reporting periods and unit kinds of a plan."""
    try:
        tz = ZoneInfo(str(data.get("timezone") or "Asia/Ho_Chi_Minh"))
    except Exception as exc:
        raise DataFileError(reason="bad_timezone", detail=str(data.get("timezone"))) from exc
    due_day = int(data.get("due_day") or 5)
    kinds = data.get("unit_kinds") or []
    await upsert_reference(session, "unit_kinds", list(kinds), report, deactivate_missing=False)
    kind_codes = {str(k.get("code")) for k in kinds}
    congresses = data.get("congresses")
    if not isinstance(congresses, list) or not congresses:
        raise DataFileError(reason="bad_structure", detail="'congresses' must be a non-empty list")
    for c in congresses:
        code = str(c.get("code") or "")
        if not code or not c.get("name_vi"):
            raise DataFileError(reason="bad_item", detail="congress needs code and name_vi")
        held_at = resolve_date(c["held_at"], now=now, tz=tz) if c.get("held_at") else None
        row = await session.scalar(select(CongressRow).where(CongressRow.code == code))
        if row is None:
            row = CongressRow(code=code)
            session.add(row)
            report.add("congresses created")
        else:
            report.add("congresses updated")
        row.level = str(c.get("level") or "other")
        row.name_vi = normalize_input(str(c["name_vi"]))
        row.name_en = normalize_input(str(c.get("name_en") or c["name_vi"]))
        row.held_at = held_at
        await session.flush()
        for p in c.get("periods") or []:
            await _load_period(
                session, row, p, tz=tz, due_day=due_day, now=now, kind_codes=kind_codes, report=report
            )


async def _load_period(
    session: AsyncSession,
    congress: CongressRow,
    p: dict[str, Any],
    *,
    tz: ZoneInfo,
    due_day: int,
    now: datetime,
    kind_codes: set[str],
    report: LoadReport,
) -> None:
    code = str(p.get("code") or "")
    phase = str(p.get("phase") or "single")
    if not code or phase not in ("before", "after", "single"):
        raise DataFileError(reason="bad_item", detail=f"period {code!r}: code and phase before/after/single")
    if p.get("due"):
        due_at = resolve_date(p["due"], now=now, tz=tz)
    elif p.get("month"):
        due_at = due_of_month(str(p["month"]), due_day=due_day, tz=tz)
    else:
        raise DataFileError(reason="bad_item", detail=f"period {code}: 'month' or 'due' required")
    unit_kinds = [str(k) for k in p.get("unit_kinds") or sorted(kind_codes)]
    unknown = set(unit_kinds) - kind_codes
    if unknown:
        raise DataFileError(reason="unknown_unit_kind", detail=", ".join(sorted(unknown)))
    row = await session.scalar(select(ReportingPeriodRow).where(ReportingPeriodRow.code == code))
    if row is None:
        row = ReportingPeriodRow(code=code)
        session.add(row)
        report.add("periods created")
    else:
        report.add("periods updated")
    row.congress_id = congress.id
    row.phase = phase
    row.title_vi = normalize_input(str(p.get("title_vi") or code))
    row.title_en = normalize_input(str(p.get("title_en") or p.get("title_vi") or code))
    row.due_at = due_at
    row.starts_at = resolve_date(p["starts"], now=now, tz=tz) if p.get("starts") else None
    row.unit_kinds = unit_kinds
    await session.flush()


# --------------------------------------------------------------------------- documents


def slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = ascii_text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60] or "document"


async def store_document(
    session: AsyncSession,
    draft: DraftFile,
    *,
    now: datetime,
    code: str | None = None,
    title: str | None = None,
    status: str | None = None,
    skip_used: bool = False,
) -> LoadReport:
    """Store a parsed draft document with its section tree, all or nothing.

    Reloading is safe: an unchanged file is a no-op, and what staff changed since (the status, the
    dates) is kept unless given explicitly. A changed file whose document already has opinions is
    refused, or with ``skip_used`` (the bundled data loaded at every start) reported and skipped.
    """
    meta, parsed, filename, digest = draft.meta, draft.parsed, draft.filename, draft.sha256
    doc_title = normalize_input(str(title or meta.get("title") or parsed.title or Path(filename).stem))
    doc_code = str(code or meta.get("code") or slug(doc_title))
    doc_status = str(status or meta.get("status") or "draft")
    if doc_status not in ("draft", "open", "closed"):
        raise DocumentImportError(reason="bad_status", detail=doc_status)
    report = LoadReport(filename, "document")
    row = await session.scalar(select(DocumentRow).where(DocumentRow.code == doc_code))
    if row is None:
        row = DocumentRow(code=doc_code, created_at=now, status=doc_status)
        session.add(row)
        report.add("documents created")
    else:
        if row.source_sha256 == digest and (title is None or row.title == doc_title[:500]):
            if status is not None:
                row.status = status
            report.add("documents unchanged")
            report.notes.append(f"code={doc_code} status={row.status}")
            report.document_code = doc_code
            return report
        used = await session.scalar(select(func.count()).where(FeedbackRow.document_id == row.id))
        if used and skip_used:
            report.add("documents skipped")
            report.document_code = doc_code
            report.notes.append(t("document.reload_skipped", "vi", code=doc_code, count=used))
            report.notes.append(t("document.reload_skipped", "en", code=doc_code, count=used))
            return report
        if used:
            raise DocumentImportError(
                reason="has_feedback",
                detail=f"document {doc_code} already has {used} opinions; import under a new code",
            )
        await session.execute(
            update(SectionRow).where(SectionRow.document_id == row.id).values(parent_id=None)
        )
        await session.execute(delete(SectionRow).where(SectionRow.document_id == row.id))
        if status is not None:  # the status is staff's once the document exists
            row.status = status
        report.add("documents replaced")
    row.source_sha256 = digest
    row.title = doc_title[:500]
    row.level = str(meta.get("level")) if meta.get("level") else row.level
    row.is_sample = bool(meta.get("is_sample", False))
    for key in ("opens_at", "closes_at"):
        if meta.get(key):
            setattr(row, key, resolve_date(meta[key], now=now, tz=ZoneInfo("Asia/Ho_Chi_Minh")))
    await session.flush()
    ids: dict[int, int] = {}
    for ordinal, section, parent in parsed.walk():
        srow = SectionRow(
            document_id=row.id,
            parent_id=ids[id(parent)] if parent is not None else None,
            ordinal=ordinal,
            depth=section.level,
            number=section.number,
            title=section.title[:500],
            body=section.body,
        )
        session.add(srow)
        await session.flush()
        ids[id(section)] = srow.id
        report.add("sections")
    report.notes.append(f"code={doc_code} status={row.status}")
    report.document_code = doc_code
    return report


YAML_LOADERS["units"] = load_units
