"""``GOPY_LOG_FORMAT=json``: `gopy run` (API, web chat, bot, scheduler) writes one JSON object per line,
with the request id or update id of what it handles, and never the text of an opinion."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.db import create_engine, session_factory
from tests.conftest import load_bundled
from tests.e2e_support import ROOT
from tests.fake_telegram import FakeTelegramServer, FakeUser
from tests.staff_console import first_admin_env
from tests.webchat_client import ChatClient, free_port

pytestmark = pytest.mark.e2e

BOT_OPINION = "Đề nghị làm rõ lộ trình chuyển đổi số ở cấp xã (bot-marker-7f3a)."
WEB_OPINION = "Cần thêm giải pháp cho nhà ở xã hội tại đô thị (web-marker-91c2)."


def _start(env: dict[str, str], workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "run"], cwd=workdir, env=env, stdout=out, stderr=out
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


async def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"gopy run exited: {log.read_text(errors='replace')[-3000:]}")
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("gopy run did not answer /healthz")
            await asyncio.sleep(0.1)


async def _submit_by_bot(user: FakeUser) -> None:
    await user.command_and_wait("start", timeout=60)
    await user.tap("Tôi đồng ý")
    await user.tap("Góp ý dự thảo văn kiện")
    await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
    await user.tap("Phần thứ nhất")
    await user.tap("1. Về phát triển kinh tế")
    await user.tap("Không tán thành")
    await user.say(BOT_OPINION)
    await user.tap("Xong")
    for button in ("Công nhân", "Đoàn Thanh niên", "Phường Hồng Bàng", "Bỏ qua", "Bỏ qua"):
        await user.tap(button)
    msg = await user.tap("Gửi ý kiến")
    assert "Mã biên nhận" in (msg.text or ""), user.transcript()


async def _submit_by_web_chat(base: str) -> None:
    async with ChatClient(base) as chat:
        await chat.open()
        await chat.start()
        for label in (
            "Tôi đồng ý",
            "Góp ý dự thảo văn kiện",
            "[MẪU] Dự thảo Báo cáo chính trị",
            "Phần thứ nhất",
            "Về phát triển kinh tế",
            "Không tán thành",
        ):
            await chat.press(label)
        await chat.say(WEB_OPINION)
        for label in (
            "Xong",
            "Nông dân",
            "Hội Nông dân",
            "Phường Hồng Bàng",
            "Bỏ qua",
            "Bỏ qua",
            "Gửi ý kiến",
        ):
            await chat.press(label)
        assert "GY-" in chat.texts(), chat.texts()


async def test_json_logs_carry_request_and_update_ids_and_no_opinion_text(
    sqlite_database: str, tmp_path: Path
) -> None:
    engine = create_engine(sqlite_database)
    await load_bundled(session_factory(engine))
    await engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gopy.log"
    async with FakeTelegramServer() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_") and k != "REDIS_URL"}
        env.update(
            {
                "GOPY_DATABASE_URL": sqlite_database,
                "TELEGRAM_BOT_TOKEN": server.token,
                "TELEGRAM_API_BASE": server.base_url,
                **first_admin_env(tmp_path),
                "GOPY_HASH_KEY": "test-hash-key-json-logs",
                "GOPY_PORT": str(port),
                "GOPY_LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT),
            }
        )
        proc = _start(env, tmp_path, log)
        try:
            await _wait_ready(base, proc, log)
            await _submit_by_bot(server.user(3001, first_name="Hà"))
            await _submit_by_web_chat(base)
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                wrong = {"Authorization": "Bearer gopy_00000000_wrong", "X-Request-ID": "trace-0123456789"}
                response = await client.get("/v1/feedback", headers=wrong)
                assert response.status_code == 401
                assert response.headers["x-request-id"] == "trace-0123456789"
                fresh = await client.get("/healthz")
                assert len(fresh.headers["x-request-id"]) == 32
        finally:
            _stop(proc)

    text = log.read_text(encoding="utf-8")
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line.strip():
            records.append(json.loads(line))  # every line is one JSON object
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    requests = [r for r in records if r["message"] == "request"]
    assert {"route": "/v1/feedback", "status": 401, "request_id": "trace-0123456789"}.items() <= next(
        r for r in requests if r["route"] == "/v1/feedback"
    ).items()
    events = [r for r in requests if r["route"] == "/chat/api/events"]
    assert len(events) >= 10 and all(len(r["request_id"]) == 32 for r in events)
    assert len({r["request_id"] for r in events}) == len(events)
    updates = [r for r in records if r["message"] == "update"]
    assert len(updates) >= 10 and {"message", "callback_query"} <= {r["kind"] for r in updates}
    assert all(isinstance(r["update_id"], int) for r in updates)
    for opinion in (BOT_OPINION, WEB_OPINION):
        for fragment in (opinion, opinion[:20], opinion.split("(")[1].rstrip(").")):
            assert fragment not in text


def test_both_formats_carry_the_context_ids_and_an_explicit_extra_wins() -> None:
    from cli.logs import ContextFilter, ContextFormatter, JsonFormatter
    from core import logcontext

    def record(**extra: Any) -> logging.LogRecord:
        rec = logging.makeLogRecord(
            {"name": "t", "levelname": "INFO", "msg": "m %s", "args": ("x",), **extra}
        )
        assert ContextFilter().filter(rec)
        return rec

    token = logcontext.update_id.set(41)
    try:
        assert "m x update_id=41" in ContextFormatter("%(message)s").format(record())
        assert json.loads(JsonFormatter().format(record()))["update_id"] == 41
        assert json.loads(JsonFormatter().format(record(update_id=7)))["update_id"] == 7
    finally:
        logcontext.update_id.reset(token)
    assert "update_id" not in json.loads(JsonFormatter().format(record()))
