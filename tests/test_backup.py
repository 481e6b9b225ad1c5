"""``gopy backup`` / ``gopy restore``: a live SQLite database backed up while a writer keeps submitting
opinions through the real use case, restored elsewhere, and every committed opinion found again."""

from __future__ import annotations

import asyncio
import os
import shlex
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, text

from core import feedback as uc
from core.clock import FixedClock
from core.domain import Channel, Stance
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import DocumentRow, SectionRow
from storage.uow import SqlUnitOfWork
from tests.cli_support import gopy_in_process
from tests.conftest import NOW, load_bundled

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 90.0  # seconds; generous on a loaded 2-core machine, only a failure ever waits this long


def alembic_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def gopy(*args: str, db: Path | str, cwd: Path, process: bool = False) -> subprocess.CompletedProcess[str]:
    """The command's answer; with ``process``, from a real ``gopy`` process (the live backup, and the restore
    refused while another process holds the database, need one), else run in this process."""
    url = db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    env.update({"GOPY_DATABASE_URL": url, "PYTHONPATH": str(ROOT)})
    if not process:
        return gopy_in_process(*args, cwd=cwd, env=env)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def opinions(path: Path) -> dict[str, tuple[str, str, int]]:
    """receipt code -> (text, stance, respondent id) of every opinion in the SQLite file."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT receipt_code, text, stance, respondent_id FROM feedback").fetchall()
    finally:
        conn.close()
    return {code: (body, stance, rid) for code, body, stance, rid in rows}


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def migrated_with_data(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)

    async def load() -> None:
        engine = create_engine(url)
        try:
            await load_bundled(session_factory(engine))
        finally:
            await engine.dispose()

    asyncio.run(load())
    return url


class GatedUnitOfWork(SqlUnitOfWork):
    """The real unit of work; when asked, its commit waits (write transaction open) until released."""

    def __init__(self, sessions, writer: Writer) -> None:  # type: ignore[no-untyped-def]
        super().__init__(sessions)
        self.writer = writer

    async def commit(self) -> None:
        if self.writer.hold.is_set():
            self.writer.hold.clear()
            self.writer.holding.set()
            await asyncio.to_thread(self.writer.release.wait)
        await super().commit()


class Writer:
    """A thread that keeps submitting opinions through ``core.feedback.submit_feedback`` (as the bot does)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.committed: list[str] = []  # receipts whose transaction has committed
        self.stop = threading.Event()
        self.hold, self.holding, self.release = threading.Event(), threading.Event(), threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._write())
        except BaseException as exc:  # reported by the test, never swallowed
            self.errors.append(exc)

    async def _write(self) -> None:
        engine = create_engine(self.url)
        sessions = session_factory(engine)
        clock = FixedClock(NOW)
        try:
            async with SqlUnitOfWork(sessions) as uow:
                respondent = await uc.record_consent(
                    uow=uow,
                    channel=Channel.TELEGRAM,
                    user_hash="backup-writer",
                    language="vi",
                    version="v1",
                    now=clock.now(),
                )
            async with sessions() as session:
                doc = await session.scalar(
                    select(DocumentRow).where(DocumentRow.code == "sample-political-report")
                )
                assert doc is not None
                section_ids = list(
                    await session.scalars(
                        select(SectionRow.id).where(
                            SectionRow.document_id == doc.id, SectionRow.parent_id.is_not(None)
                        )
                    )
                )
            i = 0
            while not self.stop.is_set():
                async with GatedUnitOfWork(sessions, self) as uow:
                    receipt = await uc.submit_feedback(
                        uow=uow,
                        respondent_id=respondent.id,
                        document_id=doc.id,
                        section_id=section_ids[i % len(section_ids)],
                        stance=Stance.OTHER,
                        text=f"Ý kiến thử số {i}: đề nghị làm rõ giải pháp " + "việc làm " * (i % 40),
                        channel=Channel.TELEGRAM,
                        now=clock.now(),
                        max_length=4000,
                        client_ref=f"w{i}",
                    )
                self.committed.append(receipt.receipt_code)
                i += 1
        finally:
            await engine.dispose()

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.committed) >= count or bool(self.errors), f"{count} opinions")
        assert not self.errors, self.errors

    def finish(self) -> None:
        self.stop.set()
        self.release.set()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive() and not self.errors, self.errors


