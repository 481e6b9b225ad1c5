"""`gopy zalo connect` (consent URL with PKCE, then the code) and `gopy zalo status`, against the fake OA."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bot.zalo.client import code_challenge
from storage import zalo as store
from storage.db import create_engine, session_factory
from tests.cli_support import gopy_in_process
from tests.fake_zalo import FakeZaloServer

ROOT = Path(__file__).resolve().parent.parent


async def gopy(
    *args: str,
    db: str,
    home: Path,
    zalo: FakeZaloServer,
    env: dict[str, str] | None = None,
    process: bool = True,
) -> tuple[int, str, str]:
    """A real ``gopy`` process; ``process=False``: the same command in this process (tests/cli_support.py),
    in a thread, so that the fake OA keeps answering in this event loop."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(("GOPY_", "ZALO_"))}
    child.update(
        {
            "GOPY_DATABASE_URL": db,
            "GOPY_HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "ZALO_APP_ID": zalo.app_id,
            "ZALO_APP_SECRET": zalo.app_secret,
            "ZALO_OA_SECRET_KEY": zalo.oa_secret_key,
            "ZALO_API_BASE": zalo.base_url,
            "ZALO_OAUTH_BASE": zalo.base_url,
            **(env or {}),
        }
    )
    if not process:
        done = await asyncio.to_thread(gopy_in_process, *args, cwd=home, env=child)
        return done.returncode, done.stdout, done.stderr
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        cwd=home,
        env=child,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_connect_with_pkce_then_status(sqlite_database: str, tmp_path: Path) -> None:
    async with FakeZaloServer() as zalo:
        rc, out, err = await gopy("zalo", "status", db=sqlite_database, home=tmp_path, zalo=zalo)
        assert rc == 0, err
        assert "token: none" in out and "last webhook event: none yet" in out
        rc, out, err = await gopy(
            "zalo", "connect", db=sqlite_database, home=tmp_path, zalo=zalo, process=False
        )
        assert rc == 2 and "--redirect-uri" in err
        rc, out, err = await gopy(
            "zalo",
            "connect",
            "--redirect-uri",
            "https://gopy.example.gov.vn/zalo/callback",
            db=sqlite_database,
            home=tmp_path,
            zalo=zalo,
            process=False,
        )
        assert rc == 0, err
        assert "Mở địa chỉ sau" in err
        url = urlsplit(out.strip())
        assert url.path == "/v4/oa/permission"
        query = parse_qs(url.query)
        assert query["app_id"] == [zalo.app_id]
        assert query["redirect_uri"] == ["https://gopy.example.gov.vn/zalo/callback"]
        challenge = query["code_challenge"][0]
        assert len(challenge) == 43 and query["state"][0]
        # the verifier stays on this machine, readable by its owner only
        pending = tmp_path / "zalo-consent.json"
        assert pending.stat().st_mode & 0o077 == 0
        assert challenge != code_challenge("wrong")
        # the OA admin consents; Zalo redirects with a code bound to the challenge
        code = zalo.issue_code(challenge)
        rc, out, err = await gopy(
            "zalo", "connect", "--code", code, db=sqlite_database, home=tmp_path, zalo=zalo, process=False
        )
        assert rc == 0, err
        assert "Đã kết nối OA" in err and not pending.exists()
        assert [r.grant_type for r in zalo.refreshes] == ["authorization_code"]
        assert zalo.refreshes[0].error == 0
        engine = create_engine(sqlite_database)
        try:
            pair = await store.read_token(session_factory(engine))
        finally:
            await engine.dispose()
        assert pair is not None and pair.access_token in zalo.access_tokens
        assert pair.refresh_token in zalo.refresh_tokens
        # the verifier was used up with the code: the code cannot be used again
        rc, out, err = await gopy(
            "zalo", "connect", "--code", code, db=sqlite_database, home=tmp_path, zalo=zalo, process=False
        )
        assert rc == 2 and "Chưa có yêu cầu cấp quyền" in err
        rc, out, err = await gopy(
            "zalo", "status", db=sqlite_database, home=tmp_path, zalo=zalo, process=False
        )
        assert rc == 0, err
        assert "configured: yes" in out and "token: refreshed" in out and "(in 1d 0h " in out


async def test_an_invite_gives_the_code_to_type_to_the_oa_without_telegram(
    sqlite_database: str, tmp_path: Path
) -> None:
    from tests.conftest import NOW
    from tests.reporting_helpers import load_with_units

    engine = create_engine(sqlite_database)
    try:
        await load_with_units(session_factory(engine), NOW)
    finally:
        await engine.dispose()
    async with FakeZaloServer() as zalo:
        rc, out, err = await gopy(
            "contacts", "invite", "--unit", "mttq", db=sqlite_database, home=tmp_path, zalo=zalo
        )
    assert rc == 0, err
    assert "t.me/" not in out
    assert re.search(r"Zalo: gõ mã u-[A-Za-z0-9_-]{20,} vào OA", out), out
    assert "zalo.me" not in out  # no follow link configured: none given
    async with FakeZaloServer() as zalo:
        follow = f"https://zalo.me/{zalo.oa_id}"
        rc, out, err = await gopy(
            "contacts",
            "invite",
            "--unit",
            "hoi-pn",
            db=sqlite_database,
            home=tmp_path,
            zalo=zalo,
            env={"GOPY_ZALO_OA_FOLLOW_URL": follow},
        )
    assert rc == 0, err
    assert f"Quan tâm OA trên Zalo / Follow the OA on Zalo: {follow}" in out, out
