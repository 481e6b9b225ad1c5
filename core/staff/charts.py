"""Charts of a document's counts (stance, category, organisation, locality, channel) for the console:
one bar chart per dimension with its names in the reader's language and a sentence describing it (the
``desc`` a screen reader reads); ``formats.charts.bar_chart_svg`` draws them."""

from __future__ import annotations

from dataclasses import dataclass

from core.admin_document import BarChart
from core.document_consolidation import DIMENSIONS, LIST_OF_DIMENSION
from core.i18n import t
from core.near_duplicates import count_by
from core.staff.documents import get_document
from core.staff.ports import StaffUnitOfWork


@dataclass(frozen=True)
class CountChart:
    dimension: str
    chart: BarChart
    description: str
    total: int


async def count_charts(
    *, uow: StaffUnitOfWork, document_id: int, language: str = "vi", section_id: int | None = None
) -> list[CountChart]:
    """A bar chart per dimension of the document's (or one section's) active, shown opinions; most
    frequent first; a dimension with no opinion gives a chart with no bar."""
    await get_document(uow=uow, document_id=document_id, sections=False)
    rows = await uow.views.opinions_of_document(document_id)
    if section_id is not None:
        rows = [r for r in rows if r.get("section_id") == section_id]
    names: dict[str, dict[str, str]] = {}
    for dimension, list_name in LIST_OF_DIMENSION.items():
        names[dimension] = {item.code: item.name(language) for item in await uow.reference.list(list_name)}
    charts: list[CountChart] = []
    for dimension in DIMENSIONS:
        counts = count_by(rows, dimension)

        def name(code: str, dimension: str = dimension) -> str:
            if code == "unknown":
                return t("api.unknown", language)
            if dimension in ("stance", "channel"):
                return t(f"api.{dimension}.{code}", language)
            return names.get(dimension, {}).get(code, code)

        bars = tuple((name(code), count) for code, count in counts.items())
        label = t(f"api.dim.{dimension}", language)
        caption = t("staff.chart.caption", language, dimension=label[:1].lower() + label[1:])
        listed = "; ".join(f"{label}: {count}" for label, count in bars)
        description = t("staff.chart.desc", language, total=len(rows), bars=listed or "-")
        charts.append(CountChart(dimension, BarChart(caption, bars), description, len(rows)))
    return charts
