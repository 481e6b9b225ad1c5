"""Shared fixtures: databases (SQLite file and the real PostgreSQL), migrated schemas, bundled data.

PostgreSQL is required: a test that needs it FAILS when the server cannot be reached (never skips).
Each PostgreSQL test gets its own database cloned from a migrated template (fast and isolated).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.config import BUNDLED_DATA_DIR
from formats.drafts import read_draft
from storage.db import create_engine, session_factory
from storage.loaders import load_file
from storage.migrate import upgrade
from tests.conversation_driver import Driver
from tests.fakes import sample_store
from tests.staff_console import Console as StaffConsole
from tests.staff_console import console_app

# The suite runs with the public development hash key; outside development the service refuses it.
os.environ.setdefault("GOPY_ENV", "development")

PG_ADMIN_DSN = os.environ.get("GOPY_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BUNDLED_FILES = ("lists.yaml", "localities.csv", "plan.yaml", "documents/sample-draft.md")
NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 in Hanoi, while the sample draft is open


def pg_url(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{database}"


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is required for this test and is unreachable at {PG_ADMIN_DSN}: {exc}")


@pytest.fixture(scope="session", autouse=True)
def gopy_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Settings made by tests keep their files (reports, heartbeat, bot identity) in a temporary home."""
    home = tmp_path_factory.mktemp("gopy-home")
    previous = os.environ.get("GOPY_HOME")
    os.environ["GOPY_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("GOPY_HOME", None)
    else:
        os.environ["GOPY_HOME"] = previous


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database for the whole test session."""
    name = f"gopy_tpl_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    upgrade(pg_url(name))
    yield name

    async def drop() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture
async def pg_database(pg_template: str) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for one test; returns its SQLAlchemy URL."""
    name = f"gopy_t_{uuid.uuid4().hex[:10]}"
    conn = await _admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    finally:
        await conn.close()
    yield pg_url(name)
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file for the whole test session (the SQLite counterpart of ``pg_template``)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "gopy.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    leftovers = sorted(p.name for p in path.parent.iterdir() if p != path)
    assert not leftovers, f"the migrated template is not a single closed file: {leftovers}"
    return path


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated SQLite file database (a copy of the template); returns its URL."""
    target = tmp_path / "gopy.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Both backends: every test using this runs on SQLite and on the real PostgreSQL."""
    if request.param == "postgres":
        request.node.add_marker(pytest.mark.postgres)
        return str(request.getfixturevalue("pg_database"))
    return str(request.getfixturevalue("sqlite_database"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def load_bundled(sessions: async_sessionmaker[AsyncSession], now: datetime = NOW) -> None:
    """Load the bundled lists, localities, plan and sample draft, as `make run` does."""
    async with sessions() as session:
        for name in BUNDLED_FILES:
            await load_file(session, BUNDLED_DATA_DIR / name, now=now, read_draft=read_draft)
        await session.commit()


@pytest.fixture
async def loaded(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions on a database holding the bundled data."""
    await load_bundled(sessions)
    return sessions


@pytest.fixture
def driver() -> Driver:
    """The citizen conversation on the in-memory sample store, at NOW."""
    return Driver(sample_store(NOW), FixedClock(NOW))


@pytest.fixture
async def staff_console(
    database_url: str, loaded: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[StaffConsole]:
    """The staff console app (SQLite and PostgreSQL, bundled data loaded): see tests/staff_console.py."""
    async with console_app(database_url, clock) as console:
        yield console
