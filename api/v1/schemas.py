"""Response and request bodies of the /v1 API, named by role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from core.text import normalize_input


def normalize_line(value: str) -> str:
    """:func:`core.text.normalize_input`, then every run of whitespace (line breaks too) as one space."""
    return " ".join(normalize_input(value).split())


# Every text a request carries (body, form, query) is one of these: normalised as the bot normalises what
# people type (NFC; control, format, private-use and surrogate characters removed; whitespace trimmed).
# Length limits go *around* the type, ``Annotated[InputLine, Field(max_length=...)]``, so they count the
# normalised text: a title of only control characters is empty, hence refused.
InputText = Annotated[str, AfterValidator(normalize_input)]
InputLine = Annotated[str, AfterValidator(normalize_line)]


class ErrorDetail(BaseModel):
    code: str
    message_vi: str
    message_en: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, invalid or revoked API key"},
    403: {"model": ErrorBody, "description": "the key lacks a scope"},
    404: {"model": ErrorBody, "description": "not found"},
    422: {"model": ErrorBody, "description": "invalid request"},
    429: {"model": ErrorBody, "description": "too many requests or failed authentications; see Retry-After"},
}


class SectionRead(BaseModel):
    id: int
    document_id: int
    parent_id: int | None
    ordinal: int
    depth: int
    number: str | None
    title: str
    body: str


class DocumentRead(BaseModel):
    id: int
    code: str
    title: str
    level: str | None
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    is_sample: bool
    created_at: datetime


class DocumentDetail(DocumentRead):
    sections: list[SectionRead]


class DocumentCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: Annotated[InputLine, Field(min_length=1, max_length=500)]
    level: Annotated[InputLine | None, Field(max_length=40)] = None


class ImportSummary(BaseModel):
    summary: str
    notes: list[str]
    document: DocumentRead | None


class FeedbackRead(BaseModel):
    receipt_code: str
    kind: str
    document_code: str | None
    section_number: str | None
    section_title: str | None
    stance: str | None
    text: str
    respondent: str | None = Field(description="a stable pseudonym, or the respondent id with feedback:pii")
    category: str | None
    organisation: str | None
    locality: str | None
    age_band: str | None
    gender: str | None
    channel: str
    source: str
    status: str
    congress_code: str | None
    period_code: str | None
    topic: str | None
    unit_code: str | None
    created_at: str
    updated_at: str | None
    withdrawn_at: str | None
    hidden_at: str | None = Field(None, description="when staff hid it (moderation); null when shown")
    hidden_reason: str | None = None


class ModerationCreate(BaseModel):
    reason: Annotated[InputLine, Field(min_length=1, max_length=500, description="why it is hidden")]


class ModerationRestore(BaseModel):
    note: Annotated[InputLine | None, Field(max_length=500)] = None


class ModerationRead(BaseModel):
    receipt_code: str
    hidden: bool
    hidden_at: datetime | None
    hidden_by: str | None
    hidden_reason: str | None
    changed: bool = Field(description="false when the entry already was in that state")


class FeedbackPage(BaseModel):
    items: list[FeedbackRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class GroupRead(BaseModel):
    representative: str
    count: int
    receipt_codes: list[str]


class ThemeRead(BaseModel):
    key: str = Field(
        description="names the theme in edits: `s<id>` once a staffer edited it, else `a<digest>`"
    )
    label: str = Field(description="the staff's name, else the theme's key phrases")
    key_phrases: list[str]
    count: int
    receipt_codes: list[str]
    edited: bool


class ThemesRead(BaseModel):
    themes: list[ThemeRead]


ReceiptCode = Annotated[InputLine, Field(min_length=1, max_length=16)]
ThemeName = Annotated[InputLine, Field(min_length=1, max_length=300)]
THEME_KEY_PATTERN = r"^(s[0-9]{1,10}|a[0-9a-f]{16})$"
ThemeKey = Annotated[str, Field(pattern=THEME_KEY_PATTERN)]


class ThemeRename(BaseModel):
    name: ThemeName


class ThemeMerge(BaseModel):
    other: ThemeKey = Field(description="the theme whose opinions move into this one")
    name: ThemeName | None = None


class ThemeSplit(BaseModel):
    receipt_codes: list[ReceiptCode] = Field(min_length=1, max_length=10_000)
    name: ThemeName


class ThemeMove(BaseModel):
    receipt_code: ReceiptCode


class SectionConsolidation(BaseModel):
    section_id: int | None
    number: str | None
    title: str
    total: int
    counts: dict[str, dict[str, int]]
    groups: list[GroupRead]
    themes: list[ThemeRead]


class DocumentRef(BaseModel):
    id: int
    code: str
    title: str


class ConsolidationRead(BaseModel):
    document: DocumentRef
    total: int
    hidden: int = Field(0, description="opinions hidden by moderation: in no other figure")
    counts: dict[str, dict[str, int]]
    sections: list[SectionConsolidation]


class MeetingImportResult(BaseModel):
    imported: int
    receipt_codes: list[str]


class AuditRead(BaseModel):
    id: int
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    row_count: int | None
    at: datetime


class ExportEstimateRead(BaseModel):
    rows: int
    background: bool = Field(description="more rows than GOPY_EXPORT_BACKGROUND_ROWS: use a background job")
    background_rows: int


class ExportJobRead(BaseModel):
    id: int
    format: str
    labels: str
    language: str
    pii: bool
    filters: dict[str, Any]
    status: str = Field(description="queued, running, done or failed")
    rows_done: int
    rows_total: int | None
    progress: float | None = Field(description="0 to 1; null until the row count is known")
    error: str | None = Field(description="a short code when failed, e.g. `interrupted` (a restart)")
    retryable: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SectionReadingRead(BaseModel):
    id: int
    parent_id: int | None
    depth: int
    number: str | None
    title: str
    body: str
    counts: dict[str, int] = Field(description="opinions on this section by stance")
    total: int
    subtree_total: int = Field(description="opinions on this section and every section below it")
    children: list[SectionReadingRead]


class DraftReadingRead(BaseModel):
    document: dict[str, Any]
    total: int
    hidden: int = Field(description="opinions hidden by moderation: in no other figure")
    whole_document: dict[str, int] = Field(description="opinions on the document as a whole, by stance")
    sections: list[SectionReadingRead]
