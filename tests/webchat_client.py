"""Serve the real app with uvicorn on a free local port, and a small HTTP client of the web chat page."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from core.clock import Clock
from core.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Run ``app`` (with its lifespan) on 127.0.0.1 in this event loop; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def served(database_url: str, clock: Clock | None = None, **settings: Any) -> AsyncIterator[str]:
    """The whole Gopy app on ``database_url`` (no bot token), served over real HTTP."""
    app_settings = Settings(database_url=database_url, **settings)
    async with serve(create_app(app_settings, clock=clock)) as base:
        yield base


class ChatClient:
    """What the page's script does, over HTTP: open the page, post events, press offered choices."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.AsyncClient(base_url=base, timeout=10)
        self.token = ""
        self.last: dict[str, Any] = {}

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def open(self) -> httpx.Response:
        response = await self.http.get("/chat")
        response.raise_for_status()
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', response.text)
        assert found, "the page carries a CSRF token"
        self.token = found.group(1)
        return response

    @property
    def session_id(self) -> str:
        return str(self.http.cookies.get("gopy_chat", domain="127.0.0.1", path="/chat"))

    async def post(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        response = await self.http.post(
            "/chat/api/events",
            json=body,
            headers={"X-CSRF-Token": self.token, **headers},
        )
        if response.status_code == 200 and response.json().get("csrf"):
            self.token = response.json()["csrf"]  # the session was rotated (consent), as the page does
        return response

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(body)
        assert response.status_code == 200, response.text
        self.last = response.json()
        return self.last

    def texts(self) -> str:
        return "\n".join(r["text"] for r in self.last.get("replies", []))

    def choices(self) -> list[tuple[str, str]]:
        return [
            (c["label"], c["data"]) for r in self.last.get("replies", []) for row in r["choices"] for c in row
        ]

    async def start(self, args: str = "") -> dict[str, Any]:
        return await self.send({"kind": "command", "value": "start", "args": args})

    async def press(self, label: str) -> dict[str, Any]:
        options = self.choices()
        found = [d for lbl, d in options if label in lbl]
        assert found, f"no button {label!r} among {[lbl for lbl, _ in options]}"
        return await self.send({"kind": "choice", "value": found[0], "screen": self.last["screen"]})

    async def press_raw(self, label: str) -> httpx.Response:
        found = [d for lbl, d in self.choices() if label in lbl]
        assert found, f"no button {label!r}"
        return await self.post({"kind": "choice", "value": found[0], "screen": self.last["screen"]})

    async def say(self, text: str) -> dict[str, Any]:
        return await self.send({"kind": "text", "value": text})
