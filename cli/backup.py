"""``gopy backup FILE`` / ``gopy restore FILE``: a consistent copy of the SQLite database, and back.

The backup uses SQLite's online backup API in one step: it reads one snapshot under a read
transaction, so (in WAL mode, as ``storage.db`` opens every connection) the running service keeps
writing while it is taken, and the copy holds exactly the transactions committed before it began.
A restore copies the backup into a temporary file beside the target, checks it (``PRAGMA
integrity_check``, Alembic revision) and only then renames it over the target, so the target is
either the old database or the whole new one, never half of each. PostgreSQL is backed up with
``pg_dump``/``pg_restore`` (``docs/operations.md``); for a PostgreSQL URL both commands say so.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import URL, make_url

from core.config import get_settings
from core.i18n import t

app = typer.Typer()

OPERATIONS_DOC = "docs/operations.md"


class BackupError(Exception):
    """A refusal with a translation key; the CLI prints it in Vietnamese and English."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _say(key: str, *, err: bool = False, **params: Any) -> None:
    typer.echo(f"{t(key, 'vi', **params)}\n{t(key, 'en', **params)}", err=err)


def _refuse(exc: BackupError) -> typer.Exit:
    _say(exc.key, err=True, **exc.params)
    return typer.Exit(2)


def _libpq_url(url: URL) -> str:
    """The database URL for pg_dump/pg_restore: no driver suffix, no password (use ~/.pgpass)."""
    plain = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    return plain.render_as_string(hide_password=False)


def _sqlite_path(database_url: str, command: str, file: Path) -> Path:
    """The configured SQLite file; for PostgreSQL print the pg_dump/pg_restore line and exit 2."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        key = "backup.postgres_backup" if command == "backup" else "backup.postgres_restore"
        params = {"url": shlex.quote(_libpq_url(url)), "file": shlex.quote(str(file)), "doc": OPERATIONS_DOC}
        typer.echo(f"{t(key, 'vi', **params)} / {t(key, 'en', **params)}", err=True)
        raise typer.Exit(2)
    if backend != "sqlite" or not url.database or url.database == ":memory:":
        _say("backup.unsupported_url", err=True, backend=backend)
        raise typer.Exit(2)
    return Path(url.database).expanduser().resolve()


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open an existing SQLite file (never create one), waiting up to 30 s for a busy lock."""
    mode = "ro" if read_only else "rw"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)
        conn.execute("PRAGMA schema_version").fetchone()  # fails here when it is not SQLite
    except sqlite3.DatabaseError as exc:
        raise BackupError("backup.not_a_database", file=str(path), reason=str(exc)) from exc
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def _migration_heads(database_url: str) -> tuple[set[str], set[str]]:
    """(head revisions, every known revision) of this code's Alembic migrations."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(database_url))
    return set(script.get_heads()), {rev.revision for rev in script.walk_revisions()}


def _check(conn: sqlite3.Connection, file: Path) -> str:
    """Integrity-check a copy and return its Alembic revision; refuse anything else."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise BackupError("backup.corrupt", file=str(file), reason="; ".join(problems[:3]))
    revision = _revision(conn)
    if revision is None:
        raise BackupError("backup.not_gopy", file=str(file))
    return revision


