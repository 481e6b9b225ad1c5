"""The bot's life as a process: it announces its command menu, learns its username for invite links,
and a SIGTERM or Ctrl-C finishes the update in hand, logs no error and exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.i18n import t
from storage.db import create_engine, session_factory
from tests.conftest import NOW, load_bundled
from tests.e2e_support import ROOT, BotProcess, bot_settings
from tests.fake_telegram import FakeTelegramServer
from tests.webchat_client import free_port

pytestmark = pytest.mark.e2e


async def _wait(predicate: Callable[[], bool], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _prepare(database_url: str) -> None:
    engine = create_engine(database_url)
    await load_bundled(session_factory(engine), NOW)
    await engine.dispose()


def _held_send(server: FakeTelegramServer) -> tuple[asyncio.Event, asyncio.Event]:
    """sendMessage calls wait until released; the first event tells that one arrived."""
    arrived, release = asyncio.Event(), asyncio.Event()
    original: Callable[[Any], Any] = server._methods["sendmessage"][1]

    async def held(call: Any) -> Any:
        arrived.set()
        await release.wait()
        return original(call)

    server.register_method("sendMessage", held)
    return arrived, release


@pytest.mark.parametrize(
    ("command", "sig"), [("bot", signal.SIGTERM), ("bot", signal.SIGINT), ("run", signal.SIGTERM)]
)
async def test_a_signal_finishes_the_update_in_hand_and_exits_cleanly(
    sqlite_database: str, tmp_path: Path, command: str, sig: signal.Signals
) -> None:
    await _prepare(sqlite_database)
    async with FakeTelegramServer() as server:
        settings = bot_settings(sqlite_database, server, home=tmp_path / "home", port=free_port())
        process = BotProcess(settings, tmp_path, command)
        process.start()
        try:
            # the command menu, in Vietnamese for everyone and in English for English-language clients
            await _wait(lambda: len(server.calls_of("setMyCommands", ok=True)) == 2)
            vi = {c["command"]: c["description"] for c in server.commands()}
            en = {c["command"]: c["description"] for c in server.commands(language_code="en")}
            assert {"start", "menu", "mydata", "help", "unit"} <= set(vi) and set(vi) == set(en)
            assert vi["mydata"] == t("command.mydata", "vi") and en["mydata"] == t("command.mydata", "en")
            await _wait(lambda: bool(server.calls_of("getUpdates")))
            arrived, release = _held_send(server)
            user = server.user(3001, first_name="Lan")
            await user.command("start")
            await asyncio.wait_for(arrived.wait(), 60)  # the update is in hand: its reply is being sent
            assert process.proc is not None
            process.proc.send_signal(sig)
            await asyncio.sleep(0)  # the process is told to stop while the update is still in hand
            release.set()
            code = await asyncio.to_thread(process.proc.wait, 60)
        finally:
            process.stop()
        assert code == 0, process.output()
        assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in user.transcript()  # the update in hand was finished
        assert " ERROR " not in process.output() and "Traceback" not in process.output()


def _gopy(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_invite_links_name_the_real_bot_or_are_refused(sqlite_database: str, tmp_path: Path) -> None:
    await _prepare(sqlite_database)
    engine = create_engine(sqlite_database)
    from tests.reporting_helpers import load_with_units

    await load_with_units(session_factory(engine), NOW)
    await engine.dispose()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GOPY_", "TELEGRAM_"))}
    base.update({"GOPY_DATABASE_URL": sqlite_database, "PYTHONPATH": str(ROOT), "GOPY_HOME": str(tmp_path)})

    refused = await asyncio.to_thread(_gopy, "contacts", "invite", "--unit", "mttq", env=base, cwd=tmp_path)
    assert refused.returncode == 2 and "GOPY_BOT_USERNAME" in refused.stderr
    assert "t.me/<bot>" not in refused.stdout + refused.stderr

    async with FakeTelegramServer(bot_username="gopy_hp_bot") as server:
        env = {**base, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE": server.base_url}
        first = await asyncio.to_thread(_gopy, "contacts", "invite", "--unit", "mttq", env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert "https://t.me/gopy_hp_bot?start=u-" in first.stdout
        second = await asyncio.to_thread(_gopy, "contacts", "invite", "--unit", "mttq", env=env, cwd=tmp_path)
        assert "https://t.me/gopy_hp_bot?start=u-" in second.stdout
        assert len(server.calls_of("getMe")) == 1  # cached for this bot
