"""Pure parts of the staff features: formula escaping, XLSX rollover, cursors, filters, keys, pseudonyms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from core import errors
from core.api_keys import Principal, Scope, generate_key, matches, parse_scopes, prefix_of
from core.exports import EXPORT_COLUMNS, FeedbackFilters, make_cursor, parse_cursor, pseudonym
from core.staff.documents import next_status
from formats.exports import XlsxExport, escape_formula


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Tán thành =1", "Tán thành =1"),
        ("", ""),
    ],
)
def test_formula_escaping(value: str, expected: str) -> None:
    assert escape_formula(value) == expected


def test_xlsx_rolls_over_to_a_new_sheet_and_adds_counts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.xlsx"
    export = XlsxExport(path, max_rows=3)
    export.write_rows([{"receipt_code": f"GY-{i}", "text": f"={i}"} for i in range(5)])
    export.close([("DT-1", "1. Kinh tế", "agree", 5)])
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["Ý kiến", "Ý kiến (2)", "Ý kiến (3)", "Thống kê"]
    data = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets[:3]]
    assert all(rows[0] == EXPORT_COLUMNS for rows in data)
    assert [r[0] for rows in data for r in rows[1:]] == [f"GY-{i}" for i in range(5)]
    # formula-looking text is a text cell, as typed: no formula, no visible apostrophe
    text_cells = [
        r[EXPORT_COLUMNS.index("text")] for sheet in book.worksheets[:3] for r in list(sheet.iter_rows())[1:]
    ]
    assert [(c.value, c.data_type) for c in text_cells] == [(f"={i}", "s") for i in range(5)]
    assert list(book.worksheets[3].iter_rows(values_only=True))[1] == ("DT-1", "1. Kinh tế", "agree", 5)


def test_cursor_round_trip_and_malformed_cursors() -> None:
    assert parse_cursor(make_cursor(12345)) == 12345
    assert parse_cursor(None) is None
    for bad in (
        "%%%",
        "bm90IGpzb24",
        make_cursor(0)[:-2] + "xx",
        "eyJhZnRlciI6IC0xfQ",
        "eyJhZnRlciI6IHRydWV9",
    ):
        with pytest.raises(errors.InvalidQuery):
            parse_cursor(bad)


def test_filters_are_checked_and_audited() -> None:
    with pytest.raises(errors.InvalidQuery):
        FeedbackFilters(created_from=datetime(2025, 1, 1))
    with pytest.raises(errors.InvalidQuery):
        FeedbackFilters(
            created_from=datetime(2025, 2, 1, tzinfo=UTC), created_to=datetime(2025, 1, 1, tzinfo=UTC)
        )
    with pytest.raises(errors.InvalidQuery):
        FeedbackFilters(text_contains="x" * 201)
    filters = FeedbackFilters(document_id=3, created_from=datetime(2025, 1, 1, tzinfo=UTC))
    assert filters.as_audit() == {"document_id": "3", "created_from": "2025-01-01T00:00:00+00:00"}


def test_pseudonyms_are_stable_keyed_and_distinct() -> None:
    a = pseudonym(key="k1", respondent_id=1)
    assert a == pseudonym(key="k1", respondent_id=1)
    assert a != pseudonym(key="k1", respondent_id=2)
    assert a != pseudonym(key="k2", respondent_id=1)
    assert a is not None and a.startswith("R-") and len(a) == 14
    assert pseudonym(key="k1", respondent_id=None) is None


def test_api_keys_and_scopes() -> None:
    key = generate_key()
    assert prefix_of(key.secret) == key.prefix
    assert matches(key.secret, key.key_hash) and not matches(key.secret + "x", key.key_hash)
    assert key.secret not in key.key_hash
    assert prefix_of("Bearer nonsense") is None
    assert parse_scopes("reports:read, feedback:read") == ["feedback:read", "reports:read"]
    with pytest.raises(errors.InvalidQuery):
        parse_scopes("feedback:read,everything")
    admin = Principal(1, "a", frozenset({"admin"}))
    reader = Principal(2, "r", frozenset({"feedback:read"}))
    assert (
        admin.has(Scope.FEEDBACK_PII)
        and reader.has(Scope.FEEDBACK_READ)
        and not reader.has(Scope.FEEDBACK_PII)
    )


def test_document_status_changes() -> None:
    assert next_status("draft", "publish").value == "open"
    assert next_status("open", "close").value == "closed"
    assert next_status("closed", "reopen").value == "open"
    with pytest.raises(errors.InvalidStatusChange):
        next_status("draft", "close")
