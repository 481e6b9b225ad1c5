"""Alembic stairway: upgrade, downgrade and upgrade again every revision, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import alembic_config, downgrade, upgrade
from storage.schema import Base


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def _stairway(url: str) -> None:
    revisions = _revisions(url)
    assert len(set(revisions)) == len(revisions)
    previous = "base"
    for revision in revisions:
        await asyncio.to_thread(upgrade, url, revision)
        await asyncio.to_thread(downgrade, url, previous)
        await asyncio.to_thread(upgrade, url, revision)
        previous = revision
    assert await _tables(url) == set(Base.metadata.tables)


async def test_stairway_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    await _stairway(f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}")


async def test_stairway_postgres(pg_template: str) -> None:
    import uuid

    from tests.conftest import _admin, pg_url

    name = f"gopy_stair_{uuid.uuid4().hex[:8]}"
    conn = await _admin()
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        await _stairway(pg_url(name))
    finally:
        conn = await _admin()
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def test_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
