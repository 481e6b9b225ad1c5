"""``gopy apikey`` and ``gopy export feedback`` on SQLite and PostgreSQL: files, filters, audit rows."""

from __future__ import annotations

import asyncio
import csv
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from core.config import get_settings
from core.i18n import t
from storage.models_api import ApiKeyRow, AuditLogRow
from tests.staff_api import seed


@pytest.fixture
def cli_env(database_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOPY_DATABASE_URL", database_url)
    monkeypatch.setenv("GOPY_HASH_KEY", "cli-test-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_apikey_create_list_revoke(cli_env, loaded) -> None:  # type: ignore[no-untyped-def]
    created = await _invoke("apikey", "create", "--name", "analyst", "--scopes", "feedback:read,reports:read")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("gopy_")
    async with loaded() as session:
        row = await session.scalar(select(ApiKeyRow))
        assert row is not None and row.scopes == ["feedback:read", "reports:read"]
        assert secret not in (row.key_hash, row.prefix) and row.prefix in secret
    listed = await _invoke("apikey", "list")
    assert "analyst" in listed.stdout and secret not in listed.stdout
    assert (await _invoke("apikey", "create", "--name", "x", "--scopes", "root")).exit_code == 2
    assert (await _invoke("apikey", "revoke", row.prefix)).exit_code == 0
    assert (await _invoke("apikey", "revoke", row.prefix)).exit_code == 1
    async with loaded() as session:
        assert (await session.get(ApiKeyRow, row.id)).revoked_at is not None  # type: ignore[union-attr]


async def test_export_feedback_files_follow_the_filters(cli_env, loaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = await seed(loaded, count=20)
    out = tmp_path / "f.csv"
    result = await _invoke(
        "export",
        "feedback",
        "--format",
        "csv",
        "-o",
        str(out),
        "--document",
        "sample-political-report",
        "--stance",
        "other",
        "--quiet",
        "--codes",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text("utf-8-sig").splitlines()))
    assert {r["receipt_code"] for r in rows} == data.receipts(document_id=data.document_id, stance="other")
    assert all(r["respondent"] == "" or r["respondent"].startswith("R-") for r in rows)

    moods = tmp_path / "m.jsonl"
    result = await _invoke(
        "export", "feedback", "-f", "jsonl", "-o", str(moods), "--kind", "concern", "--quiet"
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["receipt_code"] for x in moods.read_text().splitlines()] == ["GY-M00000"]

    book_path = tmp_path / "f.xlsx"
    result = await _invoke(
        "export", "feedback", "-f", "xlsx", "-o", str(book_path), "--channel", "meeting", "--pii"
    )
    assert result.exit_code == 0, result.output
    sheet_rows = list(load_workbook(book_path, read_only=True).worksheets[0].iter_rows(values_only=True))[1:]
    assert {r[0] for r in sheet_rows} == data.receipts(channel="meeting")

    bad = await _invoke("export", "feedback", "-o", str(out), "--document", "no-such-draft")
    assert bad.exit_code == 2
    async with loaded() as session:
        audits = list(await session.scalars(select(AuditLogRow).order_by(AuditLogRow.id)))
    assert [(a.details["format"], a.row_count, a.details["pii"]) for a in audits] == [
        ("csv", len(rows), False),
        ("jsonl", 1, False),
        ("xlsx", len(sheet_rows), True),
    ]
    assert all(a.actor.startswith("cli:") for a in audits)


async def test_export_feedback_for_people_in_vietnamese_or_english(cli_env, loaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = await seed(loaded, count=20)
    receipts = data.receipts(document_id=data.document_id, stance="disagree")
    for lang, stance, receipt in (
        ("vi", "Không tán thành", "Mã biên nhận"),
        ("en", "Disagree", "Receipt code"),
    ):
        out = tmp_path / f"{lang}.csv"
        args = ("export", "feedback", "-o", str(out), "--stance", "disagree", "--quiet", "--lang", lang)
        result = await _invoke(*args, "--document", "sample-political-report")
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(out.read_text("utf-8-sig").splitlines()))
        assert {r[receipt] for r in rows} == receipts
        assert {r[t("export.column.stance", lang)] for r in rows} == {stance}
        assert "disagree" not in out.read_text("utf-8-sig")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "not-a-date"])
async def test_export_dates_out_of_range_or_malformed_get_a_bilingual_error(
    cli_env, loaded, tmp_path, moment
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "f.csv"
    result = await _invoke("export", "feedback", "-o", str(out), "--from", moment, "--quiet")
    assert result.exit_code == 2, result.output
    assert (
        "Tham số không hợp lệ: created_from" in result.output
        and "Invalid parameter: created_from" in result.output
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()
