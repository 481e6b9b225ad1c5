"""Import errors read as sentences in Vietnamese and English (not reason codes), in the CLI and the API;
the meeting template's help sheet keeps its whole name."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.errors import error_response
from cli.main import app
from cli.unit_of_work import fail
from core.config import get_settings
from core.errors import DocumentImportError
from core.i18n import catalog, t
from formats.drafts import parse_markdown
from formats.meeting_xlsx import build_meeting_template

REASONS = (
    "empty",
    "no_headings",
    "not_docx",
    "unsupported_format",
    "heading_skip",
    "title_too_long",
    "too_many_sections",
    "encoding",
    "duplicate_number",
    "front_matter",
    "bad_status",
    "has_feedback",
    "too_large",
)
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # heading_skip, has_feedback, …


@pytest.mark.parametrize("reason", REASONS)
def test_every_reason_has_a_sentence_in_both_languages(reason: str) -> None:
    for language in ("vi", "en"):
        text = catalog(language)[f"error.document_import.{reason}"]
        assert text.endswith(".") and len(text.split()) >= 8 and not CODE.search(text), text
    assert (
        catalog("vi")[f"error.document_import.{reason}"] != catalog("en")[f"error.document_import.{reason}"]
    )


def test_api_body_words_the_reason_and_the_place() -> None:
    with pytest.raises(DocumentImportError) as info:
        parse_markdown(b"# I. A\n\nx\n\n### 1. B\n")
    body = error_response(info.value).body.decode()
    import json

    error = json.loads(body)["error"]
    assert error["code"] == "error.document_import"
    assert error["message_vi"].startswith(t("error.document_import.heading_skip", "vi"))
    assert "dòng 5" in error["message_vi"] and "line 5" in error["message_en"]
    assert "nhảy cấp" in error["message_vi"] and "skips a level" in error["message_en"]
    assert "heading_skip" not in error["message_vi"] + error["message_en"]


def test_cli_prints_sentences_not_codes(capsys: pytest.CaptureFixture[str]) -> None:
    fail(DocumentImportError(reason="has_feedback", detail="document x already has 3 opinions"))
    err = capsys.readouterr().err
    assert "Lỗi: " + t("error.document_import.has_feedback", "vi") in err
    assert "Error: " + t("error.document_import.has_feedback", "en") in err
    first_lines = err.split(" ({")[0]
    assert "has_feedback" not in first_lines


def test_an_unknown_reason_falls_back_to_the_general_message(capsys: pytest.CaptureFixture[str]) -> None:
    fail(DocumentImportError(reason="something_new"))
    err = capsys.readouterr().err
    assert "Lỗi: Không nhập được tệp dự thảo" in err and "Error: Could not import the draft file" in err


async def test_cli_document_import_error_is_a_sentence(
    database_url, loaded, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOPY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    draft = tmp_path / "skip.md"
    draft.write_text("# Dự thảo\n\n### I. Phần một\n\nNội dung.\n", encoding="utf-8")
    try:
        result = await asyncio.to_thread(CliRunner().invoke, app, ["documents", "import", str(draft)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    output = result.output
    assert "nhảy cấp" in output and "skips a level" in output
    assert "dòng 3" in output and "line 3" in output


def test_meeting_template_help_sheet_name_is_whole() -> None:
    book = load_workbook(io.BytesIO(build_meeting_template([], None)), read_only=True)
    help_name = t("api.meeting.help_sheet", "vi")
    assert len(help_name) <= 31 and help_name in book.sheetnames
    rows = list(book[help_name].iter_rows(values_only=True))
    assert rows[0][0] == t("api.meeting.help_title", "vi") and rows[1][0] == t("api.meeting.help_title", "en")
    assert all(len(name) <= 31 for name in book.sheetnames)
