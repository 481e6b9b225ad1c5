"""The server side of bench/bench_webhook.py, run as a child process: Gopy's app (uvicorn + FastAPI +
aiogram + the middlewares + the database) or a bare aiogram echo bot behind the same route, each with
``GET /bench/counts`` (SQL statements and transactions counted with SQLAlchemy engine events).

Usage (by the benchmark)::

    python bench/_webhook_server.py gopy|echo --port P --api-base URL --token T --secret S \
        [--database-url URL --home DIR]
"""

from __future__ import annotations

import argparse
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import _common
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

assert _common.ROOT
COUNTS, SHAPES = _common.COUNTS, _common.SHAPES


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
    )
    return create_app(settings)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=("gopy", "echo"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--home")
    parser.add_argument("--io", choices=sorted(IO), default="fast")
    parser.add_argument("--profile", help="write cProfile statistics of the whole run to this file")
    args = parser.parse_args()
    _common.count_sql()
    app = gopy_app(args) if args.app == "gopy" else echo_app(args)

    @app.get("/bench/counts", include_in_schema=False)
    async def counts() -> dict[str, int]:
        return dict(COUNTS)

    @app.get("/bench/statements", include_in_schema=False)
    async def statements() -> dict[str, int]:
        return dict(SHAPES.most_common())

    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    try:  # the benchmark stops it with SIGINT, which uvicorn re-raises after its graceful shutdown
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
            **IO[args.io],
        )
    except KeyboardInterrupt:
        pass
    finally:
        if args.profile:
            profile.disable()
            profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
