"""Consolidation of opinions: groups of identical or near-identical texts, and simple counts.

When a draft document is open for comments, the same opinion often arrives many times - copied
from a campaign, typed again with different accents or capitals, or reworded a little. Reports
show each such opinion once, with the number of people who sent it.

Two opinions are in the same group when

* their matching keys (:func:`core.text.fold_for_matching`) are equal, or
* both have at least :data:`MIN_TOKENS` words and the Jaccard similarity of their word shingles
  (single words and pairs of consecutive words of :func:`core.text.tokens`) is at least the
  threshold,

and groups are closed under that relation (if A is like B and B like C, A, B and C are one group).
Candidate pairs come from MinHash LSH (datasketch), so the work grows with the number of opinions,
not with its square; every candidate pair is checked with the exact Jaccard similarity, so LSH never
groups two opinions that are not similar enough (it may, rarely, miss a pair).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from core.text import fold_for_matching, has_diacritics, normalize_input, strip_diacritics, tokens_many

__all__ = [
    "MIN_TOKENS",
    "OpinionGroup",
    "OpinionText",
    "count_by",
    "group_near_duplicates",
]

MIN_TOKENS = 3
"""Texts with fewer words (after segmentation) are grouped only with identical texts."""

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
_NUMBER = re.compile(r"\d")
_PLAIN_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Plain:
    """The diacritic-free comparison form of one distinct matching key."""

    text: str  # strip_diacritics(fold_for_matching(...)): lower case, no punctuation, single spaces
    words: tuple[str, ...]
    marked: tuple[str, ...]  # the same words with their diacritics (the matching key's words)
    has_diacritics: bool
    numbers: tuple[str, ...]  # the words holding digits, sorted
    negations: tuple[str, ...]  # the negation words, normalised and sorted


def _plain(key: str) -> _Plain:
    text = strip_diacritics(key)
    words = tuple(_PLAIN_WORD.findall(text))
    marked = tuple(_PLAIN_WORD.findall(key))
    if len(marked) != len(words):  # a stray mark that NFC leaves alone: compare without diacritics
        marked = words
    return _Plain(
        text=text,
        words=words,
        marked=marked,
        has_diacritics=text != key,
        numbers=tuple(sorted(w for w in words if _NUMBER.search(w))),
        negations=tuple(sorted(_NEGATIONS[w] for w in words if w in _NEGATIONS)),
    )


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
    if all(w in _FUNCTION_WORDS for w in left) and all(w in _FUNCTION_WORDS for w in right):
        return True
    if i1 == j1 == 0 and all(w in _OPENING_WORDS or w in _FUNCTION_WORDS for w in (*left, *right)):
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

    Indexes are distinct matching keys; ``shingles[k]`` is empty for texts too short to have
    near-duplicates.
    """

    def __init__(
        self,
        shingles: Sequence[frozenset[str]],
        plains: Sequence[_Plain],
        threshold: float,
        char_threshold: float,
    ) -> None:
        self.shingles = shingles
        self.plains = plains
        self.threshold = threshold
        self.char_threshold = char_threshold
        self.sets = _UnionFind(len(shingles))
        self._rejected: set[tuple[int, int]] = set()

    def _words_similar(self, x: int, y: int) -> bool:
        a, b = self.shingles[x], self.shingles[y]
        small, large = sorted((len(a), len(b)))
        if small / large < self.threshold:  # Jaccard <= small / large: no need to intersect
            return False
        return _jaccard(a, b) >= self.threshold

    def _letters_similar(self, x: int, y: int) -> bool:
        a, b = self.plains[x].text, self.plains[y].text
        # Indel similarity <= 2 * min / (len a + len b): no need to align
        if 2 * min(len(a), len(b)) < self.char_threshold * (len(a) + len(b)):
            return False
        return bool(fuzz.ratio(a, b, score_cutoff=100 * self.char_threshold) > 0)

    def similar(self, x: int, y: int) -> bool:
        pair = (x, y) if x < y else (y, x)
        if pair in self._rejected:
            return False
        if (self._words_similar(x, y) or self._letters_similar(x, y)) and not _different_proposal(
            self.plains[x], self.plains[y]
        ):
            return True
        self._rejected.add(pair)
        return False

    def link_bucket(self, members: Sequence[int]) -> None:
        """Merge all similar pairs of one LSH bucket without comparing every pair.

        Members are kept in clusters already known to be connected. A new member is compared with
        the members of each cluster only until one is similar enough (one link suffices), and not at
        all with clusters it is already connected to. The resulting sets are exactly those of
        checking every pair; a bucket of n copies of one opinion costs O(n) comparisons, not O(n²).
        """
        find = self.sets.find
        clusters: list[list[int]] = []
        for x in members:
            joined: list[int] = []
            for index, cluster in enumerate(clusters):
                if find(cluster[0]) == find(x) or any(self.similar(x, y) for y in cluster):
                    self.sets.union(x, cluster[0])
                    joined.append(index)
            if not joined:
                clusters.append([x])
                continue
            merged = [x]
            for index in joined:
                merged.extend(clusters[index])
            keep = set(joined)
            clusters = [c for i, c in enumerate(clusters) if i not in keep]
            clusters.append(merged)


