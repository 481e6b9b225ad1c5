"""A data file that cannot be loaded is told to staff as a sentence, in Vietnamese and English, never as
a bare reason code (issue 12 §4)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import DataFileError
from core.i18n import catalog, say
from storage.loaders import load_file

ROOT = Path(__file__).resolve().parents[1]
REASONS = sorted(
    {
        reason
        for path in (ROOT / "storage").glob("*.py")
        for reason in re.findall(r'DataFileError\(\s*reason="([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
)


def _said(exc: DataFileError, language: str) -> str:
    return say(exc.message_keys(), language, exc.params, fallback=exc.code)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_reason_the_loaders_raise_has_a_sentence(language: str) -> None:
    assert len(REASONS) >= 10
    for reason in REASONS:
        assert f"error.data_file.{reason}" in catalog(language), reason
        text = _said(DataFileError(reason=reason, detail="units: p-le-chan"), language)
        assert reason not in text and text.endswith("p-le-chan."), text


def test_a_broken_file_reads_as_a_vietnamese_sentence(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("kind: plan\ncongresses: [\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        asyncio.run(load_file(None, path, now=datetime(2026, 12, 1, tzinfo=UTC)))  # type: ignore[arg-type]
    text = _said(caught.value, "vi")
    assert text.startswith("Không đọc được tệp dữ liệu: tệp YAML sai cú pháp"), text
    assert "yaml" not in text.split("Chi tiết")[0]
    assert _said(DataFileError(reason="not_found"), "vi") == "Không đọc được tệp dữ liệu: không tìm thấy tệp."
    # a reason without its own sentence still reads as the general one
    assert _said(DataFileError(reason="new_reason"), "vi").startswith("Tệp dữ liệu không hợp lệ")
