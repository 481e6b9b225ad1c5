"""A fake Telegram Bot API server for end-to-end tests.

The real bot talks to it over real HTTP::

    async with FakeTelegramServer(token="123456:TEST", bot_username="gopy_test_bot") as server:
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
        bot = Bot(server.token, session=session)
        user = server.user(1001, first_name="Lan")
        ...

It implements the Bot API methods the project calls (see :data:`METHODS`), with the same response
envelope (``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": N, "description": "..."}``),
the same error wording for the mistakes bots usually make (too long texts, bad ``callback_data``,
"message is not modified", stale callback queries...), long polling, webhook delivery with retries,
file download, and fault injection (rate limits, blocked chats, transient 5xx errors).  A method the
project does not call answers ``404 Not Found``, as an unknown method would: add it here when the bot
starts to use it.

Everything the bot does is recorded in :attr:`FakeTelegramServer.calls`, and every chat keeps its
messages in their current state (after edits), see :meth:`FakeTelegramServer.chat_messages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from .models import (
    ApiError,
    Button,
    Call,
    CallbackAnswer,
    ChatMessage,
    StoredFile,
    WebhookDelivery,
    bad_request,
)

if TYPE_CHECKING:
    from .user import FakeUser

MethodHandler = Callable[[Call], Any]

#: The Bot API methods the project calls (bot/, scheduler/, cli/ through aiogram).
METHODS = (
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "setMyCommands",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "getFile",
)

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)

#: Methods subject to :meth:`FakeTelegramServer.set_rate_limits`.
RATE_LIMITED_METHODS = frozenset({"sendMessage", "editMessageText"})
#: Bot actions that count as "the bot reacted" for :meth:`FakeUser.wait_reply`.
REACTION_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"}
)
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "max_connections"})
_BOOL_FIELDS = frozenset({"show_alert", "drop_pending_updates"})
_JSON_FIELDS = frozenset({"reply_markup", "commands", "scope", "allowed_updates", "entities"})
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")

_json_dumps = partial(json.dumps, ensure_ascii=False)


@dataclass
class _Chat:
    chat_id: int
    last_message_id: int = 0
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _CallbackQuery:
    query_id: str
    user_id: int
    chat_id: int
    message_id: int | None
    data: str | None
    answered: bool = False


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None
    remaining: int


def _to_int(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return value


def _to_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
    return value


def _normalize(params: dict[str, Any]) -> dict[str, Any]:
    """Convert form-encoded strings of well-known fields to their JSON types."""
    normalized: dict[str, Any] = {}
    for key, value in params.items():
        if key in _INT_FIELDS:
            value = _to_int(value)
        elif key in _BOOL_FIELDS:
            value = _to_bool(value)
        elif key in _JSON_FIELDS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        normalized[key] = value
    return normalized


class FakeTelegramServer:
    """An in-process fake of the Telegram Bot API on ``127.0.0.1`` (real HTTP, aiohttp.web).

    :param token: the only accepted bot token; other tokens get ``401 Unauthorized``.
    :param bot_username: username returned by getMe.
    :param bot_first_name: first name returned by getMe.
    :param strict_chats: when True (default) the bot may only send to chats of users that wrote to
        it first (like Telegram): unknown chats get ``400 Bad Request: chat not found`` and known
        :class:`FakeUser` s that never wrote get ``403 Forbidden: bot can't initiate conversation
        with a user``.  When False any integer chat id is accepted.
    :param webhook_max_attempts: delivery attempts per update in webhook mode before it is dropped.
    :param webhook_retry_delay: seconds between webhook delivery attempts.
    :param webhook_timeout: seconds to wait for the webhook endpoint to answer.
    :param webhook_connections: how many updates are delivered to the webhook at once (Telegram's
        ``max_connections``, 40 by default there); the updates of one chat are always delivered one
        at a time, in order.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "gopy_test_bot",
        bot_first_name: str = "Gopy Test Bot",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict_chats: bool = True,
        webhook_max_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
        webhook_connections: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host = host
        self.port = port
        self.strict_chats = strict_chats
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.webhook_connections = webhook_connections

        #: Every Bot API request, in arrival order.
        self.calls: list[Call] = []
        #: Every webhook delivery attempt.
        self.webhook_deliveries: list[WebhookDelivery] = []
        #: Every answerCallbackQuery made for a known callback query.
        self.callback_answers: list[CallbackAnswer] = []
        #: Every update ever pushed (including those already confirmed or dropped).
        self.updates: list[dict[str, Any]] = []

        self._methods: dict[str, tuple[str, MethodHandler]] = {}
        self._users: dict[int, FakeUser] = {}
        self._started_chats: set[int] = set()
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._webhook: dict[str, Any] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._blocked: set[int] = set()
        self._failures: dict[str, deque[_Failure]] = {}
        self._global_limit: float | None = None
        self._chat_limit: float | None = None
        self._retry_after = 1
        self._global_sends: deque[float] = deque()
        self._chat_sends: dict[int, deque[float]] = {}
        self._poll_generation = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        for name in METHODS:
            self.register_method(name, getattr(self, "_m_" + name))

    # ----------------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, to be passed to ``TelegramAPIServer.from_base``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``{base_url}/bot{token}`` (append ``/methodName``)."""
        return f"{self.base_url}/bot{self.token}"

    async def start(self) -> None:
        """Start listening on a free port of 127.0.0.1 (or the ``port`` given to the constructor)."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._client = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_worker(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and close the HTTP server."""
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------------------ public helpers

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "Lan",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        *,
        started: bool = False,
        quiet: float = 0.15,
    ) -> FakeUser:
        """Return the :class:`FakeUser` with this id, creating it on first use.

        ``started=True`` marks the private chat as already opened (the bot may write first), as if
        the user had talked to the bot before the test began.
        """
        from .user import FakeUser

        existing = self._users.get(user_id)
        if existing is None:
            existing = FakeUser(
                self,
                user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
                quiet=quiet,
            )
            self._users[user_id] = existing
        if started:
            self._started_chats.add(user_id)
        return existing

    def calls_of(self, method: str, chat_id: int | None = None, *, ok: bool | None = None) -> list[Call]:
        """Recorded calls of one method (case-insensitive), optionally for one chat / by outcome."""
        wanted = method.lower()
        return [
            call
            for call in self.calls
            if call.method.lower() == wanted
            and (chat_id is None or call.chat_id == chat_id)
            and (ok is None or call.ok == ok)
        ]

    def chat_messages(self, chat_id: int) -> list[ChatMessage]:
        """Snapshots of the bot's messages in this chat, in order and in their current state.

        Edits are applied.  Snapshots do not change when the bot edits a message later.
        """
        chat = self._chats.get(chat_id)
        return [copy.deepcopy(m) for m in chat.messages.values() if m.from_bot] if chat else []

    def message(self, chat_id: Any, message_id: Any) -> ChatMessage | None:
        """A snapshot of one message by id (user or bot), or None."""
        live = self._live_message(chat_id, message_id)
        return copy.deepcopy(live) if live is not None else None

    def _live_message(self, chat_id: Any, message_id: Any) -> ChatMessage | None:
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        return chat.messages.get(message_id) if chat and isinstance(message_id, int) else None

    def transcript(self, chat_id: int) -> str:
        """A readable log of the conversation (user messages, presses, bot sends/edits, errors)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.log:
            return f"(no activity in chat {chat_id})"
        return "\n".join(chat.log)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands set with setMyCommands for a scope (default scope if None) and language."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def webhook_url(self) -> str | None:
        """The current webhook URL, or None in polling mode."""
        return self._webhook["url"] if self._webhook else None

    @property
    def webhook_max_connections(self) -> int | None:
        """The ``max_connections`` given with the current webhook (None: not given or no webhook)."""
        return self._webhook["max_connections"] if self._webhook else None

    # ------------------------------------------------------------------------------ fault injection

    def set_rate_limits(
        self,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """Answer ``429 Too Many Requests: retry after N`` when a send method exceeds a limit.

        Limits apply to :data:`RATE_LIMITED_METHODS` over a sliding window: at most
        ``max(1, int(limit))`` delivered sends per ``max(1, int(limit)) / limit`` seconds (one second
        for limits >= 1).  Rejected calls are not delivered and do not count.  ``None`` disables.
        """
        self._global_limit = global_per_second
        self._chat_limit = per_chat_per_second
        self._retry_after = retry_after
        self._global_sends.clear()
        self._chat_sends.clear()

    def block_chat(self, chat_id: int) -> None:
        """From now on, sends/edits to this chat get ``403 Forbidden: bot was blocked by the user``."""
        self._blocked.add(chat_id)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        count: int = 1,
        *,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (``"*"`` = any method) fail with ``status``.

        The description defaults to ``"Internal Server Error"`` for 5xx statuses.  Failed calls are
        not executed.  ``retry_after`` adds ``parameters.retry_after`` (useful with status 429).
        """
        if description is None:
            if status >= 500:
                description = "Internal Server Error"
            elif status == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}.get(status, "Error")
        if status == 429 and retry_after is None:
            retry_after = 1
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        self._failures.setdefault(method.lower(), deque()).append(
            _Failure(status, description, parameters, count)
        )

    def register_method(self, name: str, handler: MethodHandler) -> None:
        """Add or replace a Bot API method.

        ``handler(call)`` receives the :class:`Call` (normalised ``call.params``), returns the
        ``result`` (sync or async) or raises :class:`ApiError`.
        """
        self._methods[name.lower()] = (name, handler)

    # ------------------------------------------------------------------------------------- updates

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for the bot (getUpdates or webhook) and return its new ``update_id``."""
        update = dict(update)
        update_id = self._next_update_id
        self._next_update_id += 1
        update["update_id"] = update_id
        self.updates.append(update)
        if self._update_allowed(update):
            self._pending.append(update)
        for chat_id in self._chats_of_update(update):
            self._started_chats.add(chat_id)
        self._notify()
        return update_id

    def _notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    @staticmethod
    def _update_type(update: dict[str, Any]) -> str:
        return next((key for key in update if key != "update_id"), "")

    def _update_allowed(self, update: dict[str, Any]) -> bool:
        kind = self._update_type(update)
        allowed = self._webhook.get("allowed_updates") if self._webhook else self._allowed_updates
        if allowed:
            return kind in allowed
        return kind not in _NOT_BY_DEFAULT

    @staticmethod
    def _chats_of_update(update: dict[str, Any]) -> list[int]:
        for value in update.values():
            if isinstance(value, dict):
                chat = value.get("chat") or (value.get("message") or {}).get("chat")
                if chat and chat.get("type") == "private" and value.get("from", {}).get("is_bot") is False:
                    return [chat["id"]]
        return []

    # --------------------------------------------------------------------------------- HTTP layer

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _handle_api(self, request: web.Request) -> web.Response:
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return web.json_response(error.payload(), status=error.status, dumps=_json_dumps)
        token_ok = request.match_info["token"] == self.token
        status, body = await self._execute(request.match_info["method"], params, token_ok=token_ok)
        return web.json_response(body, status=status, dumps=_json_dumps)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        """Query string plus a JSON or form-encoded body (aiogram posts a form; uploads are not supported)."""
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return params
        try:
            if request.content_type == "application/json":
                raw = await request.read()
                if raw.strip():
                    data = json.loads(raw)
                    if not isinstance(data, dict):
                        raise bad_request("parameters must be a JSON object")
                    params.update(data)
            elif request.content_type == "application/x-www-form-urlencoded":
                params.update(await request.post())
            else:
                raise bad_request(f"the fake server does not read {request.content_type} bodies")
        except (ValueError, UnicodeDecodeError) as error:
            raise bad_request(f"can't parse request: {error}") from error
        return params

    async def _execute(
        self, method: str, raw_params: dict[str, Any], *, token_ok: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """Run one Bot API method; return ``(http_status, json_body)``. Every call is recorded."""
        params = _normalize(raw_params)
        entry = self._methods.get(method.lower())
        name = entry[0] if entry else method
        call = Call(method=name, params=params, at=time.monotonic())
        call.status = 0  # in progress
        call.chat_id = self._call_chat(name, params)
        self.calls.append(call)
        try:
            if not token_ok:
                raise ApiError(401, "Unauthorized")
            if entry is None:
                raise ApiError(404, "Not Found")
            self._inject_faults(call)
            result = entry[1](call)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            call.status = error.status
            call.error = error.description
            if call.chat_id is not None:
                self._log(call.chat_id, f"✗ bot {name} failed: {error.status} {error.description}")
            return error.status, error.payload()
        if name in RATE_LIMITED_METHODS:
            self._record_send(call.chat_id)
        call.status = 200
        call.result = result
        return 200, {"ok": True, "result": result}

    def _call_chat(self, method: str, params: dict[str, Any]) -> int | None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            return chat_id
        if method == "answerCallbackQuery":
            query = self._callback_queries.get(str(params.get("callback_query_id")))
            return query.chat_id if query else None
        return None

    def _inject_faults(self, call: Call) -> None:
        for key in (call.method.lower(), "*"):
            queue = self._failures.get(key)
            if queue:
                failure = queue[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.popleft()
                raise ApiError(failure.status, failure.description, failure.parameters)
        if call.chat_id in self._blocked and call.method.startswith(("send", "edit")):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if call.method in RATE_LIMITED_METHODS:
            self._check_rate(call.chat_id)

    @staticmethod
    def _window(limit: float) -> tuple[int, float]:
        count = max(1, int(limit))
        return count, count / limit

    def _check_rate(self, chat_id: int | None) -> None:
        now = time.monotonic()
        checks: list[tuple[float, deque[float]]] = []
        if self._global_limit is not None:
            checks.append((self._global_limit, self._global_sends))
        if self._chat_limit is not None and chat_id is not None:
            checks.append((self._chat_limit, self._chat_sends.setdefault(chat_id, deque())))
        for limit, sends in checks:
            count, window = self._window(limit)
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= count:
                retry_after = self._retry_after
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
                )

    def _record_send(self, chat_id: int | None) -> None:
        now = time.monotonic()
        if self._global_limit is not None:
            self._global_sends.append(now)
        if self._chat_limit is not None and chat_id is not None:
            self._chat_sends.setdefault(chat_id, deque()).append(now)

    # ------------------------------------------------------------------------------ chat plumbing

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id)
        return chat

    def _log(self, chat_id: int, text: str) -> None:
        lines = text.splitlines() or [""]
        self._chat(chat_id).log.append("\n".join([lines[0], *("    " + line for line in lines[1:])]))

    def _chat_api(self, chat_id: int) -> dict[str, Any]:
        user = self._users.get(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": "private"}
        if user is None:
            chat["first_name"] = f"User {chat_id}"
            return chat
        chat["first_name"] = user.first_name
        if user.last_name:
            chat["last_name"] = user.last_name
        if user.username:
            chat["username"] = user.username
        return chat

    def bot_user_api(self) -> dict[str, Any]:
        """The bot as a Telegram ``User`` object (the ``from`` of bot messages)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _target_chat(self, call: Call) -> int:
        """Validate ``chat_id`` of a send method and return it."""
        chat_id = call.params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")
        if chat_id not in self._started_chats:
            if chat_id in self._users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if self.strict_chats:
                raise bad_request("chat not found")
            self._started_chats.add(chat_id)
        return chat_id

    def _find_message(self, call: Call) -> ChatMessage:
        """The bot message an edit method targets."""
        if call.params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat_id = call.params.get("chat_id")
        message_id = call.params.get("message_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if message_id is None or message_id == "":
            raise bad_request("message_id is empty")
        message = self._live_message(chat_id, message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _refresh_api(self, message: ChatMessage) -> None:
        """Rebuild ``message.api`` (the Telegram Message object) from the message fields."""
        api: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": self._chat_api(message.chat_id),
        }
        if message.from_bot:
            api["from"] = self.bot_user_api()
        else:
            user = self._users.get(message.chat_id)
            api["from"] = (
                user.user_api() if user else {"id": message.chat_id, "is_bot": False, "first_name": "User"}
            )
        if message.edit_date:
            api["edit_date"] = message.edit_date
        api.update(message.extra)
        if message.document is not None:
            api["document"] = dict(message.document)
        elif message.text is not None:
            api["text"] = message.text
            if message.entities:
                api["entities"] = message.entities
        if message.inline_markup is not None:
            api["reply_markup"] = message.inline_markup
        message.api = api

    def _new_message(self, chat_id: int, *, from_bot: bool, **fields: Any) -> ChatMessage:
        chat = self._chat(chat_id)
        message = ChatMessage(
            chat_id=chat_id,
            message_id=chat.next_message_id(),
            from_bot=from_bot,
            date=int(time.time()),
            **fields,
        )
        self._refresh_api(message)
        chat.messages[message.message_id] = message
        return message

    def add_user_message(self, user: FakeUser, *, text: str | None = None, **fields: Any) -> ChatMessage:
        """Store a message written by ``user`` in its private chat (used by :class:`FakeUser`)."""
        message = self._new_message(user.id, from_bot=False, text=text, **fields)
        self._log(user.id, "→ " + message.render().replace(" user:", f" {user.first_name}:", 1))
        return message

    def new_callback_query(self, user: FakeUser, message: ChatMessage, data: str) -> dict[str, Any]:
        """Create the ``callback_query`` object for a press on ``message`` (used by :class:`FakeUser`)."""
        query_id = str(secrets.randbelow(10**18))
        self._callback_queries[query_id] = _CallbackQuery(
            query_id, user.id, user.id, message.message_id, data
        )
        label = next((b.text for row in message.buttons for b in row if b.callback_data == data), None)
        shown = f"[{label}]" if label is not None else "a stale/unknown button"
        self._log(
            user.id, f"→ {user.first_name} pressed {shown} (callback_data={data!r}) on #{message.message_id}"
        )
        return {
            "id": query_id,
            "from": user.user_api(),
            "message": message.to_api(),
            "chat_instance": str(-(abs(user.id) * 7919 % 10**12) - 1),
            "data": data,
        }

    def store_file(
        self,
        content: bytes,
        *,
        kind: str = "documents",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        """Store bytes as a Telegram file (downloadable through getFile + the file route)."""
        self._file_counter += 1
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAA{self._file_counter:04d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"AgAD{self._file_counter:04d}{secrets.token_urlsafe(6)}",
            file_path=f"{kind}/file_{self._file_counter}{extension}",
            content=bytes(content),
            mime_type=mime_type,
            file_size=len(content) if file_size is None else file_size,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    # ------------------------------------------------------------------------- parsing / validation

    @staticmethod
    def _message_text(call: Call) -> tuple[str, list[dict[str, Any]]]:
        """The text and entities of a send/edit; the project sends plain text (no ``parse_mode``)."""
        if call.params.get("parse_mode"):
            raise bad_request("parse_mode is not implemented by the fake server")
        raw = call.params.get("text")
        text = "" if raw is None else str(raw)
        entities = call.params.get("entities")
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        return text, entities if isinstance(entities, list) else []

    @staticmethod
    def _inline_markup(call: Call) -> tuple[dict[str, Any] | None, list[list[Button]]]:
        """``reply_markup`` as (the inline keyboard object, its buttons); the project only sends inline keyboards."""
        raw = call.params.get("reply_markup")
        if raw is None or raw == "":
            return None, []
        if not isinstance(raw, dict) or "inline_keyboard" not in raw:
            raise bad_request("the fake server only implements inline keyboards")
        rows = raw["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of Arrays"
            )
        total = sum(len(row) for row in rows)
        if total > 100:
            raise bad_request("reply markup is too long")
        buttons: list[list[Button]] = []
        for row in rows:
            parsed_row: list[Button] = []
            for button in row:
                if not isinstance(button, dict):
                    raise bad_request(
                        "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                    )
                text = button.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("BUTTON_TEXT_INVALID")
                if not any(key in button for key in _BUTTON_ACTIONS):
                    raise bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if "callback_data" in button:
                    size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                        raise bad_request("BUTTON_URL_INVALID")
                parsed_row.append(Button(text, data if isinstance(data, str) else None))
            buttons.append(parsed_row)
        if not total:
            return None, []
        return {"inline_keyboard": [[dict(b) for b in row] for row in rows]}, [r for r in buttons if r]

    def _log_bot_message(self, message: ChatMessage, prefix: str = "← ") -> None:
        self._log(message.chat_id, prefix + message.render())

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code if isinstance(language_code, str) else ""

    # ------------------------------------------------------------------------------------ methods

    def _m_getMe(self, call: Call) -> dict[str, Any]:
        return {
            **self.bot_user_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_getUpdates(self, call: Call) -> list[dict[str, Any]]:
        if self._webhook:
            raise ApiError(409, CONFLICT_WEBHOOK)
        params = call.params
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = list(allowed) or None
        offset = params.get("offset")
        limit = params.get("limit")
        limit = limit if isinstance(limit, int) and 1 <= limit <= 100 else 100
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except (TypeError, ValueError):
            timeout = 0.0
        if isinstance(offset, int) and offset != 0:
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # terminates an older long poll, if any
        deadline = time.monotonic() + timeout
        while True:
            if self._webhook:
                raise ApiError(409, CONFLICT_WEBHOOK)
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLLING)
            wakeup = self._wakeup
            batch = [u for u in self._pending if self._update_allowed(u)][:limit]
            remaining = deadline - time.monotonic()
            if batch or self._closing or remaining <= 0:
                return [json.loads(json.dumps(u)) for u in batch]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), remaining)

    def _m_setWebhook(self, call: Call) -> bool:
        params = call.params
        url = params.get("url") or ""
        if not isinstance(url, str):
            raise bad_request("bad webhook: invalid URL")
        if not url:
            return self._m_deleteWebhook(call)
        if not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret not in (None, "") and not (isinstance(secret, str) and _SECRET_TOKEN.match(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        max_connections = params.get("max_connections")
        if max_connections is not None and not (
            isinstance(max_connections, int) and 1 <= max_connections <= 100
        ):
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret or None,
            "allowed_updates": list(allowed) if isinstance(allowed, list) and allowed else None,
            "max_connections": max_connections,
        }
        if isinstance(allowed, list):
            self._allowed_updates = list(allowed) or None
        self._notify()
        return True

    def _webhook_limit(self) -> int:
        """Updates delivered at once: ``webhook_connections``, at most the webhook's ``max_connections``."""
        given = self._webhook.get("max_connections") if self._webhook else None
        return min(self.webhook_connections, given) if given else self.webhook_connections

    def _m_deleteWebhook(self, call: Call) -> bool:
        self._webhook = None
        if call.params.get("drop_pending_updates"):
            self._pending.clear()
        self._notify()
        return True

    def _m_setMyCommands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[dict[str, Any]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND.match(name.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name.removeprefix("/"), "description": description})
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        self._commands[key] = cleaned
        return True

    def _m_sendMessage(self, call: Call) -> dict[str, Any]:
        chat_id = self._target_chat(call)
        text, entities = self._message_text(call)
        inline, buttons = self._inline_markup(call)
        message = self._new_message(
            chat_id, from_bot=True, text=text, entities=entities, inline_markup=inline, buttons=buttons
        )
        self._log_bot_message(message)
        return message.to_api()

    def _m_editMessageText(self, call: Call) -> dict[str, Any]:
        message = self._find_message(call)
        if message.text is None or message.document is not None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._message_text(call)
        inline, buttons = self._inline_markup(call)
        if text == message.text and entities == message.entities and inline == message.inline_markup:
            raise bad_request(NOT_MODIFIED)
        message.text, message.entities = text, entities
        message.inline_markup, message.buttons = inline, buttons
        message.edit_date = int(time.time())
        self._refresh_api(message)
        self._log_bot_message(message, "← edited ")
        return message.to_api()

    def _m_editMessageReplyMarkup(self, call: Call) -> dict[str, Any]:
        message = self._find_message(call)
        inline, buttons = self._inline_markup(call)
        if inline == message.inline_markup:
            raise bad_request(NOT_MODIFIED)
        message.inline_markup, message.buttons = inline, buttons
        message.edit_date = int(time.time())
        self._refresh_api(message)
        self._log_bot_message(message, "← edited ")
        return message.to_api()

    def _m_answerCallbackQuery(self, call: Call) -> bool:
        params = call.params
        query = self._callback_queries.get(str(params.get("callback_query_id")))
        if query is None or query.answered:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            user_id=query.user_id,
            data=query.data,
            text=text if isinstance(text, str) else None,
            show_alert=bool(params.get("show_alert")),
            at=call.at,
        )
        self.callback_answers.append(answer)
        suffix = " (alert)" if answer.show_alert else ""
        self._log(
            query.chat_id,
            f"← callback answer: {answer.text!r}{suffix}" if answer.text else "← callback answer",
        )
        return True

    def _m_getFile(self, call: Call) -> dict[str, Any]:
        file_id = call.params.get("file_id")
        if not file_id:
            raise bad_request("file_id is empty")
        stored = self._files.get(str(file_id))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return stored.to_api()

    # ------------------------------------------------------------------------------------ webhook

    async def _webhook_worker(self) -> None:
        """Deliver pending updates to the webhook: up to ``webhook_connections`` at once, in order per chat."""
        in_flight: dict[int, asyncio.Task[None]] = {}  # update_id -> its delivery
        busy: set[int] = set()  # chats with an update in flight

        def done(update_id: int, chat: int | None, _task: asyncio.Task[None]) -> None:
            in_flight.pop(update_id, None)
            if chat is not None:
                busy.discard(chat)
            self._notify()

        try:
            while not self._closing:
                wakeup = self._wakeup
                blocked: set[int] = set()
                for update in list(self._pending) if self._webhook else []:
                    if len(in_flight) >= self._webhook_limit():
                        break
                    if update["update_id"] in in_flight or not self._update_allowed(update):
                        continue
                    chats = self._chats_of_update(update)
                    chat = chats[0] if chats else None
                    if chat is not None and (chat in busy or chat in blocked):
                        blocked.add(chat)
                        continue
                    if chat is not None:
                        busy.add(chat)
                    task = asyncio.create_task(self._deliver(update))
                    in_flight[update["update_id"]] = task
                    task.add_done_callback(partial(done, update["update_id"], chat))
                await wakeup.wait()
        finally:
            for task in in_flight.values():
                task.cancel()

    async def _deliver(self, update: dict[str, Any]) -> None:
        """POST one update to the webhook, retrying on errors; a method in a 2xx answer is run, as Telegram
        runs it (see :meth:`run_webhook_answer`)."""
        assert self._webhook is not None and self._client is not None
        webhook = self._webhook
        headers = {"Content-Type": "application/json"}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        body = _json_dumps(update).encode("utf-8")
        for attempt in range(1, self.webhook_max_attempts + 1):
            status, error, answer = 0, None, b""
            try:
                async with self._client.post(
                    webhook["url"],
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as response:
                    status = response.status
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {response.reason}"
                    else:
                        answer = await response.read()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = f"Connection failed: {type(exc).__name__}: {exc}"
            self.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], status, attempt, time.monotonic(), error)
            )
            if error is None:
                self._discard_pending(update)
                await self.run_webhook_answer(answer)
                return
            if self._webhook is not webhook:
                return  # webhook changed or deleted meanwhile: the update stays pending
            if attempt < self.webhook_max_attempts:
                await asyncio.sleep(self.webhook_retry_delay)
        self._discard_pending(update)  # give up (real Telegram would keep retrying for a while)

    async def run_webhook_answer(self, body: bytes) -> None:
        """Run the Bot API method a webhook answered an update with (a JSON object with ``method``), as
        Telegram does; anything else in the answer is ignored, as are the method's result and errors."""
        try:
            answer = json.loads(body) if body.strip() else None
        except ValueError:
            return
        if isinstance(answer, dict) and isinstance(answer.get("method"), str):
            params = {k: v for k, v in answer.items() if k != "method"}
            await self._execute(answer["method"], params)

    def _discard_pending(self, update: dict[str, Any]) -> None:
        self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]
