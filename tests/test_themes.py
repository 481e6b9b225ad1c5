"""Tests of core.themes: opinions proposing the same thing in different words (lexical path).

tests/data/themes_vi.json: 8 ideas, each written 5 different ways (Vietnamese). Figures in
docs/consolidation.md.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from core.near_duplicates import OpinionText
from core.themes import group_themes

DATA = Path(__file__).parent / "data" / "themes_vi.json"


def paraphrases() -> tuple[list[OpinionText], dict[str, str]]:
    rows = json.loads(DATA.read_text(encoding="utf-8"))
    items = [OpinionText(f"T{n:02d}", row["text"]) for n, row in enumerate(rows)]
    return items, {item.key: row["idea"] for item, row in zip(items, rows, strict=True)}


def pairwise(themes: list[tuple[str, ...]], idea: dict[str, str]) -> tuple[float, float]:
    theme = {key: n for n, keys in enumerate(themes) for key in keys}
    tp = fp = fn = 0
    for a, b in itertools.combinations(idea, 2):
        same_theme, same_idea = theme[a] == theme[b], idea[a] == idea[b]
        tp += same_theme and same_idea
        fp += same_theme and not same_idea
        fn += same_idea and not same_theme
    return tp / max(1, tp + fp), tp / (tp + fn)


def test_the_set_has_eight_ideas_in_five_wordings() -> None:
    _, idea = paraphrases()
    counts = {name: list(idea.values()).count(name) for name in set(idea.values())}
    assert len(counts) >= 8 and set(counts.values()) == {5}


def test_paraphrases_come_out_as_one_theme_per_idea() -> None:
    items, idea = paraphrases()
    themes = group_themes(items)
    precision, recall = pairwise([t.keys for t in themes], idea)
    assert precision >= 0.95, precision
    assert recall >= 0.9, recall
    assert sorted(t.count for t in themes) == [5] * 8


def test_themes_have_key_phrase_labels_counts_and_keys_in_input_order() -> None:
    items, idea = paraphrases()
    themes = group_themes(items)
    assert sum(t.count for t in themes) == len(items)
    assert sorted(k for t in themes for k in t.keys) == sorted(i.key for i in items)
    by_idea = {idea[t.keys[0]]: t for t in themes}
    for theme in themes:
        assert theme.count == len(theme.keys)
        assert list(theme.keys) == sorted(theme.keys)
        assert 1 <= len(theme.key_phrases) <= 3
        assert theme.label == ", ".join(theme.key_phrases)
        assert "_" not in theme.label
    assert "công nhân" in by_idea["housing"].key_phrases
    assert any("tham nhũng" in p for p in by_idea["corruption"].key_phrases)
    assert any("ô nhiễm" in p for p in by_idea["pollution"].key_phrases)


def test_the_same_words_in_another_order_make_the_same_themes() -> None:
    items, _ = paraphrases()
    forward = {frozenset(t.keys) for t in group_themes(items)}
    backward = {frozenset(t.keys) for t in group_themes(items[::-1])}
    assert forward == backward


def test_small_and_degenerate_inputs() -> None:
    assert group_themes([]) == []
    [one] = group_themes([OpinionText("a", "Đề nghị tăng lương cho giáo viên")])
    assert one.keys == ("a",) and one.count == 1 and "giáo viên" in one.label
    # Opinions without content words (only stop words or punctuation) each stay alone.
    themes = group_themes([OpinionText("a", "Đề nghị."), OpinionText("b", "!!!"), OpinionText("c", "cần")])
    assert sorted(t.keys for t in themes) == [("a",), ("b",), ("c",)]
    mixed = group_themes(
        [
            OpinionText("a", "Đề nghị."),
            OpinionText("b", "Tăng lương cho giáo viên mầm non"),
            OpinionText("c", "Lương giáo viên mầm non quá thấp"),
        ]
    )
    assert [t.keys for t in mixed] == [("b", "c"), ("a",)]


@pytest.mark.parametrize("threshold", [0.0, -1.0, 2.5])
def test_invalid_threshold(threshold: float) -> None:
    with pytest.raises(ValueError):
        group_themes([OpinionText("a", "x")], distance_threshold=threshold)
