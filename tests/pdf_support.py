"""Word reports rendered to PDF by LibreOffice (Debian's headless Writer), read back with poppler.

``render_pdf`` converts a DOCX with ``soffice --headless`` (a private user profile per call, so
parallel runs never share one), then returns the page count, the fonts (``pdffonts``) and the text
of each page (``pdftotext``); the page images (``pdftoppm``) go to ``artifacts/reports/<name>-N.png``.
Missing tools fail the test: CI installs them (.ci/reports).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "artifacts" / "reports"
CONVERT_TIMEOUT = 300  # generous: a loaded 2-core machine


@dataclass(frozen=True)
class RenderedPdf:
    pages: list[str]  # the text of each page
    fonts: list[tuple[str, bool]]  # (font name, embedded)
    images: list[Path]

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, (
        f"{name} is missing: apt-get install libreoffice-writer-nogui poppler-utils (see .ci/reports)"
    )
    return path


def render_pdf(content: bytes, name: str) -> RenderedPdf:
    """``content`` (DOCX bytes) as PDF: its pages' text, its fonts, and page images kept as artifacts."""
    soffice = _tool("soffice")
    with tempfile.TemporaryDirectory(prefix="gopy-pdf-") as folder:
        work = Path(folder)
        source = work / f"{name}.docx"
        source.write_bytes(content)
        profile = (work / "profile").as_uri()
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=CONVERT_TIMEOUT,
        )
        pdf = work / f"{name}.pdf"
        assert pdf.exists(), "LibreOffice wrote no PDF"
        listing = subprocess.run(
            [_tool("pdffonts"), str(pdf)], check=True, capture_output=True, text=True
        ).stdout
        fonts = [
            (line.split()[0], line.split()[-5] == "yes") for line in listing.splitlines()[2:] if line.strip()
        ]
        text = subprocess.run(
            [_tool("pdftotext"), "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        pages = text.split("\f")
        if pages and not pages[-1].strip():
            pages.pop()
        # the page images are made in this call's own folder and counted there: the same report rendered
        # at the same time by another worker (a test parametrised by database) writes the same artifact
        # names, so what ends up in artifacts/ is whichever copy came last, never a mix counted here
        images_dir = work / "pages"
        images_dir.mkdir()
        subprocess.run([_tool("pdftoppm"), "-r", "70", "-png", str(pdf), str(images_dir / name)], check=True)
        made = _page_images(images_dir, name)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        images = []
        for image in made:
            kept = ARTIFACTS / image.name
            shutil.copy(image, kept)
            images.append(kept)
        shutil.copy(pdf, ARTIFACTS / f"{name}.pdf")
    return RenderedPdf(pages=pages, fonts=fonts, images=images)


def _page_images(folder: Path, name: str) -> list[Path]:
    """``<name>-N.png`` exactly: "synthesis" must not take "synthesis-empty-1.png"."""
    page = re.compile(re.escape(name) + r"-\d+\.png")
    return sorted(p for p in folder.glob(f"{name}-*.png") if page.fullmatch(p.name))


def assert_well_formed(pdf: RenderedPdf, *, part_headings: list[str]) -> None:
    """Fonts embedded and a Times-compatible serif; page numbers from page 2; no part left empty
    (each part heading is followed by text before the next one); no program name in the text."""
    assert pdf.fonts and all(embedded for _, embedded in pdf.fonts), pdf.fonts
    assert any(re.search("TimesNewRoman|Times-|LiberationSerif", f) for f, _ in pdf.fonts), pdf.fonts
    assert len(pdf.images) == len(pdf.pages)
    for number, page in enumerate(pdf.pages[1:], start=2):
        assert page.strip().splitlines()[0].strip() == str(number), page[:200]
    flat = " ".join(pdf.text.split())
    positions = [flat.index(" ".join(h.split())) for h in part_headings]
    assert positions == sorted(positions), part_headings
    ends = positions[1:] + [len(flat)]
    for heading, start, end in zip(part_headings, positions, ends, strict=True):
        body = flat[start + len(" ".join(heading.split())) : end].strip()
        assert len(body) > 10, f"empty part: {heading}"
    for word in ("Gopy", "GOPY", "XLSX", "DỰ THẢO DỰ THẢO"):
        assert word not in pdf.text
