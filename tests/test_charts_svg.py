"""Server-side SVG charts: well-formed, accessible (role, title, desc), no external reference, no style
attribute (a strict CSP accepts them inline), bars proportional to the counts; and over HTTP."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import httpx

from core.admin_document import BarChart
from core.document_consolidation import DIMENSIONS
from formats.charts import bar_chart_svg
from tests.staff_api import make_keys, seed, serve

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> dict[str, float]:
    root = ET.fromstring(svg)
    out = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        assert title is not None and rect is not None and title.text
        out[title.text.rsplit(":", 1)[0]] = float(rect.get("width", "0"))
    return out


def _clean(svg: str) -> None:
    assert not re.search(
        r"href|url\(|<script|<image|<style|style=|@import|<!DOCTYPE|http://(?!www\.w3\.org/2000/svg)", svg
    )


def test_a_chart_is_accessible_self_contained_and_proportional() -> None:
    chart = BarChart(
        "Số ý kiến theo chính kiến <A&B>", (("Tán thành", 30), ("Không tán thành", 15), ("Khác " * 20, 0))
    )
    svg = bar_chart_svg(chart, description="Biểu đồ cột, tổng số 45 ý kiến.", chart_id="c1")
    _clean(svg)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Số ý kiến theo chính kiến <A&B>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Biểu đồ cột, tổng số 45 ý kiến."  # type: ignore[union-attr]
    assert root.get("aria-labelledby") == "c1-title" and root.find(f"{SVG}title").get("id") == "c1-title"  # type: ignore[union-attr]
    bars = _bars(svg)
    assert bars["Tán thành"] == 2 * bars["Không tán thành"] > 0 and bars[("Khác " * 20)] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert any(text and text.endswith("…") for text in texts)  # a long name is shortened, full in the title
    empty = bar_chart_svg(BarChart("Trống", ()), description="Không có ý kiến.")
    _clean(empty)
    assert ET.fromstring(empty).find(f"{SVG}title").text == "Trống"  # type: ignore[union-attr]


async def test_charts_over_http_follow_the_counts(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    data = await seed(loaded)
    shown = [
        r
        for r in data.rows
        if r["kind"] == "draft_opinion" and r["status"] == "active" and r["document_id"] == data.document_id
    ]
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for dimension in DIMENSIONS:
                response = await client.get(
                    f"/v1/documents/{data.document_id}/charts/{dimension}.svg", headers=keys.auth("reader")
                )
                assert response.status_code == 200, response.text
                assert response.headers["content-type"].startswith("image/svg+xml")
                _clean(response.text)
                assert ET.fromstring(response.text).find(f"{SVG}desc") is not None
            stance = await client.get(
                f"/v1/documents/{data.document_id}/charts/stance.svg", headers=keys.auth("reader")
            )
            bars = _bars(stance.text)
            english = await client.get(
                f"/v1/documents/{data.document_id}/charts/channel.svg",
                params={"lang": "en"},
                headers=keys.auth("reader"),
            )
            section = data.section_ids[1]
            one = await client.get(
                f"/v1/documents/{data.document_id}/charts/stance.svg",
                params={"section_id": section},
                headers=keys.auth("reader"),
            )
            bad = await client.get(
                f"/v1/documents/{data.document_id}/charts/age.svg", headers=keys.auth("reader")
            )
            assert bad.status_code == 422
    agree = sum(1 for r in shown if r["stance"] == "agree")
    disagree = sum(1 for r in shown if r["stance"] == "disagree")
    assert abs(bars["Tán thành"] / bars["Không tán thành"] - agree / disagree) < 0.01
    assert "Web" in english.text and "Opinions by channel" in english.text
    in_section = sum(1 for r in shown if r["section_id"] == section)
    assert f"tổng số {in_section} ý kiến" in one.text
