"""PostgreSQL writes an export's CSV or JSON Lines itself: one finished line per row, no Python per row.

The generic path reads every row into Python, presents it (pseudonym, local times, names) and encodes
it (``formats.exports``): about 40 µs of Python per row. Here the page's SELECT computes each row's
finished line — local times with ``to_char`` under the transaction's ``TimeZone``, formula escaping, CSV
quoting or JSON string escaping — returned as UTF-8 bytes (``textsend``) that Python joins. The
pseudonyms (HMAC-SHA256) are computed by Python once per respondent of the page (:func:`pseudonyms`,
from the page's bounds, read with the previous page's lines by :func:`bounds_array`, or first by
:func:`respondents_statement`) and looked up by the query; a respondent missing from them is computed
in SQL with ``sha256()`` over the key's pads. Each export's statements are compiled once
(:class:`PagePlan`), their constants written into the SQL rather than bound.

The lines are byte for byte those of ``formats.exports.csv_chunks`` / ``jsonl_chunks`` over
``core.exports.present_row`` (tests/test_exports_sql.py compares both on formulas, accents, quotes,
newlines, nulls, microseconds and time zones). What it cannot reproduce it does not take:
:func:`core.exports.sql_encoding` returns ``None`` for XLSX and for a time zone without an IANA name,
and :func:`supported` is false on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.exports import (
    FORMULA_TRIGGERS,
    LABELLED_COLUMNS,
    TIME_COLUMNS,
    ExportFormat,
    SqlEncoding,
    pseudonym_from_pads,
)

# what core.exports.FORMULA_TRIGGERS escapes and what Python's csv module quotes (QUOTE_MINIMAL,
# lineterminator "\r\n"), as SQL
# a formula's first character at the start of any field joined by chr(31), or a character to quote
_ANY_SPECIAL = "('(^|' || chr(31) || ')[-=+@' || chr(9) || chr(13) || ']|[,\"' || chr(13) || chr(10) || ']')"
_LONG_TEXT = ("text", "hidden_reason", "section_title", "section")
_QUOTED = ("','", "'\"'", "chr(13)", "chr(10)")  # SQL constants: comma, double quote, CR, LF
_ISO = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'
_ISO_MICRO = 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM'
_LOCAL = "YYYY-MM-DD HH24:MI:SS"


def _sql(text: str) -> ColumnElement[Any]:
    """A constant written into the statement (not a bound parameter: fewer to compile and to send)."""
    return literal_column(text, Text)


_EMPTY, _COMMA, _QUOTE, _APOSTROPHE = _sql("''"), _sql("','"), _sql("'\"'"), _sql("''''")


def supported(bind: AsyncEngine | AsyncConnection | Any) -> bool:
    """Whether this database can write the lines: PostgreSQL (``convert_to`` gives UTF-8 from any server
    encoding but SQL_ASCII, which stores bytes unchecked and is not supported here). Asked of the engine,
    so no transaction is begun for it."""
    return bool(bind is not None and bind.dialect.name == "postgresql")


async def set_time_zone(connection: AsyncConnection, tz_name: str) -> None:
    """The transaction's ``TimeZone`` (``SET LOCAL``): ``to_char`` then writes local times and offsets."""
    await connection.execute(select(func.set_config("TimeZone", tz_name, True)))


def _time(column: ColumnElement[Any], iso: bool) -> ColumnElement[Any]:
    if not iso:
        return func.to_char(column, _LOCAL)
    # datetime.isoformat(): microseconds only when there are some. Rounded to whole seconds (integer
    # arithmetic) a time is unchanged only when it has none; date_trunc would convert to local time.
    whole = cast(column, TIMESTAMP(timezone=True, precision=0)) == column
    fmt = case((whole, _ISO), else_=_ISO_MICRO)
    return func.to_char(column, fmt)


