"""Public mood ("tình hình Nhân dân"): concerns, aspirations and recommendations about the congresses.

Rules, all from the plan data (congresses with ``held_at``, reporting periods with ``phase`` and
``due_at``):

* **Reporting window of a congress** (:func:`mood_window`): it opens at the ``starts_at`` of the
  congress's first reporting period (by due date; no ``starts_at`` means open from the moment the plan
  is loaded) and closes at the ``due_at`` of its last reporting period: after the last report's
  deadline nothing said could reach any report. A congress is offered to citizens while its window is
  *open* (``opens_at <= now < closes_at``) or *upcoming* (``now < opens_at``); a congress without
  reporting periods is never offered.
* **Period of an entry** (:func:`assign_period`): an entry made before the instant the congress is
  held (``held_at``; a plan date ``YYYY-MM-DD`` means 00:00 local time, Asia/Ho_Chi_Minh, on that day)
  falls into the congress's ``before`` period; an entry made at that instant or later (the congress
  days themselves count as "after") falls into its ``after`` period. ``single`` periods take entries
  of any time. When several periods qualify, the first one not yet due takes the entry, else the last
  one. A congress without ``held_at`` sends every entry to its first period not yet due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core import errors
from core.domain import (
    Channel,
    Congress,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    Receipt,
    ReportingPeriod,
    Source,
)
from core.feedback import (
    SOURCE_OF_CHANNEL,
    clean_text,
    previous_receipt,
    profile_snapshot,
    require_consent,
    unique_receipt_code,
)
from core.i18n import t
from core.near_duplicates import OpinionText, count_by, group_near_duplicates
from core.ports import UnitOfWork
from core.text import fold_for_matching
from core.theme_edits import StoredTheme, ThemeView, current_themes, mood_scope
from core.themes import SentenceEmbedder

MOOD_KINDS = (FeedbackKind.CONCERN, FeedbackKind.ASPIRATION, FeedbackKind.RECOMMENDATION)
SUMMARY_DIMENSIONS = ("congress", "kind", "topic", "category", "organisation", "locality")
UNKNOWN = "unknown"
# Reference list that names the codes of each dimension (congress and kind are named from the plan
# and the catalog).
DIMENSION_LISTS = {
    "topic": "topics",
    "category": "categories",
    "organisation": "organisations",
    "locality": "localities",
}


class WindowState(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class MoodWindow:
    """When citizens may send mood entries about one congress (see the module docstring)."""

    congress: Congress
    periods: tuple[ReportingPeriod, ...]
    opens_at: datetime | None
    closes_at: datetime

    def state(self, now: datetime) -> WindowState:
        if now >= self.closes_at:
            return WindowState.CLOSED
        if self.opens_at is not None and now < self.opens_at:
            return WindowState.UPCOMING
        return WindowState.OPEN

    def accepts(self, now: datetime) -> bool:
        """Open or upcoming: the congress is offered and entries about it are taken."""
        return self.state(now) is not WindowState.CLOSED


def mood_window(congress: Congress, periods: Sequence[ReportingPeriod]) -> MoodWindow | None:
    """The reporting window of ``congress`` from its periods; None when it has no period."""
    own = tuple(sorted((p for p in periods if p.congress_id == congress.id), key=lambda p: (p.due_at, p.id)))
    if not own:
        return None
    return MoodWindow(congress, own, own[0].starts_at, own[-1].due_at)


def congresses_for_mood(
    congresses: Sequence[Congress], periods: Sequence[ReportingPeriod], now: datetime
) -> list[MoodWindow]:
    """The windows of the congresses a citizen may send entries about now, in plan order."""
    windows = (mood_window(c, periods) for c in congresses)
    return [w for w in windows if w is not None and w.accepts(now)]


def assign_period(
    congress: Congress, periods: Sequence[ReportingPeriod], at: datetime
) -> ReportingPeriod | None:
    """The reporting period of ``congress`` an entry made at ``at`` falls into (module docstring)."""
    if at.tzinfo is None:
        raise ValueError("assign_period needs an aware datetime")
    phase = None if congress.held_on is None else ("before" if at < congress.held_on else "after")
    candidates = sorted(
        (
            p
            for p in periods
            if p.congress_id == congress.id and (p.phase == "single" or phase is None or p.phase == phase)
        ),
        key=lambda p: (p.due_at, p.id),
    )
    if not candidates:
        return None
    return next((p for p in candidates if at < p.due_at), candidates[-1])


async def submit_mood_entry(
    *,
    uow: UnitOfWork,
    respondent_id: int,
    congress_id: int,
    kind: FeedbackKind,
    topic: str | None,
    text: str,
    channel: Channel,
    now: datetime,
    max_length: int,
    client_ref: str | None = None,
) -> Receipt:
    """Store one concern / aspiration / recommendation, dated and tied to its congress and period.

    A repeated ``client_ref`` returns the first receipt.
    """
    if kind not in MOOD_KINDS:
        raise errors.NotFound(what="kind", code=str(kind))
    respondent = await require_consent(uow, respondent_id)
    earlier = await previous_receipt(uow=uow, respondent_id=respondent_id, client_ref=client_ref)
    if earlier is not None:
        return earlier
    congress = await uow.plan.get_congress(congress_id)
    if congress is None:
        raise errors.CongressNotFound(congress_id=congress_id)
    periods = await uow.plan.list_periods(congress_id)
    window = mood_window(congress, periods)
    if window is None or not window.accepts(now):
        raise errors.CongressClosed(name=congress.name_vi)
    period = assign_period(congress, periods, now)
    if period is None:
        raise errors.NoPeriodForEntry(name=congress.name_vi)
    if topic is not None and await uow.reference.get("topics", topic) is None:
        raise errors.NotFound(what="topics", code=topic)
    cleaned = clean_text(text=text, max_length=max_length, required=True)
    entry = Feedback(
        id=None,
        receipt_code=await unique_receipt_code(uow),
        kind=kind,
        respondent_id=respondent_id,
        text=cleaned,
        text_folded=fold_for_matching(cleaned),
        channel=channel,
        source=SOURCE_OF_CHANNEL.get(channel, Source.BOT),
        created_at=now,
        congress_id=congress.id,
        period_id=period.id,
        topic=topic,
        profile=profile_snapshot(respondent),
        client_ref=client_ref,
    )
    await uow.feedback.add(entry)
    await uow.commit()
    return Receipt(entry.receipt_code, now)


# --------------------------------------------------------------------------- staff side


@dataclass(frozen=True)
class MoodGroup:
    """Near-identical entries of one kind: a representative text, how many, which receipts."""

    kind: FeedbackKind
    representative: str
    count: int
    receipt_codes: tuple[str, ...]


@dataclass(frozen=True)
class MoodTopicThemes:
    """The themes of one topic's entries (every kind together); ``topic`` is ``unknown`` for no topic."""

    topic: str
    themes: list[ThemeView]


