"""Run Alembic from code (``gopy db upgrade``) and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from core.errors import DatabaseMissing, DatabaseNotReady, DatabaseUnreachable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    """The newest migration shipped with this version of Gopy."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def check_ready(database_url: str) -> None:
    """Raise :class:`DatabaseNotReady` unless the database exists and is at the head revision.

    Never creates anything: a missing SQLite file stays missing (``gopy db upgrade`` creates it).
    """
    url = make_url(database_url)
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        where = str(path)
        if not path.is_file():
            raise DatabaseMissing(where=str(path))
        # read-only URI: opening never creates the file or its folder
        url = url.set(database=f"file:{path}?mode=ro", query={**url.query, "uri": "true"})
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_revision)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnreachable(where=where) from exc
    finally:
        await engine.dispose()
    if current != head_revision():
        raise DatabaseNotReady(where=where)
