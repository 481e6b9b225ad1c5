"""A server process settles its heap once the app has started; tests and embedders are left alone."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import api.app
from api.app import SERVER_GC_THRESHOLD, create_app, settle_heap
from core.config import DEV_HASH_KEY, Settings


def _settings(database_url: str, home: Path) -> Settings:
    return Settings(_env_file=None, database_url=database_url, home=home, hash_key=DEV_HASH_KEY)  # type: ignore[call-arg]


@pytest.mark.parametrize("settle", [True, False])
async def test_the_heap_is_settled_after_every_part_has_started_only_when_asked(
    settle: bool, sqlite_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    app = create_app(_settings(sqlite_database, tmp_path), settle=settle)
    # the web chat's lifespan (a router's, entered after the app's) has run when the heap is settled
    monkeypatch.setattr(api.app, "settle_heap", lambda: seen.append(hasattr(app.state, "webchat")))
    async with app.router.lifespan_context(app):
        assert seen == ([True] if settle else [])
    assert seen == ([True] if settle else [])


def test_settle_heap_freezes_what_exists_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_threshold() == SERVER_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