def _has_rows(path: Path) -> bool:
    """Whether the SQLite file at ``path`` holds any row (``alembic_version`` aside)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = _connect(path)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return any(
            conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None
            for name in tables
            if name != "alembic_version"
        )
    finally:
        conn.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A temporary file in the target's folder (same file system, so rename is atomic); removed on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
    finally:
        for leftover in (temp, Path(f"{temp}-journal"), Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            leftover.unlink(missing_ok=True)


def _copy(source: sqlite3.Connection, temp: Path, label: Path) -> str:
    """Copy ``source`` (named ``label`` in messages) into ``temp`` in one backup step; return its revision."""
    dest = sqlite3.connect(temp)
    try:
        source.backup(dest, pages=-1)  # one step: one consistent snapshot, never restarted by writers
        dest.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        revision = _check(dest, label)
    except sqlite3.DatabaseError as exc:  # "database disk image is malformed" and the like
        raise BackupError("backup.corrupt", file=str(label), reason=str(exc)) from exc
    finally:
        dest.close()
    _fsync(temp)
    return revision


def _replace(temp: Path, target: Path) -> None:
    """Atomically put ``temp`` in place of ``target``; fsync the folder so the rename is durable."""
    os.replace(temp, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_backup(*, source: Path, file: Path, force: bool) -> str:
    """Write a consistent copy of the live database at ``source`` to ``file``; return its revision."""
    if not source.is_file():
        raise BackupError("backup.no_database", path=str(source))
    if file.exists() and not force:
        raise BackupError("backup.file_exists", file=str(file))
    if file.resolve() == source:
        raise BackupError("backup.same_file", file=str(file))
    conn = _connect(source)
    try:
        if _revision(conn) is None:
            raise BackupError("backup.no_database", path=str(source))
        with _temporary_beside(file) as temp:
            revision = _copy(conn, temp, source)
            _replace(temp, file)
    finally:
        conn.close()
    return revision


def restore_backup(*, file: Path, target: Path, force: bool, known: set[str]) -> str:
    """Put the backup ``file`` in place of the database at ``target``; return the backup's revision."""
    if not file.is_file():
        raise BackupError("backup.file_missing", file=str(file))
    if file.resolve() == target:
        raise BackupError("backup.same_file", file=str(file))
    if not force and _has_rows(target):
        raise BackupError("backup.target_not_empty", path=str(target))
    source = _connect(file, read_only=True)
    try:
        with _temporary_beside(target) as temp:
            revision = _copy(source, temp, file)
            if revision not in known:
                raise BackupError("backup.unknown_revision", file=str(file), revision=revision)
            _release(target)
            if target.exists():  # keep the target's permissions (a new file is private: 0600)
                os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
            _replace(temp, target)
    finally:
        source.close()
    return revision


def _release(target: Path) -> None:
    """Fold the target's write-ahead log into it, so no stale ``-wal`` file meets the new database.

    The last connection to close a WAL database checkpoints it and deletes its ``-wal`` file; if the
    file is still there after ours closed, another process (a running service) has it open: refuse.
    """
    if not target.exists():
        return
    try:
        conn = _connect(target)
    except BackupError:  # not a database at all (only reached with --force): nothing to fold in
        return
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    if busy or Path(f"{target}-wal").exists():
        raise BackupError("backup.target_busy", path=str(target))
    Path(f"{target}-shm").unlink(missing_ok=True)


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write")],
    force: Annotated[bool, typer.Option("--force", help="replace FILE if it exists")] = False,
) -> None:
    """Back up the SQLite database while the service runs (SQLite online backup API)."""
    settings = get_settings()
    source = _sqlite_path(settings.database_url, "backup", file)
    try:
        revision = take_backup(source=source, file=file, force=force)
    except BackupError as exc:
        raise _refuse(exc) from exc
    _say("backup.done", file=str(file), revision=revision, size=file.stat().st_size)


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="a backup file written by `gopy backup`")],
    force: Annotated[bool, typer.Option("--force", help="replace a database that holds data")] = False,
) -> None:
    """Restore the SQLite database from a backup (stop the service first)."""
    settings = get_settings()
    target = _sqlite_path(settings.database_url, "restore", file)
    heads, known = _migration_heads(settings.database_url)
    try:
        revision = restore_backup(file=file, target=target, force=force, known=known)
    except BackupError as exc:
        raise _refuse(exc) from exc
    _say("backup.restored", file=str(file), path=str(target), revision=revision)
    if revision not in heads:
        _say("backup.run_upgrade", revision=revision, head=", ".join(sorted(heads)))
