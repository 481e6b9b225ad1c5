"""Consolidation of opinions: groups of identical or near-identical texts, and simple counts.

When a draft document is open for comments, the same opinion often arrives many times - copied
from a campaign, typed again with different accents or capitals, or reworded a little. Reports
show each such opinion once, with the number of people who sent it.

Two opinions are in the same group when

* their matching keys (:func:`core.text.fold_for_matching`) are equal, or
* both have at least :data:`MIN_TOKENS` syllables and the Jaccard similarity of their shingles
  (single syllables and pairs of consecutive syllables of the matching key; underthesea words with
  ``tokenization="words"``) is at least the threshold, or their diacritic-free forms are close
  letter by letter (the second signal),

and groups are closed under that relation (if A is like B and B like C, A, B and C are one group).
Candidate pairs come from MinHash LSH (numpy, only band hashes and 8 bits per signature value kept):
all the pairs of a small bucket, the pairs of close neighbours in a large one (so that the work per
text stays bounded when thousands of texts share boilerplate). They are filtered by the MinHash
estimate of their similarity; the remaining pairs are checked with the exact similarity, highest
estimate first and at most ``_MAX_CHECKS`` (32) per text in all, so LSH never groups two opinions
that are not similar enough (it may, rarely, miss a pair). Opinions may come in pages
(:class:`NearDuplicateGrouper`), straight from a database query.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache
from typing import cast

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

from core.text import fold_normalized, has_diacritics, normalize_input, strip_diacritics, tokens_many

__all__ = [
    "MIN_TOKENS",
    "NearDuplicateGrouper",
    "OpinionGroup",
    "OpinionText",
    "Tokenization",
    "count_by",
    "group_near_duplicates",
]

MIN_TOKENS = 3
"""Texts with fewer tokens (syllables, or words with ``tokenization="words"``) are grouped only with
identical texts (or their copy typed without diacritics)."""

# Probability that a pair exactly at the threshold shares at least one LSH bucket.
_LSH_RECALL = 0.98
CHAR_THRESHOLD = 0.85
"""Default minimum character similarity (rapidfuzz ``fuzz.ratio`` / 100, on the diacritic-free forms)
of the second signal."""

# Character n-grams of the diacritic-free form, the shingles of the second LSH index, and the
# Jaccard similarity of those n-grams that LSH aims at (pairs above CHAR_THRESHOLD are well above it).
_CHAR_NGRAM = 4
_CHAR_LSH_THRESHOLD = 0.6
# Representative choice: the mean similarity of a candidate is measured against at most this many
# distinct texts of the group (evenly spaced), to keep very large groups linear.
_MAX_REFERENCES = 64
# Pairs found not similar are remembered (so that a pair in several LSH buckets is checked once) up
# to this many at a time.
_MAX_REJECTED = 1 << 20
# A pair of an LSH bucket is checked only when the MinHash estimate of its similarity is at least
# the threshold minus this margin (word signal; about 4 standard deviations of the estimate with 128
# permutations at 0.7), or at least this floor (character n-grams, whose LSH aims at 0.6).
_ESTIMATE_MARGIN = 0.1
# Both LSH indexes find pairs 0.1 above their aim with probability _LSH_RECALL (pairs at the aim
# itself with about 0.85): many texts that share a long phrase (J 0.3-0.5) would otherwise make
# the candidate pairs grow with the square of the number of texts.
_LSH_SLACK = 0.1
# Buckets of up to this many texts are turned into pairs, whose estimates are computed together.
_SMALL_BUCKET = 48
_PAIR_BLOCK = 1 << 16
_CHAR_ESTIMATE_FLOOR = 0.6
# Exact checks a text takes part in, over every band of both signals, most similar candidates of a
# band first (see _Linker._check_in_order): keeps the work per text bounded when thousands of texts
# share a phrase.
_MAX_CHECKS = 32
_UNKNOWN = 2  # see _Linker._maybe_similar
# Batches of texts waiting for their signatures (see NearDuplicateGrouper._sign).
_SIGNING_AHEAD = 2
# Texts as received whose normalised text is remembered (see NearDuplicateGrouper.add).
_RAW_CACHE_SIZE = 1 << 16
# Distinct texts whose shingles and comparison form are kept between checks.
_CACHE_SIZE = 1 << 15
# A bucket of more than _SMALL_BUCKET texts (thousands of texts that share a phrase) is not turned
# into all its pairs: each member is compared with its _WINDOW neighbours in two orders of the
# bucket, the order of appearance and the order of a few signature values outside every band
# (near-duplicates mostly agree on those, so they sit close together).
_WINDOW = 16
_SORT_COLUMNS = (127, 126, 125)


@dataclass(frozen=True)
class OpinionText:
    """One opinion to consolidate: ``key`` identifies it (e.g. a receipt code), ``text`` is what was said."""

    key: str
    text: str


@dataclass(frozen=True)
class OpinionGroup:
    """Opinions that say the same thing.

    ``representative`` is the text of one member (after :func:`core.text.normalize_input`),
    ``count`` the number of members and ``keys`` their keys, in input order.
    """

    representative: str
    count: int
    keys: tuple[str, ...]


class _UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n
        self._links = np.arange(n, dtype=np.int64)  # the links made by union only, for roots()

    def roots(self, nodes: np.ndarray) -> np.ndarray:
        """:meth:`find` of every node, with numpy (following the links made by :meth:`union`,
        at most log2(n) steps: union by size)."""
        links = self._links
        roots = links[nodes]
        while True:
            up = links[roots]
            if np.array_equal(up, roots):
                return roots
            roots = up

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self._links[rb] = ra
        self.size[ra] += self.size[rb]
        return ra


def _shingles(words: Sequence[str]) -> frozenset[str]:
    """Single words and pairs of consecutive words (joined by a space, which no token contains)."""
    return frozenset(words).union(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


# --------------------------------------------------------------------------------------------------
# The pair test: similar enough, and not a different proposal
# --------------------------------------------------------------------------------------------------

# Syllables (without diacritics) that negate what follows. "ko", "k", "kg", "khg", "hok", "hong" are
# how "không" is often typed on a phone. A pair whose negations differ is never grouped.
_NEGATIONS = {
    "khong": "khong",
    "ko": "khong",
    "k": "khong",
    "kg": "khong",
    "khg": "khong",
    "hok": "khong",
    "hong": "khong",
    "chua": "chua",
    "chang": "chang",
}
# Grammatical words (without diacritics) that may replace one another without changing the proposal
# ("tại" / "ở", "và" / "với", "nên" / "cần"). Any other replaced word must be a typo of the original.
_FUNCTION_WORDS = frozenset(
    "va voi cua cho tai o trong tu khi neu thi la ma cac nhung rat cung da dang se nen can phai hay "
    "hoac de vi do bi duoc nay ay theo ve den ra vao len xuong hon nua them chi moi tung".split()
)
# Words (without diacritics) of the openings people put before a proposal ("Xin góp ý là nên",
# "Người dân chúng tôi đề xuất", "Kính đề nghị Ban soạn thảo"): at the start of both texts, one
# opening may replace another.
_OPENING_WORDS = frozenset(
    "de nghi kien xuat xin gop y toi chung nguoi dan mong muon kinh ban soan thao theo rang y".split()
)
_OPENING_OR_FUNCTION = _OPENING_WORDS | _FUNCTION_WORDS
_NEGATION_SET = frozenset(_NEGATIONS)
_NUMBER = re.compile(r"\d")


@dataclass(frozen=True)
class _Plain:
    """The diacritic-free comparison form of one distinct matching key."""

    text: str  # strip_diacritics(fold_for_matching(...)): lower case, no punctuation, single spaces
    words: tuple[str, ...]
    marked: tuple[str, ...]  # the same words with their diacritics (the matching key's words)
    has_diacritics: bool
    numbers: tuple[str, ...]  # the words holding digits, sorted
    negations: tuple[str, ...]  # the negation words, normalised and sorted


def _plain(key: str, text: str | None = None) -> _Plain:
    """The comparison form of matching key ``key``; ``text`` is ``strip_diacritics(key)`` if known."""
    if text is None:
        text = strip_diacritics(key)
    words = tuple(text.split())  # text has single spaces, no others
    marked = tuple(key.split()) if text != key else words
    if len(marked) != len(words):  # a stray mark that NFC leaves alone: compare without diacritics
        marked = words
    numbers, negations = _numbers_and_negations(text, words)
    return _Plain(
        text=text,
        words=words,
        marked=marked,
        has_diacritics=text != key,
        numbers=numbers,
        negations=negations,
    )


def _numbers_and_negations(text: str, words: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words of ``words`` (those of ``text``) holding digits, sorted, and the negation words,
    normalised and sorted (see :class:`_Plain`)."""
    numbers = tuple(sorted(w for w in words if _NUMBER.search(w))) if _NUMBER.search(text) else ()
    negations = (
        tuple(sorted(_NEGATIONS[w] for w in words if w in _NEGATIONS))
        if _NEGATION_SET.intersection(words)
        else ()
    )
    return numbers, negations


