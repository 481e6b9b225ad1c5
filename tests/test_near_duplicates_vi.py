"""Near-duplicates as people type them: pairwise precision and recall on a Vietnamese test set.

tests/data/near_duplicates_vi.json (made by tests/data/make_near_duplicates_vi.py): 32 families of
one proposal, each with 16 wordings (no diacritics, ALL CAPS, lower case, typos, a word inserted or
dropped, punctuation and spacing noise, and combinations), and hard negatives - same topic, most
words shared, another proposal. Figures and their history: docs/consolidation.md.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from core.near_duplicates import OpinionText, clarity_faults, group_near_duplicates

DATA = Path(__file__).parent / "data" / "near_duplicates_vi.json"

# one pytest-xdist worker runs the whole module: the set is grouped once
pytestmark = pytest.mark.xdist_group("near-duplicates-vi")


def load() -> list[dict[str, str]]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def pairwise(items: list[dict[str, str]], groups: list[tuple[str, ...]]) -> tuple[float, float]:
    """Pairwise precision and recall of ``groups`` against the families of ``items``."""
    family = {item["key"]: item["family"] for item in items}
    group = {key: n for n, keys in enumerate(groups) for key in keys}
    counts: Counter[str] = Counter()
    for a, b in itertools.combinations(family, 2):
        same_group, same_family = group[a] == group[b], family[a] == family[b]
        if same_group and same_family:
            counts["tp"] += 1
        elif same_group:
            counts["fp"] += 1
        elif same_family:
            counts["fn"] += 1
    return counts["tp"] / (counts["tp"] + counts["fp"]), counts["tp"] / (counts["tp"] + counts["fn"])


@pytest.fixture(scope="module")
def result() -> tuple[list[dict[str, str]], list[tuple[str, ...]], dict[str, str]]:
    items = load()
    groups = group_near_duplicates([OpinionText(i["key"], i["text"]) for i in items], workers=1)
    representative = {key: g.representative for g in groups for key in g.keys}
    return items, [g.keys for g in groups], representative


def test_the_set_has_every_variation() -> None:
    items = load()
    families = Counter(i["family"] for i in items if i["kind"] != "hard_negative")
    kinds = Counter(i["kind"] for i in items)
    assert sum(1 for f in families if "-N" not in f) >= 30
    for kind in (
        "no_diacritics",
        "no_diacritics_lower",
        "all_caps",
        "lower_case",
        "typo",
        "two_typos",
        "inserted_word",
        "dropped_word",
        "punctuation_noise",
        "partial_diacritics",
    ):
        assert kinds[kind] >= 30, kind
    assert kinds["hard_negative"] >= 30


def test_pairwise_precision_and_recall(
    result: tuple[list[dict[str, str]], list[tuple[str, ...]], dict[str, str]],
) -> None:
    items, groups, _ = result
    precision, recall = pairwise(items, groups)
    assert precision >= 0.98, precision
    assert recall >= 0.95, recall


def test_copies_typed_without_diacritics_join_their_family(
    result: tuple[list[dict[str, str]], list[tuple[str, ...]], dict[str, str]],
) -> None:
    items, groups, _ = result
    group = {key: n for n, keys in enumerate(groups) for key in keys}
    plain = [i for i in items if i["kind"] in ("no_diacritics", "no_diacritics_lower", "no_diacritics_caps")]
    assert plain
    for item in plain:
        assert group[item["key"]] == group[f"{item['family']}-original"], item["text"]


def test_hard_negatives_stay_apart_except_the_known_one_letter_case(
    result: tuple[list[dict[str, str]], list[tuple[str, ...]], dict[str, str]],
) -> None:
    items, groups, _ = result
    group = {key: n for n, keys in enumerate(groups) for key in keys}
    merged = [
        i["family"]
        for i in items
        if i["kind"] == "hard_negative" and group[i["key"]] == group[f"{i['family'].split('-')[0]}-original"]
    ]
    # "giảm" / "giao": one letter apart once the diacritics are gone (docs/consolidation.md).
    assert merged == ["F31-N1"]


def test_representatives_are_the_clearest_member(
    result: tuple[list[dict[str, str]], list[tuple[str, ...]], dict[str, str]],
) -> None:
    items, _, representative = result
    for item in items:
        if item["kind"] == "original" and item["family"] != "F31":
            assert representative[item["key"]] == item["text"]


def test_clarity_faults_order() -> None:
    clean = "Đề nghị tăng lương cho giáo viên."
    assert clarity_faults(clean) == (0, 0, 0, 0)
    assert clarity_faults("De nghi tang luong cho giao vien.")[0] == 1
    assert clarity_faults("ĐỀ NGHỊ TĂNG LƯƠNG CHO GIÁO VIÊN.")[:2] == (0, 1)
    assert clarity_faults("đề nghị tăng lương cho giáo viên")[:3] == (0, 0, 1)
    assert clarity_faults("Đề nghị  tăng lương ,cho giáo viên!!! 👍")[3] >= 3
    # UBND in capitals is not shouting.
    assert clarity_faults("Đề nghị UBND phường công khai ngân sách.") == (0, 0, 0, 0)


def test_representative_is_not_the_caps_or_lower_case_copy_even_when_they_are_more() -> None:
    items = [
        OpinionText("1", "ĐỀ NGHỊ TĂNG CƯỜNG PHÒNG, CHỐNG THAM NHŨNG, LÃNG PHÍ!!!"),
        OpinionText("2", "đề nghị tăng cường phòng chống tham nhũng lãng phí"),
        OpinionText("3", "de nghi tang cuong phong chong tham nhung lang phi"),
        OpinionText("4", "DE NGHI TANG CUONG PHONG CHONG THAM NHUNG LANG PHI"),
        OpinionText("5", "de nghi tang cuong phong chong tham nhung lang phi"),
        OpinionText("6", "Đề nghị tăng cường phòng, chống tham nhũng, lãng phí."),
        OpinionText("7", "đề nghị tăng cường phòng, chống tham nhũng, lãng phí"),
    ]
    [group] = group_near_duplicates(items, workers=1)
    assert group.count == 7
    assert group.representative == "Đề nghị tăng cường phòng, chống tham nhũng, lãng phí."


def test_representative_prefers_diacritics_to_sentence_case() -> None:
    items = [
        OpinionText("1", "De nghi mo rong tuyen xe buyt noi trung tam voi cac xa ngoai thanh."),
        OpinionText("2", "đề nghị mở rộng tuyến xe buýt nối trung tâm với các xã ngoại thành"),
    ]
    [group] = group_near_duplicates(items, workers=1)
    assert group.representative == items[1].text


@pytest.mark.parametrize(
    ("original", "other"),
    [
        ("Đề nghị tăng học phí đại học công lập từ năm học tới", "Đề nghị giảm học phí đại học công lập từ năm học tới"),
        ("Đề nghị nâng phụ cấp lên 3 triệu đồng mỗi tháng cho cán bộ thôn", "Đề nghị nâng phụ cấp lên 5 triệu đồng mỗi tháng cho cán bộ thôn"),
        ("Đề nghị tăng giá điện sinh hoạt cho các hộ gia đình", "Đề nghị không tăng giá điện sinh hoạt cho các hộ gia đình"),
        ("de nghi tang hoc phi dai hoc cong lap tu nam hoc toi", "Đề nghị giảm học phí đại học công lập từ năm học tới"),
        ("de nghi tang gia dien sinh hoat cho cac ho gia dinh", "Đề nghị ko tăng giá điện sinh hoạt cho các hộ gia đình"),
    ],
)  # fmt: skip
def test_different_proposals_are_not_grouped(original: str, other: str) -> None:
    groups = group_near_duplicates([OpinionText("a", original), OpinionText("b", other)], workers=1)
    assert [g.count for g in groups] == [1, 1]


@pytest.mark.parametrize(
    "variant",
    [
        "de nghi tang hoc phi dai hoc cong lap tu nam hoc toi",
        "Đề nghị tăng học phí đại học công lập từ năm hcọ tới",  # two letters swapped
        "Đề nghị tăng học phí đại học công lập ngay từ năm học tới",  # a word inserted
        "Đề nghị tăng học phí đại học công từ năm học tới",  # a word dropped
        "DE NGHI TANG HOC PHI DAI HOC CONG LAP TU NAM HOC TOI!!!",
        "Đề nghị tăng học phí đại học công lập ở năm học tới",  # a grammatical word replaced
    ],
)
def test_one_slip_still_groups(variant: str) -> None:
    original = "Đề nghị tăng học phí đại học công lập từ năm học tới."
    groups = group_near_duplicates([OpinionText("a", original), OpinionText("b", variant)], workers=1)
    assert [g.count for g in groups] == [2]
    if clarity_faults(variant) > clarity_faults(original):
        assert groups[0].representative == original


def test_short_texts_typed_without_diacritics_join_the_text_they_spell() -> None:
    items = [
        OpinionText("1", "Đồng ý"),
        OpinionText("2", "dong y"),
        OpinionText("3", "Hóa"),
        OpinionText("4", "Hoa"),
        OpinionText("5", "hoa"),
        OpinionText("6", "Hóa!"),
    ]
    groups = group_near_duplicates(items, workers=1)
    # "Hoa" has no diacritics: it joins the most frequent text it spells ("Hóa", twice); two texts
    # that both carry diacritics are never made identical this way.
    assert [g.keys for g in groups] == [("3", "4", "5", "6"), ("1", "2")]
    assert groups[0].representative == "Hóa"
    assert groups[1].representative == "Đồng ý"


def test_texts_with_different_diacritics_stay_apart() -> None:
    items = [OpinionText("1", "Hóa"), OpinionText("2", "Họa"), OpinionText("3", "hoa")]
    groups = group_near_duplicates(items, workers=1)
    assert sorted(g.keys for g in groups) == [("1", "3"), ("2",)]


def test_one_opening_may_replace_another() -> None:
    proposal = "phát triển văn hóa đọc, xây dựng thư viện tại các xã, phường và giao cho chính quyền cơ sở tổ chức thực hiện"
    items = [
        OpinionText("1", f"Xin góp ý là nên {proposal}."),
        OpinionText("2", f"Người dân chúng tôi đề xuất {proposal}."),
        OpinionText("3", f"Kính đề nghị Ban soạn thảo {proposal}."),
        OpinionText(
            "4",
            f"Người dân chúng tôi đề xuất {proposal.replace('thư viện', 'nhà văn hóa')}.",
        ),
    ]
    groups = group_near_duplicates(items, workers=1)
    assert [g.keys for g in groups] == [("1", "2", "3"), ("4",)]
