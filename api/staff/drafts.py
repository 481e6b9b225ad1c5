"""/staff/drafts: the draft documents (viewers read; admins upload, preview, publish, close, reopen).

An upload is parsed at once (``formats.drafts.read_draft``) and kept server-side under
``$GOPY_HOME/staff-uploads/<random token>.<suffix>``; the preview page shows the section tree it gives,
and only the confirmation imports it (``core.staff.documents.import_document``, status ``draft``).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from api.staff.pages_common import error_text, local_moment, now, tz
from api.staff.rendering import redirect, render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from api.v1.documents import MAX_UPLOAD as API_MAX_UPLOAD
from core import errors
from core.i18n import t
from core.parsed_document import DRAFT_SUFFIXES, DraftFile
from core.staff import documents as uc
from core.staff.reading import read_draft_with_counts
from formats.drafts import read_draft

router = APIRouter(route_class=StaffRoute, include_in_schema=False)

MAX_UPLOAD = API_MAX_UPLOAD  # the same limit as POST /v1/documents/import
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
ACTIONS = ("publish", "close", "reopen")


def upload_dir(request: Request) -> Path:
    return Path(request.app.state.services.settings.home) / "staff-uploads"


def _upload_path(request: Request, token: str) -> Path | None:
    """The kept upload of ``token`` (None when the token is malformed or its file is gone)."""
    if not TOKEN_RE.match(token):
        return None
    for suffix in DRAFT_SUFFIXES:
        path = upload_dir(request) / f"{token}{suffix}"
        if path.is_file():
            return path
    return None


async def _list_page(
    request: Request, uow: Uow, user: StaffUser, *, error: str | None = None, status: int = 200
) -> Response:
    documents = await uc.list_documents(uow=uow)
    return render(
        request,
        "drafts.html",
        {"documents": documents, "tz": tz(request), "error": error, "max_mb": MAX_UPLOAD // (1024 * 1024)},
        user=user,
        status_code=status,
    )


@router.get("/staff/drafts")
async def drafts(request: Request, uow: Uow, user: StaffUser = require_staff("viewer")) -> Response:
    return await _list_page(request, uow, user)


@router.post("/staff/drafts/upload")
async def upload(
    request: Request,
    uow: Uow,
    file: Annotated[UploadFile | None, File()] = None,
    user: StaffUser = require_staff("admin"),
) -> Response:
    if file is None or not file.filename:
        return await _list_page(request, uow, user, error=t("staff.drafts.no_file", user.lang), status=422)
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        message = t("staff.drafts.too_large", user.lang, mb=MAX_UPLOAD // (1024 * 1024))
        return await _list_page(request, uow, user, error=message, status=413)
    suffix = Path(file.filename).suffix.lower()
    try:
        read_draft(raw, f"upload{suffix}")
    except errors.GopyError as exc:
        return await _list_page(request, uow, user, error=error_text(exc, user.lang), status=422)
    token = secrets.token_urlsafe(24)
    folder = upload_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{token}{suffix}").write_bytes(raw)
    return redirect(f"/staff/drafts/preview/{token}")


def _tree(draft: DraftFile) -> list[dict[str, Any]]:
    """The parsed sections in reading order, with their depth (for the preview)."""
    depths: dict[int, int] = {}
    rows = []
    for _, section, parent in draft.parsed.walk():
        depth = 0 if parent is None else depths[id(parent)] + 1
        depths[id(section)] = depth
        rows.append({"depth": depth, "number": section.number, "title": section.title, "body": section.body})
    return rows


@router.get("/staff/drafts/preview/{token}")
async def preview(
    request: Request, uow: Uow, token: str, user: StaffUser = require_staff("admin")
) -> Response:
    path = _upload_path(request, token)
    if path is None:
        return await _list_page(
            request, uow, user, error=t("staff.drafts.upload_gone", user.lang), status=404
        )
    draft = read_draft(path.read_bytes(), path.name)
    return render(
        request,
        "draft_preview.html",
        {
            "token": token,
            "draft": draft,
            "title": draft.meta.get("title") or draft.parsed.title or "",
            "code": draft.meta.get("code") or "",
            "tree": _tree(draft),
        },
        user=user,
    )


@router.post("/staff/drafts/preview/{token}/confirm")
async def confirm(
    request: Request,
    uow: Uow,
    token: str,
    code: Annotated[str, Form(max_length=64)] = "",
    title: Annotated[str, Form(max_length=500)] = "",
    user: StaffUser = require_staff("admin"),
) -> Response:
    path = _upload_path(request, token)
    if path is None:
        return await _list_page(
            request, uow, user, error=t("staff.drafts.upload_gone", user.lang), status=404
        )
    try:
        done = await uc.import_document(
            uow=uow,
            actor=user.actor,
            raw=path.read_bytes(),
            filename=path.name,
            read_draft=read_draft,
            now=now(request),
            code=code.strip() or None,
            title=title.strip() or None,
            status="draft",
        )
    except errors.GopyError as exc:
        await uow.rollback()
        return await _list_page(request, uow, user, error=error_text(exc, user.lang), status=422)
    path.unlink(missing_ok=True)
    if done.document is None:
        return redirect("/staff/drafts", flash="staff.drafts.imported")
    return redirect(f"/staff/drafts/{done.document['id']}", flash="staff.drafts.imported")


@router.post("/staff/drafts/preview/{token}/discard")
async def discard(request: Request, token: str, user: StaffUser = require_staff("admin")) -> Response:
    path = _upload_path(request, token)
    if path is not None:
        path.unlink(missing_ok=True)
    return redirect("/staff/drafts", flash="staff.drafts.discarded", level="info")


async def _reading_page(
    request: Request,
    uow: Uow,
    user: StaffUser,
    document_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    reading = await read_draft_with_counts(uow=uow, document_id=document_id)
    return render(
        request,
        "draft_reading.html",
        {"reading": reading, "doc": reading.document, "tz": tz(request), "error": error},
        user=user,
        status_code=status,
    )


@router.get("/staff/drafts/{document_id}")
async def reading(
    request: Request, uow: Uow, document_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    return await _reading_page(request, uow, user, document_id)


@router.post("/staff/drafts/{document_id}/{action}")
async def change_status(
    request: Request,
    uow: Uow,
    document_id: int,
    action: str,
    opens_at: Annotated[str, Form(max_length=32)] = "",
    closes_at: Annotated[str, Form(max_length=32)] = "",
    user: StaffUser = require_staff("admin"),
) -> Response:
    if action not in ACTIONS:
        raise errors.InvalidStatusChange(current="?", target=action[:16])
    opens, closes = local_moment(opens_at, request), local_moment(closes_at, request)
    bad = (opens_at and opens is None) or (closes_at and closes is None)
    if bad:
        message = t("staff.drafts.bad_date", user.lang)
        return await _reading_page(request, uow, user, document_id, error=message, status=422)
    try:
        await uc.change_document_status(
            uow=uow,
            actor=user.actor,
            document_id=document_id,
            action=action,
            now=now(request),
            opens_at=opens,
            closes_at=closes,
        )
    except (errors.InvalidStatusChange, errors.InvalidQuery) as exc:
        await uow.rollback()
        return await _reading_page(
            request, uow, user, document_id, error=error_text(exc, user.lang), status=409
        )
    return redirect(f"/staff/drafts/{document_id}", flash=f"staff.drafts.done_{action}")
