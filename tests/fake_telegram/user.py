"""A simulated Telegram user who talks to the bot through :class:`FakeTelegramServer`.

The user only does what a person could do in a Telegram client: type messages, send a sticker or a
file, and press buttons that the bot actually shows.  Each action becomes an update (delivered by
getUpdates or the webhook), and :meth:`FakeUser.wait_reply` waits until the bot has reacted::

    user = server.user(1001, first_name="Lan")
    reply = await user.command_and_wait("start", args="org-dtn")
    assert "Xin chào" in reply.text
    reply = await user.tap("Góp ý")          # press an inline button, wait for the reaction
    reply = await user.say("Tôi đồng ý")     # type a message, wait for the reaction
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .models import Button, Call, ChatMessage

if TYPE_CHECKING:
    from .server import FakeTelegramServer

ButtonMatcher = str | Callable[[Button], bool]

# How long a simulated person waits for the bot before failing: generous, because a loaded 2-core CI
# machine can take seconds per update; a passing test never waits this long.
DEFAULT_TIMEOUT = 20.0

_MESSAGE_RESULT_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})
_COMMAND_AT_START = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")
_FAKE_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32  # a tiny sticker


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how the Bot API counts entity offsets and lengths)."""
    return len(text.encode("utf-16-le")) // 2


