"""Who is asking, in the web chat: the issuing body's name, logo and contact line (``GOPY_ORG_*``), the
page icon, and the full privacy notice at ``/privacy`` (printable).

The logo is a file (read once at start, served at ``/chat/logo``) or an ``https://`` address (then its
origin is added to the pages' ``img-src``); without one the page shows a plain mark
(``/chat/static/favicon.svg``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.config import Settings
from core.conversation.model import ConversationSettings
from core.i18n import normalize_language, t
from core.privacy import contact_line, privacy_notice

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
MAX_LOGO_BYTES = 512 * 1024
DEFAULT_ICON = "/chat/static/favicon.svg"
PRIVACY_PAGE = Template((HERE / "templates" / "privacy.html").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Identity:
    """The issuing body as the web pages show it."""

    conv: ConversationSettings
    logo_url: str = ""  # where the page loads the logo from ("" when there is none)
    logo_body: bytes = b""  # the logo file, when it is served by us
    logo_type: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, conv: ConversationSettings) -> Identity:
        source = settings.org_logo.strip()
        if not source:
            return cls(conv)
        if source.startswith("https://") and urlsplit(source).netloc:
            return cls(conv, logo_url=source)
        path = Path(source).expanduser()
        kind = LOGO_TYPES.get(path.suffix.lower())
        try:
            body = path.read_bytes() if kind else b""
        except OSError:
            body = b""
        if not body or len(body) > MAX_LOGO_BYTES:
            log.warning("logo not shown: GOPY_ORG_LOGO is not a readable PNG/SVG/JPEG file under 512 KB")
            return cls(conv)
        return cls(conv, logo_url="/chat/logo", logo_body=body, logo_type=kind or "")

    @property
    def icon(self) -> str:
        return self.logo_url or DEFAULT_ICON

    @property
    def image_origin(self) -> str:
        """The logo's origin for ``img-src`` when it lives elsewhere, else empty."""
        if self.logo_url.startswith("https://"):
            parts = urlsplit(self.logo_url)
            return f"{parts.scheme}://{parts.netloc}"
        return ""

    def org(self, language: str) -> str:
        return self.conv.org(language)

    def contact(self, language: str) -> str:
        return contact_line(self.conv, language)

    def logo_html(self) -> str:
        if not self.logo_url:
            return ""
        return f'<img class="logo" src="{escape(self.logo_url, quote=True)}" alt="" width="36" height="36">'


def privacy_page(identity: Identity, language: str, css: str) -> str:
    """The full notice as an HTML page: numbered headings, paragraphs and lists, nothing else."""
    text = privacy_notice(identity.conv, language)
    blocks = [block.strip() for block in text.split("\n\n") if block.strip()]
    title_lines = blocks[0].split("\n") if blocks else [""]
    body: list[str] = []
    for block in blocks[1:]:
        lines = block.split("\n")
        head, rest = lines[0], lines[1:]
        if head[:1].isdigit() and ". " in head[:4]:
            body.append(f"<h2>{escape(head)}</h2>")
        else:
            rest = lines
        items = [line[2:] for line in rest if line.startswith("• ")]
        if items and len(items) == len(rest):
            body.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")
        else:
            body.extend(f"<p>{escape(line)}</p>" for line in rest if line)
    return PRIVACY_PAGE.substitute(
        lang=language,
        title=escape(t("privacy.title", language) + " — " + identity.org(language)),
        css=css,
        icon=escape(identity.icon, quote=True),
        logo=identity.logo_html(),
        org=escape(identity.org(language)),
        heading=escape(title_lines[0]),
        subheading=escape(" ".join(title_lines[1:])),
        body="\n".join(body),
        print_label=escape(t("webchat.print", language)),
        back_label=escape(t("webchat.back_to_chat", language)),
        other_lang="en" if language == "vi" else "vi",
        other_label=escape("English" if language == "vi" else "Tiếng Việt"),
    )


def add_identity_routes(router: APIRouter, identity_of: Callable[[Request], Identity], css: str) -> None:
    """``/chat/logo`` (when the logo is a file) and ``/privacy`` on the web chat's router."""

    @router.get("/chat/logo", include_in_schema=False)
    async def chat_logo(request: Request) -> Response:
        identity = identity_of(request)
        if not identity.logo_body:
            return Response(status_code=404)
        headers = {"Cache-Control": "public, max-age=3600"}
        return Response(identity.logo_body, media_type=identity.logo_type, headers=headers)

    @router.get("/privacy", include_in_schema=False)
    async def privacy(request: Request, lang: str = "vi") -> Response:
        """The full privacy notice of the current version, as a printable page."""
        page = privacy_page(identity_of(request), normalize_language(lang), css=css)
        return Response(page, media_type="text/html; charset=utf-8")
