"""Integration tests of storage on SQLite and on the real PostgreSQL: repositories, unit of work, loaders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import errors
from core import feedback as uc
from core.clock import FixedClock
from core.domain import Channel, FeedbackStatus, Profile, Stance
from formats.drafts import read_draft
from storage.loaders import load_file, store_document
from storage.models import DocumentRow, FeedbackRow, ReferenceItemRow, ReportingPeriodRow, SectionRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW


async def _respondent(sessions, user_hash: str = "h1") -> int:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(sessions) as uow:
        r = await uc.record_consent(
            uow=uow,
            channel=Channel.TELEGRAM,
            user_hash=user_hash,
            language="vi",
            version="v1",
            now=NOW,
            organisation="dtn",
        )
    assert r.id is not None
    return r.id


async def _doc_and_section(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        doc = await session.scalar(select(DocumentRow).where(DocumentRow.code == "sample-political-report"))
        section = await session.scalar(
            select(SectionRow).where(SectionRow.document_id == doc.id, SectionRow.parent_id.is_not(None))
        )
        return doc.id, section.id


async def _submit(uow, rid: int, doc_id: int, section_id: int, **kwargs):  # type: ignore[no-untyped-def]
    """submit_feedback with this module's usual respondent, section, clock, limit and channel."""
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("max_length", 4000)
    kwargs.setdefault("channel", Channel.TELEGRAM)
    return await uc.submit_feedback(
        uow=uow, respondent_id=rid, document_id=doc_id, section_id=section_id, **kwargs
    )


async def test_bundled_data_loads_and_plan_dates_are_local_fifth(loaded) -> None:  # type: ignore[no-untyped-def]
    async with loaded() as session:
        periods = {p.code: p for p in await session.scalars(select(ReportingPeriodRow))}
        assert len(periods) == 6
        due = periods["city-17-before"].due_at
        assert due.isoformat() == "2025-09-04T17:00:00+00:00"  # 00:00 on 5 Sep in Asia/Ho_Chi_Minh
        assert periods["national-14-after"].due_at.isoformat() == "2026-02-04T17:00:00+00:00"
        count = await session.scalar(select(func.count()).select_from(ReferenceItemRow))
        assert count and count > 40
        sections = await session.scalar(select(func.count()).select_from(SectionRow))
        assert sections == 10


async def test_loading_twice_is_idempotent(loaded) -> None:  # type: ignore[no-untyped-def]
    from core.config import BUNDLED_DATA_DIR

    async with loaded() as session:
        before = await session.scalar(select(func.count()).select_from(ReferenceItemRow))
        await load_file(session, BUNDLED_DATA_DIR / "lists.yaml", now=NOW)
        await load_file(session, BUNDLED_DATA_DIR / "plan.yaml", now=NOW)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(ReferenceItemRow)) == before


async def test_submit_is_durable_and_receipt_is_unique(loaded) -> None:  # type: ignore[no-untyped-def]
    rid = await _respondent(loaded)
    doc_id, section_id = await _doc_and_section(loaded)
    codes = set()
    for i in range(5):
        async with SqlUnitOfWork(loaded) as uow:
            receipt = await _submit(
                uow,
                rid,
                doc_id,
                section_id,
                stance=Stance.OTHER,
                text=f"Ý kiến số {i}",
                client_ref=f"ref{i}",
            )
        codes.add(receipt.receipt_code)
    assert len(codes) == 5
    async with loaded() as session:
        rows = list(await session.scalars(select(FeedbackRow).order_by(FeedbackRow.id)))
    assert [r.receipt_code for r in rows] == [c for c in [r.receipt_code for r in rows] if c in codes]
    assert rows[0].organisation == "dtn" and rows[0].created_at == NOW
    assert rows[0].text_folded == "ý kiến số 0"


