"""The server side of bench/bench_webchat.py, run as a child process: Gopy's whole API app under uvicorn,
in one process or ``--workers N`` processes: by default each with a listening socket of its own on the
port (``SO_REUSEPORT``: the kernel spreads the connections), with ``--balance shared`` uvicorn's own
supervisor (N processes accepting from one socket).

Each worker counts the SQL statements and transactions of its engines (SQLAlchemy engine events), the web
chat events it answered and the garbage collector's passes (``gc.callbacks``: collections and CPU time
per generation) and, at its lifespan's shutdown, writes them to ``<counts-dir>/<pid>.json`` (and its
cProfile statistics, CPU time of the thread, to ``<profile-dir>/<pid>.prof`` when asked): the benchmark
sums the files once the server has stopped.

Usage (by the benchmark)::

    python bench/_webchat_server.py --port P --database-url URL --home DIR --workers N \
        [--balance reuseport|shared] --counts-dir DIR [--profile-dir DIR] [--loop asyncio --http h11]

Everything else comes from the environment the benchmark sets (``REDIS_URL``, ``GOPY_WEBCHAT_*``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import inspect
import json
import multiprocessing
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import _common
import uvicorn

assert _common.ROOT
COUNTS, SHAPES = _common.COUNTS, _common.SHAPES
ARGS = "GOPY_BENCH_SERVER_ARGS"  # the parsed arguments, for the workers uvicorn spawns
BACKLOG = 2048


def app() -> Any:
    """The ASGI app of one worker (uvicorn's factory): Gopy's app, wrapped to write its counts at exit."""
    from api.app import create_app
    from core.config import Settings

    args = json.loads(os.environ[ARGS])
    _common.count_sql()
    profile = None
    if args["profile_dir"]:
        import cProfile

        profile = cProfile.Profile(time.thread_time)  # CPU time: waiting on a socket is not counted
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=args["database_url"],
        home=args["home"],
        hash_key="bench-hash-key",  # type: ignore[arg-type]
        db_pool_size=args["pool_size"],
        db_max_overflow=args["max_overflow"],
    )
    # as `gopy api` serves it (a baseline tree from before ``settle`` has no such argument)
    settles = "settle" in inspect.signature(create_app).parameters
    gopy = create_app(settings, settle=True) if settles else create_app(settings)
    started: list[float] = []
    serving: list[bool] = []  # counted once the lifespan has started (the load and the reference)

    def collecting(phase: str, info: dict[str, Any]) -> None:
        if not serving:
            return
        if phase == "start":
            started.append(time.thread_time())
        elif started:
            generation = info["generation"]
            COUNTS[f"gc_collections_{generation}"] += 1
            COUNTS[f"gc_us_{generation}"] += int((time.thread_time() - started.pop()) * 1e6)

    gc.callbacks.append(collecting)

    def dump() -> None:
        if profile is not None:
            profile.disable()
            profile.dump_stats(str(Path(args["profile_dir"]) / f"{os.getpid()}.prof"))
        (Path(args["counts_dir"]) / f"{os.getpid()}.json").write_text(
            json.dumps({"counts": COUNTS, "shapes": SHAPES})
        )

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            if scope["type"] == "http" and scope["path"] == "/chat/api/events":
                COUNTS["web_events"] += 1
            await gopy(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                serving.append(True)
                (Path(args["counts_dir"]) / f"{os.getpid()}.ready").touch()  # this worker takes connections
                if profile is not None:
                    profile.enable()
            if message["type"] == "lifespan.shutdown.complete":
                dump()
            await send(message)

        await gopy(scope, receive, sending)

    return wrapped


def serve(args: argparse.Namespace, sock: socket.socket | None = None) -> None:
    """One uvicorn server on ``sock`` (a worker with a socket of its own), else ``uvicorn.run`` with
    ``--workers`` (uvicorn's supervisor and its one shared socket when more than 1)."""
    options: dict[str, Any] = {
        "factory": True,
        "host": "127.0.0.1",
        "port": args.port,
        "loop": args.loop,
        "http": args.http,
        "log_level": "warning",
        "access_log": False,
        "backlog": BACKLOG,
    }
    if sock is None:
        uvicorn.run("_webchat_server:app", workers=args.workers, **options)
    else:
        uvicorn.Server(uvicorn.Config("_webchat_server:app", **options)).run(sockets=[sock])


def reuse_port_worker(args: argparse.Namespace) -> None:
    """A worker with a listening socket of its own on the shared port (SO_REUSEPORT)."""
    os.environ[ARGS] = json.dumps(vars(args))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(BACKLOG)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises the signal again once it has stopped
        serve(args, sock)


def reuse_port(args: argparse.Namespace) -> None:
    """``--workers N`` processes, each accepting on a socket of its own: the kernel spreads new connections
    over the sockets (by a hash of their addresses), as a proxy in front of N ``gopy api`` processes
    would. Under uvicorn's supervisor the N workers accept from one socket, and the first to wake takes
    every connection that is waiting: a load generator that opens its connections at once has them all
    served by one worker, kept alive to the end, while the others idle."""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=reuse_port_worker, args=(args,)) for _ in range(args.workers)]
    for worker in workers:
        worker.start()

    def stop(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signum)  # each shuts down gracefully (lifespan: counts written)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for worker in workers:
        worker.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--balance",
        choices=("reuseport", "shared"),
        default="reuseport",
        help="with --workers > 1: a socket per worker (SO_REUSEPORT), or uvicorn's one shared socket",
    )
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--max-overflow", type=int, default=10)
    parser.add_argument("--counts-dir", required=True)
    parser.add_argument("--profile-dir", default="")
    parser.add_argument("--loop", default="auto", help="uvicorn's event loop (auto: uvloop when installed)")
    parser.add_argument(
        "--http", default="auto", help="uvicorn's HTTP parser (auto: httptools when installed)"
    )
    args = parser.parse_args()
    os.environ[ARGS] = json.dumps(vars(args))
    if args.workers > 1 and args.balance == "reuseport":
        reuse_port(args)
    else:
        serve(args)


if __name__ == "__main__":
    main()
