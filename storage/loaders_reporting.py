"""Loader of the reporting units file (``kind: units``); ``storage.loaders`` registers it for that kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DataFileError
from core.staff.ports import LoadReport
from core.text import normalize_input
from storage.models import ReferenceItemRow
from storage.models_reporting import UnitRow


async def load_units(session: AsyncSession, data: dict[str, Any], report: LoadReport, now: datetime) -> None:
    """Load ``units: [{code, kind, name_vi, name_en, parent}]``; kinds must be known ``unit_kinds``."""
    units = data.get("units")
    if not isinstance(units, list) or not units:
        raise DataFileError(reason="bad_structure", detail="'units' must be a non-empty list")
    kinds = set(
        await session.scalars(select(ReferenceItemRow.code).where(ReferenceItemRow.list_name == "unit_kinds"))
    )
    existing = {row.code: row for row in await session.scalars(select(UnitRow))}
    seen: set[str] = set()
    for n, item in enumerate(units, start=1):
        if not isinstance(item, dict):
            raise DataFileError(reason="bad_item", detail=f"unit #{n} must be a mapping")
        code = str(item.get("code") or "").strip()
        kind = str(item.get("kind") or "").strip()
        name_vi = normalize_input(str(item.get("name_vi") or ""))
        if not code or len(code) > 64 or not name_vi:
            raise DataFileError(reason="bad_item", detail=f"unit #{n}: code and name_vi are required")
        if code in seen:
            raise DataFileError(reason="duplicate_code", detail=f"units: {code}")
        if kind not in kinds:
            raise DataFileError(
                reason="unknown_unit_kind", detail=f"unit {code}: {kind!r} (load the plan first)"
            )
        seen.add(code)
        row = existing.get(code)
        if row is None:
            row = UnitRow(code=code)
            session.add(row)
            report.add("units created")
        else:
            report.add("units updated")
        row.kind = kind
        row.name_vi = name_vi
        row.name_en = normalize_input(str(item.get("name_en") or name_vi))
        row.parent_code = str(item["parent"]) if item.get("parent") else None
        row.active = True
    for code, row in existing.items():
        if code not in seen and row.active:
            row.active = False
            report.add("units deactivated")
    unknown_parents = {str(i.get("parent")) for i in units if i.get("parent")} - seen - set(existing)
    if unknown_parents:
        raise DataFileError(reason="unknown_parent", detail=", ".join(sorted(unknown_parents)))
    await session.flush()