# A Vietnamese syllable written without diacritics: onset, one to three vowels, final consonant.
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)


def _word_typo(a: str, b: str, marked_a: str, marked_b: str, both_marked: bool) -> bool:
    """Whether word ``b`` may be word ``a`` mistyped (both without diacritics, with them ``marked_*``).

    * The same letters: only diacritics differ ("hoa" typed for "hóa") - as typed without Telex.
    * Up to two edits (a letter dropped, added, changed, two swapped) that leave a string no
      Vietnamese syllable has ("cônhh" for "công", "chíhn" for "chính").
    * One edit between two real syllables of three letters or more ("lãnh" for "lãng"); when both
      texts have diacritics, their marked forms must be one edit apart too, so that "giao" is not
      taken for "giảm". Without diacritics this cannot be told ("giam" / "giao"): the known weak spot.
    """
    if a == b:
        return True
    if min(len(a), len(b)) < 3:
        return False
    distance = OSA.distance(a, b, score_cutoff=2)
    if distance <= 2 and (_SYLLABLE.fullmatch(a) is None) != (_SYLLABLE.fullmatch(b) is None):
        return True
    if distance == 1:
        return not both_marked or OSA.distance(marked_a, marked_b, score_cutoff=1) <= 1
    return False


def _is_typo(a: _Plain, b: _Plain, i1: int, i2: int, j1: int, j2: int) -> bool:
    """Whether the words ``a.words[i1:i2]`` replaced by ``b.words[j1:j2]`` are only a slip of the
    keyboard (see :func:`_word_typo`), a space added or lost ("phongchong" / "phong chong"),
    grammatical words replacing one another ("tại" / "ở"), or one opening for another at the start
    ("Xin góp ý là nên" / "Người dân chúng tôi đề xuất")."""
    left, right = a.words[i1:i2], b.words[j1:j2]
    if _FUNCTION_WORDS.issuperset(left) and _FUNCTION_WORDS.issuperset(right):
        return True
    if i1 == j1 == 0 and _OPENING_OR_FUNCTION.issuperset(left) and _OPENING_OR_FUNCTION.issuperset(right):
        return True  # one opening for another
    joined_left, joined_right = "".join(left), "".join(right)
    if joined_left == joined_right:
        return True
    if _NUMBER.search(joined_left) or _NUMBER.search(joined_right):
        return False
    both_marked = a.has_diacritics and b.has_diacritics
    if len(left) == len(right):
        return all(
            _word_typo(left[n], right[n], a.marked[i1 + n], b.marked[j1 + n], both_marked)
            for n in range(len(left))
        )
    return (
        min(len(joined_left), len(joined_right)) >= 3
        and OSA.distance(joined_left, joined_right, score_cutoff=1) <= 1
    )


def _different_proposal(a: _Plain, b: _Plain) -> bool:
    """Whether two similar texts still say different things.

    True when their numbers differ ("3 triệu" / "5 triệu"), when one negates and the other does not
    ("không tăng" / "tăng"), or when a word of one is replaced in the other by a word that is not a
    typo of it ("tăng" / "giảm", "nông dân" / "ngư dân"). Words inserted or dropped are allowed
    (the similarity score limits how many). Compared without diacritics, so that a copy typed
    without them is judged like any other.
    """
    if a.numbers != b.numbers or a.negations != b.negations:
        return True
    for op in Levenshtein.opcodes(a.words, b.words):
        if op.tag == "replace" and not _is_typo(a, b, op.src_start, op.src_end, op.dest_start, op.dest_end):
            return True
    return False


