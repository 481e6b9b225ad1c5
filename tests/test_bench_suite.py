"""Every benchmark of bench/ runs at its tiny size and prints exactly one well-formed JSON object with
its parameters, figures and reference. Only the shape and the correctness figures are checked, never a
timing (docs/benchmarks.md holds the measured figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("bench_*.py"))
KEYS = {"bench", "parameters", "figures", "reference", "ratio", "machine"}


def _run(script: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--tiny"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a deadline for a hung script, not a timing assertion
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout[-3000:]  # exactly one JSON object on stdout
    result = json.loads(lines[0])
    assert isinstance(result, dict) and KEYS <= set(result), result
    assert result["figures"] and result["parameters"] and result["reference"]
    return result


def test_the_suite_has_its_benchmarks() -> None:
    expected = {
        "conversation",
        "consolidation",
        "exports",
        "ingest",
        "mood",
        "reminders",
        "reporting",
        "webchat",
        "webhook",
    }
    assert {s.removeprefix("bench_").removesuffix(".py") for s in SCRIPTS} >= expected


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_tiny_run_prints_one_json_object(script: str) -> None:
    result = _run(script)
    assert result["bench"] == script.removeprefix("bench_").removesuffix(".py")
    figures = result["figures"]
    assert isinstance(figures, dict)
    if result["bench"] == "reminders":  # correctness, not speed: every message once
        assert figures["delivered"] == figures["messages"] == 42
        assert figures["duplicates"] == 0 and figures["losses"] == 0
        assert figures["outbox_statuses"] == {"sent": 42}
        assert {"msg_per_second", "http_429", "every_chat_served_seconds"} <= set(figures)
    if result["bench"] == "exports":
        for fmt in ("csv", "jsonl", "xlsx"):
            assert {"rows_per_second", "reference_rows_per_second"} <= set(figures["rows_200"][fmt])
    if result["bench"] == "webhook":  # every citizen's submission completes over the real webhook
        for side in (result["figures"], result["reference"]):
            for database in ("sqlite", "postgresql"):
                run = side[database]
                assert run["submissions_complete"] == 3 and run["http_errors"] == 0, run
                assert run["updates"] == 45 and run["bot_api_calls_per_update"] >= 1
        assert result["figures"]["sqlite"]["sql_per_update"]["transactions_commit"] > 0
        # PostgreSQL runs 2 uvicorn workers + Redis: every worker reported, the counts summed over them
        postgresql = result["figures"]["postgresql"]
        assert postgresql["workers"] == result["reference"]["postgresql"]["workers"] == 2
        assert sum(postgresql["updates_by_worker"]) == 45
        assert postgresql["sql_per_update"]["transactions_commit"] > 0
    if result["bench"] == "ingest":  # every opinion stored once: the use case, raw, the driver alone
        for database in ("sqlite", "postgresql"):
            assert result["figures"][database]["stored"] == 3 * 4 * 5
            assert result["figures"][database]["transactions_per_opinion"] >= 1
    if result["bench"] == "consolidation":
        assert {"groups", "reference_datasketch_groups"} <= set(figures["by_n"]["200"])
    if result["bench"] == "webchat":  # every submission completes; each worker's events are reported
        assert figures["submissions_complete"] == 2 and figures["failures"] == {}
        assert sum(figures["events_per_worker"]) == figures["events"] == 2 * 15
        assert figures["workers_serving"] == 1 and len(figures["gc_collections"]) == 3
