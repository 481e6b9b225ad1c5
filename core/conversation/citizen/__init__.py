"""The citizen conversation: consent, main menu, opinions on drafts, mood entries about the congresses,
my opinions, my data, language — the same for every channel (Telegram, the web chat, next Zalo).

How it reads, for a newcomer:

* ``state.py`` — the typed, versioned dialog state (``CitizenState``) and the upgrade of older shapes;
* ``conversation.py`` — ``CitizenConversation.handle(state, event, ctx) -> Outcome`` and ``STEPS``, the
  table of every step (step → render, choice, text);
* ``turn.py`` — the ``Turn`` every step works with (state, replies, navigation) and the ``Flow``
  interface of the two paths to a receipt;
* one module per path: ``consent.py`` (the first screen and the full privacy notice), ``menu.py`` (menu,
  help about where the person is, language), ``draft_opinion.py`` (an
  opinion on a draft document: document → section → stance), ``public_mood.py`` (a mood entry about a
  congress: congress → kind → topic), ``entry.py`` (what both paths share: text → profile → confirm →
  receipt), ``sections.py`` (a section's path, finding sections by number or words), ``profile.py``,
  ``my_opinions.py``, ``my_data.py``.

A channel adapter turns what a person did into an :class:`~core.conversation.model.Event`, stores
``Outcome.state`` (a JSON-serialisable dict) and shows ``Outcome.replies``; nothing here knows a channel.
"""

from core.conversation.citizen.conversation import FLOWS, STEPS, CitizenConversation
from core.conversation.citizen.state import VERSION, CitizenState, Step, load_state
from core.conversation.citizen.turn import shorten

__all__ = [
    "FLOWS",
    "STEPS",
    "VERSION",
    "CitizenConversation",
    "CitizenState",
    "Step",
    "load_state",
    "shorten",
]
