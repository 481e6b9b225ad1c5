"""Generator of tests/data/near_duplicates_vi.json, the Vietnamese near-duplicate test set.

Run once (``python tests/data/make_near_duplicates_vi.py``); the JSON is committed and the tests read
only the JSON. Seeded: the same script always writes the same file.

32 families of one proposal each. Every family has the original and variants the way people really
type it again: without diacritics (Telex/VNI off, a phone without a Vietnamese keyboard), with and
without capitals and punctuation, ALL CAPS, all lower case, one-letter typos, a word inserted (also
inside a compound, "kết thật sự quả") or dropped, punctuation and spacing noise, and combinations.
Hard negatives are separate families: the same topic and most of the words, but another proposal
("tăng" / "giảm", another number, a negated verb, another object); some have copies of their own.
Words that tell a family from its hard negatives are never dropped or mistyped in its variants
(a copy that loses the only word that matters is no longer a copy of either).
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

SEED = 12
OUT = Path(__file__).with_name("near_duplicates_vi.json")

# (original, [hard negatives]) - a negative followed by "*" also gets a copy typed without diacritics.
FAMILIES: list[tuple[str, list[str]]] = [
    (
        "Đề nghị tăng cường công tác phòng, chống tham nhũng, lãng phí trong các cơ quan nhà nước.",
        ["Đề nghị tăng cường công tác phòng, chống tham nhũng, lãng phí trong các doanh nghiệp nhà nước.*"],
    ),
    (
        "Đề nghị đẩy mạnh cải cách thủ tục hành chính, giảm thời gian giải quyết hồ sơ cho người dân và doanh nghiệp.",
        [
            "Đề nghị đẩy mạnh cải cách thủ tục hành chính, tăng thời gian giải quyết hồ sơ cho người dân và doanh nghiệp."
        ],
    ),
    (
        "Cần có chính sách nhà ở xã hội cho công nhân làm việc tại các khu công nghiệp của thành phố.",
        ["Cần có chính sách nhà ở xã hội cho giáo viên làm việc tại các trường học của thành phố.*"],
    ),
    (
        "Đề nghị nâng mức phụ cấp cho cán bộ không chuyên trách ở thôn, tổ dân phố lên 3 triệu đồng mỗi tháng.",
        [
            "Đề nghị nâng mức phụ cấp cho cán bộ không chuyên trách ở thôn, tổ dân phố lên 5 triệu đồng mỗi tháng.*",
            "Đề nghị giữ nguyên mức phụ cấp cho cán bộ không chuyên trách ở thôn, tổ dân phố như hiện nay.",
        ],
    ),
    (
        "Kiến nghị xử lý nghiêm các cơ sở xả nước thải chưa qua xử lý ra sông Cấm và sông Lạch Tray.",
        ["Kiến nghị xử lý nghiêm các cơ sở xả khói bụi chưa qua xử lý ra khu dân cư ven sông Cấm."],
    ),
    (
        "Đề nghị đầu tư xây dựng thêm trường mầm non công lập tại các phường mới thành lập sau sắp xếp.",
        [
            "Đề nghị đầu tư xây dựng thêm trường trung học cơ sở công lập tại các phường mới thành lập sau sắp xếp."
        ],
    ),
    (
        "Cần giảm học phí cho học sinh trung học phổ thông thuộc hộ nghèo và hộ cận nghèo.",
        [
            "Cần miễn học phí cho học sinh trung học phổ thông thuộc hộ nghèo và hộ cận nghèo.*",
            "Không cần giảm học phí cho học sinh trung học phổ thông thuộc hộ cận nghèo.",
        ],
    ),
    (
        "Đề nghị công khai minh bạch ngân sách của phường, xã để người dân cùng tham gia giám sát.",
        ["Đề nghị công khai minh bạch tài sản của cán bộ phường, xã để người dân cùng tham gia giám sát."],
    ),
    (
        "Tôi đề nghị mở rộng tuyến xe buýt nối trung tâm thành phố với các xã ngoại thành.",
        ["Tôi đề nghị thu hẹp tuyến xe buýt nối trung tâm thành phố với các xã ngoại thành.*"],
    ),
    (
        "Đề nghị ưu tiên bố trí vốn để nâng cấp đê biển và hệ thống phòng, chống thiên tai ở vùng ven biển.",
        ["Đề nghị ưu tiên bố trí vốn để nâng cấp đê sông và hệ thống thủy lợi ở vùng ven biển."],
    ),
    (
        "Cần siết chặt quản lý an toàn thực phẩm tại các chợ truyền thống và bếp ăn tập thể trong trường học.",
        [
            "Cần nới lỏng quản lý an toàn thực phẩm tại các chợ truyền thống và bếp ăn tập thể trong trường học."
        ],
    ),
    (
        "Đề nghị rút ngắn thời gian cấp giấy chứng nhận quyền sử dụng đất xuống còn 15 ngày làm việc.",
        ["Đề nghị rút ngắn thời gian cấp giấy chứng nhận quyền sử dụng đất xuống còn 10 ngày làm việc.*"],
    ),
    (
        "Kiến nghị bổ sung chỉ tiêu về tỷ lệ người dân được khám sức khỏe định kỳ ít nhất một lần mỗi năm.",
        ["Kiến nghị bổ sung chỉ tiêu về tỷ lệ người dân được khám sức khỏe định kỳ ít nhất hai lần mỗi năm."],
    ),
    (
        "Đề nghị không tăng giá nước sinh hoạt trong năm 2026 vì đời sống người dân còn nhiều khó khăn.",
        [
            "Đề nghị tăng giá nước sinh hoạt trong năm 2026 vì đời sống người dân còn nhiều khó khăn.",
            "Đề nghị không tăng giá điện sinh hoạt trong năm 2026 vì đời sống người dân còn nhiều khó khăn.*",
        ],
    ),
    (
        "Cần phát triển kinh tế biển gắn với bảo vệ môi trường và hệ sinh thái rừng ngập mặn.",
        ["Cần phát triển du lịch biển gắn với bảo vệ môi trường và hệ sinh thái rừng ngập mặn."],
    ),
    (
        "Đề nghị hỗ trợ nông dân chuyển đổi số, bán nông sản qua sàn thương mại điện tử.",
        ["Đề nghị hỗ trợ ngư dân chuyển đổi số, bán hải sản qua sàn thương mại điện tử.*"],
    ),
    (
        "Đề nghị thành phố sớm cải tạo các khu chung cư cũ đã xuống cấp, bảo đảm an toàn cho người dân.",
        ["Đề nghị thành phố chưa cải tạo các khu chung cư cũ đã xuống cấp, bảo đảm an toàn cho người dân."],
    ),
    (
        "Cần tăng cường đào tạo nghề cho lao động nông thôn, nhất là thanh niên sau khi xuất ngũ.",
        ["Cần tăng cường đào tạo nghề cho lao động nông thôn, nhất là phụ nữ sau khi sinh con."],
    ),
    (
        "Đề nghị làm rõ trách nhiệm của người đứng đầu khi để xảy ra tham nhũng trong đơn vị mình quản lý.",
        ["Đề nghị làm rõ trách nhiệm của người đứng đầu khi để xảy ra lãng phí trong đơn vị mình quản lý."],
    ),
    (
        "Kiến nghị tăng số lượng bác sĩ về công tác tại các trạm y tế xã, phường.",
        ["Kiến nghị giảm số lượng bác sĩ về công tác tại các trạm y tế xã, phường.*"],
    ),
    (
        "Đề nghị giữ lại tên gọi truyền thống của các địa danh khi sắp xếp đơn vị hành chính cấp xã.",
        ["Đề nghị đổi tên gọi truyền thống của các địa danh khi sắp xếp đơn vị hành chính cấp xã."],
    ),
    (
        "Cần có giải pháp giảm ùn tắc giao thông ở nút giao Cầu Rào và đường Lạch Tray vào giờ cao điểm.",
        ["Cần có giải pháp giảm tai nạn giao thông ở nút giao Cầu Rào và đường Lạch Tray vào ban đêm."],
    ),
    (
        "Đề nghị xây dựng thêm các điểm vui chơi, sân chơi miễn phí cho thiếu nhi ở khu dân cư.",
        ["Đề nghị xây dựng thêm các điểm vui chơi, sân chơi miễn phí cho người cao tuổi ở khu dân cư."],
    ),
    (
        "Đề nghị hạn chế tối đa việc tổ chức hội nghị, lễ kỷ niệm gây tốn kém ngân sách nhà nước.",
        ["Đề nghị không hạn chế việc tổ chức hội nghị, lễ kỷ niệm gây tốn kém ngân sách nhà nước."],
    ),
    (
        "Cần đưa chỉ tiêu thu nhập bình quân đầu người đạt 10.000 đô la Mỹ vào mục tiêu đến năm 2030.",
        ["Cần đưa chỉ tiêu thu nhập bình quân đầu người đạt 15.000 đô la Mỹ vào mục tiêu đến năm 2030.*"],
    ),
    (
        "Đề nghị tăng cường bảo vệ dữ liệu cá nhân của người dân khi thực hiện dịch vụ công trực tuyến.",
        ["Đề nghị tăng cường bảo vệ dữ liệu cá nhân của trẻ em khi sử dụng mạng xã hội."],
    ),
    (
        "Đề nghị quan tâm hơn đến đời sống của người có công với cách mạng và gia đình chính sách.",
        ["Đề nghị quan tâm hơn đến đời sống của người khuyết tật và gia đình chính sách."],
    ),
    (
        "Kiến nghị có cơ chế thu hút nhân tài, trả lương theo năng lực cho người làm việc trong khu vực công.",
        [
            "Kiến nghị có cơ chế thu hút nhân tài, trả lương theo thâm niên cho người làm việc trong khu vực công."
        ],
    ),
    (
        "Đề nghị bổ sung nội dung phát triển văn hóa đọc, xây dựng thư viện tại các xã đảo như Cát Hải, Bạch Long Vĩ.",
        [
            "Đề nghị bổ sung nội dung phát triển văn hóa đọc, xây dựng thư viện tại các trường học ở huyện đảo."
        ],
    ),
    (
        "Cần kiên quyết xử lý các công trình xây dựng trái phép trên đất nông nghiệp, không để kéo dài.",
        ["Cần kiên quyết xử lý các công trình xây dựng trái phép trên đất rừng phòng hộ, không để kéo dài.*"],
    ),
    # Without diacritics the only different word is one letter away ("giảm" / "giao" -> giam / giao):
    # a known weak spot, kept in the set so that the figures stay honest.
    (
        "Đề nghị giảm chỉ tiêu kế hoạch cho các xã miền núi có nhiều khó khăn.",
        ["Đề nghị giao chỉ tiêu kế hoạch cho các xã miền núi có nhiều khó khăn.*"],
    ),
    (
        "Đề nghị ban hành quy chế phối hợp giữa Mặt trận Tổ quốc và chính quyền trong giám sát cán bộ.",
        ["Đề nghị ban hành quy chế phối hợp giữa Mặt trận Tổ quốc và chính quyền trong tiếp công dân.*"],
    ),
]

FILLERS = ["rất", "thật sự", "cần", "nhanh chóng", "hơn nữa", "cũng", "phải", "sớm"]
NEAR_KEYS = dict(zip("qwertyuiopasdfghjklzxcvbnm", "wqrtyuiopasdfghjklzxcvbnmq", strict=True))
_WORD = re.compile(r"\w+")


def strip_diacritics(text: str) -> str:
    """What a keyboard without Vietnamese input produces: no tone marks, no breve/circumflex/horn, d for đ."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def protected_words(original: str, negatives: list[str]) -> set[str]:
    """Words of the original that are missing from one of its negatives, numbers, and negations."""
    words = set(_WORD.findall(original.lower()))
    keep = {w for w in words if any(c.isdigit() for c in w) or w in {"không", "chưa", "tăng", "giảm"}}
    for negative in negatives:
        keep |= words - set(_WORD.findall(negative.lower().rstrip("*")))
    return keep


