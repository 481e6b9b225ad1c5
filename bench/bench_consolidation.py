"""Benchmark of core.near_duplicates.group_near_duplicates on synthetic Vietnamese opinions with planted
near-duplicate families, against datasketch MinHash + LSH alone on the same texts.

Usage::

    .venv/bin/python bench/bench_consolidation.py                   # N = 1000, 5000, 20000
    .venv/bin/python bench/bench_consolidation.py 10000 100000      # other sizes
    .venv/bin/python bench/bench_consolidation.py --from-db 1000000 # streamed from a scratch SQLite file
    .venv/bin/python bench/bench_consolidation.py --words 10000     # also underthesea words, for P/R
    .venv/bin/python bench/bench_consolidation.py --tiny

Prints one JSON object. Every size runs in its own child process (so that its peak RSS is its own):
wall and CPU seconds (medians of 3 up to 100k opinions, one run above), peak RSS, groups, and the
pairwise precision and recall of the groups against the planted families (a pair of opinions is
"true" when both come from the same family; precision = true pairs grouped together / pairs grouped
together, recall = true pairs grouped together / true pairs). The growth exponent between successive
sizes is log(t2 / t1) / log(n2 / n1).

The data is seeded, so every run sees the same opinions. About 40 % of the opinions are copies of 30
"campaign" texts (the planted families) with small edits (case, punctuation, tone mark placement,
NFD, a word added or dropped, emoji); the rest are free opinions put together from phrase pools,
about 30 words each, that share many phrases without being near-duplicates (each is its own family,
together with any identical text).
With ``--from-db`` the opinions are first written to a scratch SQLite database (a unique temporary
file, deleted afterwards) through the project's schema, and the child streams them back page by
page through ``storage.views`` into ``NearDuplicateGrouper`` (what ``core.staff.consolidation.
group_document_opinions`` does): no list of every opinion is built.
Reference in the same run: datasketch MinHash + LSH alone on the same texts (bench/_common.py), at
the sizes up to ``--reference-up-to`` (default 100000).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import _common
from _common import SEED, datasketch_grouping, emit, ratio

from core import text as core_text
from core.near_duplicates import NearDuplicateGrouper, OpinionGroup, OpinionText

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


def generate(n: int, seed: int = SEED) -> Iterator[tuple[OpinionText, int]]:
    """N synthetic opinions and their family (the campaign number, or -1 for a free opinion), the
    same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    campaigns = [_campaign(rng) for _ in range(30)]
    for i in range(n):
        if rng.random() < 0.4:
            family = rng.randrange(len(campaigns))
            text = _perturb(campaigns[family], rng)
        else:
            family, text = -1, _free(rng)
        yield OpinionText(key=f"GY-{i:07d}", text=text), family


def make_opinions(n: int, seed: int = SEED) -> list[OpinionText]:
    """N synthetic opinions, the same for the same ``n`` and ``seed``."""
    return [opinion for opinion, _ in generate(n, seed)]


def _cpu_time() -> float:
    """CPU seconds used by this process and its finished children (the segmentation workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: kilobytes


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def precision_recall(groups: list[OpinionGroup], n: int, seed: int = SEED) -> dict[str, float | int]:
    """Pairwise precision and recall of ``groups`` against the planted families (see the module doc)."""
    group_of: dict[str, int] = {}
    for g, group in enumerate(groups):
        for key in group.keys:
            group_of[key] = g
    cells: Counter[tuple[int, int]] = Counter()
    families: Counter[int] = Counter()
    for opinion, family in generate(n, seed):
        label = family if family >= 0 else 1000 + (hash(opinion.text) & ((1 << 62) - 1))
        cells[group_of[opinion.key], label] += 1
        families[label] += 1
    together = sum(_pairs(len(g.keys)) for g in groups)
    true_pairs = sum(_pairs(c) for c in families.values())
    hits = sum(_pairs(c) for c in cells.values())
    planted = [c for label, c in cells.items() if label[1] < 1000]
    return {
        "precision": round(hits / together, 6) if together else 1.0,
        "recall": round(hits / true_pairs, 6) if true_pairs else 1.0,
        "planted_families": sum(1 for label in families if label < 1000),
        "planted_pieces": len(planted),  # (group, campaign) cells: 30 when no campaign is split
    }


def _write_database(path: Path, n: int) -> int:
    """A scratch SQLite database of the project's schema holding ``n`` opinions of one document."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, insert

    from storage.models import Base, DocumentRow, FeedbackRow

    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(DocumentRow.__table__), [{"id": 1, "code": "BENCH", "title": "Bench", "created_at": now}]
        )
        batch: list[dict[str, object]] = []
        for opinion, _ in generate(n):
            batch.append(
                {
                    "receipt_code": opinion.key,
                    "kind": "draft_opinion",
                    "document_id": 1,
                    "text": opinion.text,
                    "text_folded": "",
                    "text_search": "",
                    "channel": "web",
                    "source": "bench",
                    "status": "active",
                    "anonymous": False,
                    "created_at": now,
                }
            )
            if len(batch) >= 20000:
                connection.execute(insert(FeedbackRow.__table__), batch)
                batch = []
        if batch:
            connection.execute(insert(FeedbackRow.__table__), batch)
    engine.dispose()
    return 1


async def _group_from_database(
    path: Path, document_id: int, tokenization: str
) -> tuple[list[OpinionGroup], int]:
    """Stream the opinions from the database page by page into the grouping; returns the groups and
    the number of pages read."""
    from storage.db import create_engine, session_factory
    from storage.views import SqlViewRepository

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    pages = 0
    try:
        grouper = NearDuplicateGrouper(workers=1, tokenization=tokenization)
        async with session_factory(engine)() as session:
            async for page in SqlViewRepository(session).opinion_text_pages(document_id, page_size=5000):
                grouper.add(OpinionText(code, text) for code, text in page)
                pages += 1
        return grouper.groups(), pages
    finally:
        await engine.dispose()


