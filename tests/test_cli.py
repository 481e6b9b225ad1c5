"""The gopy command: migrations, loading data files, importing documents with clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def gopy(*args: str, cwd: Path, db: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    env.update({"GOPY_DATABASE_URL": db, "PYTHONPATH": str(ROOT)})
    env.pop("TELEGRAM_BOT_TOKEN", None)
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
    assert gopy("db", "upgrade", cwd=tmp_path, db=db).returncode == 0
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"this is not a word file")
    result = gopy("documents", "import", str(bad), cwd=tmp_path, db=db)
    assert result.returncode == 2
    assert "Lỗi: Không nhập được tệp dự thảo" in result.stderr and "Error: Could not import" in result.stderr
    missing = gopy("documents", "import", str(tmp_path / "nope.md"), cwd=tmp_path, db=db)
    assert missing.returncode == 2 and "File not found" in missing.stderr


def test_bad_plan_file_loads_nothing(tmp_path: Path, db: str) -> None:
    assert gopy("db", "upgrade", cwd=tmp_path, db=db).returncode == 0
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "kind: plan\nunit_kinds: [{code: a, vi: A}]\ncongresses:\n"
        "  - {code: c1, name_vi: C1, periods: [{code: p1, phase: before, month: '2025-09'}]}\n"
        "  - {code: c2, name_vi: C2, periods: [{code: p2, phase: sometime, month: '2025-10'}]}\n",
        encoding="utf-8",
    )
    result = gopy("load", str(plan), cwd=tmp_path, db=db)
    assert result.returncode == 2 and "Tệp dữ liệu không hợp lệ" in result.stderr
    check = gopy("load", str(ROOT / "data" / "lists.yaml"), cwd=tmp_path, db=db)
    assert check.returncode == 0
    import sqlite3

    conn = sqlite3.connect(tmp_path / "var" / "gopy.db")
    assert conn.execute("select count(*) from congress").fetchone()[0] == 0