def typo(text: str, rng: random.Random, protected: set[str]) -> str:
    """One-letter typo (dropped, doubled, swapped or neighbouring key) in one unprotected word of 4+ letters."""
    words = text.split(" ")
    choices = [
        i
        for i, w in enumerate(words)
        if len(w.strip(",.")) >= 4 and w.strip(",.").lower() not in protected and i > 0
    ]
    i = rng.choice(choices)
    word = words[i]
    core = word.rstrip(",.")
    tail = word[len(core) :]
    letters = [j for j, c in enumerate(core) if c.isascii() and c.isalpha()] or list(range(len(core)))
    j = rng.choice(letters[1:] or letters)
    op = rng.randrange(4)
    if op == 0:
        core = core[:j] + core[j + 1 :]
    elif op == 1:
        core = core[:j] + core[j] + core[j:]
    elif op == 2 and j + 1 < len(core):
        core = core[:j] + core[j + 1] + core[j] + core[j + 2 :]
    else:
        c = core[j]
        swapped = NEAR_KEYS.get(c.lower(), c)
        core = core[:j] + (swapped.upper() if c.isupper() else swapped) + core[j + 1 :]
    words[i] = core + tail
    return " ".join(words)


def insert_word(text: str, rng: random.Random) -> str:
    """A filler word inserted anywhere after the first word (also inside a compound word)."""
    words = text.split(" ")
    words.insert(rng.randrange(1, len(words)), rng.choice(FILLERS))
    return " ".join(words)


