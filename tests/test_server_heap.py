"""A server process settles its heap once the app has started; tests and embedders are left alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import api.app
from api.app import create_app
from bot.runtime import SERVING_GC_THRESHOLD, serving_heap
from core.config import DEV_HASH_KEY, Settings


def _settings(database_url: str, home: Path) -> Settings:
    return Settings(_env_file=None, database_url=database_url, home=home, hash_key=DEV_HASH_KEY)  # type: ignore[call-arg]


@pytest.mark.parametrize("settle", [True, False])
async def test_the_heap_is_settled_after_every_part_has_started_only_when_asked(
    settle: bool, sqlite_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    app = create_app(_settings(sqlite_database, tmp_path), settle=settle)

    @contextmanager
    def recorded() -> Iterator[None]:
        # the web chat's lifespan (a router's, entered after the app's) has run when the heap is settled
        seen.append(f"settled, web chat started: {hasattr(app.state, 'webchat')}")
        yield
        seen.append("given back")

    monkeypatch.setattr(api.app, "serving_heap", recorded)
    async with app.router.lifespan_context(app):
        assert seen == (["settled, web chat started: True"] if settle else [])
    assert seen == (["settled, web chat started: True", "given back"] if settle else [])


def test_serving_heap_freezes_what_exists_raises_the_young_threshold_and_gives_both_back() -> None:
    before = gc.get_threshold()
    with serving_heap():
        assert gc.get_threshold() == (SERVING_GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
