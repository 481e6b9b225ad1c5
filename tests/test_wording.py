"""Every catalog entry through a small checker: the wording rules of docs/wording.md.

No emoji (a deny-list of the emoji blocks), one tone-mark convention (the traditional «hóa, ủy»), the
placeholders of both languages the same and well formed, the same keys in Vietnamese and English, and
the register: «Quý vị» for citizens (never «bạn»), «Quan điểm» rather than «Lập trường», «Menu» (never
«Trình đơn»).
"""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from core.i18n import LANGUAGES, LOCALES_DIR
from core.text import normalize_tone_placement

#: emoji and pictographs: the blocks they come from, and the joiners and selectors that build them
EMOJI_BLOCKS = (
    (0x1F000, 0x1FAFF),  # mahjong … symbols and pictographs extended-A (😟 🙈 👍 📝 🔒 …)
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats (✅ ✏ ✍ ✖ ❓ ⚠ ☎ …)
    (0x2B00, 0x2BFF),  # arrows used as emoji (⬅ ⬆ ⭐ …)
    (0x2190, 0x21FF),  # arrows (↩ ↪ …)
    (0x2300, 0x23FF),  # technical symbols used as emoji (⌛ ⏰ …)
    (0xFE0F, 0xFE0F),  # emoji presentation selector
    (0x200D, 0x200D),  # zero-width joiner
    (0xE0020, 0xE007F),  # tag characters (flags)
)
#: words and phrases the wording rules replace (Vietnamese catalog only)
BANNED_VI = {
    r"\bbạn\b": "citizens are addressed as «Quý vị» (docs/wording.md)",
    r"\blập trường\b": "«Quan điểm» is the plain word for agree / disagree",
    r"\btrình đơn\b": "the menu is called «Menu» everywhere",
    r"\bcó là\b": "«có phải là …»",
    r"\bhãy\b": "requests are «Vui lòng …» / «Quý vị …», not the imperative «hãy»",
}
#: staff-only files: the CLI and the staff API speak to staff, not to citizens or contacts
STAFF_FILES = frozenset({"api.po", "backup.po", "archives.po", "security.po", "staff.po"})


def _entries() -> list[tuple[str, str, str, str]]:
    """(language, file, key, text) of every catalog entry."""
    found = []
    for language in LANGUAGES:
        for path in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as fh:
                for message in read_po(fh, locale=language):
                    if message.id and message.string:
                        found.append((language, path.name, str(message.id), str(message.string)))
    return found


ENTRIES = _entries()


def emoji_in(text: str) -> list[str]:
    return [c for c in text if any(low <= ord(c) <= high for low, high in EMOJI_BLOCKS)]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_checker_catches_what_it_is_for() -> None:
    assert emoji_in("🙈 Ẩn danh") and emoji_in("✅ Gửi") and emoji_in("⬅ Quay lại") and emoji_in("😟")
    assert not emoji_in("◀ Trang trước · Trang sau ▶ — mục ▸ «Gửi»")
    assert normalize_tone_placement("Thành uỷ, văn hoá") != "Thành uỷ, văn hoá"
    assert normalize_tone_placement("Thành ủy, văn hóa, quý") == "Thành ủy, văn hóa, quý"
    with pytest.raises(ValueError):
        placeholders("{unclosed")


@pytest.mark.parametrize(
    ("language", "file", "key", "text"), ENTRIES, ids=[f"{e[0]}:{e[2]}" for e in ENTRIES]
)
def test_every_entry_follows_the_wording_rules(language: str, file: str, key: str, text: str) -> None:
    assert not emoji_in(text), f"{key}: emoji {emoji_in(text)} (docs/wording.md: no emoji)"
    nfc = unicodedata.normalize("NFC", text)
    assert text == nfc, f"{key}: not NFC"
    assert normalize_tone_placement(text) == text, f"{key}: tone marks not in the «hóa, ủy» convention"
    placeholders(text)  # well formed: every brace opens and closes a placeholder
    assert not re.search(r"\s[.,;:]", text.replace(" …", "")), f"{key}: a space before punctuation"
    if language == "vi" and file not in STAFF_FILES:
        for pattern, why in BANNED_VI.items():
            assert not re.search(pattern, text, re.IGNORECASE), f"{key}: {why}"


def test_both_languages_have_the_same_keys_files_and_placeholders() -> None:
    by_language: dict[str, dict[str, tuple[str, str]]] = {lang: {} for lang in LANGUAGES}
    for language, file, key, text in ENTRIES:
        by_language[language][key] = (file, text)
    vi, en = by_language["vi"], by_language["en"]
    assert set(vi) == set(en), sorted(set(vi) ^ set(en))
    for key in vi:
        assert vi[key][0] == en[key][0], f"{key}: in {vi[key][0]} and {en[key][0]}"
        assert placeholders(vi[key][1]) == placeholders(en[key][1]), key


def test_the_rules_are_written_down() -> None:
    wording = (Path(__file__).resolve().parent.parent / "docs" / "wording.md").read_text(encoding="utf-8")
    for rule in ("Quý vị", "đồng chí", "hóa", "ủy", "Menu", "Quan điểm", "emoji"):
        assert rule in wording, rule