def drop_word(text: str, rng: random.Random, protected: set[str]) -> str:
    words = text.split(" ")
    choices = [i for i, w in enumerate(words) if i > 0 and w.strip(",.").lower() not in protected]
    del words[rng.choice(choices)]
    return " ".join(words)


def noise(text: str, rng: random.Random) -> str:
    """Punctuation and spacing noise: commas lost or doubled, spaces before punctuation, !!!, emoji."""
    text = text.replace(", ", " , ", 1) if rng.random() < 0.5 else text.replace(",", "")
    text = text.replace(" ", "  ", 2).rstrip(".")
    return "  " + text + rng.choice(["!!!", " ...", "!! 👍", "??", " 🙏"])


def partial_diacritics(text: str, rng: random.Random) -> str:
    """Diacritics typed on some words only (an input method switched on half way, autocorrect)."""
    words = text.split(" ")
    return " ".join(w if rng.random() < 0.5 else strip_diacritics(w) for w in words)


def lower_plain(text: str) -> str:
    """all lower case, no final full stop."""
    return text.lower().rstrip(".")


def variants(original: str, rng: random.Random, protected: set[str]) -> list[tuple[str, str]]:
    plain = strip_diacritics(original)
    return [
        ("original", original),
        ("no_diacritics", plain),
        ("no_diacritics_lower", lower_plain(plain).replace(",", "")),
        ("all_caps", original.upper()),
        ("lower_case", lower_plain(original)),
        ("typo", typo(original, rng, protected)),
        ("typo_no_diacritics", typo(lower_plain(plain), rng, {strip_diacritics(w) for w in protected})),
        ("inserted_word", insert_word(original, rng)),
        ("dropped_word", drop_word(original, rng, protected)),
        ("inserted_word_caps", insert_word(original, rng).upper()),
        ("punctuation_noise", noise(original, rng)),
        ("two_typos", typo(typo(original, rng, protected), rng, protected)),
        ("no_diacritics_caps", plain.upper()),
        ("partial_diacritics", partial_diacritics(original, rng)),
        (
            "dropped_word_no_diacritics",
            drop_word(lower_plain(plain), rng, {strip_diacritics(w) for w in protected}),
        ),
        ("inserted_word_no_diacritics", strip_diacritics(insert_word(lower_plain(original), rng))),
    ]


def build() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    items: list[dict[str, str]] = []
    for number, (original, negatives) in enumerate(FAMILIES, start=1):
        family = f"F{number:02d}"
        protected = protected_words(original, negatives)
        for kind, text in variants(original, rng, protected):
            items.append({"key": f"{family}-{kind}", "family": family, "kind": kind, "text": text})
        for n, negative in enumerate(negatives, start=1):
            neg_family = f"{family}-N{n}"
            text = negative.rstrip("*")
            items.append(
                {"key": f"{neg_family}-original", "family": neg_family, "kind": "hard_negative", "text": text}
            )
            if negative.endswith("*"):
                items.append(
                    {
                        "key": f"{neg_family}-no_diacritics",
                        "family": neg_family,
                        "kind": "hard_negative_no_diacritics",
                        "text": strip_diacritics(text),
                    }
                )
    return items


def main() -> None:
    items = build()
    OUT.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(items)} opinions, {len({i['family'] for i in items})} families -> {OUT}")


if __name__ == "__main__":
    main()
