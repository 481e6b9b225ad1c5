"""Staff edits of themes: applied after the automatic grouping (pure), stored and audited (use cases on
SQLite and PostgreSQL), surviving re-runs, and over HTTP."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core import errors
from core.near_duplicates import OpinionText
from core.staff.api_keys import create_api_key
from core.staff.consolidation import export_consolidation
from core.staff.themes import (
    list_themes,
    merge_themes,
    move_opinion,
    rename_theme,
    reset_theme,
    section_theme_scope,
    split_theme,
)
from core.text import fold_for_matching
from core.theme_edits import StoredTheme, ThemeView, apply_theme_edits, automatic_key, current_themes
from core.themes import Theme
from storage.models import DocumentRow, FeedbackRow, SectionRow
from storage.models_api import AuditLogRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.staff_api import make_keys, serve

DATA = Path(__file__).parent / "data" / "themes_vi.json"
ROWS = json.loads(DATA.read_text(encoding="utf-8"))
IDEA = {f"GY-H{n:05d}": row["idea"] for n, row in enumerate(ROWS)}


def auto(*keys: str, label: str = "x") -> Theme:
    return Theme(label=label, key_phrases=(label,), count=len(keys), keys=keys)


# --------------------------------------------------------------------------- pure


def test_without_edits_the_automatic_themes_come_through_with_digest_keys() -> None:
    views = apply_theme_edits([auto("a", "b", label="nhà ở"), auto("c")], [])
    assert [(v.label, v.receipt_codes, v.edited) for v in views] == [
        ("nhà ở", ("a", "b"), False),
        ("x", ("c",), False),
    ]
    assert views[0].key == automatic_key(["b", "a"]) and views[0].key.startswith("a")


def test_pinned_opinions_go_to_their_stored_theme_and_new_ones_follow_it() -> None:
    # staff moved a5 from A to B, then renamed A; the algorithm still puts a5 with A, and a new a6 too.
    stored = [
        StoredTheme(1, "Nhà ở xã hội", frozenset({"a1", "a2", "a3", "a4"})),
        StoredTheme(2, "Thủ tục", frozenset({"b1", "b2", "a5"})),
    ]
    views = apply_theme_edits(
        [auto("a1", "a2", "a3", "a4", "a5", "a6"), auto("b1", "b2"), auto("c1")], stored
    )
    by_label = {v.label: v for v in views}
    assert by_label["Nhà ở xã hội"].receipt_codes == ("a1", "a2", "a3", "a4", "a6")
    assert by_label["Thủ tục"].receipt_codes == ("a5", "b1", "b2")
    assert by_label["Nhà ở xã hội"].key == "s1" and by_label["Thủ tục"].edited
    assert not by_label["x"].edited


def test_a_stored_theme_whose_opinions_are_all_withdrawn_is_not_listed() -> None:
    views = apply_theme_edits([auto("a")], [StoredTheme(1, "Đã rút", frozenset({"gone"}))])
    assert [v.receipt_codes for v in views] == [("a",)]


# --------------------------------------------------------------------------- use cases, both databases


async def _seed(sessions, texts: list[tuple[str, str]]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        doc = await session.scalar(select(DocumentRow).where(DocumentRow.code == "sample-political-report"))
        assert doc is not None
        section = await session.scalar(
            select(SectionRow.id)
            .where(SectionRow.document_id == doc.id)
            .order_by(SectionRow.ordinal)
            .offset(2)
        )
        for code, text in texts:
            text = unicodedata.normalize("NFC", text)
            session.add(
                FeedbackRow(
                    receipt_code=code,
                    kind="draft_opinion",
                    document_id=doc.id,
                    section_id=section,
                    stance="other",
                    text=text,
                    text_folded=fold_for_matching(text),
                    channel="web",
                    source="web",
                    status="active",
                    created_at=NOW,
                )
            )
        await session.commit()
        assert section is not None
        return doc.id, section


def _theme_of(views: list[ThemeView], code: str) -> ThemeView:
    return next(v for v in views if code in v.receipt_codes)


async def _views(sessions, document_id: int, section_id: int) -> list[ThemeView]:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(sessions) as uow:
        done = await export_consolidation(
            uow=uow, actor="test", document_id=document_id, kind="consolidation", fmt="json", now=NOW
        )
    (summary,) = [s for s in done.result.sections if s.section_id == section_id]
    return summary.themes


async def test_rename_merge_split_and_move_are_stored_audited_and_survive_a_rerun(loaded) -> None:  # type: ignore[no-untyped-def]
    document_id, section_id = await _seed(
        loaded, [(code, row["text"]) for code, row in zip(IDEA, ROWS, strict=True)]
    )
    before = await _views(loaded, document_id, section_id)
    assert sorted(v.count for v in before) == [5] * 8  # the lexical themes, wired per section
    assert all(not v.edited and v.label for v in before)

    housing, procedures = _theme_of(before, "GY-H00000"), _theme_of(before, "GY-H00005")
    pollution = _theme_of(before, "GY-H00015")
    assert {IDEA[c] for c in housing.receipt_codes} == {"housing"}

    async def edit(action, **kwargs):  # type: ignore[no-untyped-def]
        async with SqlUnitOfWork(loaded) as uow:
            scope = await section_theme_scope(uow=uow, document_id=document_id, section_id=section_id)
            return await action(uow=uow, actor="staff:lan", scope=scope, now=NOW, **kwargs)

    await edit(rename_theme, theme_key=housing.key, name="Nhà ở xã hội cho công nhân")
    views = await edit(merge_themes, theme_key=procedures.key, other_key=pollution.key, name="Gộp")
    merged = _theme_of(views, "GY-H00005")
    assert merged.count == 10 and merged.label == "Gộp"
    views = await edit(
        split_theme, theme_key=merged.key, receipt_codes=["GY-H00015", "GY-H00016"], name="Tách"
    )
    assert _theme_of(views, "GY-H00015").receipt_codes == ("GY-H00015", "GY-H00016")
    housing_now = _theme_of(views, "GY-H00000")
    await edit(move_opinion, receipt_code="GY-H00019", theme_key=housing_now.key)

    # Re-run, with a new opinion (a copy of a housing wording) and a withdrawn one.
    await _seed(loaded, [("GY-N00001", ROWS[1]["text"])])
    async with loaded() as session:
        row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == "GY-H00017"))
        assert row is not None
        row.status = "withdrawn"
        await session.commit()
    after = await _views(loaded, document_id, section_id)
    housing_after = _theme_of(after, "GY-H00000")
    assert housing_after.label == "Nhà ở xã hội cho công nhân" and housing_after.edited
    assert set(housing_after.receipt_codes) == set(housing.receipt_codes) | {"GY-H00019", "GY-N00001"}
    merged_after = _theme_of(after, "GY-H00005")
    assert merged_after.label == "Gộp"
    assert set(merged_after.receipt_codes) == (
        set(procedures.receipt_codes) | set(pollution.receipt_codes)
    ) - {"GY-H00015", "GY-H00016", "GY-H00017", "GY-H00019"}
    assert _theme_of(after, "GY-H00016").label == "Tách"
    assert sum(v.count for v in after) == len(ROWS)  # 40 - 1 withdrawn + 1 new

    async with loaded() as session:
        audits = [
            (a.action, a.actor, a.target)
            for a in await session.scalars(
                select(AuditLogRow).where(AuditLogRow.action.like("theme.%")).order_by(AuditLogRow.id)
            )
        ]
    scope = f"document:{document_id}:section:{section_id}"
    assert audits == [(f"theme.{a}", "staff:lan", scope) for a in ("rename", "merge", "split", "move")]

    # Undo: the renamed theme goes back to the automatic grouping and its key phrases.
    views = await edit(reset_theme, theme_key=housing_after.key)
    assert not _theme_of(views, "GY-H00000").edited


async def test_a_stale_key_is_theme_not_found_and_writes_nothing(loaded) -> None:  # type: ignore[no-untyped-def]
    document_id, section_id = await _seed(
        loaded, [(code, row["text"]) for code, row in zip(IDEA, ROWS, strict=True)]
    )
    async with SqlUnitOfWork(loaded) as uow:
        scope = await section_theme_scope(uow=uow, document_id=document_id, section_id=section_id)
        with pytest.raises(errors.ThemeNotFound):
            await rename_theme(
                uow=uow, actor="x", scope=scope, theme_key="a0000000000000000", name="N", now=NOW
            )
        theme = (await list_themes(uow=uow, scope=scope))[0]
        with pytest.raises(errors.InvalidQuery):
            await split_theme(
                uow=uow,
                actor="x",
                scope=scope,
                theme_key=theme.key,
                receipt_codes=["GY-NOPE"],
                name="N",
                now=NOW,
            )
        with pytest.raises(errors.SectionNotFound):
            await section_theme_scope(uow=uow, document_id=document_id, section_id=10**6)
    async with loaded() as session:
        assert not list(await session.scalars(select(AuditLogRow).where(AuditLogRow.action.like("theme.%"))))


def test_current_themes_of_nothing_is_empty_and_too_many_are_skipped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import core.theme_edits

    assert current_themes([], []) == []
    items = [OpinionText(c, t) for c, t in (("a", "Đề nghị"), ("b", "Nhà ở xã hội"), ("c", "Nhà ở"))]
    assert sum(v.count for v in current_themes(items, [])) == 3
    monkeypatch.setattr(core.theme_edits, "MAX_THEME_OPINIONS", 2)
    assert current_themes(items, []) == []


# --------------------------------------------------------------------------- HTTP


async def test_themes_over_http_need_the_themes_write_scope_and_show_in_the_consolidation(
    database_url, loaded, clock
) -> None:  # type: ignore[no-untyped-def]
    document_id, section_id = await _seed(
        loaded, [(code, row["text"]) for code, row in zip(IDEA, ROWS, strict=True)]
    )
    keys = await make_keys(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        _, editor = await create_api_key(
            uow=uow, actor="test", name="tong-hop", scopes=["feedback:read", "themes:write"], now=NOW
        )
    edit = {"Authorization": f"Bearer {editor.secret}"}
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            body = (
                await client.get(f"/v1/documents/{document_id}/consolidation", headers=keys.auth("reader"))
            ).json()
            (section,) = [s for s in body["sections"] if s["section_id"] == section_id]
            assert sorted(t["count"] for t in section["themes"]) == [5] * 8
            theme = next(t for t in section["themes"] if "GY-H00000" in t["receipt_codes"])
            url = f"/v1/documents/{document_id}/themes/{theme['key']}?section_id={section_id}"

            refused = await client.patch(url, json={"name": "Nhà ở"}, headers=keys.auth("reader"))
            assert refused.status_code == 403
            renamed = await client.patch(url, json={"name": "  Nhà ở xã hội  "}, headers=edit)
            assert renamed.status_code == 200, renamed.text
            new = next(t for t in renamed.json()["themes"] if "GY-H00000" in t["receipt_codes"])
            assert new["label"] == "Nhà ở xã hội" and new["edited"] and new["key"].startswith("s")

            stale = await client.patch(url, json={"name": "Lại"}, headers=edit)
            assert stale.status_code == 404 and stale.json()["error"]["code"] == "error.theme_not_found"
            assert "tải lại" in stale.json()["error"]["message_vi"]

            listed = await client.get(
                f"/v1/documents/{document_id}/themes",
                params={"section_id": section_id},
                headers=keys.auth("reader"),
            )
            assert listed.status_code == 200
            assert new in listed.json()["themes"]
            again = (
                await client.get(f"/v1/documents/{document_id}/consolidation", headers=keys.auth("reader"))
            ).json()
            (section,) = [s for s in again["sections"] if s["section_id"] == section_id]
            assert new in section["themes"]

            mood = await client.get("/v1/mood/periods/city-17-before/summary", headers=keys.auth("reader"))
            assert mood.status_code == 200 and mood.json()["themes"] == []
            missing = await client.get("/v1/mood/periods/nope/themes", headers=keys.auth("reader"))
            assert missing.status_code == 404
    async with loaded() as session:
        actions = Counter(a.action for a in await session.scalars(select(AuditLogRow)))
    assert actions["theme.rename"] == 1


async def test_mood_summary_has_themes_per_topic_and_applies_the_edits(loaded) -> None:  # type: ignore[no-untyped-def]
    from core.staff.mood import export_mood_summary
    from core.staff.themes import mood_theme_scope
    from storage.models import ReportingPeriodRow

    async with loaded() as session:
        period = await session.scalar(select(ReportingPeriodRow).order_by(ReportingPeriodRow.id))
        assert period is not None
        for n, row in enumerate(ROWS[:15]):  # housing, procedures, corruption: 5 wordings each
            session.add(
                FeedbackRow(
                    receipt_code=f"GY-K{n:05d}",
                    kind=("concern", "aspiration", "recommendation")[n % 3],
                    text=row["text"],
                    text_folded=fold_for_matching(row["text"]),
                    channel="telegram",
                    source="bot",
                    status="active",
                    congress_id=period.congress_id,
                    period_id=period.id,
                    topic="welfare" if row["idea"] == "housing" else None,
                    created_at=NOW,
                )
            )
        await session.commit()
        code = period.code
    async with SqlUnitOfWork(loaded) as uow:
        summary = await export_mood_summary(uow=uow, actor="t", period_code=code, now=NOW)
    by_topic = {block.topic: block.themes for block in summary.themes}
    assert [v.count for v in by_topic["welfare"]] == [5]
    # 10 entries only: the lexical path may split an idea (IDF over few texts), never mixes two here.
    assert sum(v.count for v in by_topic["unknown"]) == 10
    idea = {f"GY-K{n:05d}": row["idea"] for n, row in enumerate(ROWS[:15])}
    assert all(len({idea[c] for c in v.receipt_codes}) == 1 for v in by_topic["unknown"])
    assert summary.as_dict()["themes"][0]["themes"][0]["count"] == 5

    async with SqlUnitOfWork(loaded) as uow:
        scope = await mood_theme_scope(uow=uow, period_code=code, topic=None)
        first = (await list_themes(uow=uow, scope=scope))[0]
        await rename_theme(
            uow=uow, actor="t", scope=scope, theme_key=first.key, name="Thủ tục hành chính", now=NOW
        )
    async with SqlUnitOfWork(loaded) as uow:
        summary = await export_mood_summary(uow=uow, actor="t", period_code=code, now=NOW)
    renamed = [v for block in summary.themes for v in block.themes if v.edited]
    assert [(v.label, v.receipt_codes) for v in renamed] == [("Thủ tục hành chính", first.receipt_codes)]
