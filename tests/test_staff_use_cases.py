"""The staff use cases against hand-written fakes: each change and its audit row commit together, once;
a refused action saves neither."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core import errors
from core.staff.api_keys import authenticate, create_api_key, list_api_keys, revoke_api_key
from core.staff.documents import change_document_status
from core.staff.meetings import import_meeting_rows
from tests.fakes_staff import FakeStaffUnitOfWork, StaffStore

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _uow(store: StaffStore) -> FakeStaffUnitOfWork:
    return FakeStaffUnitOfWork(store)


async def test_an_api_key_is_created_authenticated_and_revoked_each_with_its_audit_row() -> None:
    store = StaffStore()
    async with _uow(store) as uow:
        key_id, key = await create_api_key(
            uow=uow, actor="cli", name="analyst", scopes=["feedback:read"], now=NOW
        )
    assert store.commits == 1 and [a.action for a in store.audit] == ["apikey.create"]
    assert key.secret not in {k.key_hash for k in store.keys.values()}
    async with _uow(store) as uow:
        principal = await authenticate(uow=uow, secret=key.secret)
        assert principal.key_id == key_id and principal.has("feedback:read")
        assert [k.name for k in await list_api_keys(uow=uow)] == ["analyst"]
    async with _uow(store) as uow:
        assert await revoke_api_key(uow=uow, actor="cli", key=key.prefix, now=NOW)
    async with _uow(store) as uow:
        assert not await revoke_api_key(uow=uow, actor="cli", key=key.prefix, now=NOW)  # already revoked
        with pytest.raises(errors.ApiKeyInvalid):
            await authenticate(uow=uow, secret=key.secret)
    assert store.commits == 2 and [a.action for a in store.audit] == ["apikey.create", "apikey.revoke"]


async def test_a_status_change_and_its_audit_row_commit_together_or_not_at_all() -> None:
    store = StaffStore()
    store.documents[1] = {"id": 1, "code": "d", "title": "Dự thảo", "status": "draft"}
    async with _uow(store) as uow:
        document = await change_document_status(uow=uow, actor="a", document_id=1, action="publish", now=NOW)
    assert document["status"] == "open" == store.documents[1]["status"]
    assert [(a.action, a.target) for a in store.audit] == [("document.publish", "1")]
    async with _uow(store) as uow:
        with pytest.raises(errors.InvalidStatusChange):
            await change_document_status(uow=uow, actor="a", document_id=1, action="reopen", now=NOW)
        with pytest.raises(errors.DocumentNotFound):
            await change_document_status(uow=uow, actor="a", document_id=9, action="close", now=NOW)
    assert store.commits == 1 and len(store.audit) == 1


async def test_a_meeting_file_with_one_bad_row_saves_nothing() -> None:
    store = StaffStore()
    store.documents[1] = {"id": 1, "code": "d", "title": "Dự thảo", "status": "open"}
    store.sections[5] = {"id": 5, "document_id": 1}
    store.lists["categories"] = {"worker"}
    good = ("d", 5, "Tán thành", "", "worker", None, None, "u-1", None)
    bad = ("d", 6, "maybe", "", "nobody", None, None, "", None)

    async def run(rows: list[tuple[object, ...]]) -> list[str]:
        async with _uow(store) as uow:
            return await import_meeting_rows(
                uow=uow, actor="a", rows=rows, filename="m.xlsx", max_length=100, tz=TZ, now=NOW
            )

    with pytest.raises(errors.MeetingImportRejected) as refused:
        await run([good, bad])
    reasons = {(e["column"], e["reason"]) for e in refused.value.params["errors"]}
    assert reasons == {
        ("section_id", "unknown_section"),
        ("stance", "unknown_stance"),
        ("category", "unknown_code"),
        ("unit_code", "unit_required"),
    }
    assert all(e["message_vi"] and e["message_en"] != e["message_vi"] for e in refused.value.params["errors"])
    assert store.commits == 0 and not store.meeting and not store.audit

    receipts = await run([good, good])
    assert len(set(receipts)) == 2 and [code for code, _ in store.meeting] == receipts
    assert [(a.action, a.row_count) for a in store.audit] == [("import.meeting", 2)]


async def test_a_publish_sets_the_dates_and_audits_them_a_backward_range_is_refused() -> None:
    from datetime import timedelta

    store = StaffStore()
    store.documents[1] = {"id": 1, "code": "d", "title": "Dự thảo", "status": "draft"}
    opens, closes = NOW + timedelta(days=1), NOW + timedelta(days=30)
    async with _uow(store) as uow:
        with pytest.raises(errors.InvalidQuery):
            await change_document_status(
                uow=uow, actor="a", document_id=1, action="publish", now=NOW, opens_at=closes, closes_at=opens
            )
    assert store.commits == 0 and not store.audit and "opens_at" not in store.documents[1]
    async with _uow(store) as uow:
        await change_document_status(
            uow=uow, actor="a", document_id=1, action="publish", now=NOW, opens_at=opens, closes_at=closes
        )
    assert store.documents[1]["opens_at"] == opens and store.documents[1]["closes_at"] == closes
    assert store.audit[0].details == {"opens_at": opens.isoformat(), "closes_at": closes.isoformat()}
