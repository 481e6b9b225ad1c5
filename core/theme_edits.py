"""Staff edits of themes, applied after the automatic grouping (:func:`core.themes.group_themes`).

An edit never changes the algorithm's output; it *pins* opinions. A staffer's rename, merge, split or
move turns each theme it touches into a **stored theme** (a name chosen or kept by staff) and pins
that theme's opinions to it, by receipt code (stable across re-runs). Re-running the consolidation:

1. the automatic grouping runs as always, over the opinions active now;
2. a pinned opinion goes to its stored theme, whatever the algorithm says;
3. an opinion nobody pinned (a new one, typically) stays with its automatic theme — unless that
   theme also holds pinned opinions: then it joins the stored theme holding most of them (ties: the
   oldest stored theme), so new opinions follow the theme a staffer edited;
4. a stored theme none of whose opinions is active any more (all withdrawn) is not listed.

Edits are kept per *scope*: one document section (or the document's "whole document" opinions), or
one mood topic of a reporting period (:func:`section_scope`, :func:`mood_scope`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.near_duplicates import OpinionText
from core.themes import SentenceEmbedder, Theme, group_themes

__all__ = [
    "StoredTheme",
    "ThemeView",
    "apply_theme_edits",
    "automatic_key",
    "current_themes",
    "document_scope_prefix",
    "mood_scope",
    "period_scope_prefix",
    "section_scope",
]

MAX_THEME_OPINIONS = 5000
"""Above this many opinions in one scope no themes are computed (the clustering's n² distance matrix
would need gigabytes); the scope then lists no themes and a warning is logged."""

log = logging.getLogger(__name__)

STORED_PREFIX = "s"
AUTOMATIC_PREFIX = "a"


@dataclass(frozen=True)
class StoredTheme:
    """A theme a staffer edited: its name and the receipt codes pinned to it."""

    id: int
    name: str
    members: frozenset[str]


@dataclass(frozen=True)
class ThemeView:
    """A theme as staff see it: ``key`` names it in edits (``s<id>`` once edited, else ``a<hash>`` of
    its members), ``edited`` says whether a staffer's edit shaped it."""

    key: str
    label: str
    key_phrases: tuple[str, ...]
    count: int
    receipt_codes: tuple[str, ...]
    edited: bool
    stored_id: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "key_phrases": list(self.key_phrases),
            "count": self.count,
            "receipt_codes": list(self.receipt_codes),
            "edited": self.edited,
        }


def section_scope(document_id: int, section_id: int | None) -> str:
    """The scope of a document section's themes (``none``: opinions on the whole document)."""
    return f"{document_scope_prefix(document_id)}section:{section_id if section_id is not None else 'none'}"


def document_scope_prefix(document_id: int) -> str:
    """What the scopes of every section of a document start with."""
    return f"document:{document_id}:"


def period_scope_prefix(period_id: int) -> str:
    """What the scopes of every topic of a reporting period start with."""
    return f"period:{period_id}:"


def mood_scope(period_id: int, topic: str | None) -> str:
    """The scope of one mood topic's themes in one reporting period (``none``: no topic)."""
    return f"{period_scope_prefix(period_id)}topic:{topic if topic is not None else 'none'}"


def automatic_key(receipt_codes: Sequence[str]) -> str:
    """The key of an unedited theme: a digest of its (sorted) members, so it names one grouping."""
    digest = hashlib.sha256("\n".join(sorted(receipt_codes)).encode()).hexdigest()
    return f"{AUTOMATIC_PREFIX}{digest[:16]}"


def stored_key(stored_id: int) -> str:
    return f"{STORED_PREFIX}{stored_id}"


def apply_theme_edits(themes: Sequence[Theme], stored: Sequence[StoredTheme]) -> list[ThemeView]:
    """The automatic ``themes`` (keys = receipt codes) with the staff's ``stored`` themes applied
    (module docstring); largest first, then in the order of the automatic themes."""
    pinned = {code: s.id for s in sorted(stored, key=lambda s: s.id) for code in s.members}
    by_id = {s.id: s for s in stored}
    present = {code for theme in themes for code in theme.keys}
    members: dict[int, list[str]] = {s.id: [] for s in stored}
    phrases: dict[int, tuple[str, ...]] = {}
    views: list[tuple[int, ThemeView | int]] = []  # (position, automatic view or stored id)
    placed: set[int] = set()
    for position, theme in enumerate(themes):
        held = [pinned[code] for code in theme.keys if code in pinned]
        for code in theme.keys:
            if code in pinned:
                members[pinned[code]].append(code)
        free = [code for code in theme.keys if code not in pinned]
        if held:
            home = min(set(held), key=lambda sid: (-held.count(sid), sid))
            members[home].extend(free)
            phrases.setdefault(home, theme.key_phrases)
            for sid in dict.fromkeys(held):
                if sid not in placed:
                    placed.add(sid)
                    views.append((position, sid))
        elif free:
            view = ThemeView(
                key=automatic_key(free),
                label=theme.label,
                key_phrases=theme.key_phrases,
                count=len(free),
                receipt_codes=tuple(free),
                edited=False,
            )
            views.append((position, view))
    out: list[tuple[int, int, ThemeView]] = []
    for position, entry in views:
        if isinstance(entry, ThemeView):
            out.append((-entry.count, position, entry))
            continue
        codes = tuple(c for c in members[entry] if c in present)
        if not codes:
            continue
        view = ThemeView(
            key=stored_key(entry),
            label=by_id[entry].name,
            key_phrases=phrases.get(entry, ()),
            count=len(codes),
            receipt_codes=codes,
            edited=True,
            stored_id=entry,
        )
        out.append((-view.count, position, view))
    out.sort(key=lambda item: (item[0], item[1]))
    return [view for _, _, view in out]


def current_themes(
    items: Sequence[OpinionText],
    stored: Sequence[StoredTheme],
    embedder: SentenceEmbedder | None = None,
) -> list[ThemeView]:
    """The themes of one scope's opinions (keys = receipt codes) as staff see them now (none above
    :data:`MAX_THEME_OPINIONS` opinions); ``embedder``: the optional sentence-embedding model."""
    if len(items) > MAX_THEME_OPINIONS:
        log.warning("themes skipped: %d opinions in one scope (limit %d)", len(items), MAX_THEME_OPINIONS)
        return []
    return apply_theme_edits(group_themes(items, workers=1, embedder=embedder), stored) if items else []
