"""Text normalisation for people's messages and the keys used to compare opinions.

Two different operations live here and must not be confused:

* :func:`normalize_input` cleans what a person typed before it is stored: invisible and control
  characters go, line breaks are unified, but the wording, letters, emoji and punctuation stay
  exactly as written.
* :func:`fold_for_matching` and :func:`tokens` build *comparison keys* only: lower case, tone marks
  placed consistently, punctuation dropped. Those keys are never shown to anybody.

Vietnamese diacritics are kept in the keys on purpose: "hóa" (to become) and "hoa" (flower) are
different words. Only the *placement* of the tone mark inside the vowel pairs ``oa``/``oe``/``uy``
is unified, because both spellings ("hoà" / "hòa", "thuỷ" / "thủy") are in everyday use.

underthesea is heavy to import (about half a second), so it is loaded on the first call of
:func:`tokens`, never when this module is imported.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache

__all__ = [
    "fold_for_matching",
    "fold_normalized",
    "has_diacritics",
    "normalize_input",
    "normalize_tone_placement",
    "strip_diacritics",
    "text_length",
    "tokens",
    "tokens_many",
    "PARALLEL_FROM",
]

# --------------------------------------------------------------------------------------------------
# normalize_input
# --------------------------------------------------------------------------------------------------

# Line separators that are turned into "\n" before anything else. "\r\n" must come first.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_TOO_MANY_BLANK_LINES = re.compile(r"\n{4,}")  # 3+ blank lines = 4+ consecutive line breaks

_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
_KEPT_CONTROLS = frozenset({"\n", "\t"})
_ZWJ = "\u200d"
_VS16 = "\ufe0f"
_BLACK_FLAG = "\U0001f3f4"
_TAG_FIRST, _TAG_LAST = 0xE0020, 0xE007F


def _is_emoji_part(char: str) -> bool:
    """True for characters that may surround a zero-width joiner inside an emoji sequence."""
    return (
        char == _VS16
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin tone modifiers
        or unicodedata.category(char) == "So"
    )


def _remove_invisible(text: str) -> str:
    """Drop control, format, private-use and surrogate characters, except "\\n" and "\\t".

    Two format characters are kept where they are part of an emoji, so that emoji stay intact:
    the zero-width joiner between two emoji ("👨‍👩‍👧") and the tag characters of subdivision
    flags ("🏴 + tags").
    """
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text  # fast path: no character of categories C* or Z* other than the kept ones
    out: list[str] = []
    last = len(text) - 1
    for i, char in enumerate(text):
        if char in _KEPT_CONTROLS or unicodedata.category(char) not in _REMOVED_CATEGORIES:
            out.append(char)
        elif char == _ZWJ:
            if out and i < last and _is_emoji_part(out[-1]) and _is_emoji_part(text[i + 1]):
                out.append(char)
        elif _TAG_FIRST <= ord(char) <= _TAG_LAST:
            if out and (out[-1] == _BLACK_FLAG or _TAG_FIRST <= ord(out[-1]) <= _TAG_LAST):
                out.append(char)
    return "".join(out)


def normalize_input(text: str) -> str:
    """Return the form of a person's message that is stored.

    * Unicode NFC;
    * "\\r\\n", "\\r" and the other line separators (VT, FF, NEL, U+2028, U+2029) become "\\n";
    * control, format, private-use and surrogate characters (categories Cc, Cf, Co, Cs) are removed,
      except "\\n" and "\\t" - this covers zero-width spaces/joiners, the BOM and bidi overrides.
      A zero-width joiner inside an emoji sequence and the tags of flag emoji are kept;
    * trailing whitespace of every line is stripped, 3 or more blank lines become 2;
    * leading and trailing whitespace of the whole text is stripped.

    Letters (with all their diacritics), digits, emoji and punctuation are never changed.
    The function is idempotent.
    """
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _remove_invisible(text)
    # Removing characters may bring a base letter next to a combining mark: compose again.
    text = unicodedata.normalize("NFC", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _TOO_MANY_BLANK_LINES.sub("\n\n\n", text)
    return text.strip()


def text_length(text: str) -> int:
    """Length of ``text`` in characters after NFC: the number every length limit is checked against."""
    return len(unicodedata.normalize("NFC", text))


# --------------------------------------------------------------------------------------------------
# Tone mark placement
# --------------------------------------------------------------------------------------------------

# The five tone marks as combining characters (NFD): huyền, sắc, ngã, hỏi, nặng.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = frozenset("aeiouy")
# Vowel pairs whose tone placement differs between the two spelling conventions when nothing
# follows them: "hòa, khỏe, thủy" versus "hoà, khoẻ, thuỷ". Keys use the first form (mark on the
# first vowel of the pair): it is the more common one and the one underthesea's normaliser produces.
_GLIDE_PAIRS = frozenset({"oa", "oe", "uy"})
# A whole run of Latin letters (NFD: each base letter followed by its combining marks, đ/Đ included)
# that ends with o/u followed by a/e/y: the only syllables whose tone mark may have to move.
_LETTER = r"[A-Za-z\u0110\u0111\u0300-\u036f]"
_SYLLABLE = re.compile(
    rf"(?<!{_LETTER})(?:[A-Za-z\u0110\u0111][\u0300-\u036f]*)*"
    rf"[OoUu][\u0300-\u036f]*[AaEeYy][\u0300-\u036f]*(?!{_LETTER})"
)
# An o/u followed by a/e/y with a tone mark on either of the two: a syllable is only ever changed when
# the last two letters of its match are such a pair (and a text without one is left as it is, in NFC).
_TONE = "[\u0300\u0301\u0303\u0309\u0323]"
_TONED_PAIR = re.compile(
    rf"[OoUu][\u0300-\u036f]*?{_TONE}[\u0300-\u036f]*[AaEeYy]|[OoUu][\u0300-\u036f]*[AaEeYy][\u0300-\u036f]*?{_TONE}"
)


def _move_tone_in_syllable(match: re.Match[str]) -> str:
    """Put the tone mark of one NFD syllable ending in oa/oe/uy on the first vowel of the pair."""
    syllable = match.group(0)
    letters: list[list[str]] = []  # [base, mark, mark, ...]
    for char in syllable:
        if unicodedata.combining(char):
            letters[-1].append(char)
        else:
            letters.append([char])
    if len(letters) < 2:
        return syllable
    bases = "".join(letter[0] for letter in letters).lower()
    if bases[-2:] not in _GLIDE_PAIRS:
        return syllable
    first, second = letters[-2], letters[-1]
    # Only plain o/u and a/e/y: "ươ", "ôa" and the like are not the pairs in question.
    if any(mark not in _TONE_MARKS for mark in first[1:] + second[1:]):
        return syllable
    # "qu" + "y" ("quý", "quỳ"): the u belongs to the onset, the vowel is the y alone - the mark
    # stays (or goes) on the y. The same holds for "gi" + vowel, which never ends in these pairs.
    onset_end = len(bases) - 2
    if bases[-2:] == "uy" and onset_end > 0 and bases[onset_end - 1] == "q":
        tones = [m for m in first[1:] if m in _TONE_MARKS]
        if not tones or any(m in _TONE_MARKS for m in second[1:]):
            return syllable
        first[1:] = [m for m in first[1:] if m not in _TONE_MARKS]
        second.extend(tones)
    else:
        # The pair must be the whole vowel nucleus: "khuya", "ngoeo" or "hoai" do not end in a pair,
        # and a vowel before the pair ("uoa") means this is not a Vietnamese syllable.
        if any(base in _VOWELS for base in bases[:onset_end]):
            return syllable
        tones = [m for m in second[1:] if m in _TONE_MARKS]
        if not tones or any(m in _TONE_MARKS for m in first[1:]):
            return syllable  # nothing to move, or two tone marks: not a spelling we can fix
        second[1:] = [m for m in second[1:] if m not in _TONE_MARKS]
        first.extend(tones)
    return "".join("".join(letter) for letter in letters)


def normalize_tone_placement(text: str) -> str:
    """Unify where the tone mark sits in syllables ending with the vowel pairs oa, oe, uy.

    Both "hoà" and "hòa", "khoẻ" and "khỏe", "thuỷ" and "thủy", "uý" and "úy" are in use; this
    function rewrites every such syllable to the form with the mark on the first vowel of the pair
    ("hòa", "khỏe", "thủy", "úy"), in upper and lower case alike. Syllables with a final consonant
    ("hoàng", "khuyết") have a single accepted spelling and are left alone, as are syllables whose
    "u" belongs to a "qu" onset ("quý", "quỳ" - a stray "qúy" becomes "quý").
    Returns NFC text.
    """
    decomposed = unicodedata.normalize("NFD", text)
    if _TONED_PAIR.search(decomposed) is None:
        return unicodedata.normalize("NFC", decomposed)  # no mark that could move: most texts
    return unicodedata.normalize("NFC", _SYLLABLE.sub(_move_tone_in_syllable, decomposed))


# --------------------------------------------------------------------------------------------------
# Matching keys
# --------------------------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")


# Everything but letters, digits and whitespace (the underscore is punctuation here).
_NOT_WORD = re.compile(r"[^\w\s]|_")


def _replace_non_word(match: re.Match[str]) -> str:
    """Punctuation and symbols become a space, invisible characters disappear, and a combining mark
    is kept only when it sits on a letter, a digit or another mark (NFC leaves a few uncomposed)."""
    char = match.group()
    category = unicodedata.category(char)
    if category[0] == "C":
        return ""  # "hò\u200ba" folds like "hòa"
    if category[0] == "M":
        # Find the base character under this run of marks.
        string, position = match.string, match.start() - 1
        while position >= 0 and unicodedata.category(string[position])[0] == "M":
            position -= 1
        if position >= 0 and unicodedata.category(string[position])[0] in "LN":
            return char
    return " "


def fold_for_matching(text: str) -> str:
    """Return the key used to decide whether two opinions say the same thing.

    :func:`normalize_input` first (NFC, invisible characters removed), then case folded, tone marks
    of oa/oe/uy placed on the first vowel (see :func:`normalize_tone_placement`), punctuation and
    symbols (emoji included) replaced by spaces, whitespace collapsed to single spaces and stripped.
    Diacritics and "đ" are kept: "hóa" and "hoa" give different keys.
    ``fold_for_matching`` is idempotent, and a text and its stored form have the same key.
    """
    return fold_normalized(normalize_input(text))  # the key of a text and of its stored form are the same


def fold_normalized(text: str) -> str:
    """:func:`fold_for_matching` of a text that :func:`normalize_input` returned (which is idempotent):
    the same key without normalising the text again."""
    text = _NOT_WORD.sub(_replace_non_word, text.casefold())
    text = normalize_tone_placement(text)
    return _WHITESPACE.sub(" ", text).strip()


_COMBINING_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def strip_diacritics(text: str) -> str:
    """Return ``text`` as typed on a keyboard without Vietnamese input (Telex/VNI off): every
    combining diacritical mark (the Unicode "Combining Diacritical Marks" blocks) removed (tone marks, breve, circumflex, horn) and "đ" written "d". Returns NFC.

    This is a *second* comparison form, for texts that lost their diacritics: the matching key of
    :func:`fold_for_matching` keeps them, and two texts that differ only by diacritics ("hóa" /
    "hoa") must never be treated as identical because of this function alone.

    >>> strip_diacritics("Đề nghị tăng cường phòng, chống tham nhũng")
    'De nghi tang cuong phong, chong tham nhung'
    """
    # "đ" and "Đ" written "d" and "D" (two replacements: many times faster than str.translate)
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    if decomposed.isascii():
        return decomposed
    return unicodedata.normalize("NFC", _COMBINING_DIACRITICS.sub("", decomposed))


def has_diacritics(text: str) -> bool:
    """True when ``text`` has at least one letter with a diacritic mark or a "đ"/"Đ"."""
    return strip_diacritics(text) != unicodedata.normalize("NFC", text)


_WordTokenize = Callable[[str], list[str]]
_word_tokenize: _WordTokenize | None = None


def _tokenizer() -> _WordTokenize:
    """Import underthesea's word segmenter on first use."""
    global _word_tokenize
    if _word_tokenize is None:
        from underthesea import word_tokenize  # heavy: imported lazily, model loaded on first call

        _word_tokenize = word_tokenize
    return _word_tokenize


