"""Benchmark of core.near_duplicates.group_near_duplicates on synthetic Vietnamese opinions.

Usage::

    .venv/bin/python bench/bench_consolidation.py                 # N = 1000, 5000, 20000
    .venv/bin/python bench/bench_consolidation.py 2000 50000      # other sizes
    .venv/bin/python bench/bench_consolidation.py --workers=1 5000
    .venv/bin/python bench/bench_consolidation.py --tiny

Prints one JSON object; for every N: {"n", "seconds_median", "groups", "per_second", ...} over 3 runs
("cpu_seconds_median" adds the CPU time of this process and of the segmentation workers: on a busy
machine it is steadier than the wall-clock time).
The data is seeded, so every run of the script sees the same opinions. About 40 % of the opinions
are copies of 30 "campaign" texts with small edits (case, punctuation, tone mark placement, NFD,
a word added or dropped); the rest are free opinions put together from phrase pools, about 30 words
each, that share many phrases without being near-duplicates.
Reference in the same run: datasketch MinHash + LSH alone on the same texts (bench/_common.py).
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import time
import unicodedata

import _common
from _common import SEED, datasketch_grouping, emit, ratio

from core import text as core_text
from core.near_duplicates import OpinionText, group_near_duplicates

assert _common.ROOT
DEFAULT_SIZES = (1000, 5000, 20000)

OPENERS = [
    "Đề nghị",
    "Tôi kiến nghị",
    "Kính đề nghị Ban soạn thảo",
    "Theo tôi cần",
    "Chúng tôi mong muốn",
    "Xin góp ý là nên",
    "Người dân chúng tôi đề xuất",
    "Tôi đồng ý với dự thảo nhưng cần",
]
TOPICS = [
    "tăng cường công tác phòng, chống tham nhũng, lãng phí trong các cơ quan nhà nước",
    "đẩy mạnh cải cách hành chính, giảm bớt thủ tục giấy tờ cho người dân và doanh nghiệp",
    "có chính sách hỗ trợ doanh nghiệp nhỏ và vừa để tạo thêm việc làm cho thanh niên",
    "nâng cao chất lượng giáo dục phổ thông, giảm áp lực thi cử cho học sinh",
    "xử lý nghiêm các cơ sở xả thải gây ô nhiễm môi trường và nguồn nước",
    "tăng lương cho giáo viên, y tế cơ sở ở vùng sâu, vùng xa",
    "quy định rõ trách nhiệm người đứng đầu khi để xảy ra sai phạm",
    "bảo đảm quyền tiếp cận thông tin của công dân theo quy định của pháp luật",
    "hoàn thiện chính sách bảo hiểm xã hội và bảo hiểm y tế cho lao động tự do",
    "đầu tư hạ tầng giao thông nông thôn, nhất là cầu dân sinh ở miền núi",
    "kiểm soát chặt chẽ giá điện, giá xăng dầu và các mặt hàng thiết yếu",
    "hỗ trợ nông dân chuyển đổi số, tiêu thụ nông sản qua thương mại điện tử",
    "phát triển nhà ở xã hội cho công nhân và người có thu nhập thấp",
    "tăng cường quản lý an toàn thực phẩm tại các chợ và bếp ăn tập thể",
    "bảo vệ rừng phòng hộ, xử lý nghiêm hành vi khai thác khoáng sản trái phép",
    "công khai minh bạch ngân sách địa phương để người dân cùng giám sát",
    "bảo đảm an ninh mạng, bảo vệ dữ liệu cá nhân của người dùng",
    "phát triển văn hóa đọc, xây dựng thư viện tại các xã, phường",
    "nâng cao năng lực phòng chống thiên tai, hỗ trợ người dân vùng lũ",
    "đơn giản hóa thủ tục cấp giấy chứng nhận quyền sử dụng đất",
]
REASONS = [
    "vì thực tế hiện nay còn nhiều bất cập",
    "bởi vì người dân còn gặp nhiều khó khăn",
    "do quy định hiện hành chưa rõ ràng",
    "để phù hợp với điều kiện phát triển của đất nước",
    "nhằm bảo đảm quyền và lợi ích hợp pháp của người dân",
    "vì nhiều địa phương thực hiện chưa thống nhất",
    "để tránh tình trạng đùn đẩy trách nhiệm",
    "vì chi phí tuân thủ còn cao",
    "nhằm nâng cao hiệu quả quản lý nhà nước",
    "để khắc phục những hạn chế trong thời gian qua",
]
REQUESTS = [
    "và cần có lộ trình thực hiện cụ thể",
    "đồng thời bổ sung chế tài xử lý vi phạm",
    "và giao cho chính quyền cơ sở tổ chức thực hiện",
    "kèm theo nguồn lực tài chính bảo đảm",
    "và định kỳ báo cáo kết quả với Quốc hội",
    "có sự tham gia giám sát của Mặt trận Tổ quốc",
    "và lấy ý kiến rộng rãi của người dân trước khi ban hành",
    "và hướng dẫn chi tiết để dễ áp dụng",
]
CLOSINGS = ["Xin cảm ơn.", "Trân trọng!", "Mong được xem xét.", "Rất mong Ban soạn thảo tiếp thu."]
# Free opinions pick a few of these; two free opinions rarely share more than a topic and a fragment.
FRAGMENTS = [
    "ở địa phương tôi",
    "trong nhiều năm qua",
    "người cao tuổi",
    "hộ nghèo và cận nghèo",
    "khu công nghiệp",
    "trường học ở xã",
    "trạm y tế",
    "cán bộ một cửa",
    "hồ sơ trực tuyến",
    "phí và lệ phí",
    "mùa mưa bão",
    "đường liên thôn",
    "giá vật liệu xây dựng",
    "lao động di cư",
    "con em đồng bào dân tộc thiểu số",
    "doanh nghiệp khởi nghiệp",
    "hợp tác xã nông nghiệp",
    "người khuyết tật",
    "tiếp công dân định kỳ",
    "kinh phí sự nghiệp",
    "quy hoạch sử dụng đất",
    "bồi thường giải phóng mặt bằng",
    "xe quá tải",
    "rác thải sinh hoạt",
    "nước sạch nông thôn",
    "điện lưới quốc gia",
    "sóng điện thoại yếu",
    "chợ truyền thống",
    "hàng giả hàng nhái",
    "tín dụng đen",
    "bạo lực học đường",
    "thuốc lá điện tử",
    "tai nạn giao thông",
    "phòng cháy chữa cháy",
    "chung cư cũ xuống cấp",
    "làng nghề truyền thống",
    "du lịch cộng đồng",
    "học phí đại học",
    "chi phí khám chữa bệnh",
    "thời gian giải quyết hồ sơ",
    "năm nay",
    "thực sự rất bức xúc",
    "chưa được quan tâm đúng mức",
    "kéo dài nhiều tháng",
    "gây thiệt hại không nhỏ",
    "cần được ưu tiên",
]
PLACES = [
    "Hà Nội",
    "Thanh Hóa",
    "Nghệ An",
    "Huế",
    "Đà Nẵng",
    "Quảng Ngãi",
    "Gia Lai",
    "Đắk Lắk",
    "Cần Thơ",
    "An Giang",
    "Cà Mau",
    "Lào Cai",
    "Điện Biên",
    "Hải Phòng",
    "Quảng Ninh",
    "Bình Định",
    "Lâm Đồng",
]
TONE_SWAPS = [("hòa", "hoà"), ("hóa", "hoá"), ("thủy", "thuỷ"), ("khỏe", "khoẻ"), ("họa", "hoạ")]


def _campaign(rng: random.Random) -> str:
    """A campaign text: many people send copies of it, with small edits."""
    parts = [rng.choice(OPENERS), rng.choice(TOPICS), rng.choice(REASONS + REQUESTS)]
    return " ".join(parts) + "."


def _free(rng: random.Random) -> str:
    """An individual opinion of about 30 words that shares phrases, not wording, with the others."""
    parts = [rng.choice(OPENERS), rng.choice(TOPICS)]
    parts += rng.sample(FRAGMENTS, 2)
    parts.append(f"tại {rng.choice(PLACES)}")
    if rng.random() < 0.4:
        parts.append(rng.choice(REASONS))
    text = " ".join(parts) + "."
    if rng.random() < 0.3:
        text += " " + rng.choice(CLOSINGS)
    return text


def _perturb(text: str, rng: random.Random) -> str:
    """Small edits that keep a campaign text a near-duplicate."""
    choice = rng.randrange(8)
    if choice == 0:
        return text.upper()
    if choice == 1:
        return text.replace(",", "").rstrip(".") + "!!!"
    if choice == 2:
        return unicodedata.normalize("NFD", text)
    if choice == 3:
        for modern, classic in TONE_SWAPS:
            text = text.replace(modern, classic)
        return text
    if choice == 4:
        words = text.split()
        del words[rng.randrange(1, len(words))]
        return " ".join(words)
    if choice == 5:
        words = text.split()
        words.insert(rng.randrange(1, len(words)), rng.choice(["rất", "cần", "thật sự", "nhanh chóng"]))
        return " ".join(words)
    if choice == 6:
        return "  " + text.replace(" ", "  ", 2) + " 👍"
    return text


def make_opinions(n: int, seed: int = SEED) -> list[OpinionText]:
    """N synthetic opinions, the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    campaigns = [_campaign(rng) for _ in range(30)]
    opinions = []
    for i in range(n):
        if rng.random() < 0.4:
            text = _perturb(rng.choice(campaigns), rng)
        else:
            text = _free(rng)
        opinions.append(OpinionText(key=f"GY-{i:06d}", text=text))
    return opinions


