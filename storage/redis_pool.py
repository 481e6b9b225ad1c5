"""The process's Redis connection pools: every connection describes the client the same way.

redis-py names the client to the server on each new connection (``CLIENT SETINFO`` with its name and
version). Without a ``driver_info`` each connection builds its own description, and with it reads the
installed package's metadata (``importlib.metadata.version("redis")``: several milliseconds of CPU per
connection, and a worker opens one per request in flight). Built once here, the same values are sent.
"""

from __future__ import annotations

from functools import cache

from redis.asyncio import ConnectionPool
from redis.driver_info import DriverInfo


@cache
def driver_info() -> DriverInfo:
    """redis-py's own default description (its name and installed version), built once per process."""
    return DriverInfo()


def connection_pool(url: str) -> ConnectionPool:
    """``ConnectionPool.from_url(url)`` whose connections share :func:`driver_info`."""
    return ConnectionPool.from_url(url, driver_info=driver_info())
