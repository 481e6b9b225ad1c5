"""A Zalo user of the fake OA: sends signed webhook events to the app and reads what the OA answered."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeZaloServer, SentMessage


class FakeZaloUser:
    """One person chatting with the OA. ``handled(msg_id)`` tells when the app has answered an event
    (the tests read it from the database), so a step waits on a condition, never on a delay."""

    def __init__(
        self,
        server: FakeZaloServer,
        user_id: str,
        webhook_url: str,
        handled: Callable[[str], Awaitable[bool]] | None,
    ) -> None:
        self.server = server
        self.user_id = user_id
        self.webhook_url = webhook_url
        self.handled = handled
        self._seen = 0
        self.last: list[SentMessage] = []

    def event(self, event_name: str, **extra: Any) -> dict[str, Any]:
        """A webhook event of this user, as Zalo sends it (ids as strings, timestamp in ms as a string)."""
        base: dict[str, Any] = {
            "app_id": self.server.app_id,
            "user_id_by_app": "55" + self.user_id[2:],
            "event_name": event_name,
            "timestamp": str(int(self.server.now() * 1000)),
        }
        if event_name in ("follow", "unfollow"):
            base |= {"oa_id": self.server.oa_id, "follower": {"id": self.user_id}, "source": "oa_profile"}
        else:
            base |= {"sender": {"id": self.user_id}, "recipient": {"id": self.server.oa_id}}
        base |= extra
        return base

    async def send(self, event: dict[str, Any], *, wait: bool = True) -> list[SentMessage]:
        """Post ``event``; with ``wait``, return the messages the OA sent this user in answer."""
        response = await self.server.post_event(self.webhook_url, event)
        assert response.status == 200, response.status
        if event["event_name"] == "unfollow":
            self.server.users[self.user_id].followed = False
        elif event["event_name"] == "follow":
            self.server.users[self.user_id].followed = True
        if event["event_name"].startswith("user_") or event["event_name"] == "follow":
            self.server.interacted(self.user_id)
        if not wait:
            return []
        key = msg_key(event)
        assert self.handled is not None, "pass handled= to wait for answers"
        await self.wait_handled(key)
        mine = self.server.messages(self.user_id)
        self.last = mine[self._seen :]
        self._seen = len(mine)
        return self.last

    async def wait_handled(self, key: str, timeout: float = 20.0) -> None:
        """Wait until the app has handled and answered the event ``key`` (read from its database)."""
        assert self.handled is not None
        step = 0.05
        for _ in range(int(timeout / step)):
            if await self.handled(key):
                return
            await asyncio.sleep(step)
        raise TimeoutError(f"event not handled within {timeout} s")

    async def say(self, text: str, *, wait: bool = True) -> list[SentMessage]:
        msg = {"msg_id": secrets.token_hex(16), "text": text}
        return await self.send(self.event("user_send_text", message=msg), wait=wait)

    async def tap(self, title: str, *, wait: bool = True) -> list[SentMessage]:
        """Press a button of the last messages (a tap comes back as a ``user_send_text`` of its payload)."""
        for message in reversed(self.last):
            button = message.button(title)
            if button is not None:
                return await self.say(button["payload"], wait=wait)
        titles = [b["title"] for m in self.last for b in m.buttons]
        raise AssertionError(f"no button {title!r} among {titles}")

    async def tap_paging(self, title: str, next_title: str = "Tiếp", limit: int = 20) -> list[SentMessage]:
        """Press ``title``, turning pages with «Tiếp» until it is among the buttons."""
        for _ in range(limit):
            if any(m.button(title) for m in self.last):
                return await self.tap(title)
            await self.tap(next_title)
        raise AssertionError(f"no button {title!r} after {limit} pages")

    async def follow(self) -> list[SentMessage]:
        return await self.send(self.event("follow"))

    async def unfollow(self) -> list[SentMessage]:
        return await self.send(self.event("unfollow"))

    async def send_image(self) -> list[SentMessage]:
        msg = {
            "msg_id": secrets.token_hex(16),
            "attachments": [{"type": "image", "payload": {"url": "https://example.invalid/a.jpg"}}],
        }
        return await self.send(self.event("user_send_image", message=msg))

    def texts(self) -> str:
        return "\n".join(m.text for m in self.last)

    def buttons(self) -> list[str]:
        return [b["title"] for m in self.last for b in m.buttons]


def msg_key(event: dict[str, Any]) -> str:
    """The de-duplication key of an event: its ``msg_id``, or (follow, unfollow: none) name:user:time."""
    message = event.get("message") or {}
    if message.get("msg_id"):
        return str(message["msg_id"])
    user = (event.get("follower") or event.get("sender") or {}).get("id", "")
    return f"{event['event_name']}:{user}:{event['timestamp']}"
