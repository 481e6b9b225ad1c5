"""Run the real bot (aiogram over real HTTP) against the fake Telegram Bot API server.

``running_bot`` polls in-process; ``BotProcess`` runs ``gopy bot`` as a real child process, so a test
can kill it mid-conversation and start it again.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import BotRuntime, build_runtime
from core.clock import Clock
from core.config import Settings
from storage.db import create_engine, session_factory
from tests.fake_telegram import FakeTelegramServer
from tests.staff_console import first_admin_env

ROOT = Path(__file__).resolve().parent.parent

#: the shortest path from /start to a receipt, as the buttons' labels: consent, a section, a stance,
#: anonymous, submit
SUBMISSION_BUTTONS = (
    "Tôi đồng ý",
    "Góp ý dự thảo văn kiện",
    "[MẪU] Dự thảo Báo cáo chính trị",
    "Phần thứ nhất",
    "1. Về phát triển kinh tế",
    "Tán thành",
    "Xong",
    "Ẩn danh",
    "Gửi ý kiến",
)


def bot_settings(database_url: str, server: FakeTelegramServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "telegram_bot_token": server.token,
        "telegram_api_base": server.base_url,
        "hash_key": "test-hash-key",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_bot(
    settings: Settings, *, clock: Clock | None = None, engine: AsyncEngine | None = None
) -> AsyncIterator[BotRuntime]:
    """The real dispatcher polling the fake server in this process (on ``engine`` when given)."""
    own_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    runtime = build_runtime(settings, session_factory(engine), clock=clock)
    task = asyncio.create_task(
        runtime.dispatcher.start_polling(
            runtime.bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    try:
        yield runtime
    finally:
        with suppress(RuntimeError):
            await runtime.dispatcher.stop_polling()
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task
        await runtime.close()
        if own_engine:
            await engine.dispose()


class ChildProcess:
    """A ``gopy`` command run as a child process by a test, its output in ``log``: killed as a crash
    would (SIGKILL) or stopped as a service manager would (SIGTERM, then SIGKILL)."""

    proc: subprocess.Popen[bytes] | None
    log: Path

    def kill(self) -> None:
        """Stop the process abruptly (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class BotProcess(ChildProcess):
    """``gopy bot`` as a child process talking to the fake server over HTTP."""

    def __init__(self, settings: Settings, workdir: Path, command: str = "bot") -> None:
        self.settings = settings
        self.workdir = workdir
        self.command = command  # `gopy bot`, or `gopy run` (API + bot + scheduler)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "bot.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
        env.update(
            {
                "GOPY_DATABASE_URL": self.settings.database_url,
                "TELEGRAM_BOT_TOKEN": self.settings.bot_token or "",
                "TELEGRAM_API_BASE": self.settings.telegram_api_base or "",
                "GOPY_HASH_KEY": self.settings.hash_key.get_secret_value(),
                "GOPY_HOME": str(self.settings.home),
                "GOPY_PORT": str(self.settings.port),
                "GOPY_ENV": self.settings.env,
                "PYTHONPATH": str(ROOT),
            }
        )
        env.pop("REDIS_URL", None)
        env.update(first_admin_env(self.workdir))
        return env

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", self.command],
                cwd=self.workdir,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )


class PoolWatch:
    """How many connections are checked out of an engine's pool, and when (pool events)."""

    def __init__(self, engine: Any) -> None:
        self.out = 0
        self.peak = 0
        self.checkouts = 0
        self.times: list[float] = [0.0]
        self.counts: list[int] = [0]
        event.listen(engine.sync_engine, "checkout", self._checkout)
        event.listen(engine.sync_engine, "checkin", self._checkin)

    def _record(self) -> None:
        self.peak = max(self.peak, self.out)
        self.times.append(time.monotonic())
        self.counts.append(self.out)

    def _checkout(self, *_args: Any) -> None:
        self.out += 1
        self.checkouts += 1
        self._record()

    def _checkin(self, *_args: Any) -> None:
        self.out -= 1
        self._record()

    def out_at(self, at: float) -> int:
        """Connections checked out at monotonic time ``at``."""
        return self.counts[bisect.bisect_right(self.times, at) - 1]
