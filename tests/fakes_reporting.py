"""An in-memory fake of the reporting repository, the file store and their unit of work (no SQLAlchemy)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Self

from core.domain import ReportingPeriod
from core.reporting import Contact, ContactStatus, NewOutboxMessage, OutboxMessage, Unit, UnitReport
from tests.fakes import FakePlan


class FakeReportingData:
    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.contacts: dict[int, Contact] = {}
        self.invites: dict[str, int] = {}
        self.reports: list[UnitReport] = []
        self.outbox: dict[str, OutboxMessage] = {}
        self.periods: list[ReportingPeriod] = []
        self.commits = 0


class FakeReporting:
    def __init__(self, data: FakeReportingData) -> None:
        self.d = data

    async def list_units(self) -> Sequence[Unit]:
        return list(self.d.units)

    async def get_unit(self, code: str) -> Unit | None:
        return next((u for u in self.d.units if u.code == code), None)

    async def get_unit_by_id(self, unit_id: int) -> Unit | None:
        return next((u for u in self.d.units if u.id == unit_id), None)

    async def add_contact(
        self, *, unit_id: int, name: str, invite_hash: str, expires_at: datetime, now: datetime
    ) -> Contact:
        contact = Contact(
            len(self.d.contacts) + 1, unit_id, name, ContactStatus.INVITED, invite_expires_at=expires_at
        )
        self.d.contacts[contact.id] = contact
        self.d.invites[invite_hash] = contact.id
        return contact

    async def get_contact(self, contact_id: int) -> Contact | None:
        return self.d.contacts.get(contact_id)

    async def get_contact_by_invite(self, invite_hash: str) -> Contact | None:
        contact_id = self.d.invites.get(invite_hash)
        return self.d.contacts.get(contact_id) if contact_id else None

    async def bind_contact(self, contact_id: int, *, chat_id: int, language: str, now: datetime) -> None:
        c = self.d.contacts[contact_id]
        self.d.contacts[contact_id] = replace(
            c, chat_id=chat_id, language=language, status=ContactStatus.ACTIVE, invite_used_at=now
        )

    async def contacts_of_chat(self, chat_id: int) -> Sequence[Contact]:
        return [c for c in self.d.contacts.values() if c.chat_id == chat_id]

    async def contacts_of_unit(self, unit_id: int) -> Sequence[Contact]:
        return [c for c in self.d.contacts.values() if c.unit_id == unit_id]

    async def active_contacts(self) -> Sequence[Contact]:
        return [c for c in self.d.contacts.values() if c.status is ContactStatus.ACTIVE and c.reachable]

    async def leave_chat(self, chat_id: int, *, now: datetime) -> int:
        left = [
            c for c in self.d.contacts.values() if c.chat_id == chat_id and c.status is ContactStatus.ACTIVE
        ]
        for c in left:
            self.d.contacts[c.id] = replace(c, status=ContactStatus.LEFT)
        return len(left)

    async def set_unreachable(self, contact_id: int) -> None:
        self.d.contacts[contact_id] = replace(self.d.contacts[contact_id], reachable=False)

    async def unreachable_reasons(self) -> dict[int, str]:
        return {
            c.id: "forbidden"
            for c in self.d.contacts.values()
            if c.status is ContactStatus.ACTIVE and not c.reachable
        }

    async def set_contact_state(self, contact_id: int, *, status: str, reachable: bool) -> None:
        self.d.contacts[contact_id] = replace(
            self.d.contacts[contact_id], status=ContactStatus(status), reachable=reachable
        )

    async def renew_invite(self, contact_id: int, *, invite_hash: str, expires_at: datetime) -> None:
        self.d.invites = {h: c for h, c in self.d.invites.items() if c != contact_id}
        self.d.invites[invite_hash] = contact_id
        self.d.contacts[contact_id] = replace(
            self.d.contacts[contact_id],
            status=ContactStatus.INVITED,
            reachable=True,
            invite_expires_at=expires_at,
            invite_used_at=None,
        )

    async def latest_reports(self, period_id: int | None = None) -> dict[tuple[int, int], UnitReport]:
        latest: dict[tuple[int, int], UnitReport] = {}
        for r in sorted(self.d.reports, key=lambda r: r.version):
            if period_id is None or r.period_id == period_id:
                latest[(r.period_id, r.unit_id)] = r
        return latest

    async def reports_of_unit(self, unit_id: int, *, limit: int) -> Sequence[UnitReport]:
        return [r for r in reversed(self.d.reports) if r.unit_id == unit_id][:limit]

    async def get_report(self, report_id: int) -> UnitReport | None:
        return next((r for r in self.d.reports if r.id == report_id), None)

    async def add_report(self, report: UnitReport) -> UnitReport:
        version = 1 + max(
            (
                r.version
                for r in self.d.reports
                if (r.period_id, r.unit_id) == (report.period_id, report.unit_id)
            ),
            default=0,
        )
        stored = replace(report, id=len(self.d.reports) + 1, version=version)
        self.d.reports.append(stored)
        return stored

    async def confirm_report(self, report_id: int, *, now: datetime) -> None:
        self.d.reports = [replace(r, confirmed_at=now) if r.id == report_id else r for r in self.d.reports]

    async def add_outbox(self, message: NewOutboxMessage) -> bool:
        if message.key in self.d.outbox:
            return False
        fields = {k: getattr(message, k) for k in NewOutboxMessage.__dataclass_fields__}
        self.d.outbox[message.key] = OutboxMessage(**fields, id=len(self.d.outbox) + 1)
        return True

    async def existing_outbox_keys(self, keys: Sequence[str]) -> set[str]:
        return set(keys) & set(self.d.outbox)

    async def pending_outbox(
        self, *, now: datetime, limit: int, skip_chats: Collection[int] = ()
    ) -> Sequence[OutboxMessage]:
        return [
            m
            for m in self.d.outbox.values()
            if m.status == "pending" and m.not_before <= now and m.chat_id not in skip_chats
        ][:limit]

    async def finish_outbox(
        self,
        message_id: int,
        *,
        status: str,
        now: datetime,
        error: str | None = None,
        claim_epoch: int | None = None,
    ) -> bool:
        return False

    async def defer_outbox(
        self, message_id: int, *, not_before: datetime, error: str, claim_epoch: int | None = None
    ) -> None:
        return None


class FakeReportingUoW:
    """Changes become visible to the next unit of work only on ``commit()``; leaving rolls back."""

    def __init__(self, data: FakeReportingData) -> None:
        self.committed = data

    async def __aenter__(self) -> Self:
        self.work = copy.deepcopy(self.committed)
        self.reporting = FakeReporting(self.work)
        self.plan = FakePlan([], self.work.periods)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        self.work.commits += 1
        self.committed.__dict__.update(copy.deepcopy(self.work).__dict__)

    async def rollback(self) -> None:
        self.work = copy.deepcopy(self.committed)


class MemoryFileStore:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, content: bytes) -> str:
        sha = hashlib.sha256(content).hexdigest()
        self.files[sha] = content
        return sha

    def path(self, sha256: str) -> Path:
        return Path("/nonexistent") / sha256