@dataclass
class MoodSummary:
    """What was said in one reporting period: counts by dimension and near-identical groups.

    ``counts[dimension][code]`` counts the active entries; every dimension's counts add up to
    ``total``. A missing value (an anonymous respondent's category, no topic) counts as ``unknown``.
    ``labels[dimension][code]`` names the codes in the summary's language.
    """

    period: ReportingPeriod
    congress: Congress
    total: int
    withdrawn: int
    first_at: datetime | None
    last_at: datetime | None
    counts: dict[str, dict[str, int]]
    labels: dict[str, dict[str, str]]
    groups: list[MoodGroup] = field(default_factory=list)
    entries: list[Feedback] = field(default_factory=list)
    themes: list[MoodTopicThemes] = field(default_factory=list)
    hidden: int = 0  # entries hidden by moderation: in no figure above, counted apart

    def label(self, dimension: str, code: str) -> str:
        return self.labels.get(dimension, {}).get(code, code)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (codes, names, counts and groups; no personal data, no respondent ids)."""
        return {
            "period": {
                "code": self.period.code,
                "phase": self.period.phase,
                "title_vi": self.period.title_vi,
                "title_en": self.period.title_en,
                "due_at": self.period.due_at.isoformat(),
            },
            "congress": {"code": self.congress.code, "name_vi": self.congress.name_vi},
            "total": self.total,
            "withdrawn": self.withdrawn,
            "hidden": self.hidden,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
            "counts": {
                dim: [{"code": code, "name": self.label(dim, code), "count": n} for code, n in values.items()]
                for dim, values in self.counts.items()
            },
            "groups": [
                {
                    "kind": g.kind.value,
                    "representative": g.representative,
                    "count": g.count,
                    "receipt_codes": list(g.receipt_codes),
                }
                for g in self.groups
            ],
            "themes": [
                {
                    "topic": block.topic,
                    "name": self.label("topic", block.topic),
                    "themes": [theme.as_json() for theme in block.themes],
                }
                for block in self.themes
            ],
        }


async def find_period(*, uow: UnitOfWork, period_code: str) -> tuple[ReportingPeriod, Congress]:
    """The reporting period with this code and its congress."""
    period = next((p for p in await uow.plan.list_periods() if p.code == period_code), None)
    if period is None:
        raise errors.ReportingPeriodNotFound(period=period_code)
    congress = await uow.plan.get_congress(period.congress_id)
    if congress is None:
        raise errors.CongressNotFound(congress_id=period.congress_id)
    return period, congress


def mood_row(entry: Feedback) -> dict[str, object]:
    """The summary dimensions of one entry."""
    return {
        "kind": entry.kind,
        "topic": entry.topic,
        "category": entry.profile.category,
        "organisation": entry.profile.organisation,
        "locality": entry.profile.locality,
    }


def summarise_entries(
    entries: Sequence[Feedback],
    *,
    period: ReportingPeriod,
    congress: Congress,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    threshold: float = 0.7,
    theme_edits: Mapping[str, Sequence[StoredTheme]] | None = None,
    embedder: SentenceEmbedder | None = None,
) -> MoodSummary:
    """Count the active entries of a period by dimension, group near-identical ones per kind, and find
    the themes of every topic (``theme_edits``: the staff's stored themes by scope, core.theme_edits)."""
    mood = [e for e in entries if e.kind in MOOD_KINDS and e.period_id == period.id]
    active = [e for e in mood if e.status is FeedbackStatus.ACTIVE]
    rows = [{"congress": congress.code, **mood_row(e)} for e in active]
    counts = {dim: count_by(rows, dim) for dim in SUMMARY_DIMENSIONS}
    groups: list[MoodGroup] = []
    for kind in MOOD_KINDS:
        of_kind = [e for e in active if e.kind is kind]
        items = [OpinionText(e.receipt_code, e.text) for e in of_kind]
        for group in group_near_duplicates(items, threshold=threshold):
            groups.append(MoodGroup(kind, group.representative, group.count, group.keys))
    times = [e.created_at for e in active]
    themes = [
        MoodTopicThemes(
            topic or UNKNOWN,
            current_themes(items, (theme_edits or {}).get(mood_scope(period.id, topic), ()), embedder),
        )
        for topic, items in topic_items(active).items()
    ]
    return MoodSummary(
        period=period,
        congress=congress,
        total=len(active),
        withdrawn=len(mood) - len(active),
        first_at=min(times) if times else None,
        last_at=max(times) if times else None,
        counts=counts,
        labels={dim: dict(names) for dim, names in (labels or {}).items()},
        groups=groups,
        entries=sorted(active, key=lambda e: (e.created_at, e.id or 0)),
        themes=themes,
    )


def topic_items(entries: Sequence[Feedback]) -> dict[str | None, list[OpinionText]]:
    """The texts of active mood entries by topic (in first-seen order), keyed by receipt code."""
    out: dict[str | None, list[OpinionText]] = {}
    for e in entries:
        out.setdefault(e.topic, []).append(OpinionText(e.receipt_code, e.text))
    return out


async def summarise_mood_period(
    *,
    uow: UnitOfWork,
    period_code: str,
    language: str = "vi",
    threshold: float = 0.7,
    theme_edits: Mapping[str, Sequence[StoredTheme]] | None = None,
    embedder: SentenceEmbedder | None = None,
) -> MoodSummary:
    """Everything said in one reporting period, counted, grouped and in themes (read-only: nothing
    committed); ``theme_edits`` and ``embedder`` as for :func:`summarise_entries`."""
    period, congress = await find_period(uow=uow, period_code=period_code)
    entries = await uow.feedback.list_by_period(period.id)
    labels: dict[str, dict[str, str]] = {
        "congress": {congress.code: congress.name(language)},
        "kind": {k.value: t(f"kind.{k.value}", language) for k in MOOD_KINDS},
    }
    for dim, list_name in DIMENSION_LISTS.items():
        labels[dim] = {item.code: item.name(language) for item in await uow.reference.list(list_name)}
    unknown = t("mood.summary.unknown", language)
    for names in labels.values():
        names.setdefault(UNKNOWN, unknown)
    summary = summarise_entries(
        entries,
        period=period,
        congress=congress,
        labels=labels,
        threshold=threshold,
        theme_edits=theme_edits,
        embedder=embedder,
    )
    summary.hidden = await uow.feedback.count_hidden_by_period(period.id)
    return summary
