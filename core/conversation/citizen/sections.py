"""Finding one's way in a long draft: where a section sits (its path) and finding sections by what a
person types at the section step — a number ("37", "2.1.3", "Điều 37") or words ("chống ngập"),
without regard to case or diacritics."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from core.conversation.citizen.turn import Turn, back_and_menu, shorten
from core.conversation.model import Choice, Reply
from core.domain import Section
from core.ports import SectionRepository
from core.text import fold_for_search

PATH_SEPARATOR = " › "
CRUMB_CHARS = 32
_NUMBER = re.compile(r"(?:[0-9]{1,4}|[ivxlc]{1,7})(?:\.[0-9]{1,4})*")


def crumb(section: Section) -> str:
    """How an enclosing part is named in a path: its number («Phần thứ nhất», «II»), else its title."""
    return section.number or shorten(section.title, CRUMB_CHARS)


def path_label(section: Section, by_id: Mapping[int, Section]) -> str:
    """«Phần thứ nhất › II › 2.1.3. Title»: the section's label after the numbers of its parts."""
    crumbs: list[str] = []
    parent_id = section.parent_id
    while parent_id is not None and parent_id in by_id and len(crumbs) < 10:
        parent = by_id[parent_id]
        crumbs.append(crumb(parent))
        parent_id = parent.parent_id
    return PATH_SEPARATOR.join([*reversed(crumbs), section.label])


async def path_of(sections: SectionRepository, section: Section) -> str:
    """:func:`path_label` of one section, reading its parts one by one."""
    by_id: dict[int, Section] = {}
    parent_id = section.parent_id
    while parent_id is not None and parent_id not in by_id and len(by_id) < 10:
        parent = await sections.get(parent_id)
        if parent is None:
            break
        by_id[parent_id] = parent
        parent_id = parent.parent_id
    return path_label(section, by_id)


def find(sections: Sequence[Section], query: str) -> list[Section]:
    """Sections matching ``query``: by number first, then by words of the number or title, then of the
    text; each group in reading order."""
    key = fold_for_search(query)
    if not key:
        return []
    words = key.split()
    by_number: list[Section] = []
    by_title: list[Section] = []
    by_body: list[Section] = []
    for section in sections:
        number = fold_for_search(section.number or "")
        if _NUMBER.fullmatch(key) and (number == key or number.endswith(" " + key)):
            by_number.append(section)
        elif _has_words(fold_for_search(f"{section.number or ''} {section.title}"), words):
            by_title.append(section)
        elif _has_words(fold_for_search(section.body), words):
            by_body.append(section)
    return by_number + by_title + by_body


def _has_words(text: str, words: Sequence[str]) -> bool:
    """Every typed word begins a word of ``text`` ("ngap" finds "ngập", "thoat" finds "thoát")."""
    padded = f" {text}"
    return all(f" {word}" in padded for word in words)


async def type_at_sec(turn: Turn) -> None:
    """Typed text at the section step is a search for sections."""
    draft = turn.document_entry
    query = " ".join(turn.event.value.split())[:100]
    if not fold_for_search(query):
        turn.say(turn._("sec.search_empty"))
        await turn.render()
        return
    draft.query = query
    await turn.render()


async def render_results(turn: Turn, document_id: int, query: str) -> None:
    """The sections found for ``query``, each shown with its path."""
    everything = await turn.ctx.uow.sections.list_document(document_id)
    by_id = {s.id: s for s in everything}
    found = find(everything, query)
    limit = turn.ctx.settings.page_size
    rows: list[list[Choice]] = []
    if not found:
        text = turn._("sec.search_none", query=query)
    else:
        text = turn._("sec.search_found", query=query, count=len(found))
        if len(found) > limit:
            text += "\n" + turn._("sec.search_more", shown=limit)
        for section in found[:limit]:
            marker = " ▸" if section.child_count else ""
            rows.append([Choice(path_label(section, by_id) + marker, f"s:{section.id}")])
    rows.append(back_and_menu(turn))
    turn.show(Reply(text, rows, expects_text=True, input_hint=turn._("sec.search_hint")))
