"""Themes: opinions that propose the same thing in different words (the lexical path, no model).

:func:`core.near_duplicates.group_near_duplicates` finds copies; five people asking for social
housing for industrial-zone workers in five different sentences are five groups there. Here they
are one theme, because they share their key words ("nhà ở xã hội", "công nhân", "khu công
nghiệp"): every opinion becomes a TF-IDF vector of its underthesea words and word pairs (without
the words every opinion uses, "đề nghị", "cần", "các"), and opinions are clustered by cosine
distance (agglomerative clustering, average linkage, scikit-learn). A theme's label is made of the
key phrases that weigh most in it.

Optionally (:class:`SentenceEmbedder`, a local sentence-embedding model the operator installed; see
``storage.embeddings`` and GOPY_THEMES_MODEL_PATH) the opinions are clustered on the model's sentence
vectors instead, with the model's own distance threshold: wordings that share no content word can
then meet. The labels stay the key phrases of the theme's TF-IDF centroid either way.

Run per document section (core.document_consolidation) and per mood topic (core.mood); staff edits
are applied afterwards (core.theme_edits). Agglomerative clustering keeps the distance matrix in
memory (n² floats): meant for one section or one mood topic at a time (a few thousand opinions),
not for a whole million-opinion corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.near_duplicates import OpinionText
from core.text import tokens_many

__all__ = ["DISTANCE_THRESHOLD", "SentenceEmbedder", "Theme", "group_themes"]

DISTANCE_THRESHOLD = 0.95
"""Default largest mean cosine distance between the opinions of two clusters that are merged."""

# Words (as core.text.tokens writes them) that say nothing about what is proposed.
_STOP_WORDS = frozenset(
    """
    đề_nghị kiến_nghị đề_xuất mong mong_muốn cần nên phải có là và với của cho tại ở trong để được
    các những một này đó thì mà rất hơn nữa cũng đã đang sẽ không chưa khi nếu vì do bởi theo về
    đến từ ra vào lên xuống tôi chúng_tôi người_dân thành_phố nhà_nước còn nhiều thêm việc như
    hoặc hay ai gì vẫn lại đi xong bị sự cùng
    """.split()
)


class SentenceEmbedder(Protocol):
    """A sentence-embedding model: one vector per text (rows of a 2-D array, L2-normalised)."""

    name: str  # what the documentation and the logs call it (the model directory's name)
    distance_threshold: float  # the largest mean cosine distance between two clusters that merge

    def embed(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class Theme:
    """Opinions about one idea: ``label`` is its key phrases joined by ", "."""

    label: str
    key_phrases: tuple[str, ...]
    count: int
    keys: tuple[str, ...]


def _terms(words: Sequence[str]) -> list[str]:
    """Content words and pairs of consecutive content words."""
    content = [w for w in words if w not in _STOP_WORDS and any(c.isalpha() for c in w)]
    return content + [f"{a} {b}" for a, b in zip(content, content[1:], strict=False)]


def _phrase(term: str) -> str:
    return term.replace("_", " ")


def group_themes(
    items: Sequence[OpinionText],
    *,
    distance_threshold: float = DISTANCE_THRESHOLD,
    label_phrases: int = 3,
    workers: int | None = 1,
    embedder: SentenceEmbedder | None = None,
) -> list[Theme]:
    """Cluster opinions into themes by their key words (or, with ``embedder``, by their sentence
    vectors and the embedder's ``distance_threshold``).

    Returns every item in exactly one theme (an opinion that shares its key words with no other
    is a theme of one), largest first, then by first appearance; ``keys`` in input order.
    ``label_phrases`` key phrases (the heaviest terms of the theme's TF-IDF centroid, a pair of
    words before a single word it contains) make the label.
    """
    if not 0.0 < distance_threshold <= 2.0:
        raise ValueError("distance_threshold must be in (0, 2]")
    if not items:
        return []
    terms = [_terms(words) for words in tokens_many([item.text for item in items], workers=workers)]
    labels: list[int] = list(range(len(items)))  # no content word anywhere: each alone
    vectors = None
    vocabulary: list[str] = []
    if any(terms):
        from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: imported on use

        vectorizer = TfidfVectorizer(analyzer=lambda terms: terms, sublinear_tf=True, norm="l2")
        vectors = vectorizer.fit_transform(terms)
        vocabulary = list(vectorizer.get_feature_names_out())
    if embedder is not None and len(items) > 1:
        import numpy as np

        embedded = np.asarray(embedder.embed([item.text for item in items]), dtype=float)
        if embedded.shape[0] != len(items):
            raise ValueError("the embedder returned a number of vectors other than the number of texts")
        labels = _cluster(embedded, embedder.distance_threshold)
    elif vectors is not None and len(items) > 1:
        labels = _cluster(vectors.toarray(), distance_threshold)

    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    themes: list[tuple[int, int, Theme]] = []
    for indexes in members.values():
        phrases = _key_phrases(vectors, vocabulary, indexes, label_phrases) if vectors is not None else ()
        theme = Theme(
            label=", ".join(phrases),
            key_phrases=phrases,
            count=len(indexes),
            keys=tuple(items[i].key for i in indexes),
        )
        themes.append((-len(indexes), indexes[0], theme))
    themes.sort(key=lambda entry: (entry[0], entry[1]))
    return [theme for _, _, theme in themes]


def _cluster(vectors: Any, distance_threshold: float) -> list[int]:
    """Agglomerative clustering on cosine distance, average linkage (scikit-learn)."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    dense = np.asarray(vectors, dtype=float)
    empty = np.flatnonzero(~dense.any(axis=1))
    if len(empty):  # a zero vector has no cosine distance: give it its own dimension (it stays alone)
        extra = np.zeros((dense.shape[0], len(empty)))
        extra[empty, np.arange(len(empty))] = 1.0
        dense = np.hstack([dense, extra])
    clustering = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance_threshold
    )
    return [int(label) for label in clustering.fit_predict(dense)]


def _key_phrases(
    vectors: object, vocabulary: Sequence[str], indexes: Sequence[int], count: int
) -> tuple[str, ...]:
    """The heaviest terms of the rows ``indexes``, weighted by how many of them use the term; a term
    inside an already chosen pair is skipped ("nhà_ở xã_hội" makes "xã_hội" redundant)."""
    import numpy as np

    rows = vectors[list(indexes)]  # type: ignore[index]
    weight = np.asarray(rows.sum(axis=0)).ravel() * np.asarray((rows > 0).sum(axis=0)).ravel()
    chosen: list[str] = []
    for feature in np.argsort(-weight, kind="stable"):
        if weight[feature] <= 0 or len(chosen) >= count:
            break
        term = vocabulary[int(feature)]
        words = set(term.split())
        if any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
            if " " in term:  # a pair containing a chosen word replaces it
                chosen = [c for c in chosen if not set(c.split()) <= words]
            else:
                continue
        chosen.append(term)
    return tuple(_phrase(term) for term in chosen[:count])