async def test_an_opinion_row_holds_every_value_of_the_entry(loaded) -> None:  # type: ignore[no-untyped-def]
    """add_opinion's statement (built once per dialect, every value bound) writes each column of the entry,
    and the profile copied from the respondent."""
    from core.text import fold_for_search
    from storage.repositories import _OPINION_COLUMNS, _feedback_values, feedback_from_row

    rid = await _respondent(loaded)
    doc_id, section_id = await _doc_and_section(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        receipt = await _submit(
            uow,
            rid,
            doc_id,
            section_id,
            stance=Stance.DISAGREE,
            text="  Ý kiến,  có dấu!\r\n",
            client_ref="r1",
        )
    async with loaded() as session:
        row = await session.scalar(
            select(FeedbackRow).where(FeedbackRow.receipt_code == receipt.receipt_code)
        )
    stored = _feedback_values(feedback_from_row(row))
    assert tuple(stored) == _OPINION_COLUMNS
    assert row.text_search == fold_for_search("Ý kiến,  có dấu!") == "y kien co dau"
    assert stored | {"text_search": None} == {
        "receipt_code": receipt.receipt_code,
        "kind": "draft_opinion",
        "respondent_id": rid,
        "document_id": doc_id,
        "section_id": section_id,
        "stance": "disagree",
        "congress_id": None,
        "period_id": None,
        "topic": None,
        "unit_id": None,
        "text": "Ý kiến,  có dấu!",
        "text_folded": "ý kiến có dấu",
        "text_search": None,
        "channel": "telegram",
        "source": "bot",
        "status": "active",
        "category": None,
        "organisation": "dtn",
        "locality": None,
        "age_band": None,
        "gender": None,
        "anonymous": False,
        "client_ref": "r1",
        "created_at": NOW,
        "updated_at": None,
        "withdrawn_at": None,
    }


async def test_unit_of_work_rolls_back_without_commit(loaded) -> None:  # type: ignore[no-untyped-def]
    rid = await _respondent(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        respondent = await uow.respondents.get(rid)
        assert respondent is not None
        respondent.profile = Profile(category="worker")
        await uow.respondents.update(respondent)
    async with SqlUnitOfWork(loaded) as uow:
        again = await uow.respondents.get(rid)
        assert again is not None and again.profile.category is None


async def test_client_ref_makes_submission_idempotent(loaded) -> None:  # type: ignore[no-untyped-def]
    rid = await _respondent(loaded)
    doc_id, section_id = await _doc_and_section(loaded)
    receipts = []
    for _ in range(2):
        async with SqlUnitOfWork(loaded) as uow:
            receipts.append(
                await _submit(
                    uow,
                    rid,
                    doc_id,
                    section_id,
                    stance=Stance.AGREE,
                    text="",
                    channel=Channel.WEB,
                    client_ref="same",
                )
            )
    assert receipts[0].receipt_code == receipts[1].receipt_code
    async with loaded() as session:
        assert await session.scalar(select(func.count()).select_from(FeedbackRow)) == 1


async def test_closed_document_and_overlong_text_are_refused(loaded) -> None:  # type: ignore[no-untyped-def]
    rid = await _respondent(loaded)
    doc_id, section_id = await _doc_and_section(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        with pytest.raises(errors.TextTooLong):
            await _submit(
                uow,
                rid,
                doc_id,
                section_id,
                stance=Stance.OTHER,
                text="x" * 4001,
            )
    async with loaded() as session:
        doc = await session.get(DocumentRow, doc_id)
        assert doc is not None
        doc.closes_at = NOW - timedelta(days=1)
        await session.commit()
    async with SqlUnitOfWork(loaded) as uow:
        with pytest.raises(errors.DocumentClosed):
            await _submit(
                uow,
                rid,
                doc_id,
                section_id,
                stance=Stance.AGREE,
                text="",
            )


async def test_withdraw_and_erase(loaded) -> None:  # type: ignore[no-untyped-def]
    rid = await _respondent(loaded)
    doc_id, section_id = await _doc_and_section(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        receipt = await _submit(
            uow,
            rid,
            doc_id,
            section_id,
            stance=Stance.AGREE,
            text="",
        )
    async with SqlUnitOfWork(loaded) as uow:
        await uc.withdraw_feedback(uow=uow, respondent_id=rid, receipt_code=receipt.receipt_code, now=NOW)
    async with SqlUnitOfWork(loaded) as uow:
        item = await uow.feedback.get_by_receipt(receipt.receipt_code)
        assert item is not None and item.status is FeedbackStatus.WITHDRAWN
        other = await _respondent(loaded, "h2")
        with pytest.raises(errors.FeedbackNotFound):
            await uc.get_my_feedback(uow=uow, respondent_id=other, receipt_code=receipt.receipt_code)
    async with SqlUnitOfWork(loaded) as uow:
        assert await uc.erase_respondent(uow=uow, respondent_id=rid) == 1
    async with loaded() as session:
        assert await session.scalar(select(func.count()).select_from(FeedbackRow)) == 0


async def test_section_pagination_counts_children(loaded) -> None:  # type: ignore[no-untyped-def]
    doc_id, _ = await _doc_and_section(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        top, total = await uow.sections.list_children(doc_id, None, offset=0, limit=2)
        assert total == 4 and [s.title for s in top][0] == "Mở đầu"
        rest, _ = await uow.sections.list_children(doc_id, None, offset=2, limit=2)
        assert rest[0].child_count == 3
        # the whole draft in reading order, with the same child counts (the section search reads it)
        everything = await uow.sections.list_document(doc_id)
        assert [s.ordinal for s in everything] == sorted(s.ordinal for s in everything)
        assert {s.id: s.child_count for s in everything}[rest[0].id] == 3
        assert sum(1 for s in everything if s.parent_id is None) == total


async def test_document_import_is_all_or_nothing(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with loaded() as session:
        before = await session.scalar(select(func.count()).select_from(SectionRow))
        with pytest.raises(errors.DocumentImportError):
            await store_document(session, read_draft(b"# A\n### skipped level\n", "bad.md"), now=NOW)
        await session.rollback()
        assert await session.scalar(select(func.count()).select_from(SectionRow)) == before
        report = await store_document(
            session,
            read_draft("# Dự thảo B\n\n## 1. Một\n\nThân.\n\n## 2. Hai\n".encode(), "b.md"),
            now=NOW,
            status="open",
        )
        await session.commit()
        assert report.counts["sections"] == 2


async def test_dialog_store_round_trip(sessions) -> None:  # type: ignore[no-untyped-def]
    from storage.dialogs import SqlDialogStore

    store = SqlDialogStore(FixedClock(NOW))
    async with sessions() as session:
        assert await store.get(session, "k") == (None, {})
        await store.set(session, "k", state="menu", data={"step": "menu", "draft": {"parts": ["Ý kiến"]}})
        await store.set(session, "k", state="doc", fields=("state",))
        await session.commit()
    async with sessions() as session:
        assert await store.get(session, "k") == ("doc", {"step": "menu", "draft": {"parts": ["Ý kiến"]}})
        await store.delete(session, "k")
        await session.rollback()  # nothing is saved without the caller's commit
        assert await store.get(session, "k") == ("doc", {"step": "menu", "draft": {"parts": ["Ý kiến"]}})
        await store.delete(session, "k")
        assert await store.get(session, "k") == (None, {})


async def test_reloading_the_bundled_draft_never_undoes_staff_changes(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every start loads the bundled data again: after real use (an opinion, a closed draft) it still loads,
    keeps the staff's status, and a changed draft with opinions is reported and skipped, not an error."""
    from core.config import BUNDLED_DATA_DIR

    sample = BUNDLED_DATA_DIR / "documents" / "sample-draft.md"
    rid = await _respondent(loaded)
    doc_id, section_id = await _doc_and_section(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        await _submit(uow, rid, doc_id, section_id, stance=Stance.AGREE, text="")
    async with loaded() as session:
        doc = await session.get(DocumentRow, doc_id)
        doc.status = "closed"  # staff closed the consultation
        await session.commit()

    async with loaded() as session:  # second start, same file: a no-op
        report = await load_file(session, sample, now=NOW + timedelta(days=1), read_draft=read_draft)
        await session.commit()
    assert report.counts == {"documents unchanged": 1}
    changed = tmp_path / "sample-draft.md"
    changed.write_text(sample.read_text(encoding="utf-8") + "\n## Phần bổ sung\n\nMới.\n", encoding="utf-8")
    async with loaded() as session:  # the file was edited after opinions came in: skipped, reported
        report = await load_file(session, changed, now=NOW + timedelta(days=2), read_draft=read_draft)
        await session.commit()
    assert report.counts == {"documents skipped": 1}
    assert any("sample-political-report" in note and "1" in note for note in report.notes)
    async with loaded() as session:
        doc = await session.get(DocumentRow, doc_id)
        assert doc.status == "closed"
        assert await session.scalar(select(func.count()).where(SectionRow.document_id == doc_id)) == 10
        assert await session.scalar(select(func.count()).select_from(FeedbackRow)) == 1
        with pytest.raises(errors.DocumentImportError) as refused:  # an explicit import still refuses
            await store_document(session, read_draft(changed.read_bytes(), "sample-draft.md"), now=NOW)
        assert refused.value.params["reason"] == "has_feedback"
