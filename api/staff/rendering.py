"""Rendering console pages: one Jinja2 environment (api/templates/staff/), the navigation, flash messages.

``render(request, "page.html", {...}, user=user)`` adds to the context: ``user`` (a StaffUser or None),
``csrf_token``, ``lang``, ``t`` (``t(<catalog key>, name=...)`` in the current language), ``org_name``,
``nav`` (the links the user's role may see, with the current one marked), ``flash`` (a message set by
:func:`redirect` on the previous response), ``static`` (``static("staff.css")`` -> a versioned URL) and
``other_lang`` (the language the switch offers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.staff.security import COOKIE_PATH, LANG_COOKIE, StaffUser, request_language
from core.i18n import catalog, t

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates" / "staff"
STATIC_DIR = HERE / "static" / "staff"
FLASH_COOKIE = "gopy_staff_flash"
FLASH_LEVELS = ("info", "success", "error")

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class NavItem:
    path: str
    key: str  # catalog key of the label
    min_role: str


#: The console's navigation; a page module adds nothing here, its link is already listed.
NAV: tuple[NavItem, ...] = (
    NavItem("/staff", "staff.nav.overview", "viewer"),
    NavItem("/staff/drafts", "staff.nav.drafts", "viewer"),
    NavItem("/staff/opinions", "staff.nav.opinions", "viewer"),
    NavItem("/staff/consolidation", "staff.nav.consolidation", "viewer"),
    NavItem("/staff/mood", "staff.nav.mood", "viewer"),
    NavItem("/staff/units", "staff.nav.units", "viewer"),
    NavItem("/staff/contacts", "staff.nav.contacts", "admin"),
    NavItem("/staff/admin", "staff.nav.admin", "admin"),
)


def _static_versions() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in STATIC_DIR.iterdir() if p.is_file()
    }


STATIC_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    return f"/staff/static/{name}?v={STATIC_VERSIONS.get(name, '0')}"


def translator(lang: str) -> Any:
    def translate(key: str, **params: Any) -> str:
        return t(key, lang, **params)

    return translate


def _flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE, "")
    level, _, key = raw.partition(":")
    if level in FLASH_LEVELS and key.startswith("staff.") and key in catalog("vi"):
        return level, key
    return None


def org_name(request: Request, lang: str) -> str:
    settings = request.app.state.services.settings
    return str(settings.org_name_en or settings.org_name) if lang == "en" else str(settings.org_name)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: StaffUser | None,
    status_code: int = 200,
) -> HTMLResponse:
    """A console page: ``template`` (under api/templates/staff/, extending base.html) with ``context``."""
    lang = user.lang if user is not None else request_language(request)
    path = request.url.path
    nav = [
        {
            "path": item.path,
            "label": t(item.key, lang),
            "current": path == item.path or (item.path != "/staff" and path.startswith(item.path + "/")),
        }
        for item in NAV
        if user is not None and user.can(item.min_role)
    ]
    flash = _flash(request)
    body = ENV.get_template(template).render(
        {
            "request": request,
            "user": user,
            "csrf_token": user.csrf_token if user is not None else "",
            "lang": lang,
            "other_lang": "en" if lang == "vi" else "vi",
            "t": translator(lang),
            "org_name": org_name(request, lang),
            "nav": nav,
            "flash": {"level": flash[0], "text": t(flash[1], lang)} if flash else None,
            "static": static_url,
            **(context or {}),
        }
    )
    response = HTMLResponse(body, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
    if request.query_params.get("lang") and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=COOKIE_PATH, samesite="lax")
    return response


def redirect(url: str, *, flash: str | None = None, level: str = "success") -> Response:
    """A 303 to ``url`` (after a POST), with an optional flash message (a ``staff.*`` catalog key)."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, f"{level}:{flash}", max_age=120, path=COOKIE_PATH, httponly=True, samesite="lax"
        )
    return response
