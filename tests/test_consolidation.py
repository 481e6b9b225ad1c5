"""Tests of core.near_duplicates: groups of near-identical opinions and counts."""

from __future__ import annotations

import enum
import unicodedata

import pytest

from core.near_duplicates import (
    NearDuplicateGrouper,
    OpinionText,
    _lsh_bands,
    count_by,
    group_near_duplicates,
)
from core.text import normalize_input, tokens

BASE = "Đề nghị tăng cường công tác phòng, chống tham nhũng, lãng phí"
ANTI_CORRUPTION = [
    ("GY-001", "Đề nghị tăng cường công tác phòng chống tham nhũng lãng phí."),
    ("GY-002", "ĐỀ NGHỊ TĂNG CƯỜNG CÔNG TÁC PHÒNG, CHỐNG THAM NHŨNG, LÃNG PHÍ!!!"),
    ("GY-003", unicodedata.normalize("NFD", BASE)),
    ("GY-004", "Đề nghị cần tăng cường công tác phòng, chống tham nhũng, lãng phí"),
]
ADMIN_REFORM = [
    ("GY-101", "Cần đẩy mạnh cải cách hành chính, giảm thủ tục cho người dân"),
    ("GY-102", "Cần đẩy mạnh cải cách hành chính và giảm thủ tục cho người dân."),
    ("GY-103", "cần đẩy mạnh CẢI CÁCH HÀNH CHÍNH, giảm bớt thủ tục cho người dân"),
]
DIFFERENT = [
    ("GY-201", "Cần có chính sách hỗ trợ doanh nghiệp nhỏ để tạo thêm việc làm cho thanh niên"),
    ("GY-202", "Nên tăng lương cho giáo viên ở vùng sâu, vùng xa và giảm áp lực thi cử"),
    ("GY-203", "Phải xử lý nghiêm các cơ sở xả thải gây ô nhiễm môi trường và nguồn nước"),
]


def opinions(*pairs: tuple[str, str]) -> list[OpinionText]:
    return [OpinionText(key=key, text=text) for key, text in pairs]


def mixed() -> list[OpinionText]:
    """The three sets interleaved, as opinions arrive in real life."""
    a, b, c = ANTI_CORRUPTION, ADMIN_REFORM, DIFFERENT
    order = [a[0], b[0], c[0], a[1], b[1], c[1], a[2], b[2], a[3], c[2]]
    return opinions(*order)


def test_near_duplicates_are_grouped_and_different_opinions_stay_alone() -> None:
    items = mixed()
    groups = group_near_duplicates(items)

    assert [g.count for g in groups] == [4, 3, 1, 1, 1]
    anti, admin, *singles = groups
    # Punctuation, capitals, NFD and an added word ("cần"): one group of four.
    assert anti.keys == ("GY-001", "GY-002", "GY-003", "GY-004")
    assert admin.keys == ("GY-101", "GY-102", "GY-103")
    assert [g.keys for g in singles] == [("GY-201",), ("GY-202",), ("GY-203",)]
    # Every item is in exactly one group.
    assert sorted(k for g in groups for k in g.keys) == sorted(i.key for i in items)


def test_tone_placement_variants_are_exact_duplicates() -> None:
    items = opinions(
        ("1", "Đề nghị tăng cường phòng, chống tham nhũng trong lĩnh vực thuỷ lợi và hoá chất"),
        ("2", "Đề nghị tăng cường phòng, chống tham nhũng trong lĩnh vực thủy lợi và hóa chất"),
        ("3", "Đề nghị tăng cường phòng, chống tham nhũng trong lĩnh vực thủy lợi"),
        ("4", "Thuỷ lợi"),
        ("5", "thủy lợi"),
    )
    groups = group_near_duplicates(items, threshold=1.0)
    assert [g.keys for g in groups] == [("1", "2"), ("4", "5"), ("3",)]


def test_representative_is_one_of_the_inputs_after_normalisation() -> None:
    items = mixed()
    stored = {normalize_input(item.text) for item in items}
    for group in group_near_duplicates(items):
        assert group.representative in stored


