"""Hand-written fakes of the staff side of the unit of work (API keys, audit log, documents, views, meeting
entries): what a use case writes stays pending until ``commit()``; leaving the block drops it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Self

from core.api_keys import ApiKeyRecord
from core.staff.meeting_rows import MeetingEntry
from core.staff.ports import AuditEntry, AuditFilters


class StaffStore:
    def __init__(self) -> None:
        self.keys: dict[int, ApiKeyRecord] = {}
        self.audit: list[AuditEntry] = []
        self.documents: dict[int, dict[str, Any]] = {}
        self.sections: dict[int, dict[str, Any]] = {}
        self.lists: dict[str, set[str]] = {}
        self.meeting: list[tuple[str, MeetingEntry]] = []
        self.entries: dict[str, dict[str, Any]] = {}  # stored entries (view rows) by receipt code
        # (document code, section id, stance, count) of the active, shown draft opinions; hidden ones
        self.counts: list[tuple[str | None, int | None, str | None, int]] = []
        self.hidden_counts: dict[int, int] = {}
        self.commits = 0
        self.pending: dict[str, Any] = {}
        self.rollback()

    def rollback(self) -> None:
        self.pending = {"keys": {}, "audit": [], "status": {}, "meeting": [], "hidden": {}}

    def commit(self) -> None:
        self.keys.update(self.pending["keys"])
        self.audit.extend(self.pending["audit"])
        for document_id, status in self.pending["status"].items():
            self.documents[document_id]["status"] = status
        self.meeting.extend(self.pending["meeting"])
        for code, moderation in self.pending["hidden"].items():
            self.entries[code].update(moderation)
        self.commits += 1
        self.rollback()


class FakeApiKeys:
    def __init__(self, store: StaffStore) -> None:
        self.store = store

    def _all(self) -> dict[int, ApiKeyRecord]:
        return {**self.store.keys, **self.store.pending["keys"]}

    async def add(
        self, *, name: str, prefix: str, key_hash: str, scopes: Sequence[str], now: datetime
    ) -> int:
        key_id = max(self._all(), default=0) + 1
        self.store.pending["keys"][key_id] = ApiKeyRecord(key_id, name, prefix, key_hash, tuple(scopes), now)
        return key_id

    async def get(self, key_id: int) -> ApiKeyRecord | None:
        return self._all().get(key_id)

    async def get_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        return next((k for k in self._all().values() if k.prefix == prefix), None)

    async def revoke(self, key_id: int, *, now: datetime) -> None:
        self.store.pending["keys"][key_id] = replace(self._all()[key_id], revoked_at=now)

    async def list(self) -> Sequence[ApiKeyRecord]:
        return sorted(self._all().values(), key=lambda k: k.id)


class FakeAudit:
    def __init__(self, store: StaffStore) -> None:
        self.store = store

    async def add(self, entry: AuditEntry) -> None:
        self.store.pending["audit"].append(entry)

    async def latest(self, *, limit: int, filters: AuditFilters | None = None) -> Sequence[AuditEntry]:
        rows = list(reversed(self.store.audit))
        if filters is not None:
            rows = [
                r
                for r in rows
                if (not filters.actor or filters.actor in r.actor)
                and (not filters.action or r.action.startswith(filters.action))
                and (filters.since is None or r.at >= filters.since)
                and (filters.until is None or r.at < filters.until)
            ]
        return rows[:limit]


class FakeStaffDocuments:
    def __init__(self, store: StaffStore) -> None:
        self.store = store

    async def status_of(self, document_id: int) -> str | None:
        document = self.store.documents.get(document_id)
        return None if document is None else self.store.pending["status"].get(document_id, document["status"])

    async def set_status(self, document_id: int, status: str) -> None:
        self.store.pending["status"][document_id] = status

    async def set_dates(self, document_id: int, *, opens_at: Any, closes_at: Any) -> None:
        dates = {"opens_at": opens_at, "closes_at": closes_at}
        self.store.documents[document_id].update({k: v for k, v in dates.items() if v is not None})


class FakeViews:
    def __init__(self, store: StaffStore) -> None:
        self.store = store

    async def get_document(self, document_id: int) -> dict[str, Any] | None:
        document = self.store.documents.get(document_id)
        if document is None:
            return None
        return {**document, "status": self.store.pending["status"].get(document_id, document["status"])}

    async def list_sections(self, document_id: int) -> list[dict[str, Any]]:
        return [s for s in self.store.sections.values() if s["document_id"] == document_id]

    async def document_ids_by_code(self) -> dict[str, int]:
        return {d["code"]: d["id"] for d in self.store.documents.values()}

    async def section_documents(self) -> dict[int, int]:
        return {s["id"]: s["document_id"] for s in self.store.sections.values()}

    async def reference_codes(self, list_name: str) -> set[str]:
        return set(self.store.lists.get(list_name, set()))

    async def counts_by_section_and_stance(
        self, filters: Any, *, upto: int | None = None
    ) -> list[tuple[str | None, int | None, str | None, int]]:
        code = self.store.documents[filters.document_id]["code"] if filters.document_id else None
        return [c for c in self.store.counts if code is None or c[0] == code]

    async def count_hidden_opinions(self, document_id: int) -> int:
        return self.store.hidden_counts.get(document_id, 0)

    async def feedback_by_id(self, feedback_id: int) -> dict[str, Any] | None:
        code = next((c for c, row in self.store.entries.items() if row.get("id") == feedback_id), None)
        return None if code is None else await self.feedback_by_receipt(code)

    async def feedback_by_receipt(self, receipt_code: str) -> dict[str, Any] | None:
        code = receipt_code.strip().upper()
        if code not in self.store.entries:
            return None
        return {**self.store.entries[code], **self.store.pending["hidden"].get(code, {})}


class FakeMeetingFeedback:
    def __init__(self, store: StaffStore) -> None:
        self.store = store

    async def receipt_exists(self, receipt_code: str) -> bool:
        return any(code == receipt_code for code, _ in self.store.meeting)

    async def set_hidden(
        self, receipt_code: str, *, hidden_at: datetime | None, hidden_by: str | None, reason: str | None
    ) -> None:
        self.store.pending["hidden"][receipt_code] = {
            "hidden_at": hidden_at,
            "hidden_by": hidden_by,
            "hidden_reason": reason,
        }

    async def add_meeting_entries(self, entries: Sequence[MeetingEntry], receipts: Sequence[str]) -> None:
        self.store.pending["meeting"].extend(zip(receipts, entries, strict=True))


class FakeStaffUnitOfWork:
    def __init__(self, store: StaffStore) -> None:
        self.store = store
        self.api_keys = FakeApiKeys(store)
        self.audit = FakeAudit(store)
        self.documents = FakeStaffDocuments(store)
        self.views = FakeViews(store)
        self.feedback = FakeMeetingFeedback(store)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.store.rollback()

    async def commit(self) -> None:
        self.store.commit()

    async def rollback(self) -> None:
        self.store.rollback()
