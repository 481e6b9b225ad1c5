"""Bar charts of a report as PNG, drawn with matplotlib's Agg backend (no display needed)."""

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
