"""The public development hash key is refused outside ``GOPY_ENV=development`` (real ``gopy`` processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app
from core.config import DEV_HASH_KEY, Settings, get_settings
from core.errors import InsecureHashKey
from tests.cli_support import gopy_in_process
from tests.webchat_client import free_port

ROOT = Path(__file__).resolve().parent.parent
HASHING_COMMANDS = (  # ``gopy run`` starts through the same code as ``gopy api``
    ("api",),
    ("bot",),
    ("scheduler",),
    ("export", "feedback", "-o", "out.csv", "--quiet"),
)


def _env(db: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    for name in ("TELEGRAM_BOT_TOKEN", "REDIS_URL"):
        env.pop(name, None)
    env.update({"GOPY_DATABASE_URL": db, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "1:fake", **extra})
    return env


def _spawn(args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gopy.db'}"
    # no hash key, not development: a command that hashes nothing still runs (in this process: the
    # commands under test below are the real processes)
    done = gopy_in_process("db", "upgrade", cwd=tmp_path, env=_env(url))
    assert done.returncode == 0, done.stderr
    return url


def test_every_hashing_command_refuses_the_development_key_in_one_line(tmp_path: Path, db: str) -> None:
    procs = [_spawn(args, tmp_path, _env(db)) for args in HASHING_COMMANDS]  # GOPY_HASH_KEY unset
    for args, proc in zip(HASHING_COMMANDS, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (args, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, (args, err)
        assert "Traceback" not in err and "GOPY_HASH_KEY" in lines[0]
        assert "khóa phát triển công khai" in lines[0] and "public development key" in lines[0]
    assert not (tmp_path / "out.csv").exists()


def test_a_mistyped_environment_name_is_one_line_too(tmp_path: Path, db: str) -> None:
    proc = _spawn(("api",), tmp_path, _env(db, GOPY_ENV="dev"))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [err.strip()] and "GOPY_ENV" in err


def test_a_real_key_or_the_development_environment_may_start(tmp_path: Path, db: str) -> None:
    exported = subprocess.run(
        [sys.executable, "-m", "cli.main", "export", "feedback", "-o", "out.csv", "--quiet"],
        cwd=tmp_path,
        env=_env(db, GOPY_HASH_KEY="a-long-random-production-secret-0123456789"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    port = free_port()
    env = _env(db, GOPY_ENV="development", GOPY_PORT=str(port))
    env.pop("TELEGRAM_BOT_TOKEN")
    proc = _spawn(("api",), tmp_path, env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gopy api did not start"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert "public development key" in err  # said once, as a warning


@pytest.mark.parametrize("key", [DEV_HASH_KEY, ""], ids=["development-key", "empty"])
def test_the_development_key_given_explicitly_or_an_empty_key_is_refused(
    key: str, monkeypatch: pytest.MonkeyPatch, sqlite_database: str
) -> None:
    monkeypatch.setenv("GOPY_DATABASE_URL", sqlite_database)  # a ready database: only the key is wrong
    monkeypatch.setenv("GOPY_HASH_KEY", key)
    monkeypatch.setenv("GOPY_ENV", "production")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "public development key" in result.output


def test_the_app_factory_refuses_the_development_key_too() -> None:
    with pytest.raises(InsecureHashKey):
        create_app(Settings(hash_key=DEV_HASH_KEY, env="production"))
    create_app(Settings(hash_key=DEV_HASH_KEY, env="development"))
    create_app(Settings(hash_key="a-long-random-production-secret", env="production"))
