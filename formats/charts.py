"""Bar charts: as PNG for the Word reports (matplotlib, Agg backend), as SVG for the staff console."""

from __future__ import annotations

import io

from core.admin_document import BarChart


def bar_chart_png(chart: BarChart) -> bytes:
    """Horizontal bars, the first bar on top, each labelled with its value; 150 dpi, 6.3 inches wide."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [name for name, _ in chart.bars]
    values = [value for _, value in chart.bars]
    with matplotlib.rc_context({"font.family": "serif", "font.size": 9}):
        figure = Figure(figsize=(6.3, 0.5 + 0.45 * max(1, len(values))), dpi=150)
        axes = figure.subplots()
        axes.barh(names[::-1], values[::-1], color="#b22222")
        for index, value in enumerate(values[::-1]):
            axes.text(value, index, f" {value}", va="center")
        axes.set_title(chart.caption, fontsize=11)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        axes.set_xlim(0, max(values or [1]) * 1.15 + 1)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


# Server-side SVG charts of the staff console: drawn by hand rather than with matplotlib, whose SVG
# carries a DOCTYPE with an external DTD and ``style`` attributes a strict CSP refuses when the SVG is
# inlined in a page. Presentation attributes only, no script, no link, no font file, no external URI.

SVG_WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_CHARS = 34  # longer names are shortened (the full name is each bar's tooltip)
BAR_COLOUR = "#9b1c1c"  # dark red on white: contrast above 7:1
TEXT_COLOUR = "#1a1a1a"


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"


def bar_chart_svg(chart: BarChart, *, description: str, chart_id: str = "chart") -> str:
    """Horizontal bars (first on top) with their names and values as SVG text, sized by ``viewBox``;
    ``role="img"`` with ``chart.caption`` as title and ``description`` (what the bars say, for screen
    readers) as desc. ``chart_id`` keeps ids unique when several charts share a page."""
    from xml.sax.saxutils import escape, quoteattr

    label_width = 12 + 7 * min(LABEL_CHARS, max((len(name) for name, _ in chart.bars), default=0))
    top = 34
    plot = SVG_WIDTH - label_width - 60
    biggest = max((value for _, value in chart.bars), default=0) or 1
    height = top + len(chart.bars) * (BAR_HEIGHT + BAR_GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="img" width="{SVG_WIDTH}" '
        f'height="{height}" viewBox="0 0 {SVG_WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
        'font-family="sans-serif" font-size="13">',
        f'<title id="{chart_id}-title">{escape(chart.caption)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<rect width="{SVG_WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="0" y="18" font-size="15" font-weight="bold" fill="{TEXT_COLOUR}">'
        f"{escape(chart.caption)}</text>",
    ]
    for index, (name, value) in enumerate(chart.bars):
        y = top + index * (BAR_HEIGHT + BAR_GAP)
        width = round(plot * value / biggest, 1)
        middle = y + BAR_HEIGHT / 2 + 4.5
        parts.append(
            f"<g><title>{escape(f'{name}: {value}')}</title>"
            f'<text x="{label_width - 8}" y="{middle}" text-anchor="end" fill="{TEXT_COLOUR}">'
            f"{escape(_short(name))}</text>"
            f'<rect x="{label_width}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + width + 6}" y="{middle}" fill="{TEXT_COLOUR}">{value}</text></g>'
        )
    parts.append(
        f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{height - 6}" '
        f'stroke={quoteattr(TEXT_COLOUR)} stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)
