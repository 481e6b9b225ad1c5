"""QR codes as SVG (segno): an invite link to print or show on a screen, self-contained and accessible."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

QUIET_ZONE = 4  # modules of white border the QR standard asks for


def qr_svg(data: str, *, title: str, description: str = "", module_px: int = 6) -> str:
    """An SVG of the QR code of ``data`` (error correction M, at least): one path of dark modules on a
    white square, a ``viewBox`` so it scales, ``role="img"`` with a title and description, and no
    external reference (no script, no link, no font)."""
    import segno

    qr = segno.make(data, error="m", micro=False, boost_error=True)
    size = len(qr.matrix) + 2 * QUIET_ZONE
    runs: list[str] = []
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h{start - x}z")
    pixels = size * module_px
    desc = f'<desc id="qr-desc">{escape(description)}</desc>' if description else ""
    labelled = 'aria-labelledby="qr-title"' + (' aria-describedby="qr-desc"' if description else "")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="img" '
        f'{labelled} width="{pixels}" height="{pixels}" viewBox="0 0 {size} {size}" '
        'shape-rendering="crispEdges">'
        f'<title id="qr-title">{escape(title)}</title>{desc}'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d={quoteattr("".join(runs))}/>'
        "</svg>"
    )