def test_backup_of_a_live_database_restores_every_committed_opinion(tmp_path: Path) -> None:
    live = tmp_path / "live" / "gopy.db"
    live.parent.mkdir()
    url = migrated_with_data(live)
    writer = Writer(url)
    writer.thread.start()
    try:
        # 1. The writer commits freely while the backup runs (another process, the real CLI).
        writer.wait_for(30)
        before_free = set(writer.committed)
        free = gopy("backup", str(tmp_path / "free.db"), db=live, cwd=tmp_path, process=True)
        assert free.returncode == 0, free.stderr
        assert "Đã sao lưu cơ sở dữ liệu" in free.stdout and "Database backed up" in free.stdout
        after_free = len(writer.committed)
        writer.wait_for(after_free + 20)  # the service keeps writing: the backup blocked nobody

        # 2. The backup runs while a submission's write transaction is open (flushed, not committed).
        writer.hold.set()
        wait_until(writer.holding.is_set, "a write transaction held open")
        before_held = set(writer.committed)
        held = gopy("backup", str(tmp_path / "held.db"), db=live, cwd=tmp_path, process=True)
        assert held.returncode == 0, held.stderr
        writer.release.set()
        writer.wait_for(len(before_held) + 20)
    finally:
        writer.finish()

    everything = opinions(live)
    assert set(writer.committed) == set(everything)
    for name, before in (("free", before_free), ("held", before_held)):
        target = tmp_path / f"restored-{name}" / "gopy.db"
        result = gopy("restore", str(tmp_path / f"{name}.db"), db=target, cwd=tmp_path, process=True)
        assert result.returncode == 0, result.stderr
        assert "Đã khôi phục" in result.stdout and "Restored" in result.stdout
        assert "gopy db upgrade" not in result.stdout  # the backup is at the current revision
        assert integrity(target) == ["ok"]
        restored = opinions(target)
        assert before <= set(restored), f"{len(before - set(restored))} committed opinions missing"
        for code, row in restored.items():  # nothing half-written, nothing never committed
            assert everything[code] == row
        if name == "held":  # the open transaction committed after the snapshot: not in it
            assert set(restored) == before_held
        assert len(restored) >= 30
        assert sorted(p.name for p in target.parent.iterdir()) == ["gopy.db"]  # no temporary left


