"""The real app served by uvicorn with the Zalo channel on, against the fake Zalo OA server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from api.app import create_app
from core.config import Settings
from storage import zalo as store
from storage.db import create_engine, session_factory
from storage.models_zalo import ZaloInboxRow
from tests.e2e_support import ChildProcess
from tests.fake_zalo import FakeZaloServer, FakeZaloUser
from tests.webchat_client import free_port, serve

ROOT = Path(__file__).resolve().parent.parent


def zalo_settings(database_url: str, zalo: FakeZaloServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "hash_key": "test-hash-key",
        "zalo_app_id": zalo.app_id,
        "zalo_app_secret": zalo.app_secret,
        "zalo_oa_secret_key": zalo.oa_secret_key,
        "zalo_api_base": zalo.base_url,
        "zalo_oauth_base": zalo.base_url,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def connect_oa(database_url: str, zalo: FakeZaloServer) -> tuple[str, str]:
    """What `gopy zalo connect` leaves: a fresh token pair in the database."""
    access, refresh = zalo.issue_pair()
    engine = create_engine(database_url)
    try:
        now = datetime.now(UTC)
        await store.store_first_pair(
            session_factory(engine),
            access=access,
            refresh=refresh,
            expires_at=now + timedelta(hours=25),
            now=now,
        )
    finally:
        await engine.dispose()
    return access, refresh


class Inbox:
    """Reads zalo_inbox: whether an event has been handled and answered."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        self.sessions = session_factory(self.engine)

    async def handled(self, msg_id: str) -> bool:
        async with self.sessions() as session:
            row = await session.scalar(select(ZaloInboxRow).where(ZaloInboxRow.msg_id == msg_id))
            return row is not None and row.replied_at is not None

    async def rows(self) -> list[ZaloInboxRow]:
        async with self.sessions() as session:
            return list(await session.scalars(select(ZaloInboxRow).order_by(ZaloInboxRow.id)))

    async def close(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def zalo_app(
    database_url: str, zalo: FakeZaloServer, user_id: str = "8123456789012345678901", **overrides: Any
) -> AsyncIterator[tuple[str, FakeZaloUser, Inbox]]:
    """The app on a free port (its webhook URL), a Zalo user posting to it, and the inbox reader."""
    port = free_port()
    settings = zalo_settings(database_url, zalo, port=port, **overrides)
    inbox = Inbox(database_url)
    try:
        async with serve(create_app(settings), port) as base:
            webhook = f"{base}/zalo/webhook"
            yield webhook, zalo.user(user_id, webhook, inbox.handled), inbox
    finally:
        await inbox.close()


class ApiProcess(ChildProcess):
    """``gopy api`` as a child process with the Zalo channel on, so a test can kill it (SIGKILL)."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "api.log"

    def env(self) -> dict[str, str]:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOPY_", "ZALO_", "TELEGRAM_"))}
        env.pop("REDIS_URL", None)
        env.update(
            {
                "GOPY_DATABASE_URL": s.database_url,
                "GOPY_HASH_KEY": s.hash_key.get_secret_value(),
                "GOPY_HOME": str(s.home),
                "GOPY_PORT": str(s.port),
                "GOPY_ENV": "development",
                "ZALO_APP_ID": s.zalo_app_id or "",
                "ZALO_APP_SECRET": s.zalo_app_secret.get_secret_value() if s.zalo_app_secret else "",
                "ZALO_OA_SECRET_KEY": s.zalo_oa_secret_key.get_secret_value() if s.zalo_oa_secret_key else "",
                "ZALO_API_BASE": s.zalo_api_base,
                "ZALO_OAUTH_BASE": s.zalo_oauth_base,
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    def spawn(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "api"],
                cwd=self.workdir,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        """Start the process and wait until it answers /healthz."""
        self.spawn()
        assert self.proc is not None
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                assert self.proc.poll() is None, self.output()
                try:
                    if (await http.get(f"http://127.0.0.1:{self.settings.port}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError(self.output())