class FakeUser:
    """A person in a private chat with the bot (``chat.id == user.id``).

    Create it with :meth:`FakeTelegramServer.user`.  Every ``send_*``/``press*`` method returns the
    ``update_id`` of the update it produced.  ``quiet`` is how long the bot must stay silent before
    :meth:`wait_reply` considers its reaction complete.
    """

    def __init__(
        self,
        server: FakeTelegramServer,
        user_id: int,
        *,
        first_name: str = "Lan",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        quiet: float = 0.15,
    ) -> None:
        self.server = server
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.quiet = quiet
        #: update_id of the last update this user produced.
        self.last_update_id: int | None = None
        #: Messages returned by the last :meth:`wait_reply`.
        self.last_reply: list[ChatMessage] = []
        self._mark = len(server.calls)

    def __repr__(self) -> str:
        return f"FakeUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """The private chat id (equal to the user id)."""
        return self.id

    def user_api(self) -> dict[str, Any]:
        """This user as a Telegram ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    # ------------------------------------------------------------------------------------- sending

    async def _push(self, update: dict[str, Any]) -> int:
        self._mark = len(self.server.calls)
        update_id = self.server.push_update(update)
        self.last_update_id = update_id
        await asyncio.sleep(0)
        return update_id

    async def _send(self, text: str | None = None, **fields: Any) -> int:
        message = self.server.add_user_message(self, text=text, **fields)
        return await self._push({"message": message.to_api()})

    async def send_text(self, text: str) -> int:
        """Type and send a text message (a leading ``/command`` gets a bot_command entity)."""
        entities = []
        match = _COMMAND_AT_START.match(text)
        if match:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))})
        return await self._send(text, entities=entities)

    async def command(self, name: str, args: str | None = None) -> int:
        """Send ``/name`` or ``/name args`` (e.g. a deep link ``/start org-dtn``)."""
        name = name.removeprefix("/")
        text = f"/{name}" + (f" {args}" if args else "")
        return await self.send_text(text)

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Send a (regular, static) sticker."""
        stored = self.server.store_file(
            _FAKE_WEBP, kind="stickers", file_name="sticker.webp", mime_type="image/webp"
        )
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.file_size,
        }
        return await self._send(extra={"sticker": sticker})

    async def send_document(
        self,
        file_name: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        *,
        file_size: int | None = None,
    ) -> int:
        """Send a file.  The server keeps the bytes so getFile + download work.

        ``file_size`` overrides the announced size (e.g. to simulate a file above getFile's 20 MB
        limit without allocating it).
        """
        stored = self.server.store_file(
            content, kind="documents", file_name=file_name, mime_type=mime_type, file_size=file_size
        )
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.file_size,
        }
        return await self._send(document=document)

    # ------------------------------------------------------------------------------------ buttons

    def _keyboard_message(self) -> ChatMessage | None:
        return next((m for m in reversed(self.messages) if m.buttons), None)

    def _resolve_message(self, message: ChatMessage | int | None) -> ChatMessage:
        if message is None:
            target = self._keyboard_message()
            if target is None:
                raise AssertionError(
                    f"{self.first_name} sees no message with an inline keyboard.\n\n{self._context()}"
                )
            return target
        message_id = message if isinstance(message, int) else message.message_id
        target = self.server.message(self.id, message_id)
        if target is None or not target.from_bot:
            raise AssertionError(
                f"{self.first_name} cannot see bot message #{message_id}.\n\n{self._context()}"
            )
        return target

    async def press(self, text_or_predicate: ButtonMatcher, message: ChatMessage | int | None = None) -> int:
        """Press an inline button the bot currently shows and send the callback query.

        The button is looked up in ``message`` (a :class:`ChatMessage` or message id) or, by default,
        in the latest bot message that has an inline keyboard.  A string matches a button whose text
        equals it, or (when there is no exact match) contains it; a callable receives each
        :class:`Button` and returns True for the one to press.  Raises AssertionError listing the
        visible buttons when there is no match, or when a substring matches several buttons.
        """
        target = self._resolve_message(message)
        buttons = [button for row in target.buttons for button in row]
        if callable(text_or_predicate):
            matches = [b for b in buttons if text_or_predicate(b)]
            wanted = getattr(text_or_predicate, "__name__", "predicate")
        else:
            wanted = text_or_predicate
            matches = [b for b in buttons if b.text == wanted]
            if not matches:
                matches = [b for b in buttons if wanted in b.text]
                if len(matches) > 1:
                    raise AssertionError(
                        f"{wanted!r} matches several buttons of message #{target.message_id}: "
                        f"{[b.text for b in matches]}\n\n{self._context()}"
                    )
        if not matches:
            raise AssertionError(
                f"{self.first_name} sees no button {wanted!r} in bot message #{target.message_id}. "
                f"Visible buttons: {target.button_texts()}\n\n{self._context()}"
            )
        button = matches[0]
        if button.callback_data is None:
            raise AssertionError(
                f"Button {button.text!r} has no callback_data (URL/web app button); it can't be pressed"
            )
        return await self._push(
            {"callback_query": self.server.new_callback_query(self, target, button.callback_data)}
        )

    async def press_data(self, callback_data: str, message_id: int) -> int:
        """Send a callback query with arbitrary ``callback_data`` from message ``message_id``.

        Meant for stale-button tests: the message may have been edited since (or the data may not
        be on it at all), exactly like a user pressing an old button still on screen.
        """
        target = self.server.message(self.id, message_id)
        if target is None or not target.from_bot:
            raise AssertionError(f"There is no bot message #{message_id} in chat {self.id}")
        return await self._push(
            {"callback_query": self.server.new_callback_query(self, target, callback_data)}
        )

    # ------------------------------------------------------------------------------------ waiting

    def _calls_since_mark(self) -> list[Call]:
        return [call for call in self.server.calls[self._mark :] if call.chat_id == self.id]

    async def wait_reply(
        self, timeout: float = DEFAULT_TIMEOUT, quiet: float | None = None
    ) -> list[ChatMessage]:
        """Wait until the bot has reacted to this user's last update and then gone quiet.

        "Reacted" means at least one successful bot action in this chat (sendMessage, an edit,
        answerCallbackQuery) since the update was sent (or since the previous ``wait_reply``);
        "quiet" means no call for this chat during ``quiet`` seconds (default ``self.quiet``).
        Returns the bot messages sent or edited meanwhile (current state).  Raises AssertionError
        with the transcript on timeout.
        """
        from .server import REACTION_METHODS

        quiet = self.quiet if quiet is None else quiet
        deadline = time.monotonic() + timeout
        while True:
            calls = self._calls_since_mark()
            reactions = [c for c in calls if c.ok and c.method in REACTION_METHODS]
            now = time.monotonic()
            if reactions and now - max(c.at for c in calls) >= quiet and all(c.status for c in calls):
                break
            if now >= deadline:
                reason = (
                    "the bot kept acting and never went quiet"
                    if reactions
                    else "the bot did not react (no successful send/edit/answerCallbackQuery)"
                )
                raise AssertionError(
                    f"{self.first_name} waited {timeout}s after update {self.last_update_id}: {reason}.\n"
                    f"{self._describe_calls(calls)}\n\n{self._context()}"
                )
            await asyncio.sleep(0.01)
        self._mark = len(self.server.calls)
        self.last_reply = self._messages_of(reactions)
        return self.last_reply

    async def assert_no_reply(self, within: float = 0.3) -> None:
        """Assert the bot does nothing visible in this chat for ``within`` seconds."""
        await asyncio.sleep(within)
        from .server import REACTION_METHODS

        reactions = [c for c in self._calls_since_mark() if c.ok and c.method in REACTION_METHODS]
        self._mark = len(self.server.calls)
        if reactions:
            raise AssertionError(
                f"Expected no reaction from the bot, got: {[c.method for c in reactions]}"
                f"\n\n{self._context()}"
            )

    def _messages_of(self, calls: list[Call]) -> list[ChatMessage]:
        ids: list[int] = []
        for call in calls:
            if call.method in _MESSAGE_RESULT_METHODS and isinstance(call.result, dict):
                message_id = call.result.get("message_id")
                if isinstance(message_id, int) and message_id not in ids:
                    ids.append(message_id)
        messages = [self.server.message(self.id, message_id) for message_id in ids]
        return [m for m in messages if m is not None]

    async def _reaction(self, timeout: float) -> ChatMessage:
        before = self._mark
        changed = await self.wait_reply(timeout)
        new_ids = [
            c.result["message_id"]
            for c in self.server.calls[before:]
            if c.chat_id == self.id and c.ok and c.method == "sendMessage" and isinstance(c.result, dict)
        ]
        new = [m for m in changed if m.message_id in new_ids]
        if new:
            return max(new, key=lambda m: m.message_id)
        if changed:
            return changed[-1]
        latest = self.last_message
        if latest is None:
            raise AssertionError(
                f"The bot reacted but has no visible message in chat {self.id}\n\n{self._context()}"
            )
        return latest

    async def say(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> ChatMessage:
        """Send ``text``, wait for the reaction, and return the bot's latest message.

        "Latest" is the newest message sent during the reaction, else the last edited one, else the
        chat's last bot message (e.g. when the bot only answered a callback).
        """
        await self.send_text(text)
        return await self._reaction(timeout)

    async def tap(
        self,
        text_or_predicate: ButtonMatcher,
        message: ChatMessage | int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ChatMessage:
        """:meth:`press` a button, wait, and return the bot's latest message (like :meth:`say`)."""
        await self.press(text_or_predicate, message)
        return await self._reaction(timeout)

    async def command_and_wait(
        self, name: str, args: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> ChatMessage:
        """:meth:`command` + wait for the reaction; returns the bot's latest message (see :meth:`say`)."""
        await self.command(name, args)
        return await self._reaction(timeout)

    # ------------------------------------------------------------------------------------- state

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages in this chat, oldest first."""
        return self.server.chat_messages(self.id)

    @property
    def last_message(self) -> ChatMessage | None:
        """The latest bot message in this chat (by message_id), or None."""
        visible = self.messages
        return visible[-1] if visible else None

    @property
    def callback_answers(self) -> list[str]:
        """Texts of the bot's answerCallbackQuery for this user's presses ("" when answered silently)."""
        return [answer.text or "" for answer in self.server.callback_answers if answer.user_id == self.id]

    def transcript(self) -> str:
        """The conversation as readable text, for assertion messages."""
        return self.server.transcript(self.id)

    def _context(self) -> str:
        return f"Transcript of chat {self.id}:\n{self.transcript()}"

    @staticmethod
    def _describe_calls(calls: list[Call]) -> str:
        if not calls:
            return "No bot calls for this chat since the update."
        lines = [
            f"  {c.method} -> {c.status or 'pending'}" + (f" {c.error}" if c.error else "")
            for c in calls[-10:]
        ]
        return "Bot calls for this chat since the update:\n" + "\n".join(lines)