def _cpu_time() -> float:
    """CPU seconds used by this process and its finished children (the segmentation workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run(n: int, workers: int | None, runs: int) -> dict[str, object]:
    opinions = make_opinions(n)
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    reference: list[float] = []
    texts = [o.text for o in opinions]
    for _ in range(runs):
        start = time.perf_counter()
        reference_groups = datasketch_grouping(texts)
        reference.append(time.perf_counter() - start)
        core_text._segment.cache_clear()  # every run pays for word segmentation
        start, cpu_start = time.perf_counter(), _cpu_time()
        result = group_near_duplicates(opinions, workers=workers)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(_cpu_time() - cpu_start)
    median = statistics.median(seconds)
    reference_median = statistics.median(reference)
    return {
        "n": n,
        "seconds_median": round(median, 3),
        "groups": len(result),
        "per_second": round(n / median, 1),
        "cpu_seconds_median": round(statistics.median(cpu_seconds), 3),  # this process + workers
        "largest_group": max((g.count for g in result), default=0),
        "distinct_texts": len({core_text.fold_for_matching(o.text) for o in opinions}),
        "workers": "auto" if workers is None else workers,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews the timings
        "reference_datasketch_seconds_median": round(reference_median, 3),
        "reference_datasketch_groups": reference_groups,
        "ratio": ratio(reference_median, median),  # speed relative to datasketch alone
    }


def main(argv: list[str]) -> None:
    workers: int | None = None
    sizes: list[int] = []
    runs = 3
    for arg in argv:
        if arg.startswith("--workers="):
            workers = int(arg.split("=", 1)[1])
        elif arg == "--tiny":
            sizes, runs = [200], 1
        else:
            sizes.append(int(arg))
    core_text.tokens("khởi động mô hình tách từ")  # load underthesea outside the timings
    results = [run(n, workers, runs) for n in sizes or DEFAULT_SIZES]
    emit(
        "consolidation",
        parameters={
            "sizes": [r["n"] for r in results],
            "runs": runs,
            "workers": workers or "auto",
            "seed": SEED,
        },
        figures={"by_n": {str(r["n"]): r for r in results}},
        reference={"what": "datasketch MinHash+LSH alone, same texts (per size: reference_datasketch_*)"},
        ratio={str(r["n"]): r["ratio"] for r in results},  # type: ignore[misc]
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
