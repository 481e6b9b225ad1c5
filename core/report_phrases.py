"""How the two Word reports word what people said: the reporting verb, the share, and the themes.

Official syntheses do not write "cho rằng" before everything. A wording that opens on its own reporting
verb ("Đề nghị …", "Tôi kiến nghị …", "Mong …") is reported with that verb ("Nhiều ý kiến đề nghị …",
not "… cho rằng đề nghị …"); otherwise the verb follows what the opinion is: in the mood report its
kind (a concern is "phản ánh", an aspiration "mong muốn", a recommendation "kiến nghị"); in the
synthesis report its stance (against the draft: "không tán thành, cho rằng"; for it: "tán thành, cho
rằng"; otherwise "cho rằng"). What should be done ("Cần …", "Nên …", "Phải …") is reported with "cho
rằng" whatever the kind ("Nhiều ý kiến cho rằng cần …"), unless the opinion is against the draft.

A theme (:class:`core.theme_edits.ThemeView`, staff name or key phrases) is reported under its own
heading with its count and its representative wordings: the near-duplicate groups inside it, largest
first, each counted only with its members inside the theme (a staffer's move may have split a group).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.admin_document import Block, Heading, Issuer, Paragraph, indirect, share_word
from core.i18n import t
from core.text import normalize_input
from core.theme_edits import ThemeView

__all__ = [
    "ThemeBlocks",
    "Wording",
    "theme_blocks",
    "phrase",
    "reporting_verb",
    "theme_title",
    "theme_wordings",
    "reported_themes",
]

# The verbs an opinion may open with, as the report writes them (catalog key after "report.verb.").
_LEADING_VERBS: tuple[tuple[str, str], ...] = (
    ("đề nghị", "de_nghi"),
    ("kiến nghị", "kien_nghi"),
    ("đề xuất", "de_xuat"),
    ("mong muốn", "mong_muon"),
    ("mong", "mong_muon"),
    ("yêu cầu", "yeu_cau"),
    ("cho rằng", "cho_rang"),
    ("nhất trí", "nhat_tri"),
    ("tán thành", "tan_thanh"),
    ("đồng tình", "dong_tinh"),
    ("băn khoăn", "ban_khoan"),
    ("lo lắng", "lo_lang"),
    ("lo ngại", "lo_ngai"),
    ("phản ánh", "phan_anh"),
)
# Who may stand before the verb ("Tôi đề nghị", "Chúng tôi kính đề nghị", "Xin kiến nghị").
_SPEAKERS = r"(?:(?:tôi|chúng tôi|chúng em|em|cháu|nhân dân|cử tri|xin|kính|rất|thiết tha)\s+)*"
_VERB_PATTERN = re.compile(
    rf"^{_SPEAKERS}(?P<verb>{'|'.join(re.escape(v) for v, _ in _LEADING_VERBS)})(?=[\s:,.;–-]|$)[\s:,;–-]*",
    re.IGNORECASE,
)
_VERB_KEYS = dict(_LEADING_VERBS)

# The verb by what the opinion is, when it does not say it itself.
_VERB_OF_HINT = {
    "concern": "phan_anh",
    "aspiration": "mong_muon",
    "recommendation": "kien_nghi",
    "disagree": "khong_tan_thanh",
    "agree": "tan_thanh_cho_rang",
}
DEFAULT_VERB = "cho_rang"
_MODAL = re.compile(r"^(?:cần|nên|phải)(?=\s)", re.IGNORECASE)


def reporting_verb(text: str, hint: str | None = None) -> tuple[str, str]:
    """The catalog key of the reporting verb for ``text`` and the text to report after it (indirect
    speech, the opinion's own leading verb removed); ``hint`` is the opinion's kind or stance."""
    body = indirect(normalize_input(text))
    match = _VERB_PATTERN.match(body)
    if match:
        rest = body[match.end() :].strip()
        if rest:
            return _VERB_KEYS[match.group("verb").lower()], indirect(rest)
    if _MODAL.match(body) and hint != "disagree":  # "cần …", "nên …": what should be, "cho rằng"
        return DEFAULT_VERB, body
    return _VERB_OF_HINT.get(hint or "", DEFAULT_VERB), body


@dataclass(frozen=True)
class Wording:
    """One way an idea was written: a near-duplicate group's representative text, how many opinions
    wrote it, their receipt codes and a hint of what they are (the group's stance or kind)."""

    representative: str
    count: int
    receipt_codes: tuple[str, ...]
    hint: str | None = None


def phrase(wording: Wording, total: int, issuer: Issuer, language: str = "vi") -> str:
    """One wording as official syntheses write it: "Nhiều ý kiến (5/20 ý kiến) đề nghị …"."""
    word = share_word(wording.count, total, issuer)
    verb, text = reporting_verb(wording.representative, wording.hint)
    return t(
        f"report.phrase.{word}",
        language,
        count=wording.count,
        total=total,
        verb=t(f"report.verb.{verb}", language),
        text=text,
    )


def reported_themes(themes: Sequence[ThemeView], wordings: Sequence[Wording]) -> list[ThemeView]:
    """The themes worth reporting: two opinions or more (a theme of one is a single opinion), and
    either named by staff or gathering two different wordings (a theme that is one group of copies
    says nothing the group does not)."""
    return [
        theme
        for theme in themes
        if theme.count >= 2 and (theme.edited or len(theme_wordings(theme, wordings)) >= 2)
    ]


def theme_wordings(theme: ThemeView, wordings: Sequence[Wording]) -> list[Wording]:
    """The wordings inside ``theme``, each with only its members in the theme, largest first."""
    members = set(theme.receipt_codes)
    inside: list[Wording] = []
    for wording in wordings:
        codes = tuple(code for code in wording.receipt_codes if code in members)
        if codes:
            inside.append(Wording(wording.representative, len(codes), codes, wording.hint))
    inside.sort(key=lambda w: -w.count)
    return inside


def theme_title(theme: ThemeView, language: str = "vi") -> str:
    """A staff-named theme as "Về <name>", an automatic one by its key phrases."""
    if theme.edited:
        return t("report.theme.named", language, name=indirect(normalize_input(theme.label)))
    if theme.label:
        return t("report.theme.keywords", language, label=normalize_input(theme.label))
    return t("report.theme.unnamed", language)


LETTERS = "abcdeghiklmnopqrstuvxy"  # "a)", "b)" … as Vietnamese documents letter their points


@dataclass(frozen=True)
class ThemeBlocks:
    """The body text of some themes, the themes it shows and the wordings it leaves to the caller."""

    blocks: tuple[Block, ...]
    shown: tuple[ThemeView, ...]
    remaining: tuple[Wording, ...]  # the wordings (or their parts) outside every shown theme


def theme_blocks(
    themes: Sequence[ThemeView],
    wordings: Sequence[Wording],
    *,
    total: int,
    issuer: Issuer,
    language: str = "vi",
    max_themes: int = 8,
    max_wordings: int = 3,
) -> ThemeBlocks:
    """Each of the first ``max_themes`` themes as a lettered italic heading ("a) Về nhà ở xã hội cho
    công nhân (5/20 ý kiến)") followed by its ``max_wordings`` largest wordings phrased by their share
    of ``total``, and a line counting the theme's other opinions (they are in the appendix)."""
    blocks: list[Block] = []
    shown = tuple(themes[:max_themes])
    for letter, theme in zip(LETTERS, shown, strict=False):
        title = theme_title(theme, language)
        blocks.append(
            Heading(
                t(
                    "report.theme.heading",
                    language,
                    letter=letter,
                    title=title,
                    count=theme.count,
                    total=total,
                ),
                italic=True,
            )
        )
        inside = theme_wordings(theme, wordings)
        for wording in inside[:max_wordings]:
            blocks.append(Paragraph("- " + phrase(wording, total, issuer, language)))
        rest = sum(w.count for w in inside[max_wordings:])
        if rest:
            blocks.append(Paragraph(t("report.theme.rest", language, count=rest), italic=True))
    themed = {code for theme in shown for code in theme.receipt_codes}
    remaining = tuple(
        Wording(w.representative, len(codes), codes, w.hint)
        for w in wordings
        if (codes := tuple(c for c in w.receipt_codes if c not in themed))
    )
    return ThemeBlocks(tuple(blocks), shown, remaining)
