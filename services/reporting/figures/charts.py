"""Server-rendered SVG bar charts for staff pages: no JavaScript, accessible.

``bar_chart`` draws horizontal bars with ``role="img"``, a ``<title>`` and a ``<desc>`` that
reads out every number; the page shows the same numbers in a table right below the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR_HEIGHT = 24
GAP = 8
LABEL_WIDTH = 260
BAR_WIDTH = 360
VALUE_WIDTH = 60


def bar_chart(
    chart_id: str, title: str, bars: Sequence[tuple[str, int]], *, description: str = ""
) -> Markup:
    """A horizontal bar chart of ``(label, value)`` pairs as inline SVG."""
    top = max((value for _label, value in bars), default=0) or 1
    height = max(len(bars), 1) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    spoken = "; ".join(f"{label}: {value}" for label, value in bars) or "No data."
    desc = f"{description} {spoken}".strip()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" '
        f'width="100%" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for index, (label, value) in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = round(BAR_WIDTH * value / top)
        middle = y + BAR_HEIGHT / 2 + 5
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" '
            f'font-size="14" fill="#1b1b1b">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="#005ea2"></rect>'
            f'<text x="{LABEL_WIDTH + length + 6}" y="{middle}" font-size="14" '
            f'fill="#1b1b1b">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and title is escaped above)