def _char_shingles(text: str, n: int = _CHAR_NGRAM) -> frozenset[str]:
    """Character n-grams of a diacritic-free text, with a space at both ends (short words count)."""
    padded = f" {text} "
    return frozenset(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))


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


def _lsh_buckets(
    indexes: Sequence[int],
    shingles: Sequence[frozenset[str]],
    threshold: float,
    num_perm: int,
    seed: int,
) -> Iterator[list[int]]:
    """Yield the LSH buckets (sorted lists of ``indexes``) that hold more than one text.

    ``shingles[k]`` is the set of text ``k`` (``k`` in ``indexes``).
    """
    from datasketch import MinHash, MinHashLSH  # imported here: numpy/scipy are slow to import

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=_lsh_bands(threshold, num_perm))
    minhashes = MinHash.bulk(
        ([shingle.encode("utf-8") for shingle in shingles[k]] for k in indexes), num_perm=num_perm, seed=seed
    )
    with lsh.insertion_session() as session:
        for k, minhash in zip(indexes, minhashes, strict=True):
            session.insert(k, minhash, check_duplication=False)
    for table in lsh.hashtables:
        for bucket in table.keys():
            members = table.get(bucket)
            if len(members) > 1:
                yield sorted(members)


def _mean_similarity(
    candidate: int,
    references: Sequence[int],
    shingles: Sequence[frozenset[str]],
    weights: Mapping[int, int],
) -> float:
    """Mean Jaccard similarity of one distinct text to the other distinct texts of its group, each
    weighted by the number of members sending it. (Copies of the candidate itself are left out: all
    the candidates compared have the same number of copies.)"""
    total = 0.0
    weight = 0
    for other in references:
        if other != candidate:
            total += weights[other] * _jaccard(shingles[candidate], shingles[other])
            weight += weights[other]
    return round(total / weight, 9) if weight else 1.0