@lru_cache(maxsize=8192)
def _segment(folded: str) -> tuple[str, ...]:
    """Segment an already folded text into words; compound words are joined with "_"."""
    if not folded:
        return ()
    words = _tokenizer()(folded)
    return tuple(joined for word in words if (joined := "_".join(word.split())))


def tokens(text: str) -> list[str]:
    """Return the words of ``text`` for comparison: :func:`fold_for_matching`, then underthesea's
    ``word_tokenize``. Compound words are joined with "_" ("tham_nhũng"); empty tokens are dropped.

    >>> tokens("Phòng, chống THAM NHŨNG!")  # doctest: +SKIP
    ['phòng_chống', 'tham_nhũng']
    """
    return list(_segment(fold_for_matching(text)))


def _segment_chunk(folded_texts: Sequence[str]) -> list[tuple[str, ...]]:
    """Worker entry point of :func:`tokens_many` (module level so that it can be pickled)."""
    return [_segment(folded) for folded in folded_texts]


# tokens_many(workers=None) uses several processes from this many texts on.
PARALLEL_FROM = 4000


def _can_fork() -> bool:
    """Forking is cheap (the loaded model is shared) and safe only in a single-threaded process."""
    import multiprocessing
    import threading

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tokens_many(texts: Sequence[str], *, workers: int | None = 1, folded: bool = False) -> list[list[str]]:
    """:func:`tokens` of many texts, in the same order.

    ``folded=True`` says the texts are already :func:`fold_for_matching` output (saves folding again).

    Word segmentation costs about 2 ms for 30 words, so large batches may be spread over processes:

    * ``workers=1`` (default): everything runs in the calling process;
    * ``workers=N``: N processes - forked from a single-threaded process (they share the loaded
      model), else started with "spawn" (safe in threaded servers; each loads underthesea, about a
      second, and the main module must be import-safe, as always with "spawn");
    * ``workers=None``: up to 2 forked processes when there are at least :data:`PARALLEL_FROM` texts
      and the calling process is single-threaded (a CLI or batch job); otherwise in-process, so a
      threaded server never forks or spawns behind its back.

    When processes cannot be started, everything runs in the calling process.
    """
    keys = list(texts) if folded else [fold_for_matching(text) for text in texts]
    if workers is None:
        fork = _can_fork()
        workers = min(2, _available_cpus()) if fork and len(keys) >= PARALLEL_FROM else 1
    else:
        fork = workers > 1 and _can_fork()
    if workers <= 1 or len(keys) < 2 * workers:
        return [list(_segment(key)) for key in keys]

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if fork:
        _tokenizer()("mô hình")  # load the model once, before forking, so every worker shares it
    context = multiprocessing.get_context("fork" if fork else "spawn")
    size = -(-len(keys) // (workers * 4))  # a few chunks per worker even out the load
    chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(pool.map(_segment_chunk, chunks))
    except (OSError, RuntimeError, BrokenProcessPool):
        return [list(_segment(key)) for key in keys]
    return [list(segmented) for chunk in results for segmented in chunk]


# --------------------------------------------------------------------------------------------------
# Search keys (what a person types to find a section or a locality)
# --------------------------------------------------------------------------------------------------


_NOT_WORD_OR_DOT = re.compile(r"[^\w\s.]|_")
# the combining characters of U+0300-U+036F (all but U+034F, the grapheme joiner, which is not one)
_BASIC_MARKS = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in range(0x300, 0x370) if unicodedata.combining(chr(c))) + "]"
)
_LONE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")


def fold_for_search(text: str) -> str:
    """A key for finding things by what a person types: case, diacritics and punctuation ignored.

    Unlike :func:`fold_for_matching` the diacritics go ("Chống ngập" and "chong ngap" give the same key,
    "Đ" becomes "d"), because people type without them on phones; dots between digits stay, so
    "2.1.3" is still a number. Never stored, never shown.
    """
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    bare = _BASIC_MARKS.sub("", decomposed)  # Vietnamese marks: what is left is ASCII
    if not bare.isascii():
        bare = "".join(c for c in bare if not unicodedata.combining(c))
    bare = _NOT_WORD_OR_DOT.sub(" ", bare)
    bare = _LONE_DOT.sub(" ", bare)
    return _WHITESPACE.sub(" ", bare).strip()


def has_words(text: str) -> bool:
    """True when ``text`` holds at least one letter or digit (not only emoji, symbols or punctuation)."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)