def test_representative_is_the_most_frequent_wording() -> None:
    items = opinions(
        ("a", "Cần đẩy mạnh cải cách hành chính và giảm thủ tục cho người dân."),
        ("b", "Cần đẩy mạnh cải cách hành chính, giảm thủ tục cho người dân"),
        ("c", "CẦN ĐẨY MẠNH CẢI CÁCH HÀNH CHÍNH, GIẢM THỦ TỤC CHO NGƯỜI DÂN!"),
    )
    [group] = group_near_duplicates(items)
    # b and c have the same matching key (2 members): the shorter of them represents the group.
    assert group.representative == "Cần đẩy mạnh cải cách hành chính, giảm thủ tục cho người dân"


def test_representative_ties_go_to_the_member_closest_to_the_others() -> None:
    center = "đề nghị sớm hoàn thiện quy định về bảo vệ dữ liệu cá nhân của người dân"
    items = opinions(
        ("left", center + " trên mạng xã hội"),
        ("center", center),
        ("right", "đề nghị hoàn thiện quy định về bảo vệ dữ liệu cá nhân của người dân"),
    )
    [group] = group_near_duplicates(items, threshold=0.6)
    assert group.count == 3
    assert group.representative == center


def test_keys_are_preserved_in_input_order() -> None:
    items = opinions(("z-9", "Hoà bình"), ("a-1", "hòa bình"), ("m-5", "HOÀ BÌNH!"))
    [group] = group_near_duplicates(items)
    assert group.keys == ("z-9", "a-1", "m-5")
    assert group.count == 3


def test_short_texts_group_only_when_identical_after_folding() -> None:
    items = opinions(
        ("1", "Đồng ý"),
        ("2", "ĐỒNG Ý!"),
        ("3", "Đồng ý."),
        ("4", "Không đồng ý"),
        ("5", "Rất đồng ý"),
    )
    groups = group_near_duplicates(items, threshold=0.3)
    assert [g.keys for g in groups] == [("1", "2", "3"), ("4",), ("5",)]


def test_groups_are_sorted_by_count_then_first_appearance() -> None:
    items = opinions(
        ("1", "Ý kiến thứ nhất về dự thảo luật đất đai"),
        ("2", "Góp ý về thuế thu nhập cá nhân của người lao động"),
        ("3", "góp ý về thuế thu nhập cá nhân của người lao động!"),
        ("4", "Một ý kiến khác hẳn về giáo dục mầm non"),
    )
    groups = group_near_duplicates(items)
    assert [g.keys for g in groups] == [("2", "3"), ("1",), ("4",)]


def test_output_is_deterministic() -> None:
    items = mixed()
    first = group_near_duplicates(items)
    assert group_near_duplicates(items) == first
    assert group_near_duplicates(list(items)) == first


def test_grouping_does_not_depend_on_input_order() -> None:
    items = mixed()
    forward = {frozenset(g.keys) for g in group_near_duplicates(items)}
    backward = {frozenset(g.keys) for g in group_near_duplicates(items[::-1])}
    assert forward == backward


def test_empty_input() -> None:
    assert group_near_duplicates([]) == []


def test_blank_texts_group_together() -> None:
    groups = group_near_duplicates(opinions(("1", ""), ("2", " \u200b "), ("3", "Hoà bình")))
    assert [g.keys for g in groups] == [("1", "2"), ("3",)]
    assert groups[0].representative == ""


def test_threshold_one_groups_only_same_words() -> None:
    items = opinions(
        ("1", "tăng cường phòng chống tham nhũng"),
        ("2", "Tăng cường: phòng chống tham nhũng!"),
        ("3", "tăng cường phòng chống tham nhũng lãng phí"),
    )
    groups = group_near_duplicates(items, threshold=1.0)
    assert [g.keys for g in groups] == [("1", "2"), ("3",)]


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_invalid_threshold(threshold: float) -> None:
    with pytest.raises(ValueError):
        group_near_duplicates(opinions(("1", "a b c")), threshold=threshold)