class _Linker:
    """Merges candidate texts that are near-duplicates (see :func:`group_near_duplicates`).

    Indexes are distinct matching keys; ``shingles(k)`` is empty for texts too short to have
    near-duplicates, ``plains(k)`` their comparison form.
    """

    def __init__(
        self,
        shingles: Callable[[int], frozenset[str]],
        plains: Callable[[int], _Plain],
        plain_texts: Sequence[str],
        count: int,
        threshold: float,
        char_threshold: float,
        codes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        marks: np.ndarray | None = None,
    ) -> None:
        self.shingles = shingles
        self.plains = plains
        self.plain_texts = plain_texts
        self.codes = codes  # (flat shingle codes, start and count of each text's): see _shingle_codes
        self.threshold = threshold
        self.char_threshold = char_threshold
        # per text: the same value when numbers and negations are the same (without: all the same)
        self.marks = marks if marks is not None else np.zeros(count, dtype=np.int64)
        self.plain_lengths = np.fromiter(
            (len(t) for t in plain_texts), dtype=np.int64, count=len(plain_texts)
        )
        self.sets = _UnionFind(count)
        self._size = count
        self._rejected: set[int] = set()  # pairs x < y found not similar, as x * count + y
        # exact checks each text took part in, for Python (_counts) and numpy (_checks): one buffer
        self._counts = array("i", bytes(4 * count))
        self._checks = np.frombuffer(self._counts, dtype=np.int32)

    def _words_similar(self, x: int, y: int) -> bool:
        a, b = self.shingles(x), self.shingles(y)
        small, large = sorted((len(a), len(b)))
        if small / large < self.threshold:  # Jaccard <= small / large: no need to intersect
            return False
        return _jaccard(a, b) >= self.threshold

    def _letters_similar(self, x: int, y: int) -> bool:
        a, b = self.plain_texts[x], self.plain_texts[y]
        # Indel similarity <= 2 * min / (len a + len b): no need to align
        if 2 * min(len(a), len(b)) < self.char_threshold * (len(a) + len(b)):
            return False
        return bool(fuzz.ratio(a, b, score_cutoff=100 * self.char_threshold) > 0)

    def words_similar_many(self, pairs: np.ndarray) -> list[bool] | None:
        """:meth:`_words_similar` of every pair (rows ``(x, y)``) at once, from the shingle codes
        (``None`` without them): the keys ``(pair, code)`` of each side are sorted and distinct, so one
        merge of the two sides counts the shingles each pair shares."""
        if self.codes is None:
            return None
        flat, starts, lengths = self.codes
        out: list[bool] = []
        for start in range(0, len(pairs), _PAIR_BLOCK):
            block = pairs[start : start + _PAIR_BLOCK]
            left, left_lengths = _pair_keys(np.ascontiguousarray(block[:, 0]), flat, starts, lengths)
            right, right_lengths = _pair_keys(np.ascontiguousarray(block[:, 1]), flat, starts, lengths)
            merged = np.sort(np.concatenate((left, right)), kind="stable")  # a merge of two sorted runs
            shared = merged[1:][merged[1:] == merged[:-1]]
            common = np.bincount((shared >> _PAIR_SHIFT).astype(np.int64), minlength=len(block))
            union = left_lengths + right_lengths - common
            out.extend((common / union >= self.threshold).tolist())
        return out

    def similar(self, x: int, y: int, words: bool | None = None) -> bool:
        """Whether ``x`` and ``y`` are near-duplicates; ``words``: :meth:`_words_similar` if known."""
        pair = x * self._size + y if x < y else y * self._size + x
        if pair in self._rejected:
            return False
        if words is None:
            words = self._words_similar(x, y)
        if (words or self._letters_similar(x, y)) and not _different_proposal(self.plains(x), self.plains(y)):
            return True
        if len(self._rejected) >= _MAX_REJECTED:  # only saves checking a pair again: bounded
            self._rejected.clear()
        self._rejected.add(pair)
        return False

    def link_estimated(self, members: np.ndarray, signatures: np.ndarray, floor: float) -> None:
        """Merge the similar pairs of one large LSH bucket (see :data:`_WINDOW`): the pairs of
        neighbours (up to :data:`_WINDOW` apart, in the order of appearance and in the order of
        :data:`_SORT_COLUMNS`) whose MinHash estimate of the similarity (the share of equal
        signature values, ``signatures`` one row per member) is at least ``floor`` and that are not
        connected already, checked most similar first and at most :data:`_MAX_CHECKS` per member
        (see :meth:`_check_in_order`).

        The work is ``2 _WINDOW`` comparisons of signatures per member (one numpy operation), linear
        in the size of the bucket, where all its pairs would grow with its square.
        """
        count, width = signatures.shape
        roots = self.sets.roots(members)
        needed = math.ceil(floor * width)
        by_values = np.lexsort(signatures[:, list(_SORT_COLUMNS)].T[::-1])
        # every pair of positions up to _WINDOW apart, in both orders, compared at once
        window = min(_WINDOW, count - 1)
        earlier = np.concatenate([np.arange(count - offset) for offset in range(1, window + 1)])
        later = earlier + np.repeat(np.arange(1, window + 1), count - np.arange(1, window + 1))
        a = np.concatenate((earlier, by_values[earlier]))
        b = np.concatenate((later, by_values[later]))
        equal = np.count_nonzero(np.take(signatures, a, axis=0) == np.take(signatures, b, axis=0), axis=1)
        i = np.flatnonzero((equal >= needed) & (roots[a] != roots[b]))
        x, y, estimates = members[a[i]], members[b[i]], equal[i]
        pairs = np.stack((np.minimum(x, y), np.maximum(x, y)), axis=1)
        if len(pairs):
            # a pair that is close in both orders once
            _, first = np.unique(pairs[:, 0] * (int(pairs.max()) + 1) + pairs[:, 1], return_index=True)
            self._check_in_order(pairs[first], estimates[first])

    def link_pairs(
        self, pairs: np.ndarray, signatures: Callable[[np.ndarray], np.ndarray], floor: float
    ) -> None:
        """Merge the similar ones of candidate ``pairs`` (rows ``(x, y)``, ``x < y``) whose MinHash
        estimate of the similarity is at least ``floor`` (see :meth:`link_estimated`)."""
        if not len(pairs):
            return
        nodes, positions = np.unique(pairs, return_inverse=True)
        roots = self.sets.roots(nodes)
        positions = positions.reshape(pairs.shape)
        pairs = pairs[roots[positions[:, 0]] != roots[positions[:, 1]]]  # not connected already
        found: list[np.ndarray] = []
        estimates: list[np.ndarray] = []
        for start in range(0, len(pairs), _PAIR_BLOCK):
            block = pairs[start : start + _PAIR_BLOCK]
            left = signatures(np.ascontiguousarray(block[:, 0]))
            right = signatures(np.ascontiguousarray(block[:, 1]))
            needed = math.ceil(floor * left.shape[1])
            equal = np.count_nonzero(left == right, axis=1)
            keep = equal >= needed
            found.append(block[keep])
            estimates.append(equal[keep])
        if found:
            self._check_in_order(np.concatenate(found), np.concatenate(estimates))

    def _check_in_order(self, pairs: np.ndarray, estimates: np.ndarray) -> None:
        """Check candidate ``pairs`` (rows ``(x, y)``, ``x < y``) of one band, the highest MinHash
        estimate first (then by ``x``, ``y``), skipping pairs connected already, and merge the
        similar ones.

        A text takes part in at most :data:`_MAX_CHECKS` exact checks in all (over every band of
        both signals; pairs found not similar in an earlier band are skipped without counting):
        texts that share a long phrase with thousands of others (boilerplate, a different proposal
        each) would otherwise cost a number of checks that grows with the square of their number.
        The price, like LSH's own, is a pair that may be missed when a text has used its checks on
        closer candidates that were not similar; pairs already connected cost nothing, and the
        true near-duplicates of a text have the highest estimates, so they come first.
        """
        find, union = self.sets.find, self.sets.union
        rejected = self._rejected
        checks = self._checks
        open_ = (checks[pairs[:, 0]] < _MAX_CHECKS) & (checks[pairs[:, 1]] < _MAX_CHECKS)
        pairs, estimates = pairs[open_], estimates[open_]
        order = np.lexsort((pairs[:, 1], pairs[:, 0], -estimates.astype(np.int64)))
        pairs = pairs[order]
        if len(pairs) > _MAX_CHECKS:
            pairs = pairs[_within_budget(pairs, _MAX_CHECKS - checks[pairs] + _MAX_CHECKS)]
        codes = pairs[:, 0] * self._size + pairs[:, 1]
        code_list = codes.tolist()
        known = np.fromiter((code in rejected for code in code_list), dtype=bool, count=len(code_list))
        maybe = self._maybe_similar(pairs, ~known)
        if maybe is None:  # no shingle codes (underthesea words, or too many distinct syllables)
            for x, y, code in zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), code_list, strict=True):
                if code in rejected or find(x) == find(y):
                    continue
                if checks[x] >= _MAX_CHECKS or checks[y] >= _MAX_CHECKS:
                    continue
                checks[x] += 1
                checks[y] += 1
                # (the later text first: the proposal test is not symmetric)
                if self.similar(y, x):
                    union(x, y)
            return
        counts = self._counts
        parent = self.sets.parent
        plains = self.plains
        # The tests that skip a pair have no effect, so the cheapest come first (a root is its own
        # parent). A pair known at the start (not computed: _UNKNOWN) may be checked after all when
        # the rejected pairs were forgotten meanwhile (their number reached _MAX_REJECTED).
        for x, y, code, state in zip(
            pairs[:, 0].tolist(), pairs[:, 1].tolist(), code_list, maybe.tolist(), strict=True
        ):
            if counts[x] >= _MAX_CHECKS or counts[y] >= _MAX_CHECKS:
                continue
            root_x, root_y = parent[x], parent[y]
            if root_x != parent[root_x]:
                root_x = find(x)
            if root_y != parent[root_y]:
                root_y = find(y)
            if root_x == root_y or code in rejected:
                continue
            counts[x] += 1
            counts[y] += 1
            if state == _UNKNOWN:
                state = self._maybe_one(x, y)
            # the rest of similar(y, x): the later text first, the proposal test is not symmetric
            if state and not _different_proposal(plains(y), plains(x)):
                union(x, y)
                continue
            if len(rejected) >= _MAX_REJECTED:
                rejected.clear()
            rejected.add(code)

    def _maybe_one(self, x: int, y: int) -> int:
        """:meth:`_maybe_similar` of one pair."""
        if self.marks[x] != self.marks[y]:
            return 0
        return int(self._words_similar(x, y) or self._letters_similar(x, y))

    def _maybe_similar(self, pairs: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
        """For the ``wanted`` pairs (rows ``(x, y)``), 1 where :meth:`similar` may hold and 0 where
        it does not, from numpy arrays; the others :data:`_UNKNOWN` (``None`` without the shingle
        codes). It may hold when the pair's numbers and negations agree (the first test of
        :func:`_different_proposal`), and the shingles (:meth:`words_similar_many`) or the letters
        (:meth:`_letters_similar`) are similar enough."""
        if self.codes is None:
            return None
        marks = self.marks
        maybe = np.full(len(pairs), _UNKNOWN, dtype=np.int8)
        wanted_rows = np.flatnonzero(wanted)
        agree = marks[pairs[wanted_rows, 0]] == marks[pairs[wanted_rows, 1]]
        maybe[wanted_rows] = agree
        rows = wanted_rows[agree]
        if not len(rows):
            return maybe
        words = np.asarray(self.words_similar_many(pairs[rows]), dtype=bool)
        letters = rows[~words]
        if len(letters):
            left, right = pairs[letters, 0], pairs[letters, 1]
            sizes = self.plain_lengths
            small, total = np.minimum(sizes[left], sizes[right]), sizes[left] + sizes[right]
            close = 2 * small >= self.char_threshold * total
            maybe[letters[~close]] = False
            letters, left, right = letters[close], left[close], right[close]
            if len(letters):
                texts = self.plain_texts
                scores = process.cpdist(
                    [texts[i] for i in left.tolist()],
                    [texts[i] for i in right.tolist()],
                    scorer=fuzz.ratio,
                    score_cutoff=100 * self.char_threshold,
                    workers=1,
                )
                maybe[letters] = scores > 0
        return maybe


# Shingle codes (see _shingle_codes) take up to 41 bits; the pair's position in a block the bits above.
_PAIR_SHIFT = np.uint64(41)
_TOKEN_LIMIT = 1 << 20  # token ids below this make codes of 41 bits


def _shingle_codes(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct shingles of each text as sorted integers (single tokens ``2 id + 1``, pairs of
    consecutive tokens ``2 (a 2^20 + b)``: one code per shingle string when every token id is below
    2^20 and no token holds a space), concatenated, and how many each text has."""
    lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
    flat = np.fromiter((i for ids in token_ids for i in ids), dtype=np.uint64, count=int(lengths.sum()))
    owner = np.repeat(np.arange(len(token_ids), dtype=np.int64), lengths)
    follows = owner[1:] == owner[:-1]
    singles = (flat << np.uint64(1)) | np.uint64(1)
    doubles = ((flat[:-1] << np.uint64(20)) | flat[1:])[follows] << np.uint64(1)
    codes = np.concatenate((singles, doubles))
    owners = np.concatenate((owner, owner[:-1][follows]))
    order = np.lexsort((codes, owners))
    codes, owners = codes[order], owners[order]
    distinct = np.ones(len(codes), dtype=bool)
    distinct[1:] = (codes[1:] != codes[:-1]) | (owners[1:] != owners[:-1])
    return codes[distinct], np.bincount(owners[distinct], minlength=len(token_ids))


def _pair_keys(
    nodes: np.ndarray, flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(position << 41) | code`` for every shingle code of every text of ``nodes`` (ascending,
    since each text's codes are), and each text's number of codes."""
    counts = lengths[nodes]
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(nodes), dtype=np.uint64), counts)
    shift = np.repeat(starts[nodes] - (np.cumsum(counts) - counts), counts)
    return (owner << _PAIR_SHIFT) | np.take(flat, shift + np.arange(total)), counts


