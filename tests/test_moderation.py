"""Moderation: a hidden entry is kept and audited, left out of counts, listings, exports, consolidation and
mood by default, listed with ``hidden=include|only``, and restored; against fakes, both databases, HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import errors
from core.exports import FeedbackFilters, HiddenFilter
from core.staff.moderation import hide_opinion, restore_opinion
from storage.models import FeedbackRow
from storage.models_api import AuditLogRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.fakes_staff import FakeStaffUnitOfWork, StaffStore
from tests.staff_api import Keys, Seeded, make_keys, seed, serve

LATER = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _store() -> StaffStore:
    store = StaffStore()
    store.entries["GY-AAAA01"] = {"id": 7, "receipt_code": "GY-AAAA01", "hidden_at": None}
    return store


async def test_hide_and_restore_commit_with_their_audit_rows_once() -> None:
    store = _store()
    async with FakeStaffUnitOfWork(store) as uow:
        state = await hide_opinion(
            uow=uow, actor="staff:1", receipt_code="gy-aaaa01", reason="  Quảng cáo\n rác ", now=LATER
        )
    assert state.changed and state.hidden and state.hidden_reason == "Quảng cáo rác"
    assert store.entries["GY-AAAA01"]["hidden_by"] == "staff:1"
    assert [(a.action, a.target, a.details) for a in store.audit] == [
        ("feedback.hide", "GY-AAAA01", {"reason": "Quảng cáo rác"})
    ]
    async with FakeStaffUnitOfWork(store) as uow:  # hiding again: no change, no audit row, no commit
        again = await hide_opinion(uow=uow, actor="staff:2", receipt_code="GY-AAAA01", reason="x", now=LATER)
    assert not again.changed and again.hidden_by == "staff:1" and store.commits == 1
    async with FakeStaffUnitOfWork(store) as uow:  # the console's table names entries by id
        restored = await restore_opinion(uow=uow, actor="staff:2", feedback_id=7, now=LATER)
    assert restored.changed and not restored.hidden and store.entries["GY-AAAA01"]["hidden_at"] is None
    assert store.audit[-1].action == "feedback.restore"
    assert store.audit[-1].details["hidden_reason"] == "Quảng cáo rác"
    async with FakeStaffUnitOfWork(store) as uow:
        assert not (await restore_opinion(uow=uow, actor="s", receipt_code="GY-AAAA01", now=LATER)).changed
    assert store.commits == 2


@pytest.mark.parametrize("reason", ["", "  \u200b ", "x" * 501])
async def test_a_hide_without_a_usable_reason_is_refused_and_saves_nothing(reason: str) -> None:
    store = _store()
    async with FakeStaffUnitOfWork(store) as uow:
        with pytest.raises(errors.InvalidQuery) as refused:
            await hide_opinion(uow=uow, actor="s", receipt_code="GY-AAAA01", reason=reason, now=LATER)
    assert refused.value.params["field"] == "reason"
    async with FakeStaffUnitOfWork(store) as uow:
        with pytest.raises(errors.FeedbackNotFound):
            await hide_opinion(uow=uow, actor="s", receipt_code="GY-NOPE", reason="spam", now=LATER)
        with pytest.raises(errors.FeedbackNotFound):
            await hide_opinion(uow=uow, actor="s", feedback_id=99, reason="spam", now=LATER)
        with pytest.raises(errors.InvalidQuery):  # one of the two, not both
            await hide_opinion(
                uow=uow, actor="s", receipt_code="GY-AAAA01", feedback_id=7, reason="x", now=LATER
            )
    assert store.commits == 0 and not store.audit and store.entries["GY-AAAA01"]["hidden_at"] is None


async def _hide(sessions: async_sessionmaker[AsyncSession], receipt: str) -> None:
    async with SqlUnitOfWork(sessions) as uow:
        await hide_opinion(uow=uow, actor="test", receipt_code=receipt, reason="spam", now=NOW)


async def test_an_entry_is_hidden_by_its_id_too(loaded) -> None:  # type: ignore[no-untyped-def]
    data = await seed(loaded, count=3)
    entry = data.rows[0]
    async with SqlUnitOfWork(loaded) as uow:
        state = await hide_opinion(uow=uow, actor="t", feedback_id=entry["id"], reason="spam", now=NOW)
    assert state.receipt_code == entry["receipt_code"] and state.changed
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.views.feedback_by_id(entry["id"]))["hidden_reason"] == "spam"  # type: ignore[index]
        assert await uow.views.feedback_by_id(10**6) is None


async def test_storage_leaves_hidden_entries_out_of_counts_and_consolidation(loaded) -> None:  # type: ignore[no-untyped-def]
    from core.staff.consolidation import export_consolidation

    data = await seed(loaded)
    active = [
        r
        for r in data.rows
        if r["kind"] == "draft_opinion" and r["status"] == "active" and r["document_id"] == data.document_id
    ]
    target = active[0]["receipt_code"]
    async with SqlUnitOfWork(loaded) as uow:
        before_all = await uow.views.count_feedback(FeedbackFilters())
        before = await export_consolidation(
            uow=uow, actor="t", document_id=data.document_id, kind="consolidation", fmt="json", now=NOW
        )
    await _hide(loaded, target)
    async with SqlUnitOfWork(loaded) as uow:
        views = uow.views
        assert await views.count_feedback(FeedbackFilters()) == before_all - 1
        assert await views.count_feedback(FeedbackFilters(hidden=HiddenFilter.INCLUDE)) == before_all
        only = await views.feedback_page(FeedbackFilters(hidden=HiddenFilter.ONLY), after=None, limit=10)
        assert [r["receipt_code"] for r in only] == [target]
        assert only[0]["hidden_reason"] == "spam" and only[0]["hidden_by"] == "test"
        counts = await views.counts_by_section_and_stance(FeedbackFilters())
        before_counts = sum(c for *_, c in counts)
        counts_all = await views.counts_by_section_and_stance(FeedbackFilters(hidden=HiddenFilter.INCLUDE))
        assert sum(c for *_, c in counts_all) == before_counts + 1
        after = await export_consolidation(
            uow=uow, actor="t", document_id=data.document_id, kind="consolidation", fmt="json", now=NOW
        )
        assert target not in {r["receipt_code"] for r in await views.opinions_of_document(data.document_id)}
    assert (after.result.total, after.result.hidden) == (before.result.total - 1, 1)
    async with loaded() as session:  # kept, with who, when and why
        row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == target))
        assert row is not None and row.hidden_at == NOW and row.text
        audit = list(await session.scalars(select(AuditLogRow.action).where(AuditLogRow.target == target)))
    assert audit == ["feedback.hide"]
    async with SqlUnitOfWork(loaded) as uow:
        await restore_opinion(uow=uow, actor="test", receipt_code=target, now=NOW)
    async with SqlUnitOfWork(loaded) as uow:
        assert await uow.views.count_feedback(FeedbackFilters()) == before_all


async def test_a_hidden_mood_entry_leaves_the_period_summary(loaded) -> None:  # type: ignore[no-untyped-def]
    data = await seed(loaded)
    mood = next(r for r in data.rows if r["kind"] == "concern")
    async with SqlUnitOfWork(loaded) as uow:
        before = [f.receipt_code for f in await uow.feedback.list_by_period(data.period_id)]
    await _hide(loaded, mood["receipt_code"])
    async with SqlUnitOfWork(loaded) as uow:
        after = [f.receipt_code for f in await uow.feedback.list_by_period(data.period_id)]
    assert mood["receipt_code"] in before and after == [c for c in before if c != mood["receipt_code"]]
    from core.mood import summarise_mood_period
    from storage.models import ReportingPeriodRow

    async with loaded() as session:
        period_code = (await session.get(ReportingPeriodRow, data.period_id)).code  # type: ignore[union-attr]
    async with SqlUnitOfWork(loaded) as uow:
        summary = await summarise_mood_period(uow=uow, period_code=period_code)
    assert summary.hidden == 1 and summary.as_dict()["hidden"] == 1
    assert mood["receipt_code"] not in {e.receipt_code for e in summary.entries}


@pytest.fixture
async def http(database_url, loaded, clock) -> AsyncIterator[tuple[httpx.AsyncClient, Keys, Seeded, str]]:  # type: ignore[no-untyped-def]
    from core.staff.api_keys import create_api_key

    keys = await make_keys(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        _, moderator = await create_api_key(
            uow=uow, actor="t", name="mod", scopes=["feedback:read", "feedback:moderate"], now=NOW
        )
    data = await seed(loaded)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            yield client, keys, data, moderator.secret


async def test_moderation_over_http(http) -> None:  # type: ignore[no-untyped-def]
    client, keys, data, moderator = http
    mod = {"Authorization": f"Bearer {moderator}"}
    target = next(r for r in data.rows if r["status"] == "active")["receipt_code"]
    refused = await client.post(
        f"/v1/feedback/{target}/hide", json={"reason": "spam"}, headers=keys.auth("reader")
    )
    assert refused.status_code == 403
    empty = await client.post(f"/v1/feedback/{target}/hide", json={"reason": " "}, headers=mod)
    assert empty.status_code == 422
    missing = await client.post("/v1/feedback/GY-NONE/hide", json={"reason": "spam"}, headers=mod)
    assert missing.status_code == 404 and missing.json()["error"]["message_vi"]
    hidden = await client.post(f"/v1/feedback/{target}/hide", json={"reason": "Lời lẽ xúc phạm"}, headers=mod)
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["hidden"] and hidden.json()["changed"]
    assert (
        hidden.json()["hidden_by"].startswith("apikey:")
        and hidden.json()["hidden_reason"] == "Lời lẽ xúc phạm"
    )

    async def receipts(**params: object) -> set[str]:
        response = await client.get("/v1/feedback", params={"limit": 500, **params}, headers=mod)
        assert response.status_code == 200, response.text
        return {item["receipt_code"] for item in response.json()["items"]}

    assert target not in await receipts()
    assert await receipts(hidden="only") == {target}
    assert target in await receipts(hidden="include")
    one = await client.get(f"/v1/feedback/{target}", headers=mod)
    assert one.json()["hidden_reason"] == "Lời lẽ xúc phạm" and one.json()["hidden_at"]
    export = await client.get(
        "/v1/exports/feedback", params={"format": "jsonl", "hidden": "only"}, headers=mod
    )
    assert export.status_code == 200 and target in export.text and "Lời lẽ xúc phạm" in export.text
    restored = await client.post(f"/v1/feedback/{target}/restore", headers=mod)
    assert restored.status_code == 200 and not restored.json()["hidden"] and restored.json()["changed"]
    assert target in await receipts()
    assert await receipts(hidden="only") == set()


@pytest.fixture
def cli_env(database_url, monkeypatch):  # type: ignore[no-untyped-def]
    from core.config import get_settings

    monkeypatch.setenv("GOPY_DATABASE_URL", database_url)
    monkeypatch.setenv("GOPY_HASH_KEY", "cli-test-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_gopy_feedback_hide_and_restore(cli_env, loaded) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from typer.testing import CliRunner

    from cli.main import app

    async def invoke(*args: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(CliRunner().invoke, app, list(args))

    data = await seed(loaded, count=3)
    receipt = str(data.rows[1]["receipt_code"])
    hidden = await invoke("feedback", "hide", receipt, "--reason", "Tin rác")
    assert hidden.exit_code == 0, hidden.output
    assert f"Đã ẩn ý kiến {receipt}" in hidden.output and f"Entry {receipt} is hidden" in hidden.output
    assert (await invoke("feedback", "hide", "GY-NONE", "--reason", "x")).exit_code == 2
    async with loaded() as session:
        row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == receipt))
        assert row is not None and row.hidden_reason == "Tin rác" and row.hidden_by.startswith("cli:")
    restored = await invoke("feedback", "restore", receipt)
    assert restored.exit_code == 0 and "Đã hiển thị lại" in restored.output
