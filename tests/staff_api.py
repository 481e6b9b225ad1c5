"""Helpers of the staff API tests: the app served by uvicorn on loopback, API keys, seeded entries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.clock import Clock
from core.config import Settings
from core.staff.api_keys import create_api_key, revoke_api_key
from core.text import fold_for_matching
from storage.models import (
    CongressRow,
    DocumentRow,
    FeedbackRow,
    ReportingPeriodRow,
    RespondentRow,
    SectionRow,
)
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.webchat_client import free_port

HASH_KEY = "test-hash-key-for-pseudonyms"


@contextmanager
def serve(database_url: str, clock: Clock) -> Iterator[str]:
    """Run the real app under uvicorn on a free loopback port; yield its base URL."""
    settings = Settings(database_url=database_url, hash_key=HASH_KEY, telegram_bot_token=None)
    app = create_app(settings, clock=clock)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", log_config=None)
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Keys:
    admin: str
    reader: str
    pii: str
    reports: str
    revoked: str

    def auth(self, which: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, which)}"}


async def make_keys(sessions: async_sessionmaker[AsyncSession]) -> Keys:
    made = {}
    for name, scopes in (
        ("admin", ["admin"]),
        ("reader", ["feedback:read"]),
        ("pii", ["feedback:read", "feedback:pii"]),
        ("reports", ["reports:read"]),
        ("revoked", ["admin"]),
    ):
        async with SqlUnitOfWork(sessions) as uow:
            _key_id, key = await create_api_key(uow=uow, actor="test", name=name, scopes=scopes, now=NOW)
        made[name] = key.secret
    async with SqlUnitOfWork(sessions) as uow:
        assert await revoke_api_key(uow=uow, actor="test", key=made["revoked"], now=NOW)
    return Keys(**made)


@dataclass
class Seeded:
    document_id: int
    other_document_id: int
    section_ids: list[int]
    congress_id: int
    period_id: int
    respondent_ids: list[int]
    rows: list[dict[str, Any]]  # what was inserted, with receipt codes and ids

    def receipts(self, **where: Any) -> set[str]:
        return {r["receipt_code"] for r in self.rows if all(r.get(k) == v for k, v in where.items())}


FORMULAS = ("=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tindent", "\rcr")


async def seed(sessions: async_sessionmaker[AsyncSession], count: int = 40) -> Seeded:
    """Insert ``count`` entries (plus a few mood entries) with every filterable column varied."""
    async with sessions() as session:
        doc = await session.scalar(select(DocumentRow).where(DocumentRow.code == "sample-political-report"))
        assert doc is not None
        other = DocumentRow(code="other-draft", title="Dự thảo khác", status="open", created_at=NOW)
        session.add(other)
        sections = list(
            await session.scalars(
                select(SectionRow.id).where(SectionRow.document_id == doc.id).order_by(SectionRow.ordinal)
            )
        )
        congress = await session.scalar(select(CongressRow).order_by(CongressRow.id))
        period = await session.scalar(select(ReportingPeriodRow).order_by(ReportingPeriodRow.id))
        assert congress is not None and period is not None
        respondents = []
        for i in range(4):
            r = RespondentRow(
                channel="telegram",
                user_hash=f"seed-{i}",
                consent_version="v1",
                consent_at=NOW,
                created_at=NOW,
            )
            session.add(r)
            respondents.append(r)
        await session.flush()
        stances = ["agree", "disagree", "partial", "other"]
        categories = ["worker", "farmer", "intellectual", None]
        organisations = ["dtn", "cd", None]
        localities = ["p-hong-bang", "p-ngo-quyen", None]
        channels = ["telegram", "web", "meeting"]
        rows: list[dict[str, Any]] = []
        for i in range(count):
            channel = channels[i % 3]
            text = f"Ý kiến số {i} về phát triển kinh tế" if i % 7 else FORMULAS[(i // 7) % len(FORMULAS)]
            values: dict[str, Any] = {
                "receipt_code": f"GY-T{i:05d}",
                "kind": "draft_opinion",
                "respondent_id": respondents[i % 4].id if channel != "meeting" else None,
                "document_id": doc.id if i % 10 else other.id,
                "section_id": sections[1 + i % 3] if i % 10 else None,
                "stance": stances[i % 4],
                "text": text,
                "text_folded": fold_for_matching(text),
                "category": categories[i % 4],
                "organisation": organisations[i % 3],
                "locality": localities[(i // 3) % 3],
                "channel": channel,
                "source": {"telegram": "bot", "web": "web", "meeting": "meeting"}[channel],
                "status": "withdrawn" if i % 9 == 4 else "active",
                "unit_code": "u-quan-1" if channel == "meeting" else None,
                "created_at": NOW - timedelta(days=count - i),
            }
            rows.append(values)
        for j, kind in enumerate(("concern", "aspiration", "recommendation")):
            text = f"Tâm tư nguyện vọng {j}"
            rows.append(
                {
                    "receipt_code": f"GY-M{j:05d}",
                    "kind": kind,
                    "respondent_id": respondents[j].id,
                    "document_id": None,
                    "section_id": None,
                    "stance": None,
                    "text": text,
                    "text_folded": fold_for_matching(text),
                    "category": "worker",
                    "organisation": None,
                    "locality": None,
                    "channel": "telegram",
                    "source": "bot",
                    "status": "active",
                    "congress_id": congress.id,
                    "period_id": period.id,
                    "topic": ["economy", "welfare", "economy"][j],
                    "unit_code": None,
                    "created_at": NOW - timedelta(hours=j + 1),
                }
            )
        for values in rows:
            row = FeedbackRow(**values)
            session.add(row)
            await session.flush()
            values["id"] = row.id
        await session.commit()
        return Seeded(
            document_id=doc.id,
            other_document_id=other.id,
            section_ids=sections,
            congress_id=congress.id,
            period_id=period.id,
            respondent_ids=[r.id for r in respondents],
            rows=rows,
        )


def local(dt: datetime) -> str:
    return dt.isoformat()
