"""The server side of bench/bench_webhook.py, run as a child process: Gopy's app (uvicorn + FastAPI +
aiogram + the middlewares + the database) or a bare aiogram echo bot behind the same route, in one
process or ``--workers N`` (uvicorn's own supervisor: N processes on one listening socket).

Each worker counts the SQL statements and transactions of its engines (SQLAlchemy engine events). Once
started it writes ``<counts-dir>/<pid>.ready``; on SIGUSR1 it writes what it has counted so far to
``<counts-dir>/<pid>.json`` (``{"asked": n, "served": webhook requests, "counts": …, "shapes": …}``, n
the how-many-th SIGUSR1),
so that the benchmark can sum every worker's counts before and after a run. ``--profile-dir`` writes
each worker's cProfile statistics to ``<profile-dir>/<app>-<pid>.prof`` at its shutdown.

Usage (by the benchmark)::

    python bench/_webhook_server.py gopy|echo --port P --api-base URL --token T --secret S \
        --counts-dir DIR [--workers N] [--database-url URL --home DIR] [--profile-dir DIR]

Everything else comes from the environment the benchmark sets (``REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import inspect
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import _common
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

assert _common.ROOT
COUNTS, SHAPES = _common.COUNTS, _common.SHAPES
ARGS = "GOPY_BENCH_SERVER_ARGS"  # the parsed arguments, for the workers uvicorn spawns


def gopy_app(args: argparse.Namespace) -> FastAPI:
    from api.app import create_app
    from core.config import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=args.database_url,
        home=args.home,
        telegram_bot_token=args.token,
        telegram_api_base=args.api_base,
        hash_key="bench-hash-key",  # type: ignore[arg-type]
        webhook_url=f"http://127.0.0.1:{args.port}/telegram/webhook",
        webhook_secret=args.secret,
        db_pool_size=args.pool_size,
        db_max_overflow=args.max_overflow,
    )
    # as `gopy run` serves it (a baseline tree from before ``settle`` has no such argument)
    settles = "settle" in inspect.signature(create_app).parameters
    return create_app(settings, settle=True) if settles else create_app(settings)


def echo_app(args: argparse.Namespace) -> FastAPI:
    """The reference: aiogram with one handler that echoes the text (or answers the button), nothing else."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import CallbackQuery, Message

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message, bot: Bot) -> None:
        await bot.send_message(message.chat.id, message.text or "?")

    @dp.callback_query()
    async def answer(query: CallbackQuery) -> None:
        await query.answer()

    bots: list[Bot] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        bot = Bot(args.token, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api_base)))
        bots.append(bot)
        yield
        await bot.session.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/telegram/webhook")
    async def webhook(request: Request) -> JSONResponse:  # the same checks as Gopy's route
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), args.secret.encode()):
            return JSONResponse({"ok": False}, status_code=401)
        payload = await request.json()
        await dp.feed_webhook_update(bots[0], payload)
        return JSONResponse({"ok": True})

    return app


# "fast" is what `gopy run` uses (cli/main.py); "plain" is uvicorn's pure-Python asyncio + h11
IO = {"fast": {"loop": "uvloop", "http": "httptools"}, "plain": {"loop": "asyncio", "http": "h11"}}


def app() -> Any:
    """The ASGI app of one worker (uvicorn's factory): Gopy's or the echo, with ``/bench/counts`` and
    ``/bench/statements`` (this worker's), wrapped to report its counts on SIGUSR1."""
    args = argparse.Namespace(**json.loads(os.environ[ARGS]))
    _common.count_sql()
    inner = gopy_app(args) if args.app == "gopy" else echo_app(args)

    @inner.get("/bench/counts", include_in_schema=False)
    async def counts() -> dict[str, Any]:
        return {"pid": os.getpid(), **COUNTS}

    @inner.get("/bench/statements", include_in_schema=False)
    async def statements() -> dict[str, int]:
        return dict(SHAPES.most_common())

    folder = Path(args.counts_dir)
    asked = served = 0
    profile = None
    if args.profile_dir:
        import cProfile

        profile = cProfile.Profile()

    def report() -> None:
        nonlocal asked
        asked += 1
        written = json.dumps(
            {"asked": asked, "served": served, "counts": COUNTS, "shapes": SHAPES}, ensure_ascii=False
        )
        tmp = folder / f"{os.getpid()}.tmp"
        tmp.write_text(written, encoding="utf-8")
        os.replace(tmp, folder / f"{os.getpid()}.json")  # never read half-written

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        nonlocal served
        if scope["type"] != "lifespan":
            served += scope["type"] == "http" and scope["path"] == "/telegram/webhook"
            await inner(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report)
                (folder / f"{os.getpid()}.ready").touch()
                if profile is not None:
                    profile.enable()
            if message["type"] == "lifespan.shutdown.complete" and profile is not None:
                profile.disable()
                profile.dump_stats(str(Path(args.profile_dir) / f"{args.app}-{os.getpid()}.prof"))
            await send(message)

        await inner(scope, receive, sending)

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=("gopy", "echo"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--counts-dir", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url")
    parser.add_argument("--home")
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--max-overflow", type=int, default=10)
    parser.add_argument("--io", choices=sorted(IO), default="fast")
    parser.add_argument("--profile-dir", default="", help="each worker's cProfile statistics go here")
    args = parser.parse_args()
    os.environ[ARGS] = json.dumps(vars(args))
    try:  # the benchmark stops it with SIGINT, which uvicorn re-raises after its graceful shutdown
        uvicorn.run(
            "_webhook_server:app",
            factory=True,
            host="127.0.0.1",
            port=args.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
            backlog=4096,  # 2,000 citizens connect at once
            **IO[args.io],
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
