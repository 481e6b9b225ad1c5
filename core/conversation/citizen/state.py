"""The citizen conversation's dialog state: typed and versioned, stored as a JSON-serialisable dict.

Channels keep the state as a plain dict (aiogram's FSM data, the web chat's session); this module turns
it into a :class:`CitizenState` and back. ``v`` is the shape's version. A state without ``v`` is of the
first shape (before this module existed): :func:`load_state` upgrades it, so a conversation left
half-way through an upgrade carries on where it was.

The stored dict keeps the keys adapters and retention rely on: ``step`` and ``lang`` at the top, and
``draft.client_ref`` while an entry is being written (storage/retention.py purges abandoned ones).

``known`` is what the conversation last read of its respondent (:class:`KnownRespondent`), so most
events read no respondent row: every change of a respondent is made by this conversation, in the same
transaction as the state that records it, and the writes that need a consent check it in the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.domain import Channel, FeedbackKind, Profile, Respondent, Stance

log = logging.getLogger(__name__)

VERSION = 2


class Step(StrEnum):
    """Where a person is. Every step has a row in the table of steps (see ``conversation.py``)."""

    NEW = "new"  # nothing shown yet, or a step this version no longer knows: menu or consent
    CONSENT = "consent"
    PRIVACY = "privacy"  # the full privacy notice
    DECLINED = "declined"
    MENU = "menu"
    HELP = "help"
    LANG = "lang"
    # an opinion on a draft document
    DOC = "doc"
    SEC = "sec"
    STANCE = "stance"
    # shared by both paths to a receipt
    TEXT = "text"
    CONFIRM = "confirm"
    DONE = "done"
    # a mood entry about a congress
    M_CONG = "m_cong"
    M_KIND = "m_kind"
    M_TOPIC = "m_topic"
    # the profile, asked once
    PROF_CAT = "prof_cat"
    PROF_ORG = "prof_org"
    PROF_LOC = "prof_loc"
    PROF_AGE = "prof_age"
    PROF_GENDER = "prof_gender"
    # my opinions
    MINE = "mine"
    MINE_ITEM = "mine_item"
    WITHDRAW = "withdraw"
    # my data
    MYDATA = "mydata"
    ERASE = "erase"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Entry(_Model):
    """An entry being written, whichever the path: the text typed so far and where the person is."""

    client_ref: str | None = None
    """Set while the entry is being written (it makes a repeated submit idempotent); gone at the receipt."""
    parts: list[str] = []
    """The messages typed so far; the entry's text is their join (see :meth:`text`)."""
    return_confirm: bool = False
    """The summary was shown: a change of one answer goes back to it."""

    def text(self) -> str:
        return "\n\n".join(self.parts)

    @property
    def editing(self) -> bool:
        """The entry changes one already sent (only opinions on drafts can be changed)."""
        return False


class DocumentEntry(Entry):
    """An opinion on a draft document: document → section → stance → text."""

    flow: Literal["draft"] = "draft"
    document_id: int | None = None
    parent_id: int | None = None  # the part whose sections are listed (None: the document's top level)
    page: int = 0
    query: str | None = None  # what the person typed to find a section (the results are shown)
    section_id: int | None = None  # None: the whole document
    stance: Stance | None = None
    edit_receipt: str | None = None  # set when changing an opinion already sent
    last_document_id: int | None = None  # after a receipt: where «another one» starts

    @property
    def editing(self) -> bool:
        return bool(self.edit_receipt)

    @field_validator("stance", mode="before")
    @classmethod
    def _known_stance(cls, value: Any) -> Any:
        return value if value in {s.value for s in Stance} or isinstance(value, Stance) else None


class MoodEntry(Entry):
    """A concern, aspiration or recommendation about a congress: congress → kind → topic → text."""

    flow: Literal["mood"] = "mood"
    congress_id: int | None = None
    kind: FeedbackKind | None = None
    topic: str | None = None  # None: no topic
    last_congress_id: int | None = None  # after a receipt: where «another one» starts

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        return value if value in {k.value for k in FeedbackKind} or isinstance(value, FeedbackKind) else None


AnyEntry = Annotated[DocumentEntry | MoodEntry, Field(discriminator="flow")]


