"""The Zalo inbox worker: each stored webhook event is one unit of work, then its replies are sent.

* One event per transaction: the user's internal key and last interaction, the conversation step, its
  dialog state, the event marked processed and the replies to send are committed together. A crash
  before the commit leaves the event pending (done again from scratch); after it, nothing is done
  twice. Events of one user are taken in order (only a user's oldest pending event; on PostgreSQL the
  user's row is locked with SKIP LOCKED, so two processes never take the same user at once).
* Replies are sent after the commit, holding no connection: each event's replies are claimed first (a
  compare-and-swap on ``replied_at``), so two processes never send them twice; replies committed but
  not sent when a process stopped are sent by the next pass.
* A step that fails is rolled back and counted in a short transaction of its own; after
  ``max_attempts`` the event is set aside so that the user's next events are not blocked.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.client import ZaloClient, ZaloError, ZaloUnreachable
from bot.zalo.render import Message, PageTurn, event_of, render, view_of
from core.clock import Clock
from core.conversation.citizen import CitizenConversation
from core.conversation.contact import ACTIVE_STEPS, COMMANDS, PREFIX, ContactContext
from core.conversation.model import Context, ConversationSettings, Event, Outcome
from core.domain import Channel
from core.feedback import hash_user_id
from storage import zalo as store
from storage.dialogs import SqlDialogStore
from storage.models_zalo import ZaloInboxRow
from storage.uow import EntrypointUnitOfWork

if TYPE_CHECKING:
    from bot.contacts import ContactAdapter
from telemetry.metrics import SUBMISSIONS, UPDATE_ERRORS, UPDATES_HANDLED

log = logging.getLogger(__name__)

INTERACTIONS = frozenset({"follow", "user_send_text", "user_submit_info"})


class ZaloWorker:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        client: ZaloClient,
        conv_settings: ConversationSettings,
        hash_key: str,
        clock: Clock,
        poll_seconds: float = 1.0,
        max_attempts: int = 5,
        contacts: ContactAdapter | None = None,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.conversation = CitizenConversation()
        self.conv_settings = conv_settings
        self.hash_key = hash_key
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.dialogs = SqlDialogStore(clock)
        self.contacts = contacts  # the unit contacts' conversation (bind by invite code, reminders)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def dialog_key(self, zalo_user_id: str, destiny: str = "citizen") -> str:
        purpose = "zalo" if destiny == "citizen" else f"zalo-{destiny}"
        mac = hmac.new(self.hash_key.encode(), f"{purpose}:{zalo_user_id}".encode(), hashlib.sha256)
        return ("zl:" if destiny == "citizen" else "zlc:") + mac.hexdigest()

    # -------------------------------------------------------------------------------- the loop

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="zalo-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("zalo worker pass failed")
                busy = False
            if not busy:
                self._wake.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def step(self) -> bool:
        """Send replies left unsent, then handle one pending event; False when there was nothing."""
        sent = await self.send_unsent()
        return await self.process_one() or sent

    # ------------------------------------------------------------------------------- one event

    async def process_one(self) -> bool:
        inbox_id: int | None = None
        user_id = ""
        try:
            async with EntrypointUnitOfWork(self.sessions) as uow:
                assert uow.session is not None
                row = await store.next_event(uow.session)
                if row is None:
                    return False
                inbox_id, user_id = row.id, row.zalo_user_id
                messages = await self._handle(uow, row)
                # a compare-and-swap: should another process have taken the event (SQLite has no row
                # locks), this transaction is rolled back and nothing is done twice
                if not await store.finish_event(
                    uow.session, row.id, replies=[m.as_json() for m in messages], now=self.clock.now()
                ):
                    return True
                await uow.complete()
        except Exception:
            if inbox_id is None:
                raise
            UPDATE_ERRORS.labels(channel="zalo").inc()
            log.exception("zalo event failed", extra={"inbox_id": inbox_id})
            async with self.sessions() as session:
                set_aside = await store.count_failure(
                    session, inbox_id, max_attempts=self.max_attempts, now=self.clock.now()
                )
                await session.commit()
            if set_aside:
                log.warning("zalo event set aside after repeated failures", extra={"inbox_id": inbox_id})
            return True
        await self._send(inbox_id, user_id, messages)
        return True

    async def _handle(self, uow: EntrypointUnitOfWork, row: ZaloInboxRow) -> list[Message]:
        session = uow.session
        assert session is not None
        now = self.clock.now()
        name = row.event_name
        followed = True if name == "follow" else False if name == "unfollow" else None
        user_key = await store.touch_user(
            session,
            row.zalo_user_id,
            now=now,
            interacted=name in INTERACTIONS or name.startswith("user_send_"),
            followed=followed,
        )
        key = self.dialog_key(row.zalo_user_id)
        contact_key = self.dialog_key(row.zalo_user_id, "contact")
        if name == "unfollow":  # the conversation ends; nothing can be sent to a non-follower
            await self.dialogs.delete(session, key)
            await self.dialogs.delete(session, contact_key)
            return []
        _state, data = await self.dialogs.get(session, key)
        view: dict[str, Any] = data.get("view") or {}
        event = event_of(name, row.payload, view)
        if event is None:
            return []
        if self.contacts is not None and isinstance(event, Event):
            _cstate, contact_data = await self.dialogs.get(session, contact_key)
            if _is_contact_event(event, contact_data.get("state") or {}):
                return await self._contact_step(uow, contact_key, contact_data, event, user_key)
        if isinstance(event, PageTurn):
            pages = {**{int(k): v for k, v in (data.get("pages") or {}).items()}, event.reply: event.page}
            await self.dialogs.set(session, key, data={**data, "pages": pages}, fields=("data",))
            messages = render(view, pages)
            return [messages[event.reply]] if 0 <= event.reply < len(messages) else messages
        ctx = Context(
            uow=uow,
            channel=Channel.ZALO,
            user_hash=hash_user_id(key=self.hash_key, channel=Channel.ZALO, channel_user_id=row.zalo_user_id),
            now=now,
            settings=self.conv_settings,
        )
        outcome = await self.conversation.handle(data.get("conv"), event, ctx)
        lang = str(outcome.state.get("lang") or "vi")
        new_view = view_of(outcome, lang) if outcome.replies else view
        await self.dialogs.set(session, key, data={"conv": outcome.state, "view": new_view}, fields=("data",))
        uow.mark_written()
        UPDATES_HANDLED.labels(channel="zalo", kind=event.kind).inc()
        for flow in outcome.submitted:
            SUBMISSIONS.labels(channel="zalo", kind=flow).inc()
        messages = render(new_view) if outcome.replies else []
        if outcome.notice:
            messages.insert(0, Message(outcome.notice))
        return messages

    async def _contact_step(
        self, uow: EntrypointUnitOfWork, key: str, data: dict[str, Any], event: Event, user_key: int
    ) -> list[Message]:
        """A unit contact's step: the same contact conversation as on Telegram; its chat id is the Zalo
        user's internal key above :data:`storage.zalo.ZALO_CHAT_BASE`."""
        assert self.contacts is not None and uow.session is not None
        adapter = self.contacts
        state = data.get("state") or {}
        ctx = ContactContext(
            uow=uow,
            files=adapter.files,
            chat_id=store.ZALO_CHAT_BASE + user_key,
            language=str(state.get("lang") or "vi"),
            now=self.clock.now(),
            policy=adapter.policy,
            max_bytes=adapter.max_bytes,
            archive_limits=adapter.archive_limits,
            settings=adapter.settings,
        )
        outcome: Outcome = await adapter.conversation.handle(state, event, ctx, None)
        await self.dialogs.set(uow.session, key, data={"state": outcome.state}, fields=("data",))
        uow.mark_written()
        UPDATES_HANDLED.labels(channel="zalo", kind=event.kind).inc()
        messages = render(view_of(outcome, ctx.language)) if outcome.replies else []
        if outcome.notice:
            messages.insert(0, Message(outcome.notice))
        return messages

    # -------------------------------------------------------------------------------- replies

    async def _send(self, inbox_id: int, user_id: str, messages: list[Message]) -> None:
        async with self.sessions() as session:
            claimed = await store.claim_replies(session, inbox_id, self.clock.now())
            await session.commit()
        if not claimed:
            return
        try:
            for message in messages:
                await self.client.send_text(user_id, message.text, message.buttons)
        except ZaloUnreachable as exc:
            log.info("zalo user unreachable", extra={"zalo_error": exc.code})
        except ZaloError as exc:
            log.warning("zalo send failed", extra={"zalo_error": exc.code})
        async with self.sessions() as session:
            await store.mark_replied(session, inbox_id, self.clock.now())
            await session.commit()

    async def send_unsent(self) -> bool:
        async with self.sessions() as session:
            rows = [(r.id, r.zalo_user_id, r.replies or []) for r in await store.unsent_replies(session)]
        for inbox_id, user_id, replies in rows:
            await self._send(inbox_id, user_id, [Message.from_json(m) for m in replies])
        return bool(rows)


def _is_contact_event(event: Event, contact_state: dict[str, Any]) -> bool:
    """Events of the unit contact's conversation: an invite code, its commands, its buttons (``rp:``),
    and what is typed or sent while its own flow is active; everything else is the citizen's."""
    if event.kind == "command":
        return event.value in COMMANDS or (event.value == "start" and event.args.startswith("u-"))
    if event.kind == "choice":
        return event.value.startswith(PREFIX)
    return contact_state.get("step") in ACTIVE_STEPS
