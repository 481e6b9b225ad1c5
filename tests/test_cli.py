"""The gopy command: migrations, loading data files, importing documents with clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.domain import Stance
from tests.cli_support import gopy_in_process

ROOT = Path(__file__).resolve().parent.parent


def gopy(*args: str, cwd: Path, db: str, process: bool = True) -> subprocess.CompletedProcess[str]:
    """A real ``gopy`` process; ``process=False``: the same command run in this process (tests/cli_support.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    env.update({"GOPY_DATABASE_URL": db, "PYTHONPATH": str(ROOT)})
    env.pop("TELEGRAM_BOT_TOKEN", None)
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


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'var' / 'gopy.db'}"


def test_upgrade_load_and_import(tmp_path: Path, db: str) -> None:
    assert gopy("db", "upgrade", cwd=tmp_path, db=db).returncode == 0
    data = ROOT / "data"
    result = gopy(
        "load",
        str(data / "lists.yaml"),
        str(data / "localities.csv"),
        str(data / "plan.yaml"),
        str(data / "plan-demo.yaml"),
        str(data / "documents" / "sample-draft.md"),
        cwd=tmp_path,
        db=db,
    )
    assert result.returncode == 0, result.stderr
    assert "periods created: 6" in result.stdout and "sections: 10" in result.stdout

    good = tmp_path / "draft.md"
    good.write_text(
        "# Dự thảo thử\n\n## I. Phần một\n\nNội dung.\n\n### 1. Mục một\n\nThân.\n", encoding="utf-8"
    )
    result = gopy("documents", "import", str(good), "--code", "thu", "--status", "open", cwd=tmp_path, db=db)
    assert result.returncode == 0, result.stderr
    assert "sections: 2" in result.stdout and "code=thu status=open" in result.stdout


def test_malformed_document_is_refused_with_a_clear_error(tmp_path: Path, db: str) -> None:
    assert gopy("db", "upgrade", cwd=tmp_path, db=db, process=False).returncode == 0
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"this is not a word file")
    result = gopy("documents", "import", str(bad), cwd=tmp_path, db=db, process=False)
    assert result.returncode == 2
    assert "Lỗi: Không nhập được tệp dự thảo" in result.stderr and "Error: Could not import" in result.stderr
    missing = gopy("documents", "import", str(tmp_path / "nope.md"), cwd=tmp_path, db=db, process=False)
    assert missing.returncode == 2 and "File not found" in missing.stderr


def test_bad_plan_file_loads_nothing(tmp_path: Path, db: str) -> None:
    assert gopy("db", "upgrade", cwd=tmp_path, db=db, process=False).returncode == 0
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "kind: plan\nunit_kinds: [{code: a, vi: A}]\ncongresses:\n"
        "  - {code: c1, name_vi: C1, periods: [{code: p1, phase: before, month: '2025-09'}]}\n"
        "  - {code: c2, name_vi: C2, periods: [{code: p2, phase: sometime, month: '2025-10'}]}\n",
        encoding="utf-8",
    )
    result = gopy("load", str(plan), cwd=tmp_path, db=db, process=False)
    assert (
        result.returncode == 2
        and "Không đọc được tệp dữ liệu: một mục thiếu thông tin bắt buộc." in result.stderr
    )
    assert (
        "bad_item" not in result.stderr.splitlines()[0]
    )  # the sentence; the raw parameters follow in English
    check = gopy("load", str(ROOT / "data" / "lists.yaml"), cwd=tmp_path, db=db, process=False)
    assert check.returncode == 0
    import sqlite3

    conn = sqlite3.connect(tmp_path / "var" / "gopy.db")
    assert conn.execute("select count(*) from congress").fetchone()[0] == 0


def test_outside_the_repository_a_missing_database_gets_one_clear_line(tmp_path: Path) -> None:
    """No `./var/gopy.db` appears wherever the command runs; the default lives in the per-user folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    env.update({"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": "", "PYTHONPATH": str(ROOT)})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "periods", "status"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "gopy db upgrade" in lines[0] and "Vui lòng" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    expected = tmp_path / "home" / ".local" / "share" / "gopy" / "gopy.db"
    assert str(expected) in lines[0]
    assert not expected.exists() and not expected.parent.exists()
    assert list(elsewhere.iterdir()) == []  # nothing created in the working directory


def test_a_database_that_is_not_migrated_gets_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    result = gopy("periods", "status", cwd=tmp_path, db=f"sqlite+aiosqlite:///{empty}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "gopy db upgrade" in result.stderr
    assert "Traceback" not in result.stderr and empty.stat().st_size == 0
    unreachable = gopy("periods", "status", cwd=tmp_path, db="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    assert unreachable.returncode == 2 and "GOPY_DATABASE_URL" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_make_run_loads_the_bundled_data_again_after_real_use(tmp_path: Path, db: str) -> None:
    """`make run` reloads the bundled files at every start: after an opinion and a closed draft it starts."""
    import asyncio

    from sqlalchemy import select

    from storage.db import create_engine, session_factory
    from storage.models import DocumentRow
    from storage.uow import SqlUnitOfWork
    from tests.test_storage import _doc_and_section, _respondent, _submit

    data = ROOT / "data"
    files = [
        str(data / n) for n in ("lists.yaml", "localities.csv", "plan.yaml", "documents/sample-draft.md")
    ]
    assert gopy("db", "upgrade", cwd=tmp_path, db=db, process=False).returncode == 0
    assert gopy("load", *files, cwd=tmp_path, db=db, process=False).returncode == 0

    async def use_it() -> None:
        engine = create_engine(db)
        sessions = session_factory(engine)
        rid = await _respondent(sessions)
        doc_id, section_id = await _doc_and_section(sessions)
        async with SqlUnitOfWork(sessions) as uow:
            await _submit(uow, rid, doc_id, section_id, stance=Stance.AGREE, text="")
        async with sessions() as session:
            (await session.get(DocumentRow, doc_id)).status = "closed"
            await session.commit()
        await engine.dispose()

    async def status() -> str:
        engine = create_engine(db)
        async with session_factory(engine)() as session:
            value = await session.scalar(select(DocumentRow.status).where(DocumentRow.code.like("sample%")))
        await engine.dispose()
        return str(value)

    asyncio.run(use_it())
    again = gopy("load", *files, cwd=tmp_path, db=db, process=False)
    assert again.returncode == 0, again.stderr
    assert "documents unchanged: 1" in again.stdout
    assert asyncio.run(status()) == "closed"
