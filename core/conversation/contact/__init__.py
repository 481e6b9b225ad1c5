"""The unit contact's conversation, channel-neutral: bind by invite, deadlines, report submission.

* ``state.py`` — the typed, versioned dialog state (kept apart from the citizen's: the adapter stores it
  under its own key);
* ``conversation.py`` — ``ContactConversation.handle`` and its tables: ``CHOICES`` (a press's head →
  handler), ``TEXTS`` (step → what typed text does), ``COMMANDS``;
* ``turn.py`` — the context an adapter gives and the turn the steps work with;
* ``binding.py`` (invite, confirmation, leaving), ``overview.py`` (menu, deadlines, history, the
  reminders' buttons), ``report.py`` (period → file → summary → opinions → confirm → receipt).

Choices carry the prefix ``rp:`` so a channel adapter can route them here.
"""

from core.conversation.contact.binding import is_contact_start
from core.conversation.contact.conversation import CHOICES, COMMANDS, TEXTS, ContactConversation
from core.conversation.contact.state import ACTIVE_STEPS, VERSION, ContactState, ContactStep, load_state
from core.conversation.contact.turn import PREFIX, ContactContext, IncomingFile

__all__ = [
    "ACTIVE_STEPS",
    "CHOICES",
    "COMMANDS",
    "PREFIX",
    "TEXTS",
    "VERSION",
    "ContactContext",
    "ContactConversation",
    "ContactState",
    "ContactStep",
    "IncomingFile",
    "is_contact_start",
    "load_state",
]
