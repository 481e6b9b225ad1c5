"""The Word reports through a template staff can edit in Word (docxtpl): wording and layout without code.

The template is a .docx file with Jinja fields. Its frame — page setup, styles, header with the page
number, the letterhead, the title block, the closing with the recipients and the signature — is the
template's own, so the Commission can move, reword or restyle any of it in Word; the generated
contents go where the template puts two fields, each alone in its paragraph:

* ``{{p body }}``: the numbered parts (headings, paragraphs, tables, charts), laid out by
  :mod:`formats.docx_layout`;
* ``{{p appendices }}``: the appendices, each from a new page.

The other fields (``{{ letterhead.issuer }}``, ``{{ title }}``, ``{{ closing.signer_name }}``, loops
over ``intro``, ``closing.recipients_list`` and ``closing.signer``) are the fields of
:class:`core.admin_document.AdminDocument`; every text is escaped. ``GOPY_REPORT_TEMPLATE`` names a
staff template; the bundled one (``formats/templates/report.docx``, made by :func:`bundled_template`
from the house layout, so both look the same) is the default. ``python -m formats.report_template
PATH`` writes a copy of it to start from.
"""

from __future__ import annotations

import io
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from docx.enum.text import WD_BREAK

from core.admin_document import AdminDocument, Letterhead
from formats.docx_layout import (
    CENTRE,
    LEFT,
    RECIPIENTS_LIST_PT,
    RECIPIENTS_PT,
    SIGNATURE_SPACE,
    SMALL_PT,
    TITLE_PT,
    _flag,
    blocks,
    letterhead,
    new_page,
    paragraph,
    properties,
    render_docx,
)

__all__ = ["BUNDLED_TEMPLATE", "bundled_template", "render_with_template"]

BUNDLED_TEMPLATE = Path(__file__).parent / "templates" / "report.docx"

log = logging.getLogger(__name__)


def bundled_template() -> bytes:
    """The default template: the house layout of :mod:`formats.docx_layout` with Jinja fields."""
    doc = new_page()
    letterhead(
        doc,
        Letterhead(
            issuer_parent="{{ letterhead.issuer_parent or '' }}",
            issuer="{{ letterhead.issuer }}",
            number="{{ letterhead.number or '' }}",
            party="{{ letterhead.party }}",
            place_date="{{ letterhead.place_date }}",
        ),
    )
    paragraph(doc)
    paragraph(doc, "{{ title }}", bold=True, size=TITLE_PT, align=CENTRE, keep=True)
    paragraph(doc, "{{ subject }}", bold=True, align=CENTRE, keep=True)
    paragraph(doc, "{%p if note %}")
    paragraph(doc, "{{ note }}", italic=True, size=SMALL_PT, align=CENTRE, keep=True)
    paragraph(doc, "{%p endif %}")
    paragraph(doc, "-----", align=CENTRE)
    paragraph(doc, "{%p for text in intro %}")
    paragraph(doc, "{{ text }}", indent=True)
    paragraph(doc, "{%p endfor %}")
    paragraph(doc, "{{p body }}")
    paragraph(doc)
    grid = doc.add_table(rows=1, cols=2)
    grid.rows[0]._tr.get_or_add_trPr().append(_flag("w:cantSplit"))
    left, right = grid.rows[0].cells
    recipients = "{{ closing.recipients }}"
    paragraph(left, recipients, bold=True, italic=True, size=RECIPIENTS_PT, align=LEFT, first=True)
    paragraph(left, "{%p for line in closing.recipients_list %}", size=RECIPIENTS_LIST_PT, align=LEFT)
    paragraph(left, "{{ line }}", size=RECIPIENTS_LIST_PT, align=LEFT)
    paragraph(left, "{%p endfor %}", size=RECIPIENTS_LIST_PT, align=LEFT)
    paragraph(right, "{%p for line in closing.signer %}", bold=True, align=CENTRE, first=True)
    paragraph(right, "{{ line }}", bold=True, align=CENTRE)
    paragraph(right, "{%p endfor %}", bold=True, align=CENTRE)
    for _ in range(SIGNATURE_SPACE):
        paragraph(right, align=CENTRE)
    paragraph(right, "{{ closing.signer_name }}", bold=True, align=CENTRE)
    paragraph(doc, "{{p appendices }}")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


class TemplateUnusable(ValueError):
    """A template that cannot render a whole report."""


def render_with_template(document: AdminDocument, template: Path | None = None) -> bytes:
    """``document`` rendered through the template at ``template`` (default: the bundled one).

    A template that cannot be used — not a Word file, a Jinja mistake, or without ``{{p body }}`` or
    ``{{p appendices }}`` (the contents would be lost) — is logged and the house layout
    (:func:`formats.docx_layout.render_docx`) is used instead: staff always get the whole report.
    """
    import zipfile

    from docx.opc.exceptions import PackageNotFoundError
    from jinja2 import TemplateError

    path = template or BUNDLED_TEMPLATE
    try:
        return _render(document, path)
    except (
        TemplateError,
        TemplateUnusable,
        PackageNotFoundError,
        zipfile.BadZipFile,
        KeyError,
        OSError,
    ) as exc:
        log.error(
            "report template %s unusable (%s: %s); the built-in layout is used",
            path.name,
            type(exc).__name__,
            str(exc)[:200],
        )
        return render_docx(document)


def _render(document: AdminDocument, path: Path) -> bytes:
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(path))
    missing = {"body", "appendices"} - set(tpl.get_undeclared_template_variables())
    if missing:
        raise TemplateUnusable(f"no {{{{p {' }}, {{p '.join(sorted(missing))} }}}} field")
    body = tpl.new_subdoc()
    for part in document.parts:
        blocks(body, part)
    appendices = tpl.new_subdoc()
    for appendix in document.appendices:
        paragraph(appendices).add_run().add_break(WD_BREAK.PAGE)
        blocks(appendices, appendix, align=CENTRE)
    context: dict[str, Any] = {
        "letterhead": asdict(document.letterhead),
        "title": document.title,
        "subject": document.subject,
        "note": document.note or "",
        "intro": list(document.intro),
        "closing": asdict(document.closing),
        "body": body,
        "appendices": appendices,
    }
    tpl.render(context, autoescape=True)
    properties(tpl.docx, document)
    buffer = io.BytesIO()
    tpl.save(buffer)
    return buffer.getvalue()


if __name__ == "__main__":  # python -m formats.report_template PATH: a copy of the bundled template
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLED_TEMPLATE
    target.write_bytes(bundled_template())
