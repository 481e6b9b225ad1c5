"""The server side of bench/bench_exports.py ``--http``, run as a child process: Gopy's app (create_app
under uvicorn, the real routes, auth and middlewares) on a scratch database, no bot.

    PYTHONPATH=TREE python bench/_export_server.py --port P --database-url URL --home DIR
"""

from __future__ import annotations

import argparse

import uvicorn

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--home", required=True)
    args = parser.parse_args()

    from api.app import create_app
    from core.config import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=args.database_url,
        home=args.home,
        hash_key="bench-hash-key",  # type: ignore[arg-type]
    )
    try:  # the benchmark stops it with SIGINT, which uvicorn re-raises after its graceful shutdown
        uvicorn.run(
            create_app(settings), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
        )
    except KeyboardInterrupt:
        pass