def _within_budget(pairs: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Which of ``pairs`` (rows ``(x, y)``, in the order they are to be checked) come before the
    ``allowed[i, 0]``-th pair of their ``x`` and the ``allowed[i, 1]``-th pair of their ``y``: one
    sort instead of a Python step for each pair of a text whose checks are used up."""
    flat = pairs.ravel()
    by_node = np.argsort(flat, kind="stable")  # each node's pairs, in check order
    nodes = flat[by_node]
    starts = np.flatnonzero(np.concatenate(([True], nodes[1:] != nodes[:-1])))
    lengths = np.diff(np.append(starts, len(nodes)))
    rank = np.empty(len(flat), dtype=np.int64)
    rank[by_node] = np.arange(len(flat)) - np.repeat(starts, lengths)
    return np.all(rank.reshape(pairs.shape) < allowed, axis=1)


def _lsh_bands(threshold: float, num_perm: int, recall: float = _LSH_RECALL) -> tuple[int, int]:
    """Bands ``b`` and rows per band ``r`` for MinHash LSH.

    datasketch's own choice balances missed pairs against false candidates, which leaves a pair
    exactly at the threshold only about a 45 % chance of becoming a candidate. Here false candidates
    only cost an exact Jaccard check, so the most selective layout (largest ``r``) that still makes a
    pair at the threshold a candidate with probability ``recall`` is taken.
    """
    best = (max(2, num_perm), 1)
    best_probability = -1.0
    for rows in range(num_perm // 2, 0, -1):
        bands = num_perm // rows
        probability = 1.0 - (1.0 - threshold**rows) ** bands
        if probability >= recall:
            return bands, rows
        if probability > best_probability:
            best, best_probability = (bands, rows), probability
    return best


# --------------------------------------------------------------------------------------------------
# MinHash LSH with numpy: signatures of many texts at once, only the band hashes kept
# --------------------------------------------------------------------------------------------------

# Elements x permutations hashed at once (a block of 1M 64-bit values: 8 MB, faster than 32 MB).
_BLOCK = 1 << 20
# Distinct texts whose signatures are computed together (their shingles are then dropped).
_BATCH = 4096
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_FNV = np.uint64(0x100000001B3)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection of 64-bit integers that spreads every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _MinHashLSH:
    """MinHash signatures (``num_perm`` hash functions ``(a x + b) mod 2^64 >> 32`` on mixed 64-bit
    shingle codes) of batches of texts, reduced at once to their LSH band hashes.

    Only the band hashes (``bands`` 64-bit integers per text) are kept, so memory grows by a few
    hundred bytes per distinct text. Two texts share a bucket when all ``rows`` minima of one band
    are equal (up to a 64-bit hash collision, which the exact check afterwards makes harmless).
    """

    def __init__(self, threshold: float, num_perm: int, seed: int) -> None:
        rng = np.random.Generator(np.random.PCG64(seed))
        self.a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
        self.b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)
        self.bands, self.rows = _lsh_bands(min(1.0, threshold + _LSH_SLACK), num_perm)
        self._indexes: list[np.ndarray] = []
        self._hashes: list[np.ndarray] = []
        self._signatures: list[np.ndarray] = []
        self.signatures = np.zeros((0, num_perm), dtype=np.uint8)
        self._row_of = np.zeros(0, dtype=np.int64)

    def add(self, indexes: Sequence[int], elements: np.ndarray, starts: np.ndarray) -> None:
        """Texts ``indexes``; the shingle codes of text ``i`` are ``elements[starts[i]:starts[i + 1]]``
        (every text has at least one)."""
        if not len(indexes):
            return
        count = len(starts)
        ends = np.append(starts[1:], len(elements))
        per_block = max(1, _BLOCK // len(self.a))
        out = np.empty((count, self.bands), dtype=np.uint64)
        low_bits = np.empty((count, len(self.a)), dtype=np.uint8)
        a, b, shift = self.a[:, None], self.b[:, None], np.uint64(32)
        i = 0
        while i < count:
            j = max(i + 1, int(np.searchsorted(ends, starts[i] + per_block, side="right")))
            block = elements[starts[i] : ends[j - 1]]
            # One row per permutation (in place, no temporaries): the minima of each text are then
            # reductions of contiguous runs, several times faster than down the columns.
            hashed = np.multiply(a, block[None, :])
            hashed += b
            hashed >>= shift
            signature = np.minimum.reduceat(hashed, starts[i:j] - starts[i], axis=1).T
            out[i:j] = self._band_hashes(signature)
            low_bits[i:j] = signature & np.uint64(0xFF)
            i = j
        self._indexes.append(np.asarray(indexes, dtype=np.int64))
        self._hashes.append(out)
        self._signatures.append(low_bits)

    def _band_hashes(self, signature: np.ndarray) -> np.ndarray:
        grid = signature[:, : self.bands * self.rows].reshape(len(signature), self.bands, self.rows)
        h = np.zeros((len(signature), self.bands), dtype=np.uint64)
        for row in range(self.rows):
            h = _mix(h * _GOLDEN + grid[:, :, row])
        return h

    def signatures_of(self, indexes: np.ndarray) -> np.ndarray:
        """The low 8 bits of every signature value of texts ``indexes`` (one row each): two texts'
        share of equal values estimates their Jaccard similarity (plus (1 - J) / 256)."""
        # (np.take of whole rows: several times faster than fancy indexing)
        return np.take(self.signatures, np.take(self._row_of, indexes), axis=0)

    def buckets(self) -> Iterator[list[np.ndarray]]:
        """The buckets (ascending arrays of indexes) that hold more than one text, a list per band;
        identical buckets of several bands come once."""
        if not self._indexes:
            return
        indexes = np.concatenate(self._indexes)
        hashes = np.concatenate(self._hashes)
        self.signatures = np.concatenate(self._signatures)
        self._row_of = np.zeros(int(indexes.max()) + 1, dtype=np.int64)
        self._row_of[indexes] = np.arange(len(indexes))
        self._indexes, self._hashes, self._signatures = [], [], []
        seen: set[bytes] = set()
        for band in range(self.bands):
            column = hashes[:, band]
            order = np.argsort(column, kind="stable")  # equal hashes keep the (ascending) text order
            ordered = column[order]
            cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
            starts = np.concatenate(([0], cuts))
            ends = np.concatenate((cuts, [len(ordered)]))
            found: list[np.ndarray] = []
            for start, end in zip(
                starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(), strict=True
            ):
                members = indexes[order[start:end]]
                digest = hashlib.blake2b(members.tobytes(), digest_size=16).digest()
                if digest not in seen:
                    seen.add(digest)
                    found.append(members)
            yield found


@lru_cache(maxsize=_SMALL_BUCKET + 1)
def _pair_positions(size: int) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.triu_indices(size, 1)
    return first, second


def _bucket_pairs(buckets: Sequence[np.ndarray]) -> np.ndarray:
    """Every pair ``(x, y)``, ``x < y``, of the members of the small buckets of one band (a text is
    in one bucket of a band, so no pair comes twice), in no particular order (they are checked in
    the order of :meth:`_Linker._check_in_order`)."""
    if not buckets:
        return np.zeros((0, 2), dtype=np.int64)
    sizes = np.fromiter(map(len, buckets), dtype=np.int64, count=len(buckets))
    flat = np.concatenate(buckets)
    starts = np.cumsum(sizes) - sizes
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for size in np.unique(sizes).tolist():  # the buckets of one size at once, one row each
        members = flat[starts[sizes == size][:, None] + np.arange(size)]
        first, second = _pair_positions(size)
        firsts.append(members[:, first].ravel())
        seconds.append(members[:, second].ravel())
    return np.stack((np.concatenate(firsts), np.concatenate(seconds)), axis=1)


def _word_elements(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Shingle codes (single tokens and pairs of consecutive tokens) of texts given as token ids,
    grouped by text, and the start of each text's codes."""
    lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
    flat = np.fromiter((i for ids in token_ids for i in ids), dtype=np.uint64, count=int(lengths.sum()))
    owner = np.repeat(np.arange(len(token_ids), dtype=np.int64), lengths)
    pairs = owner[1:] == owner[:-1]
    singles = (flat << np.uint64(1)) | np.uint64(1)
    doubles = ((flat[:-1] << np.uint64(32)) | flat[1:])[pairs] << np.uint64(1)
    codes = np.concatenate((singles, doubles))
    owners = np.concatenate((owner, owner[:-1][pairs]))
    order = np.argsort(owners, kind="stable")
    starts = np.concatenate(([0], np.cumsum(2 * lengths - 1)[:-1]))
    return _mix(codes[order]), starts


def _char_elements(texts: Sequence[str], n: int = _CHAR_NGRAM) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the character n-grams of diacritic-free texts, each padded with a space at both ends
    (short words count), grouped by text, and the start of each text's codes (texts of n - 2
    characters or more)."""
    padded = [f" {text} " for text in texts]
    points = np.frombuffer("".join(padded).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    owner = np.repeat(np.arange(len(padded), dtype=np.int64), lengths)
    windows = len(points) - n + 1
    code = points[:windows].copy()
    for shift in range(1, n):
        code = code * _FNV + points[shift : shift + windows]
    valid = owner[:windows] == owner[n - 1 :]
    starts = np.concatenate(([0], np.cumsum(lengths - n + 1)[:-1]))
    return _mix(code[valid]), starts


def _proposal_mark(plain: str) -> int:
    """The same value for two diacritic-free texts with the same numbers and negations (see
    :class:`_Plain`; 0 when there are none). Two texts with different marks are a different
    proposal; equal marks are then compared exactly."""
    numbers, negations = _numbers_and_negations(plain, plain.split())
    if not numbers and not negations:
        return 0
    return hash((numbers, negations)) or 1


def _plain_digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _mean_similarity(
    candidate: int,
    references: Sequence[int],
    shingles: Callable[[int], frozenset[str]],
    weights: Sequence[int],
) -> float:
    """Mean Jaccard similarity of one distinct text to the other distinct texts of its group, each
    weighted by the number of members sending it. (Copies of the candidate itself are left out: all
    the candidates compared have the same number of copies.)"""
    total = 0.0
    weight = 0
    for other in references:
        if other != candidate:
            total += weights[other] * _jaccard(shingles(candidate), shingles(other))
            weight += weights[other]
    return round(total / weight, 9) if weight else 1.0


class Tokenization(StrEnum):
    """What the word signal compares: the syllables of the matching key (Vietnamese writes each
    syllable as a separate word), or underthesea's words (compound words joined, 2 ms per text)."""

    SYLLABLES = "syllables"
    WORDS = "words"