def _text(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column as text: a string column as it is (``varchar`` is text to every function used here, and
    the statement stays under the driver's 15 KB limit for a cached prepared statement), others cast."""
    return column if isinstance(column.type, String) else cast(column, Text)


def _pseudonym(respondent_id: ColumnElement[Any], spec: SqlEncoding) -> ColumnElement[Any]:
    """core.exports.pseudonym in SQL: "R-" + the first 12 hex digits of HMAC-SHA256, upper case.

    Looked up first in the page's ``pseudonyms`` (JSONB, respondent id to pseudonym: computed once per
    respondent by Python, :func:`pseudonyms`); computed here with two ``sha256()`` only for a respondent
    the map lacks (a row that came to match the filters between the two statements of a page)."""
    inner = bindparam("hmac_inner", spec.hmac_inner, type_=LargeBinary)
    outer = bindparam("hmac_outer", spec.hmac_outer, type_=LargeBinary)
    message = func.convert_to(_sql("'respondent:'").op("||")(cast(respondent_id, Text)), _sql("'UTF8'"))
    digest = func.sha256(outer.op("||")(func.sha256(inner.op("||")(message))))
    hexed = func.encode(digest, _sql("'hex'"))
    computed = _sql("'R-'").op("||")(func.upper(func.substr(hexed, _sql("1"), _sql("12"))))
    known = bindparam("pseudonyms", type_=JSONB).op("->>", return_type=Text)(cast(respondent_id, Text))
    return func.coalesce(known, computed, type_=Text)


def pseudonyms(spec: SqlEncoding, respondent_ids: Iterable[int | None]) -> dict[str, str]:
    """The ``pseudonyms`` parameter of :func:`page_statement`: each respondent's pseudonym, computed in
    Python from the key's pads (bounded cache: the same respondents recur from page to page)."""
    inner, outer = spec.hmac_inner, spec.hmac_outer
    return {str(rid): pseudonym_from_pads(inner, outer, rid) for rid in respondent_ids if rid is not None}


def _values(
    r: Any, spec: SqlEncoding, pseudonym: ColumnElement[Any] | None
) -> list[tuple[str, ColumnElement[Any]]]:
    """(column, text value or NULL) of one row, as present_row (and ExportWording.word) make them."""
    out: list[tuple[str, ColumnElement[Any]]] = []
    for column in spec.columns:
        if column in TIME_COLUMNS:
            value = _time(r.c[column], spec.iso_times)
        elif column == "respondent":
            rid = r.c.respondent_id
            value = cast(rid, Text) if spec.pii or pseudonym is None else pseudonym
        elif column == "section" and spec.worded:
            sections = bindparam("sections", spec.sections, type_=JSONB)
            section_key = cast(r.c.section_id, Text)
            value = case(
                (
                    r.c.section_id.is_not(None),
                    func.coalesce(sections.op("->>", return_type=Text)(section_key), section_key),
                ),
                (r.c.document_code != "", literal(spec.whole_document, Text)),
                else_=None,
            )
        elif spec.worded and column in LABELLED_COLUMNS:
            names = bindparam(f"labels_{column}", dict(spec.labels.get(column, {})), type_=JSONB)
            code = cast(r.c[column], Text)
            value = func.coalesce(names.op("->>", return_type=Text)(code), code)
        else:
            value = _text(r.c[column])
        out.append((column, value))
    return out


def _csv_field(column: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """The CSV field of a text value: most need nothing; the others get the formula's apostrophe and / or
    quotes, as formats.exports and the csv module do. (``strpos`` and ``ascii``: a regular expression
    costs ten times as much on a long text.)"""
    if column in TIME_COLUMNS:  # a local time is never formula-looking nor quoted
        return func.coalesce(value, _EMPTY)
    formula = func.ascii(value).in_([literal_column(str(ord(c))) for c in FORMULA_TRIGGERS])
    if column in _LONG_TEXT:  # four strpos: a regular expression costs ten times as much on a long text
        needs_quotes = or_(*(func.strpos(value, literal_column(sql)) > _sql("0") for sql in _QUOTED))
    else:  # on a short value one regular expression costs less than four strpos
        needs_quotes = value.op("~")(literal_column("('[,\"' || chr(13) || chr(10) || ']')"))
    escaped = case((formula, _APOSTROPHE.op("||")(value)), else_=value)
    return case(
        (value.is_(None), _EMPTY),
        (
            needs_quotes,
            _QUOTE.op("||")(func.replace(escaped, _QUOTE, _sql("'\"\"'"))).op("||")(_QUOTE),
        ),
        (formula, _APOSTROPHE.op("||")(value)),
        else_=value,
    )


def line(r: Any, spec: SqlEncoding, pseudonym: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """One row's finished line: CSV ending in CRLF, or a JSON object (json.dumps layout) and LF."""
    values = _values(r, spec, pseudonym)
    if spec.fmt is ExportFormat.CSV:
        return _csv_line(values)
    return _json_line(values)


# Fields that never need escaping: a time, and the respondent (a pseudonym "R-" and hex digits, or an id).
_PLAIN = (*TIME_COLUMNS, "respondent")


def _csv_line(values: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    # Testing every field costs more than the rest of the line: the short ones (codes, names) are tested
    # together, joined by a unit separator, by one regular expression; only when one of them needs it
    # are they escaped one by one. A long text is tested on its own.
    short = [(c, v) for c, v in values if c not in _PLAIN and c not in _LONG_TEXT]
    joined = func.concat_ws(literal_column("chr(31)"), *(v for _c, v in short), type_=Text)
    careful = func.concat_ws(
        _COMMA,
        *(func.coalesce(v, _EMPTY) if c in _PLAIN else _csv_field(c, v) for c, v in values),
        type_=Text,
    )
    quick = func.concat_ws(
        _COMMA,
        *(func.coalesce(v, _EMPTY) if c not in _LONG_TEXT else _csv_field(c, v) for c, v in values),
        type_=Text,
    )
    chosen = case((joined.op("~")(literal_column(_ANY_SPECIAL)), careful), else_=quick)
    return chosen.op("||")(_sql("chr(13) || chr(10)"))


def _json_line(values: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """``{"column": value, ...}`` as json.dumps(ensure_ascii=False) writes it: every value a JSON string
    or null. ``to_json`` escapes a long text; the short values are escaped only when one of them needs it:
    ``to_json`` of them all joined lengthens it by more than its two quotes exactly when a character is
    escaped (an escape is never shorter than the character)."""
    short = [v for c, v in values if c not in _PLAIN and c not in _LONG_TEXT]
    joined = func.concat_ws(_COMMA, *short, type_=Text)
    quoted = func.octet_length(joined).op("+")(_sql("2"))
    plain = func.octet_length(cast(func.to_json(joined), Text)) == quoted

    def member(column: str, value: ColumnElement[Any], quick: bool) -> ColumnElement[Any]:
        text: ColumnElement[Any]
        if column in _PLAIN or (quick and column not in _LONG_TEXT):
            text = literal_column("'\"'").op("||")(value).op("||")(literal_column("'\"'"))
        else:
            text = cast(func.to_json(value), Text)
        return literal_column(f"'\"{column}\": '").op("||")(func.coalesce(text, literal_column("'null'")))

    def members(quick: bool) -> ColumnElement[Any]:
        return func.concat_ws(_sql("', '"), *(member(c, v, quick) for c, v in values), type_=Text)

    body = case((plain, members(True)), else_=members(False))
    return literal_column("'{'").op("||")(body).op("||")(literal_column("'}' || chr(10)"))


def finish(spec: SqlEncoding, data: bytes) -> bytes:
    """The page's bytes as formats.exports writes them (nothing left to change: kept for callers)."""
    return data


def respondents_statement(rows: Select) -> Select:  # type: ignore[type-arg]
    """(row count, last id, the distinct respondent ids) of the ordered, limited ``rows`` (feedback ids
    and respondent ids only: no join, no wide column)."""
    r = rows.subquery("k")
    return select(func.count(), func.max(r.c.id), func.array_agg(r.c.respondent_id.distinct()))


def bounds_array(rows: Select) -> ColumnElement[Any]:  # type: ignore[type-arg]
    """:func:`respondents_statement` of ``rows`` as one integer array ``[count, last id, respondent
    ids…]`` (last id NULL when there is no row), a scalar subquery: an uncorrelated one is an InitPlan,
    evaluated once, and only when a row asks for it."""
    r = rows.subquery("n")
    head = postgresql.array([cast(func.count(), Integer), func.max(r.c.id)])
    return select(
        func.array_cat(head, func.array_agg(r.c.respondent_id.distinct()), type_=ARRAY(Integer))
    ).scalar_subquery()


def bounds_from_array(value: Sequence[int | None]) -> tuple[int, int | None, list[int]]:
    """(row count, last id, distinct respondent ids) from :func:`bounds_array`'s value."""
    return int(value[0] or 0), value[1], [r for r in value[2:] if r is not None]


def page_statement(  # type: ignore[type-arg]
    rows: Select,
    spec: SqlEncoding,
    known: Mapping[str, str] | None = None,
    ahead: ColumnElement[Any] | None = None,
) -> Select:
    """(the row's finished line as UTF-8 bytes, ``ahead`` or NULL) of each of the ordered ``rows``, in
    order.

    ``known``: the page's pseudonyms (:func:`pseudonyms`), looked up instead of computed. ``ahead``: the
    next page's bounds (:func:`bounds_array`), given on the row whose id is the ``last`` parameter, so a
    page's one statement also reads the next one's bounds (NULL on every other row; absent when that
    row no longer matches the filters). One row per line, not ``string_agg(… ORDER BY id)``: an ordered
    aggregate sorts its input again (PostgreSQL 15), and ``textsend`` gives the UTF-8 bytes without
    ``convert_to``'s check."""
    r = rows.subquery("r")
    pseudonym = None if spec.pii else _pseudonym(r.c.respondent_id, spec)
    columns: list[ColumnElement[Any]] = [func.textsend(line(r, spec, pseudonym), type_=LargeBinary)]
    if ahead is not None:
        columns.append(case((r.c.id == bindparam("last", 0, type_=Integer), ahead), else_=None))
    stmt = select(*columns).order_by(r.c.id)
    if pseudonym is not None:
        stmt = stmt.params(pseudonyms=dict(known or {}))
    return stmt


@dataclass(frozen=True)
class Compiled:
    """A statement compiled once for the driver: its SQL (``$n`` placeholders), the names of its
    parameters in order and their values as SQLAlchemy would send them; only ``varying`` change."""

    sql: str
    names: tuple[str, ...]
    values: Mapping[str, Any]
    processors: Mapping[str, Any]

    def args(self, **varying: Any) -> list[Any]:
        out = []
        for name in self.names:
            if name in varying:
                value = varying[name]
                process = self.processors.get(name)
                out.append(process(value) if process is not None else value)
            else:
                out.append(self.values[name])
        return out


def compile_for(statement: Any, dialect: Any) -> Compiled:
    compiled = statement.compile(dialect=dialect)
    processors = dict(compiled._bind_processors)  # what the dialect does to each value (JSON, bytes…)
    params = compiled.construct_params()
    names = tuple(compiled.positiontup or ())
    values = {
        name: (processors[name](params[name]) if name in processors else params[name]) for name in names
    }
    return Compiled(str(compiled), names, values, processors)


@dataclass(frozen=True)
class PagePlan:
    """One export's statements, built and compiled once (a wide line costs about 100 ms to build and
    compile, more than the database takes for a page): ``keys`` gives a page's count, last id and
    respondents; ``lines`` its lines between ``after`` and ``last``, and the next page's bounds."""

    keys: Compiled
    lines: Compiled


def spec_key(spec: SqlEncoding) -> tuple[Any, ...]:
    """A hashable form of ``spec`` (its mappings as sorted items)."""
    return (
        spec.fmt,
        spec.columns,
        spec.iso_times,
        spec.tz_name,
        spec.pii,
        spec.hmac_inner,
        spec.hmac_outer,
        tuple(sorted((c, tuple(sorted(m.items()))) for c, m in spec.labels.items())),
        tuple(sorted(spec.sections.items())),
        spec.whole_document,
        spec.worded,
    )