def test_restore_refuses_to_overwrite_data_and_a_bad_file_leaves_the_target_untouched(tmp_path: Path) -> None:
    source = tmp_path / "a.db"
    migrated_with_data(source)
    assert gopy("backup", str(tmp_path / "a.bak"), db=source, cwd=tmp_path).returncode == 0
    again = gopy("backup", str(tmp_path / "a.bak"), db=source, cwd=tmp_path)
    assert again.returncode == 2 and "đã tồn tại" in again.stderr and "--force" in again.stderr

    target_dir = tmp_path / "target"
    target_dir.mkdir()
    target = target_dir / "gopy.db"
    migrated_with_data(target)
    original = target.read_bytes()

    refused = gopy("restore", str(tmp_path / "a.bak"), db=target, cwd=tmp_path)
    assert refused.returncode == 2
    assert "đang có dữ liệu" in refused.stderr and "holds data" in refused.stderr
    assert target.read_bytes() == original

    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x5a" * 8192)
    damaged = tmp_path / "damaged.bak"
    good = (tmp_path / "a.bak").read_bytes()
    damaged.write_bytes(good[:8192] + b"\x5a" * 16384 + good[8192 + 16384 :])
    not_gopy = tmp_path / "other.bak"
    sqlite3.connect(not_gopy).execute("CREATE TABLE t (x)").connection.commit()
    for bad, message in (
        (junk, "not a valid SQLite database"),
        (damaged, "fails the integrity check"),
        (not_gopy, "not a Gopy database"),
        (tmp_path / "missing.bak", "Backup file not found"),
    ):
        result = gopy("restore", str(bad), "--force", db=target, cwd=tmp_path)
        assert result.returncode == 2, (bad, result.stdout)
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert target.read_bytes() == original
        assert sorted(p.name for p in target_dir.iterdir() if not p.name.startswith("gopy.db")) == []

    forced = gopy("restore", str(tmp_path / "a.bak"), "--force", db=target, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert integrity(target) == ["ok"]


def test_restore_refuses_while_the_database_is_open_elsewhere(tmp_path: Path) -> None:
    source = tmp_path / "a.db"
    migrated_with_data(source)
    assert gopy("backup", str(tmp_path / "a.bak"), db=source, cwd=tmp_path).returncode == 0
    target = tmp_path / "t" / "gopy.db"
    target.parent.mkdir()
    migrated_with_data(target)
    service = sqlite3.connect(target)  # a running service keeps its connections open
    try:
        service.execute("PRAGMA journal_mode=WAL")
        service.execute("SELECT count(*) FROM feedback").fetchone()
        result = gopy("restore", str(tmp_path / "a.bak"), "--force", db=target, cwd=tmp_path, process=True)
        assert result.returncode == 2 and "đang được sử dụng" in result.stderr and "in use" in result.stderr
    finally:
        service.close()
    assert gopy("restore", str(tmp_path / "a.bak"), "--force", db=target, cwd=tmp_path).returncode == 0


def test_an_older_backup_is_restored_with_the_upgrade_hint(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    upgrade(f"sqlite+aiosqlite:///{old}", "0003")
    assert gopy("backup", str(tmp_path / "old.bak"), db=old, cwd=tmp_path).returncode == 0
    target = tmp_path / "new" / "gopy.db"
    result = gopy("restore", str(tmp_path / "old.bak"), db=target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0003" in result.stdout and "gopy db upgrade" in result.stdout
    assert gopy("db", "upgrade", db=target, cwd=tmp_path).returncode == 0


def test_backup_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "var" / "gopy.db"
    result = gopy("backup", str(tmp_path / "x.bak"), db=missing, cwd=tmp_path)
    assert result.returncode == 2 and "gopy db upgrade" in result.stderr
    assert not missing.exists() and not (tmp_path / "x.bak").exists()


def test_postgresql_gets_the_pg_dump_procedure_in_one_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://gopy:s3cret@db.example:5432/gopy"
    for command, tool in (("backup", "pg_dump -Fc"), ("restore", "pg_restore --clean")):
        result = gopy(command, "gopy.dump", db=url, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and " / " in lines[0], result.stderr
        assert tool in lines[0] and "postgresql://gopy@db.example:5432/gopy" in lines[0]
        assert "s3cret" not in result.stderr and "docs/operations.md" in lines[0]
    assert not (tmp_path / "gopy.dump").exists()


async def test_the_printed_postgresql_procedure_round_trips_a_database(
    pg_database: str, tmp_path: Path
) -> None:
    """The pg_dump / pg_restore commands that the CLI prints, run as printed, bring every opinion back."""
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    try:
        await load_bundled(sessions)
        async with SqlUnitOfWork(sessions) as uow:
            respondent = await uc.record_consent(
                uow=uow, channel=Channel.WEB, user_hash="pg", language="vi", version="v1", now=NOW
            )
        async with sessions() as session:
            doc = await session.scalar(
                select(DocumentRow).where(DocumentRow.code == "sample-political-report")
            )
            assert doc is not None
        receipts = []
        for i in range(3):
            async with SqlUnitOfWork(sessions) as uow:
                receipt = await uc.submit_feedback(
                    uow=uow,
                    respondent_id=respondent.id,
                    document_id=doc.id,
                    section_id=None,
                    stance=Stance.OTHER,
                    text=f"Ý kiến {i}",
                    channel=Channel.WEB,
                    now=NOW,
                    max_length=4000,
                )
            receipts.append(receipt.receipt_code)

        def printed(command: str, start: str, end: str) -> list[str]:
            result = gopy(command, "gopy.dump", db=pg_database, cwd=tmp_path)
            english = result.stderr.strip().split(" / ", 1)[1]
            return shlex.split(english.split(start, 1)[1].split(end, 1)[0])

        def run(command: list[str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

        dump = await asyncio.to_thread(printed, "backup", "back it up with ", " (see")
        assert dump[0] == "pg_dump"
        dumped = await asyncio.to_thread(run, dump)
        assert dumped.returncode == 0, dumped.stderr

        async with engine.begin() as conn:  # a loss to repair: one opinion deleted after the backup
            await conn.execute(text("DELETE FROM feedback WHERE receipt_code = :c"), {"c": receipts[0]})
        await engine.dispose()  # the service is stopped before a restore
        restore = await asyncio.to_thread(printed, "restore", " run ", ", then gopy db upgrade")
        assert restore[0] == "pg_restore"
        done = await asyncio.to_thread(run, restore)
        assert done.returncode == 0, done.stderr
        async with engine.connect() as conn:
            found = set((await conn.execute(text("SELECT receipt_code FROM feedback"))).scalars())
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert found == set(receipts) and revision in alembic_heads()
    finally:
        await engine.dispose()
