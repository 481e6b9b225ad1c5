"""Tests of core.text: stored-input normalisation and the keys used to match opinions."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import text as core_text
from core.text import (
    fold_for_matching,
    normalize_input,
    normalize_tone_placement,
    text_length,
    tokens,
    tokens_many,
)

NFD = "NFD"
ROOT = Path(__file__).resolve().parent.parent


def nfd(text: str) -> str:
    return unicodedata.normalize(NFD, text)


# --------------------------------------------------------------------------------------------------
# normalize_input
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",  # zero width space
        "\u200c",  # zero width non-joiner
        "\u200d",  # zero width joiner (outside an emoji)
        "\u2060",  # word joiner
        "\ufeff",  # BOM / zero width no-break space
        "\u202e",  # right-to-left override
        "\u202d",  # left-to-right override
        "\u2066",  # left-to-right isolate
        "\u200f",  # right-to-left mark
        "\x00",
        "\x07",
        "\x1b",
        "\x7f",
        "\x9b",
        "\ue000",  # private use
    ],
)
def test_normalize_input_removes_invisible_and_control_characters(invisible: str) -> None:
    assert normalize_input(f"Góp{invisible} ý{invisible}") == "Góp ý"
    assert normalize_input(f"{invisible}dự thảo") == "dự thảo"


def test_normalize_input_keeps_newlines_and_tabs() -> None:
    assert normalize_input("Điều 1:\n\tKhoản 1\n\tKhoản 2") == "Điều 1:\n\tKhoản 1\n\tKhoản 2"


def test_normalize_input_unifies_line_breaks_and_blank_lines() -> None:
    assert normalize_input("a\r\nb\rc") == "a\nb\nc"
    assert normalize_input("a   \nb\t \n") == "a\nb"
    assert normalize_input("a\n\n\n\n\n\nb") == "a\n\n\nb"  # 5 blank lines -> 2
    assert normalize_input("a\n \n\t\n  \n \nb") == "a\n\n\nb"  # lines of spaces count as blank
    assert normalize_input("a\n\n\nb") == "a\n\n\nb"  # 2 blank lines stay
    assert normalize_input("\n\n  Ý kiến  \n\n") == "Ý kiến"


def test_normalize_input_composes_nfd_to_nfc() -> None:
    decomposed = nfd("Đề nghị tăng cường phòng, chống tham nhũng")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    result = normalize_input(decomposed)
    assert result == "Đề nghị tăng cường phòng, chống tham nhũng"
    assert unicodedata.is_normalized("NFC", result)


def test_normalize_input_composes_across_removed_characters() -> None:
    assert normalize_input("a\u200b\u0301") == "á"


def test_normalize_input_keeps_letters_emoji_and_punctuation() -> None:
    text = "Tôi đồng ý 👍🏽! Gia đình 👨\u200d👩\u200d👧 ủng hộ (100%) — “dự thảo” ❤️…"
    assert normalize_input(text) == text
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert normalize_input(f"Cờ {scotland}") == f"Cờ {scotland}"


def test_normalize_input_keeps_the_spelling() -> None:
    # Only the stored form is cleaned: tone placement and case are the person's own.
    assert normalize_input("HOÀ BÌNH, thuỷ lợi") == "HOÀ BÌNH, thuỷ lợi"


def test_text_length_counts_nfc_characters() -> None:
    assert text_length(nfd("Hoà")) == 3
    assert text_length("Hoà") == 3
    assert text_length("👍") == 1
    assert text_length("") == 0


_REMOVED = {"Cc", "Cf", "Co", "Cs"}
_ALLOWED_FORMAT = {"\u200d"} | {chr(c) for c in range(0xE0020, 0xE0080)}  # emoji joiner, flag tags


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_normalize_input_is_idempotent_and_removes_controls(text: str) -> None:
    once = normalize_input(text)
    assert normalize_input(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\r" not in once
    for char in once:
        if char in "\n\t" or char in _ALLOWED_FORMAT:
            continue
        assert unicodedata.category(char) not in _REMOVED, repr(char)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["Hoà", "bình", "THUỶ", "lợi", "ý", "kiến", " ", "\n", "\r\n", "\u200b", "\u202e", "\t"]
        ),
        max_size=30,
    ).map("".join)
)
def test_normalize_input_is_idempotent_on_vietnamese_like_text(text: str) -> None:
    once = normalize_input(text)
    assert normalize_input(once) == once
    assert "\u200b" not in once and "\u202e" not in once


# --------------------------------------------------------------------------------------------------
# fold_for_matching
# --------------------------------------------------------------------------------------------------


def test_fold_unifies_case_punctuation_tone_placement_and_normal_form() -> None:
    variants = ["Hoà bình", "hòa bình", "HOÀ BÌNH!", nfd("hoà bình"), "  Hòa,   bình... "]
    assert {fold_for_matching(v) for v in variants} == {"hòa bình"}


@pytest.mark.parametrize(
    ("classic", "other"),
    [
        ("thủy lợi", "thuỷ lợi"),
        ("hóa đơn", "hoá đơn"),
        ("khỏe mạnh", "khoẻ mạnh"),
        ("úy ban", "uý ban"),
        ("ngụy biện", "nguỵ biện"),
        ("xòe", "xoè"),
        ("họa sĩ", "hoạ sĩ"),
        ("tòa án", "toà án"),
        ("hõa", "hoã"),
        ("lòe loẹt", "loè loẹt"),
        ("HÒA", "HOÀ"),
        ("Thủy", "ThuỶ"),
    ],
)
def test_fold_tone_placement_pairs(classic: str, other: str) -> None:
    assert fold_for_matching(classic) == fold_for_matching(other) == fold_for_matching(classic.lower())


def test_normalize_tone_placement_keeps_case_and_other_characters() -> None:
    assert normalize_tone_placement("HOÀ BÌNH, Thuỷ lợi; khoẻ!") == "HÒA BÌNH, Thủy lợi; khỏe!"
    assert normalize_tone_placement(nfd("hoà")) == "hòa"


_SYLLABLE_PARTS = st.sampled_from(
    [*"oOuUaAeEyYqQhgk ", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u031b", "\u034f"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_SYLLABLE_PARTS, max_size=12).map("".join))
def test_tone_placement_shortcut_matches_the_full_rewrite(text: str) -> None:
    """A text without a tone mark on an o/u + a/e/y pair skips the syllable rewrite: same result."""
    full = unicodedata.normalize("NFC", core_text._SYLLABLE.sub(core_text._move_tone_in_syllable, nfd(text)))
    assert normalize_tone_placement(text) == full
    assert normalize_tone_placement("o\u034fa\u0300") == unicodedata.normalize("NFC", "o\u034fa\u0300")
    assert normalize_tone_placement(nfd("chuyển đổi số")) == "chuyển đổi số"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.lists(_SYLLABLE_PARTS).map("".join))
def test_search_key_drops_every_combining_character(text: str) -> None:
    decomposed = unicodedata.normalize(NFD, text.casefold().replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    expected = core_text._WHITESPACE.sub(
        " ", core_text._LONE_DOT.sub(" ", core_text._NOT_WORD_OR_DOT.sub(" ", bare))
    ).strip()
    assert core_text.fold_for_search(text) == expected


def test_search_key_examples() -> None:
    assert core_text.fold_for_search("ĐƯỜNG 2.1.3, Chống ngập") == "duong 2.1.3 chong ngap"
    assert core_text.fold_for_search("x\u20d0y \u0627\u064c Ωμέγα hoà\u034f") == "xy ا ωμεγα hoa"


@pytest.mark.parametrize(
    "word",
    ["quý", "quỳ", "quỷ", "quỹ", "quỵ", "QUÝ", "hoàng", "khuyết", "khuya", "thuở", "hoài", "giày", "của"],
)
def test_fold_leaves_syllables_with_one_spelling_alone(word: str) -> None:
    assert fold_for_matching(word) == word.lower()


def test_fold_moves_a_misplaced_mark_in_qu_syllables_to_the_vowel() -> None:
    assert fold_for_matching("qúy") == "quý"


def test_fold_keeps_diacritics_that_change_the_meaning() -> None:
    assert fold_for_matching("hóa") != fold_for_matching("hoa")
    assert fold_for_matching("Đường") == "đường"
    assert fold_for_matching("dương") != fold_for_matching("đường")
    assert fold_for_matching("bán") != fold_for_matching("bạn")


def test_fold_removes_punctuation_symbols_and_invisible_characters() -> None:
    assert (
        fold_for_matching("Phòng,chống tham-nhũng!!! 😀 (điều_1) 100%") == "phòng chống tham nhũng điều 1 100"
    )
    assert fold_for_matching("hò\u200ba\tbình\n\nyên") == "hòa bình yên"
    assert fold_for_matching("...!!!") == ""


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_fold_is_idempotent_and_ignores_input_normalisation(text: str) -> None:
    once = fold_for_matching(text)
    assert fold_for_matching(once) == once
    assert fold_for_matching(normalize_input(text)) == once
    assert once == once.strip() and "  " not in once


# --------------------------------------------------------------------------------------------------
# tokens
# --------------------------------------------------------------------------------------------------


def test_tokens_segments_compound_words() -> None:
    assert tokens("Đề nghị tăng cường công tác phòng, chống tham nhũng, lãng phí") == [
        "đề_nghị",
        "tăng_cường",
        "công_tác",
        "phòng_chống",
        "tham_nhũng",
        "lãng_phí",
    ]


def test_tokens_are_the_same_for_spelling_variants() -> None:
    assert tokens("HOÀ BÌNH và THUỶ LỢI!") == tokens(nfd("hòa bình và thủy lợi"))


def test_tokens_of_empty_text() -> None:
    assert tokens("") == []
    assert tokens(" ?! \u200b ") == []


TEXTS = ["Hoà bình", "", "Cải cách hành chính, giảm thủ tục", "thuỷ lợi nội đồng"] * 3


def test_tokens_many_matches_tokens() -> None:
    expected = [tokens(t) for t in TEXTS]
    assert tokens_many(TEXTS) == expected
    assert tokens_many(TEXTS, workers=None) == expected
    assert tokens_many([fold_for_matching(t) for t in TEXTS], folded=True) == expected


def test_tokens_many_in_spawned_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_text, "_can_fork", lambda: False)
    core_text._segment.cache_clear()
    assert tokens_many(TEXTS, workers=2) == [tokens(t) for t in TEXTS]


def test_tokens_many_in_forked_worker_processes() -> None:
    """Forking needs a process without threads: run it in a fresh interpreter."""
    code = (
        "import json, core.text as ct\n"
        "assert ct._can_fork(), 'fork unavailable in a fresh interpreter'\n"
        f"texts = {TEXTS!r}\n"
        "print(json.dumps(ct.tokens_many(texts, workers=2) == [ct.tokens(t) for t in texts]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "true"


def test_importing_core_text_does_not_load_underthesea() -> None:
    code = "import sys, core.text; print('underthesea' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------------------------------
# strip_diacritics / has_diacritics: the second comparison form, for texts typed without Telex/VNI
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Đề nghị tăng cường phòng, chống tham nhũng", "De nghi tang cuong phong, chong tham nhung"),
        ("ƯU TIÊN ĐẦU TƯ Ở VÙNG SÂU", "UU TIEN DAU TU O VUNG SAU"),
        (unicodedata.normalize(NFD, "thuỷ lợi, hoá chất"), "thuy loi, hoa chat"),
        ("plain ascii 123", "plain ascii 123"),
    ],
)
def test_strip_diacritics(text: str, plain: str) -> None:
    assert core_text.strip_diacritics(text) == plain
    assert core_text.strip_diacritics(plain) == plain


def test_has_diacritics() -> None:
    assert core_text.has_diacritics("Hòa bình")
    assert core_text.has_diacritics("đi")
    assert core_text.has_diacritics(unicodedata.normalize(NFD, "hóa"))
    assert not core_text.has_diacritics("Hoa binh 2026!")
    assert not core_text.has_diacritics("")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_strip_diacritics_is_idempotent(text: str) -> None:
    plain = core_text.strip_diacritics(text)
    assert core_text.strip_diacritics(plain) == plain
    assert not core_text.has_diacritics(plain)