class KnownRespondent(_Model):
    """The consented respondent as the conversation last read or wrote it (see the module's docstring).

    Only a copy: a consent of another privacy version is not taken from it (the respondent is read
    again), storing an entry or a profile checks the consent in the database, and a respondent erased
    elsewhere turns the next such write into ``ConsentRequired``, after which the copy is dropped."""

    id: int
    language: str = "vi"
    consent_version: str | None = None
    consent_at: datetime | None = None
    profile: Profile = Profile()
    profile_done: bool = False

    @classmethod
    def of(cls, respondent: Respondent) -> KnownRespondent:
        assert respondent.id is not None  # a consented respondent is stored
        return cls(
            id=respondent.id,
            language=respondent.language,
            consent_version=respondent.consent_version,
            consent_at=respondent.consent_at,
            profile=Profile(**respondent.profile.as_dict()),  # type: ignore[arg-type]
            profile_done=respondent.profile_done,
        )

    def respondent(self, channel: Channel, user_hash: str) -> Respondent:
        return Respondent(
            id=self.id,
            channel=channel,
            user_hash=user_hash,
            language=self.language,
            consent_version=self.consent_version,
            consent_at=self.consent_at,
            profile=Profile(**self.profile.as_dict()),  # type: ignore[arg-type]
            profile_done=self.profile_done,
        )


class CitizenState(_Model):
    """One person's conversation on one channel."""

    v: int = VERSION
    step: Step = Step.NEW
    lang: str = "vi"
    screen: int = 0
    """The number of the latest screen with choices; a press carries the number of its screen."""
    recent: list[tuple[int, Step]] = []
    """The last few (screen, step) pairs: a press on an earlier screen of the same step still counts."""
    draft: AnyEntry | None = None
    """The entry being written (or, after a receipt, what «another one» needs)."""
    pending_org: str | None = None  # an organisation from a deep link, stored with the consent
    lang_return: Step | None = None  # where the language screen goes back to
    privacy_return: Step | None = None  # where the full privacy notice goes back to
    help_return: Step | None = None  # where the help screen goes back to (and what it explains)
    profile: Profile | None = None  # the profile answers being given
    profile_return: Step | None = None  # where the profile steps lead when finished
    profile_first: bool = False  # the profile is asked for the first time (before a first receipt)
    profile_page: int = 0  # the page of the locality list
    profile_query: str | None = None  # what was typed to find a locality
    mine_code: str = ""  # the receipt code of the opinion shown in «my opinions»
    known: KnownRespondent | None = None  # the respondent as last read or written (a copy, see above)

    @field_validator("step", mode="before")
    @classmethod
    def _known_step(cls, value: Any) -> Any:
        return value if value in _STEP_VALUES else Step.NEW

    @field_validator("lang_return", "privacy_return", "help_return", "profile_return", mode="before")
    @classmethod
    def _known_return(cls, value: Any) -> Any:
        return value if value in _STEP_VALUES else None

    @field_validator("recent", mode="before")
    @classmethod
    def _valid_pairs(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return []
        return [
            pair
            for pair in value
            if isinstance(pair, list | tuple)
            and len(pair) == 2
            and isinstance(pair[0], int)
            and pair[1] in _STEP_VALUES
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable dict a channel stores (defaults left out, except what adapters read)."""
        rest = self.model_dump(mode="json", exclude_defaults=True)
        if self.draft is not None:
            rest["draft"] = {"flow": self.draft.flow, **rest.get("draft", {})}
        return {"v": self.v, "step": self.step.value, "lang": self.lang, "screen": self.screen, **rest}


_STEP_VALUES = frozenset(s.value for s in Step)


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """The first shape had the same keys, untyped; a draft without ``flow`` (or an unknown one) was a
    draft-document opinion."""
    draft = data.get("draft")
    if isinstance(draft, dict):
        if draft.get("flow") not in ("draft", "mood"):
            data["draft"] = {**draft, "flow": "draft"}
    elif draft is not None:
        data.pop("draft")
    data["v"] = 2
    return data


#: version → the function that upgrades a state of that version to the next one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_v1}


def load_state(stored: Mapping[str, Any] | None) -> CitizenState:
    """The typed state of a stored dict of any version (a new state for None or an unreadable one)."""
    data = dict(stored or {})
    version = data.get("v", 1)
    while isinstance(version, int) and version in MIGRATIONS:
        data = MIGRATIONS[version](data)
        version = data["v"]
    try:
        return CitizenState.model_validate(data)
    except ValidationError as exc:
        # never log the state itself: it holds what the person typed
        log.warning("unreadable dialog state, starting over", extra={"errors": exc.error_count()})
        return _salvage(data)


def _salvage(data: dict[str, Any]) -> CitizenState:
    """What can be kept of an unreadable state: language and screen number; the entry is lost."""
    lang = data.get("lang")
    screen = data.get("screen")
    return CitizenState(
        lang=lang if isinstance(lang, str) and lang else "vi",
        screen=screen if isinstance(screen, int) else 0,
    )
