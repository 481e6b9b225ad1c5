"""One transaction per entrypoint (issue 10, item 2), counted with SQLAlchemy's connection events.

A bot update and an API write request are one transaction each: everything they save (dialog state,
de-duplication, the use case, the audit row) commits together. An export is one writing transaction
(bound, count and audit row, committed before the first byte) and one read-only transaction that
streams the rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from cli.export import run_export
from core.clock import SystemClock
from core.exports import ExportFormat, FeedbackFilters
from core.staff.feedback import Presenter
from storage.db import create_engine, session_factory
from storage.models import DocumentRow
from storage.models_api import AuditLogRow
from tests.conftest import NOW, load_bundled
from tests.e2e_support import bot_settings, running_bot
from tests.fake_telegram import FakeTelegramServer
from tests.staff_api import HASH_KEY, make_keys, seed, serve

WRITES = ("INSERT", "UPDATE", "DELETE")


class Transactions:
    """BEGIN and COMMIT of every connection of ``target`` (an engine, or the Engine class: all of them),
    and how many committed transactions wrote something."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.lock = threading.Lock()
        self.begins = self.commits = self.writing_commits = 0
        self._writing: set[int] = set()

    def _begin(self, conn: Any) -> None:
        with self.lock:
            self.begins += 1

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            with self.lock:
                self._writing.add(id(conn))

    def _commit(self, conn: Any) -> None:
        with self.lock:
            self.commits += 1
            if id(conn) in self._writing:
                self.writing_commits += 1
                self._writing.discard(id(conn))

    def _rollback(self, conn: Any) -> None:
        with self.lock:
            self._writing.discard(id(conn))

    def reset(self) -> None:
        with self.lock:
            self.begins = self.commits = self.writing_commits = 0
            self._writing.clear()

    @contextmanager
    def watching(self) -> Iterator[Transactions]:
        listeners = (
            ("begin", self._begin),
            ("before_cursor_execute", self._statement),
            ("commit", self._commit),
            ("rollback", self._rollback),
        )
        for name, fn in listeners:
            event.listen(self.target, name, fn)
        try:
            yield self
        finally:
            for name, fn in listeners:
                event.remove(self.target, name, fn)

    def counts(self) -> tuple[int, int, int]:
        return self.begins, self.commits, self.writing_commits


@pytest.mark.e2e
async def test_a_bot_update_is_one_transaction(database_url: str) -> None:
    engine = create_engine(database_url)
    await load_bundled(session_factory(engine), SystemClock().now())
    counter = Transactions(engine.sync_engine)
    try:
        async with FakeTelegramServer() as server:
            async with running_bot(bot_settings(database_url, server), engine=engine):
                user = server.user(3001, first_name="Lan")
                with counter.watching():
                    await user.command_and_wait("start")
                    first = counter.counts()
                    counter.reset()
                    await user.tap("Tôi đồng ý")  # consent: the use case writes, too
                    second = counter.counts()
    finally:
        await engine.dispose()
    assert first == (1, 1, 1), "one update: one transaction (begin, commit), which wrote"
    assert second == (1, 1, 1)


@pytest.mark.e2e
async def test_an_api_export_is_one_writing_and_one_reading_transaction(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    await seed(loaded, count=12)
    counter = Transactions(Engine)  # the app's own engine lives in uvicorn's thread
    with serve(database_url, clock) as base, counter.watching():
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for fmt in ("csv", "xlsx"):
                counter.reset()
                response = await client.get(
                    "/v1/exports/feedback", params={"format": fmt}, headers=keys.auth("reader")
                )
                assert response.status_code == 200, response.text
                assert counter.counts() == (2, 1, 1), fmt  # bound + count + audit row; then the rows

            counter.reset()
            created = await client.post(
                "/v1/documents", json={"code": "tx-draft", "title": "Dự thảo"}, headers=keys.auth("admin")
            )
            assert created.status_code == 201, created.text
            assert counter.counts() == (1, 1, 1), "authentication, the document and its audit row: one"
    async with loaded() as session:
        assert await session.scalar(select(func.count()).where(DocumentRow.code == "tx-draft")) == 1
        audits = await session.scalar(
            select(func.count()).where(
                AuditLogRow.action == "document.create", AuditLogRow.target == "tx-draft"
            )
        )
        assert audits == 1


async def test_a_cli_export_is_one_writing_and_one_reading_transaction(
    database_url, loaded, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    await seed(loaded, count=12)
    counter = Transactions(Engine)
    with counter.watching():
        rows = await run_export(
            database_url=database_url,
            filters=FeedbackFilters(),
            document_code="sample-political-report",
            fmt=ExportFormat.CSV,
            output=tmp_path / "out.csv",
            present=Presenter(pii=False, hash_key=HASH_KEY, tz=NOW.tzinfo),  # type: ignore[arg-type]
            now=NOW,
            progress=False,
        )
    assert rows > 0
    assert counter.counts() == (2, 1, 1)