def test_invalid_num_perm() -> None:
    with pytest.raises(ValueError):
        group_near_duplicates(opinions(("1", "a b c")), num_perm=1)


def test_similarity_exactly_at_the_threshold_groups() -> None:
    # Shingles: 4 words + 3 pairs = 7 against 5 + 4 = 9 with 7 shared: Jaccard 7/9 exactly.
    items = opinions(
        ("1", "Cần giảm thuế cho"),
        ("2", "cần giảm thuế cho dân"),
    )
    assert len(tokens(items[0].text)) == 4 and len(tokens(items[1].text)) == 5
    # char_threshold=1.0: the word signal alone (the character signal groups a dropped word anyway).
    assert [g.count for g in group_near_duplicates(items, threshold=7 / 9, char_threshold=1.0)] == [2]
    assert [g.count for g in group_near_duplicates(items, threshold=7 / 9 + 1e-9, char_threshold=1.0)] == [
        1,
        1,
    ]


def test_campaign_of_many_distinct_variants_stays_one_group() -> None:
    base = "đề nghị bổ sung quy định về hỗ trợ người lao động mất việc làm do thiên tai dịch bệnh"
    extras = ["tại", "ở", "cho", "của", "và", "với", "từ", "trong", "khi", "nếu"]
    fillers = ["rất", "cũng", "đã", "sẽ", "thì", "mà"]
    words = base.split()

    def variant(i: int) -> str:
        # 300 distinct texts: a filler inserted at one of 17 places and a grammatical word at the end.
        # (Not "tỉnh số {i}": a different number now makes a different proposal.)
        position, filler = 1 + (i // 10) % 17, fillers[(i // 10) % 6]
        return " ".join([*words[:position], filler, *words[position:], extras[i % 10], "tỉnh"])

    assert len({variant(i) for i in range(300)}) == 300
    items = [OpinionText(key=f"k{i}", text=variant(i)) for i in range(300)]
    groups = group_near_duplicates(items, workers=1)
    assert [g.count for g in groups] == [300]
    assert groups[0].keys == tuple(f"k{i}" for i in range(300))


def test_lsh_bands_favour_recall_at_the_threshold() -> None:
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        bands, rows = _lsh_bands(threshold, 128)
        assert bands >= 2 and bands * rows <= 128
        assert 1 - (1 - threshold**rows) ** bands >= 0.98


# --------------------------------------------------------------------------------------------------
# count_by
# --------------------------------------------------------------------------------------------------


class Stance(enum.Enum):
    AGREE = "agree"
    DISAGREE = "disagree"


def test_count_by_sorts_by_count_and_names_missing_values_unknown() -> None:
    rows = [
        {"stance": "agree", "age": 30},
        {"stance": None},
        {"stance": "disagree"},
        {"stance": "agree"},
        {},
        {"stance": Stance.DISAGREE},
        {"stance": "agree"},
    ]
    result = count_by(rows, "stance")
    assert result == {"agree": 3, "unknown": 2, "disagree": 2}
    assert list(result) == ["agree", "unknown", "disagree"]  # ties: first appearance
    assert count_by(rows, "age") == {"unknown": 6, "30": 1}
    assert count_by([], "stance") == {}


def test_grouper_fed_in_pages_gives_the_same_groups() -> None:
    items = mixed() * 3
    items = [OpinionText(f"{i}-{item.key}", item.text) for i, item in enumerate(items)]
    grouper = NearDuplicateGrouper()
    for start in range(0, len(items), 4):
        grouper.add(items[start : start + 4])
    assert grouper.groups() == group_near_duplicates(items)
    assert group_near_duplicates(iter(items)) == group_near_duplicates(items)


def test_word_tokenization_groups_the_mixed_opinions_like_syllables() -> None:
    syllables = group_near_duplicates(mixed())
    words = group_near_duplicates(mixed(), tokenization="words", workers=1)
    assert [g.keys for g in words] == [g.keys for g in syllables]