class NearDuplicateGrouper:
    """:func:`group_near_duplicates` fed in pages (:meth:`add`), e.g. straight from a database query,
    so that no list of every opinion is built first. :meth:`groups` returns the result.

    Per opinion only its key and (shared between copies) its normalised text are kept; per distinct
    matching key the key itself, its diacritic-free form, its LSH band hashes, 8 bits per signature
    value and its sorted shingle codes (8 bytes per shingle). Shingle sets and comparison forms are
    computed again (bounded caches) when a pair needs them.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.7,
        char_threshold: float = CHAR_THRESHOLD,
        num_perm: int = 128,
        seed: int = 1,
        workers: int | None = None,
        tokenization: Tokenization | str = Tokenization.SYLLABLES,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 0.0 < char_threshold <= 1.0:
            raise ValueError("char_threshold must be in (0, 1]")
        if num_perm < 2:
            raise ValueError("num_perm must be at least 2")
        self.threshold = threshold
        # The character signal is never looser than the word one: threshold=1.0 still means "same words".
        self.char_threshold = max(char_threshold, threshold)
        self.workers = workers
        self.tokenization = Tokenization(tokenization)
        self._keys: list[str] = []  # the item keys, in input order
        self._item_text = array("l")  # per item: the index of its normalised text
        self._text_ids: dict[str, int] = {}  # normalised text -> index
        self._text_key = array("l")  # per normalised text: the index of its matching key
        self._key_ids: dict[str, int] = {}  # matching key -> index (distinct keys, in order of appearance)
        # texts as received -> index of their normalised text, for the most recent ones (copies of a
        # campaign arrive again and again); cleared when full
        self._raw_ids: dict[str, int] = {}
        self._pending: list[str] = []  # new distinct keys whose signatures are not computed yet
        self._plain_digests = array("Q")  # per distinct key: digest of its diacritic-free form
        # per distinct key: its diacritic-free form (the key itself when it has no diacritics), so
        # that a check does not strip diacritics again
        self._plain_texts: list[str] = []
        self._undiacritic: list[int] = []  # distinct keys typed without any diacritics
        self._long = bytearray()  # per distinct key: 1 when it has MIN_TOKENS tokens or more
        # per distinct key: a digest of its numbers and negations (0 for none, see _proposal_mark)
        self._marks = array("q")
        self._vocabulary: dict[str, int] = {}
        # the sorted distinct shingle codes of every long distinct key (syllables only), per batch,
        # and per distinct key their number (0 for a short one): the word test of many pairs at once
        self._codes: list[np.ndarray] | None = [] if self.tokenization is Tokenization.SYLLABLES else None
        self._code_lengths: list[np.ndarray] = []
        self._words: dict[int, tuple[str, ...]] = {}  # underthesea words (Tokenization.WORDS only)
        self._signer: ThreadPoolExecutor | None = None  # see _sign
        self._signing: deque[Future[None]] = deque()
        self._word_lsh = _MinHashLSH(threshold, num_perm, seed)
        self._char_lsh = _MinHashLSH(_CHAR_LSH_THRESHOLD, num_perm, seed)

    def add(self, items: Iterable[OpinionText]) -> None:
        """Add opinions, in the order they were received."""
        text_ids, key_ids, text_key, keys, item_text = (
            self._text_ids,
            self._key_ids,
            self._text_key,
            self._keys,
            self._item_text,
        )
        raw_ids = self._raw_ids
        for item in items:
            t = raw_ids.get(item.text)
            if t is not None:  # a copy of a recent text as received: no normalisation again
                keys.append(item.key)
                item_text.append(t)
                continue
            text = normalize_input(item.text)
            t = text_ids.get(text)
            if len(raw_ids) >= _RAW_CACHE_SIZE:
                raw_ids.clear()
            if t is None:
                t = text_ids[text] = len(text_ids)
                key = fold_normalized(text)  # fold_for_matching(text): text is normalised
                k = key_ids.get(key)
                if k is None:
                    k = key_ids[key] = len(key_ids)
                    self._pending.append(key)
                    if len(self._pending) >= _BATCH:
                        self._flush()
                text_key.append(k)
            raw_ids[item.text] = t
            keys.append(item.key)
            item_text.append(t)

    def _tokens(self, keys: Sequence[str]) -> list[Sequence[str]]:
        if self.tokenization is Tokenization.SYLLABLES:
            return [key.split() for key in keys]
        segmented = tokens_many([key for key in keys if key], workers=self.workers, folded=True)
        words = iter(segmented)
        return [next(words) if key else [] for key in keys]

    def _flush(self) -> None:
        """Signatures of the pending distinct keys."""
        pending, self._pending = self._pending, []
        first = len(self._long)
        vocabulary = self._vocabulary
        long_indexes: list[int] = []
        token_ids: list[list[int]] = []
        plains: list[str] = []
        for offset, (key, words) in enumerate(zip(pending, self._tokens(pending), strict=True)):
            k = first + offset
            plain = strip_diacritics(key)
            if plain == key:
                self._undiacritic.append(k)
            self._plain_digests.append(_plain_digest(plain))
            self._plain_texts.append(key if plain == key else plain)
            long = len(words) >= MIN_TOKENS
            self._long.append(long)
            self._marks.append(_proposal_mark(plain) if long else 0)
            if long:
                long_indexes.append(k)
                known = list(map(vocabulary.get, words))
                if None in known:  # new words get the next ids, in order
                    token_ids.append([vocabulary.setdefault(word, len(vocabulary)) for word in words])
                else:
                    token_ids.append(cast(list[int], known))
                plains.append(plain)
                if self.tokenization is Tokenization.WORDS:
                    self._words[k] = tuple(words)
        if self._codes is not None:
            lengths = np.zeros(len(pending), dtype=np.int64)
            if long_indexes and len(vocabulary) <= _TOKEN_LIMIT:
                codes, lengths[np.asarray(long_indexes) - first] = _shingle_codes(token_ids)
                self._codes.append(codes)
                self._code_lengths.append(lengths)
            elif long_indexes:
                self._codes = None  # more distinct tokens than the codes hold: sets instead
            else:
                self._code_lengths.append(lengths)
        if long_indexes:
            self._sign(long_indexes, token_ids, plains)

    def _sign(self, indexes: list[int], token_ids: list[list[int]], plains: list[str]) -> None:
        """The signatures of one batch, in a thread (numpy's hashing releases the GIL, so it runs
        while the next pages are normalised): one thread, batches in order, at most
        :data:`_SIGNING_AHEAD` waiting (bounded memory)."""
        if self._signer is None:
            self._signer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minhash")
        while len(self._signing) >= _SIGNING_AHEAD:
            self._signing.popleft().result()
        self._signing.append(self._signer.submit(self._sign_batch, indexes, token_ids, plains))

    def _sign_batch(self, indexes: list[int], token_ids: list[list[int]], plains: list[str]) -> None:
        self._word_lsh.add(indexes, *_word_elements(token_ids))
        self._char_lsh.add(indexes, *_char_elements(plains))

    def _signed(self) -> None:
        """Wait for every batch being signed (and stop the thread)."""
        while self._signing:
            self._signing.popleft().result()
        if self._signer is not None:
            self._signer.shutdown()
            self._signer = None

    def groups(self) -> list[OpinionGroup]:
        """The groups of every opinion added (see :func:`group_near_duplicates`)."""
        self._flush()
        self._signed()
        if not self._keys:
            return []
        distinct = list(self._key_ids)
        text_key = self._text_key
        weights = [0] * len(distinct)
        for t in self._item_text:
            weights[text_key[t]] += 1

        @lru_cache(maxsize=_CACHE_SIZE)
        def shingles(k: int) -> frozenset[str]:
            if not self._long[k]:
                return frozenset()
            words = self._words[k] if self.tokenization is Tokenization.WORDS else distinct[k].split()
            return _shingles(words)

        @lru_cache(maxsize=_CACHE_SIZE)
        def plain(k: int) -> _Plain:
            return _plain(distinct[k], self._plain_texts[k])

        codes = None
        if self._codes is not None:
            lengths = np.concatenate([*self._code_lengths, np.zeros(0, dtype=np.int64)])
            starts = np.cumsum(lengths) - lengths
            codes = (np.concatenate([*self._codes, np.zeros(0, dtype=np.uint64)]), starts, lengths)
        linker = _Linker(
            shingles,
            plain,
            self._plain_texts,
            len(distinct),
            self.threshold,
            self.char_threshold,
            codes,
            np.frombuffer(self._marks, dtype=np.int64) if self._marks else np.zeros(0, dtype=np.int64),
        )
        self._link_typed_without_diacritics(distinct, weights, linker.sets)
        floors = ((self._word_lsh, self.threshold - _ESTIMATE_MARGIN), (self._char_lsh, _CHAR_ESTIMATE_FLOOR))
        for lsh, floor in floors:
            for band in lsh.buckets():
                small = [bucket for bucket in band if len(bucket) <= _SMALL_BUCKET]
                for bucket in band:
                    if len(bucket) > _SMALL_BUCKET:
                        linker.link_estimated(bucket, lsh.signatures_of(bucket), floor)
                linker.link_pairs(_bucket_pairs(small), lsh.signatures_of, floor)

        # Group id of every distinct key: the first distinct key (by appearance) of its set.
        first_of_root: dict[int, int] = {}
        group_of = [first_of_root.setdefault(linker.sets.find(k), k) for k in range(len(distinct))]
        texts = list(self._text_ids)
        members: dict[int, list[int]] = {}
        for index, t in enumerate(self._item_text):
            members.setdefault(group_of[text_key[t]], []).append(index)

        keys = self._keys
        groups: list[tuple[int, int, OpinionGroup]] = []
        for indexes in members.values():
            representative = _representative(indexes, self._item_text, text_key, texts, shingles, weights)
            group = OpinionGroup(
                representative=texts[self._item_text[representative]],
                count=len(indexes),
                keys=tuple(keys[i] for i in indexes),
            )
            groups.append((-len(indexes), indexes[0], group))
        groups.sort(key=lambda entry: (entry[0], entry[1]))
        return [group for _, _, group in groups]

    def _link_typed_without_diacritics(
        self, distinct: Sequence[str], weights: Sequence[int], sets: _UnionFind
    ) -> None:
        """Join every text typed entirely without diacritics to the text it spells, whatever its length.

        "de nghi tang luong" joins "Đề nghị tăng lương". When several texts spell the same way ("hóa",
        "hoa"), it joins the most frequent of them (the first on a tie); those texts themselves stay
        apart: two texts that both have diacritics are never identical because of this rule.
        """
        if not self._undiacritic:
            return
        bare = {distinct[k]: k for k in self._undiacritic}
        wanted = {self._plain_digests[k] for k in self._undiacritic}
        spelled: dict[str, int] = {}
        for k, digest in enumerate(self._plain_digests):
            if digest in wanted and distinct[k] not in bare:
                plain = strip_diacritics(distinct[k])
                if plain in bare:
                    best = spelled.get(plain)
                    if best is None or weights[k] > weights[best]:
                        spelled[plain] = k
        for plain, target in spelled.items():
            sets.union(bare[plain], target)


def group_near_duplicates(
    items: Iterable[OpinionText],
    *,
    threshold: float = 0.7,
    char_threshold: float = CHAR_THRESHOLD,
    num_perm: int = 128,
    seed: int = 1,
    workers: int | None = None,
    tokenization: Tokenization | str = Tokenization.SYLLABLES,
) -> list[OpinionGroup]:
    """Group identical and near-identical opinions.

    Args:
        items: the opinions, in the order they were received (any iterable: it is read once; to feed
            pages from a database, use :class:`NearDuplicateGrouper`).
        threshold: minimum Jaccard similarity of the word shingles (single tokens and pairs of
            consecutive tokens, see ``tokenization``) for two opinions to be grouped, in ``(0, 1]``.
        char_threshold: minimum character similarity of the diacritic-free forms (rapidfuzz
            ``fuzz.ratio`` / 100), the second way two opinions are grouped, in ``(0, 1]``; a
            ``threshold`` above it is used instead (the second signal is never the looser one).
        num_perm: number of MinHash permutations (more: fewer missed pairs, slower).
        seed: MinHash seed; with the same input, seed and ``num_perm`` the output is always the same.
        workers: processes used for word segmentation with ``tokenization="words"`` (about 2 ms per
            distinct text): see :func:`core.text.tokens_many`. ``None`` (default) uses 2 forked
            processes for large inputs in a single-threaded process (CLI, batch job) and none in a
            threaded server; ``1`` keeps everything in the calling process.
        tokenization: the tokens of the word signal: ``"syllables"`` (default), the space-separated
            syllables of the matching key, or ``"words"``, underthesea's word segmentation
            (:func:`core.text.tokens`), about 2 ms per distinct text.

    Returns:
        Every item in exactly one group. Groups are sorted by ``count`` (largest first), then by
        the position of their first member. A group's ``keys`` are in input order; its
        ``representative`` is the clearest member (see :func:`clarity_faults`), among those the one
        whose matching key is the most frequent in the group; ties go to the member most similar to
        the others (highest mean Jaccard similarity), then to the shortest text, then to the first.
    """
    grouper = NearDuplicateGrouper(
        threshold=threshold,
        char_threshold=char_threshold,
        num_perm=num_perm,
        seed=seed,
        workers=workers,
        tokenization=tokenization,
    )
    grouper.add(items)
    return grouper.groups()


_REPEATED_PUNCTUATION = re.compile(r"([!?.,;:])\1|[!?]{2,}|\s[,.!?;:]|  |[,.!?;:](?=\w)")


def clarity_faults(text: str) -> tuple[int, int, int, int]:
    """What makes a member of a group harder to read, as a tuple compared element by element
    (smaller is clearer): typed without diacritics, shouted (more capitals than small letters), not
    starting with a capital letter (all lower case), and the number of bits of noise (repeated or
    misplaced punctuation, double spaces, emoji and other symbols).
    """
    upper = lower = 0
    first_cased: str | None = None
    noise = len(_REPEATED_PUNCTUATION.findall(text))
    for char in text:
        if char.isupper():
            upper += 1
        elif char.islower():
            lower += 1
        else:
            if unicodedata.category(char) == "So":
                noise += 1
            continue
        if first_cased is None:
            first_cased = char
    letters = upper + lower
    no_diacritics = int(letters > 0 and not has_diacritics(text))
    shouted = int(upper > lower and upper > 1)
    not_sentence_case = int(first_cased is not None and not first_cased.isupper())
    return (no_diacritics, shouted, not_sentence_case, noise)


def _representative(
    indexes: Sequence[int],
    item_text: Sequence[int],
    text_key: Sequence[int],
    all_texts: Sequence[str],
    shingles: Callable[[int], frozenset[str]],
    weights: Sequence[int],
) -> int:
    """Index of the item that stands for the group (see :func:`group_near_duplicates`)."""
    if len(indexes) == 1:
        return indexes[0]
    texts = {i: all_texts[item_text[i]] for i in indexes}
    item_key = {i: text_key[item_text[i]] for i in indexes}
    faults: dict[str, tuple[int, int, int, int]] = {}
    for i in indexes:
        if texts[i] not in faults:
            faults[texts[i]] = clarity_faults(texts[i])
    fewest = min(faults.values())
    clearest = [i for i in indexes if faults[texts[i]] == fewest]
    distinct = list(dict.fromkeys(item_key[i] for i in indexes))
    candidates = list(dict.fromkeys(item_key[i] for i in clearest))
    top = max(weights[k] for k in candidates)
    tied = [k for k in candidates if weights[k] == top]
    closeness: dict[int, float] = {}
    if len(tied) > 1:
        step = max(1, -(-len(distinct) // _MAX_REFERENCES))
        references = distinct[::step]
        for k in tied:
            closeness[k] = _mean_similarity(k, references, shingles, weights)
    best_keys = set(tied)
    return min(
        (i for i in clearest if item_key[i] in best_keys),
        key=lambda i: (-closeness.get(item_key[i], 0.0), len(texts[i]), i),
    )


def count_by(rows: Iterable[Mapping[str, object]], field: str) -> dict[str, int]:
    """Count rows by the value of ``field``, most frequent first (ties in order of first appearance).

    Missing and ``None`` values count as ``"unknown"``; enum members count by their value; other
    values by ``str()``.
    """
    counter: Counter[str] = Counter()
    for row in rows:
        value = row.get(field)
        if value is None:
            label = "unknown"
        elif isinstance(value, Enum):
            label = str(value.value)
        else:
            label = str(value)
        counter[label] += 1
    return dict(counter.most_common())
