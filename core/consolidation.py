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

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from core.text import fold_for_matching, normalize_input, tokens_many

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


class _Linker:
    """Merges candidate texts whose exact shingle Jaccard similarity reaches the threshold."""

    def __init__(self, shingles: Sequence[frozenset[str]], threshold: float) -> None:
        self.shingles = shingles
        self.threshold = threshold
        self.sets = _UnionFind(len(shingles))
        self._rejected: set[tuple[int, int]] = set()

    def similar(self, x: int, y: int) -> bool:
        a, b = self.shingles[x], self.shingles[y]
        small, large = sorted((len(a), len(b)))
        if small / large < self.threshold:  # Jaccard <= small / large: no need to intersect
            return False
        pair = (x, y) if x < y else (y, x)
        if pair in self._rejected:
            return False
        if _jaccard(a, b) >= self.threshold:
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
    shingles: Sequence[frozenset[str]], threshold: float, num_perm: int, seed: int
) -> Iterator[list[int]]:
    """Yield the LSH buckets (sorted lists of indexes) that hold more than one text."""
    from datasketch import MinHash, MinHashLSH  # imported here: numpy/scipy are slow to import

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=_lsh_bands(threshold, num_perm))
    minhashes = MinHash.bulk(
        ([shingle.encode("utf-8") for shingle in s] for s in shingles), num_perm=num_perm, seed=seed
    )
    with lsh.insertion_session() as session:
        for index, minhash in enumerate(minhashes):
            session.insert(index, minhash, check_duplication=False)
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
    num_perm: int = 128,
    seed: int = 1,
    workers: int | None = None,
) -> list[OpinionGroup]:
    """Group identical and near-identical opinions.

    Args:
        items: the opinions, in the order they were received.
        threshold: minimum Jaccard similarity of the word shingles (unigrams and bigrams of
            :func:`core.text.tokens`) for two opinions to be grouped, in ``(0, 1]``.
        num_perm: number of MinHash permutations (more: fewer missed pairs, slower).
        seed: MinHash seed; with the same input, seed and ``num_perm`` the output is always the same.
        workers: processes used for word segmentation, the expensive step (about 2 ms per distinct
            text): see :func:`core.text.tokens_many`. ``None`` (default) uses 2 forked processes for
            large inputs in a single-threaded process (CLI, batch job) and none in a threaded server;
            ``1`` keeps everything in the calling process.

    Returns:
        Every item in exactly one group. Groups are sorted by ``count`` (largest first), then by
        the position of their first member. A group's ``keys`` are in input order; its
        ``representative`` is the :func:`core.text.normalize_input` text of the member whose
        matching key is the most frequent in the group; ties go to the member most similar to the
        others (highest mean Jaccard similarity), then to the shortest text, then to the first one.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
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

    # Only texts of MIN_TOKENS words or more can have near-duplicates.
    candidates = [k for k, key in enumerate(distinct) if key]
    segmented = tokens_many([distinct[k] for k in candidates], workers=workers, folded=True)
    shingles: list[frozenset[str]] = [frozenset()] * len(distinct)
    long_texts: list[int] = []
    for k, words in zip(candidates, segmented, strict=True):
        if len(words) >= MIN_TOKENS:
            shingles[k] = _shingles(words)
            long_texts.append(k)

    linker = _Linker([shingles[k] for k in long_texts], threshold)
    if len(long_texts) > 1:
        for bucket in _lsh_buckets(linker.shingles, threshold, num_perm, seed):
            linker.link_bucket(bucket)

    # Group id of every distinct key: the first distinct key (by appearance) of its set.
    group_of = list(range(len(distinct)))
    first_of_root: dict[int, int] = {}
    for position, k in enumerate(long_texts):  # long_texts is in order of first appearance
        group_of[k] = first_of_root.setdefault(linker.sets.find(position), k)

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


def _representative(
    indexes: Sequence[int],
    item_key: Sequence[int],
    texts: Sequence[str],
    shingles: Sequence[frozenset[str]],
    weights: Mapping[int, int],
) -> int:
    """Index of the item that stands for the group (see :func:`group_near_duplicates`)."""
    distinct = list(dict.fromkeys(item_key[i] for i in indexes))
    if len(distinct) > 1:
        top = max(weights[k] for k in distinct)
        tied = [k for k in distinct if weights[k] == top]
    else:
        tied = distinct
    closeness: dict[int, float] = {}
    if len(tied) > 1:
        step = max(1, -(-len(distinct) // _MAX_REFERENCES))
        references = distinct[::step]
        for k in tied:
            closeness[k] = _mean_similarity(k, references, shingles, weights)
    best_keys = set(tied)
    return min(
        (i for i in indexes if item_key[i] in best_keys),
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
