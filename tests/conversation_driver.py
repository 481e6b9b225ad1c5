"""Drive the channel-neutral conversation as a person would: press only the choices it offers."""

from __future__ import annotations

from typing import Any

from core.clock import FixedClock
from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, ConversationSettings, Event, Outcome
from core.domain import Channel
from tests.fakes import FakeStore, FakeUnitOfWork


class Driver:
    def __init__(
        self,
        store: FakeStore,
        clock: FixedClock,
        user_hash: str = "u1",
        channel: Channel = Channel.TELEGRAM,
        **settings: Any,
    ) -> None:
        self.store = store
        self.channel = channel
        self.clock = clock
        self.user_hash = user_hash
        self.conversation = CitizenConversation()
        self.settings = ConversationSettings(**settings)
        self.state: dict[str, Any] = {}
        self.last: Outcome | None = None

    async def send(self, event: Event) -> Outcome:
        async with FakeUnitOfWork(self.store) as uow:
            ctx = Context(uow, self.channel, self.user_hash, self.clock.now(), self.settings)
            outcome = await self.conversation.handle(self.state, event, ctx)
        self.state = outcome.state
        self.last = outcome
        return outcome

    def choices(self) -> list[tuple[str, str]]:
        assert self.last is not None
        return [(c.label, c.data) for r in self.last.replies for row in r.choices for c in row]

    def texts(self) -> str:
        assert self.last is not None
        return "\n".join(r.text for r in self.last.replies)

    async def press(self, label: str) -> Outcome:
        options = self.choices()
        exact = [d for lbl, d in options if lbl == label]
        partial = [d for lbl, d in options if label in lbl]
        found = exact or partial
        assert found, f"no button {label!r} among {[lbl for lbl, _ in options]}"
        assert self.last is not None
        return await self.send(Event.choice(found[0], self.last.screen))

    async def say(self, text: str) -> Outcome:
        return await self.send(Event.text(text))

    async def command(self, name: str, args: str = "") -> Outcome:
        return await self.send(Event.command(name, args))

    async def answer_profile_and_submit(self, *answers: str) -> str:
        """Answer the profile questions when asked (category, organisation, locality; skip the rest),
        check the confirmation screen, submit, and return the receipt code."""
        if "Quý vị thuộc đối tượng nào" in self.texts():
            for answer in answers:
                await self.press(answer)
            await self.press("Bỏ qua")
            await self.press("Bỏ qua")
        assert "Vui lòng kiểm tra" in self.texts()
        out = await self.press("Gửi ý kiến")
        text_out = "\n".join(r.text for r in out.replies)
        assert "Mã biên nhận" in text_out
        return text_out.split("Mã biên nhận: ")[1].split()[0]
