"""Benchmark of the public-mood feature: the mood path of the conversation, the per-period summary
(counts + near-identical groups) and the DOCX report draft, on in-memory data.

Prints one JSON object with the three scenarios (medians of 3 runs). Reference in the same run for the
summary: datasketch MinHash + LSH alone grouping the same texts. Data: seeded.
Usage: .venv/bin/python bench/bench_mood.py [ENTRIES] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import _common
from _common import SEED, datasketch_grouping, emit, ratio

from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, Event
from core.domain import Channel, Feedback, Profile, Source
from core.mood import MOOD_KINDS, summarise_entries
from core.mood_report import UnitReportLine
from formats.reports_docx import build_mood_report_docx
from tests.fakes import FakeUnitOfWork, sample_store

assert _common.ROOT
NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
SCRIPT = [
    ("cmd", "start"),
    ("press", "Tôi đồng ý"),
    ("press", "Gửi tâm tư"),
    ("press", "Đại hội XIV"),
    ("press", "Kiến nghị"),
    ("press", "economy (vi)"),
    ("text", "Kiến nghị có chính sách hỗ trợ người lao động mất việc làm sau sắp xếp bộ máy."),
    ("press", "Xong"),
    ("press", "Ẩn danh"),
    ("press", "Gửi ý kiến"),
]
PHRASES = [
    "Lo ngại giá cả tăng cao ảnh hưởng đời sống người lao động",
    "Mong Đại hội chọn được những người thực sự có đức có tài",
    "Kiến nghị đơn giản hoá thủ tục hành chính về đất đai",
    "Đề nghị xử lý nghiêm cán bộ tham nhũng, tiêu cực",
    "Mong có thêm nhà ở xã hội cho công nhân và người thu nhập thấp",
]
WORDS = "giao thông y tế giáo dục môi trường việc làm nhà ở an ninh trật tự văn hoá thể thao".split()


async def converse(store, user_hash: str) -> int:  # type: ignore[no-untyped-def]
    conversation = CitizenConversation()
    state: dict = {}  # type: ignore[type-arg]
    last = None
    for kind, value in SCRIPT:
        if kind == "cmd":
            event = Event.command(value)
        elif kind == "text":
            event = Event.text(value)
        else:
            options = [c for r in last.replies for row in r.choices for c in row]
            event = Event.choice(next(c for c in options if value in c.label).data, last.screen)
        async with FakeUnitOfWork(store) as uow:
            last = await conversation.handle(state, event, Context(uow, Channel.WEB, user_hash, NOW))
        state = last.state
    assert any("GY-" in r.text for r in last.replies)
    return len(SCRIPT)


async def conversation_rate(n: int) -> float:
    store = sample_store(NOW)
    start = time.perf_counter()
    events = 0
    for i in range(n):
        events += await converse(store, f"u{i}")
    return events / (time.perf_counter() - start)


def synthetic_entries(n: int) -> list[Feedback]:
    """n entries of period 3: a third repeat five phrases (with small variations), the rest differ."""
    rng = random.Random(SEED)
    entries = []
    for i in range(n):
        if i % 3 == 0:
            text = rng.choice(PHRASES) + rng.choice(["", ".", "!", " ạ"])
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20)))
        entries.append(
            Feedback(
                id=i + 1,
                receipt_code=f"GY-{i:06d}",
                kind=MOOD_KINDS[i % 3],
                respondent_id=i,
                text=text,
                text_folded="",
                channel=Channel.TELEGRAM,
                source=Source.BOT,
                created_at=NOW - timedelta(minutes=i),
                congress_id=2,
                period_id=3,
                topic=rng.choice(["economy", "other", None]),
                profile=Profile(category=rng.choice(["worker", "farmer", None]), locality=f"loc{i % 20}"),
            )
        )
    return entries


def median_seconds(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def main(n: int, conversations: int, runs: int) -> None:
    rates = [await conversation_rate(conversations) for _ in range(runs)]
    store = sample_store(NOW)
    period = store.periods[2]
    congress = store.congresses[1]
    entries = synthetic_entries(n)
    summarise_entries(entries[:10], period=period, congress=congress)  # load the word segmenter once
    seconds = median_seconds(lambda: summarise_entries(entries, period=period, congress=congress), runs)
    summary = summarise_entries(entries, period=period, congress=congress)
    texts = [e.text for e in entries]
    reference_seconds = median_seconds(lambda: datasketch_grouping(texts), runs)
    units = [UnitReportLine(f"Đơn vị {i}", ("on_time", "late", "missing")[i % 3], NOW) for i in range(40)]
    docx_seconds = median_seconds(lambda: build_mood_report_docx(summary, units=units, now=NOW), runs)
    size = len(build_mood_report_docx(summary, units=units, now=NOW))
    rate = statistics.median(rates)
    emit(
        "mood",
        parameters={"entries": n, "conversations": conversations, "runs": runs, "units": 40, "seed": SEED},
        figures={
            "conversation": {
                "storage": "fake_uow",
                "events_per_second_median": round(rate, 1),
                "entries_per_second_median": round(rate / len(SCRIPT), 2),
            },
            "summary": {
                "groups": len(summary.groups),
                "seconds_median": round(seconds, 3),
                "entries_per_second_median": round(n / seconds, 1),
            },
            "report_docx": {"bytes": size, "seconds_median": round(docx_seconds, 3)},
        },
        reference={
            "what": "datasketch MinHash+LSH alone, same texts (summary only)",
            "groups": datasketch_grouping(texts),
            "seconds_median": round(reference_seconds, 3),
        },
        ratio={"summary": ratio(reference_seconds, seconds)},  # speed relative to the reference
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="public-mood feature")
    parser.add_argument("entries", type=int, nargs="?", default=2000)
    parser.add_argument("--tiny", action="store_true", help="100 entries, 5 conversations, one run")
    args = parser.parse_args()
    if args.tiny:
        asyncio.run(main(100, 5, 1))
    else:
        asyncio.run(main(args.entries, 50, 3))