def group_near_duplicates(
    items: Sequence[OpinionText],
    *,
    threshold: float = 0.7,
    char_threshold: float = CHAR_THRESHOLD,
    num_perm: int = 128,
    seed: int = 1,
    workers: int | None = None,
) -> list[OpinionGroup]:
    """Group identical and near-identical opinions.

    Args:
        items: the opinions, in the order they were received.
        threshold: minimum Jaccard similarity of the word shingles (unigrams and bigrams of
            :func:`core.text.tokens`) for two opinions to be grouped, in ``(0, 1]``.
        char_threshold: minimum character similarity of the diacritic-free forms (rapidfuzz
            ``fuzz.ratio`` / 100), the second way two opinions are grouped, in ``(0, 1]``; a
            ``threshold`` above it is used instead (the second signal is never the looser one).
        num_perm: number of MinHash permutations (more: fewer missed pairs, slower).
        seed: MinHash seed; with the same input, seed and ``num_perm`` the output is always the same.
        workers: processes used for word segmentation, the expensive step (about 2 ms per distinct
            text): see :func:`core.text.tokens_many`. ``None`` (default) uses 2 forked processes for
            large inputs in a single-threaded process (CLI, batch job) and none in a threaded server;
            ``1`` keeps everything in the calling process.

    Returns:
        Every item in exactly one group. Groups are sorted by ``count`` (largest first), then by
        the position of their first member. A group's ``keys`` are in input order; its
        ``representative`` is the clearest member (see :func:`clarity_faults`), among those the one
        whose matching key is the most frequent in the group; ties go to the member most similar to
        the others (highest mean Jaccard similarity), then to the shortest text, then to the first.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    if not 0.0 < char_threshold <= 1.0:
        raise ValueError("char_threshold must be in (0, 1]")
    if num_perm < 2:
        raise ValueError("num_perm must be at least 2")
    if not items:
        return []

    texts = [normalize_input(item.text) for item in items]
    # Distinct matching keys, numbered in order of first appearance; identical keys always group.
    key_ids: dict[str, int] = {}
    item_key = [key_ids.setdefault(fold_for_matching(text), len(key_ids)) for text in texts]
    distinct = list(key_ids)
    weights = Counter(item_key)
    plains = [_plain(key) for key in distinct]

    # Only texts of MIN_TOKENS words or more can have near-duplicates.
    candidates = [k for k, key in enumerate(distinct) if key]
    segmented = tokens_many([distinct[k] for k in candidates], workers=workers, folded=True)
    shingles: list[frozenset[str]] = [frozenset()] * len(distinct)
    long_texts: list[int] = []
    for k, words in zip(candidates, segmented, strict=True):
        if len(words) >= MIN_TOKENS:
            shingles[k] = _shingles(words)
            long_texts.append(k)

    # The character signal is never looser than the word one: threshold=1.0 still means "same words".
    linker = _Linker(shingles, plains, threshold, max(char_threshold, threshold))
    _link_typed_without_diacritics(distinct, plains, weights, linker.sets)
    if len(long_texts) > 1:
        for bucket in _lsh_buckets(long_texts, shingles, threshold, num_perm, seed):
            linker.link_bucket(bucket)
        letters: list[frozenset[str]] = [frozenset()] * len(distinct)
        for k in long_texts:
            letters[k] = _char_shingles(plains[k].text)
        for bucket in _lsh_buckets(long_texts, letters, _CHAR_LSH_THRESHOLD, num_perm, seed):
            linker.link_bucket(bucket)

    # Group id of every distinct key: the first distinct key (by appearance) of its set.
    first_of_root: dict[int, int] = {}
    group_of = [first_of_root.setdefault(linker.sets.find(k), k) for k in range(len(distinct))]

    members: dict[int, list[int]] = {}
    for index, k in enumerate(item_key):
        members.setdefault(group_of[k], []).append(index)

    groups: list[tuple[int, int, OpinionGroup]] = []
    for indexes in members.values():
        representative = _representative(indexes, item_key, texts, shingles, weights)
        group = OpinionGroup(
            representative=texts[representative],
            count=len(indexes),
            keys=tuple(items[i].key for i in indexes),
        )
        groups.append((-len(indexes), indexes[0], group))
    groups.sort(key=lambda entry: (entry[0], entry[1]))
    return [group for _, _, group in groups]


def _link_typed_without_diacritics(
    distinct: Sequence[str], plains: Sequence[_Plain], weights: Mapping[int, int], sets: _UnionFind
) -> None:
    """Join every text typed entirely without diacritics to the text it spells, whatever its length.

    "de nghi tang luong" joins "Đề nghị tăng lương". When several texts spell the same way ("hóa",
    "hoa"), it joins the most frequent of them (the first on a tie); those texts themselves stay
    apart: two texts that both have diacritics are never identical because of this rule.
    """
    spelled: dict[str, int] = {}
    for k, key in enumerate(distinct):
        plain = plains[k].text
        if plain != key:  # has diacritics
            best = spelled.get(plain)
            if best is None or weights[k] > weights[best]:
                spelled[plain] = k
    for k, key in enumerate(distinct):
        if plains[k].text == key and (target := spelled.get(key)) is not None:
            sets.union(k, target)


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
    item_key: Sequence[int],
    texts: Sequence[str],
    shingles: Sequence[frozenset[str]],
    weights: Mapping[int, int],
) -> int:
    """Index of the item that stands for the group (see :func:`group_near_duplicates`)."""
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