def run_one(
    n: int, *, runs: int, tokenization: str, reference: bool, database: Path | None
) -> dict[str, object]:
    """One size, in this (child) process."""
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    reference_seconds: list[float] = []
    reference_groups = None
    opinions = None if database is not None else make_opinions(n)
    pages = None
    result: list[OpinionGroup] = []
    for _ in range(runs):
        if reference:
            texts = [o.text for o in (opinions if opinions is not None else make_opinions(n))]
            start = time.perf_counter()
            reference_groups = datasketch_grouping(texts)
            reference_seconds.append(time.perf_counter() - start)
            del texts
        core_text._segment.cache_clear()  # every run pays for word segmentation
        result = []  # the previous run's groups are not kept alive while the next one runs
        start, cpu_start = time.perf_counter(), _cpu_time()
        if database is not None:
            result, pages = asyncio.run(_group_from_database(database, 1, tokenization))
        else:
            assert opinions is not None
            grouper = NearDuplicateGrouper(workers=None, tokenization=tokenization)
            grouper.add(opinions)
            result = grouper.groups()
            del grouper
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(_cpu_time() - cpu_start)
    peak = _peak_rss_mb()
    median = statistics.median(seconds)
    reference_median = statistics.median(reference_seconds) if reference_seconds else None
    quality = precision_recall(result, n)
    return {
        "n": n,
        "source": "sqlite (streamed, pages of 5000)" if database is not None else "memory (list)",
        "tokenization": tokenization,
        "runs": runs,
        "seconds_median": round(median, 3),
        "cpu_seconds_median": round(statistics.median(cpu_seconds), 3),  # this process + workers
        "peak_rss_mb": peak,  # of the child process: data + grouping (+ reference, when measured)
        "groups": len(result),
        "per_second": round(n / median, 1),
        "largest_group": max((g.count for g in result), default=0),
        **quality,
        "pages": pages,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews the timings
        "reference_datasketch_seconds_median": round(reference_median, 3) if reference_median else None,
        "reference_datasketch_groups": reference_groups,
        "ratio": ratio(reference_median, median) if reference_median else None,  # speed vs datasketch alone
    }


def _child(n: int, runs: int, tokenization: str, reference: bool, from_db: bool) -> dict[str, object]:
    """Run one size in a fresh process (its own peak RSS); with ``from_db`` the database is written here."""
    with tempfile.TemporaryDirectory(prefix="gopy-bench-consolidation-") as scratch:
        args = [sys.executable, __file__, "--child", str(n), str(runs), tokenization, str(int(reference))]
        write_seconds = None
        if from_db:
            database = Path(scratch) / f"opinions-{n}-{os.getpid()}.sqlite"
            start = time.perf_counter()
            _write_database(database, n)
            write_seconds = round(time.perf_counter() - start, 1)
            args.append(str(database))
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        if write_seconds is not None:
            figures["database_write_seconds"] = write_seconds
        return figures


def _growth(results: list[dict[str, object]]) -> dict[str, float]:
    """Exponent k of t ~ n^k between successive sizes."""
    out: dict[str, float] = {}
    for a, b in zip(results, results[1:], strict=False):
        na, nb = float(a["n"]), float(b["n"])  # type: ignore[arg-type]
        ta, tb = float(a["seconds_median"]), float(b["seconds_median"])  # type: ignore[arg-type]
        if nb > na and ta > 0 and tb > 0:
            out[f"{int(na)}->{int(nb)}"] = round(math.log(tb / ta) / math.log(nb / na), 2)
    return out


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        n, runs, tokenization, reference = int(argv[1]), int(argv[2]), argv[3], argv[4] == "1"
        database = Path(argv[5]) if len(argv) > 5 else None
        core_text.tokens("khởi động mô hình tách từ")  # load underthesea outside the timings
        print(
            json.dumps(
                run_one(n, runs=runs, tokenization=tokenization, reference=reference, database=database)
            )
        )
        return
    sizes: list[int] = []
    runs: int | None = None
    from_db = words = False
    reference_up_to = 100_000
    for arg in argv:
        if arg == "--tiny":
            sizes, runs = [200], 1
        elif arg == "--from-db":
            from_db = True
        elif arg == "--words":
            words = True
        elif arg.startswith("--runs="):
            runs = int(arg.split("=", 1)[1])
        elif arg.startswith("--reference-up-to="):
            reference_up_to = int(arg.split("=", 1)[1])
        else:
            sizes.append(int(arg))
    results = []
    for n in sorted(sizes or DEFAULT_SIZES):
        size_runs = runs or (3 if n <= 100_000 else 1)
        results.append(_child(n, size_runs, "syllables", n <= reference_up_to, from_db))
    by_n = {str(r["n"]): r for r in results}
    words_runs = {}
    if words:  # the previous tokenisation (underthesea words), for P/R and time on the same data
        for n in sorted(sizes or DEFAULT_SIZES):
            words_runs[str(n)] = _child(n, runs or 1, "words", False, False)
    emit(
        "consolidation",
        parameters={
            "sizes": [r["n"] for r in results],
            "runs": "3 up to 100000, then 1" if runs is None else runs,
            "from_db": from_db,
            "seed": SEED,
        },
        figures={"by_n": by_n, "growth_exponent": _growth(results), "words_tokenization": words_runs},
        reference={"what": "datasketch MinHash+LSH alone, same texts (per size: reference_datasketch_*)"},
        ratio={str(r["n"]): r["ratio"] for r in results},  # type: ignore[misc]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
