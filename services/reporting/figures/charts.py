"""Server-rendered SVG bar charts for staff pages: no JavaScript, accessible.

``bar_chart`` draws horizontal bars with ``role="img"``, a ``<title>`` and a ``<desc>`` that
reads out every number; the page shows the same numbers in a table right below the chart.

Each bar's label sits on its own line(s) above the bar, wrapped to the chart's width, so no
label is clipped and the chart is narrow enough (``WIDTH`` user units, drawn at most that
wide by the page's ``maxw-mobile-lg``) to stay readable on a 390 px phone.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 400  # the chart's user units across: about its width in CSS pixels on a phone
FONT_SIZE = 14
LINE_HEIGHT = 18
LABEL_CHARACTERS = 46  # a label line at most this long fits WIDTH at FONT_SIZE
BAR_HEIGHT = 20
GAP = 12
VALUE_WIDTH = 56  # room right of the longest bar for its number


def _label_lines(label: str) -> list[str]:
    return textwrap.wrap(label, LABEL_CHARACTERS, break_long_words=True) or [""]


def bar_chart(
    chart_id: str, title: str, bars: Sequence[tuple[str, int]], *, description: str = ""
) -> Markup:
    """A horizontal bar chart of ``(label, value)`` pairs as inline SVG."""
    top = max((value for _label, value in bars), default=0) or 1
    bar_room = WIDTH - VALUE_WIDTH
    spoken = "; ".join(f"{label}: {value}" for label, value in bars) or "No data."
    desc = f"{description} {spoken}".strip()
    drawn: list[str] = []
    y = GAP
    for label, value in bars:
        for line in _label_lines(label):
            y += LINE_HEIGHT
            drawn.append(
                f'<text x="0" y="{y - 4}" font-size="{FONT_SIZE}" fill="#1b1b1b">'
                f"{escape(line)}</text>"
            )
        y += 2
        length = round(bar_room * value / top)
        drawn.append(
            f'<rect x="0" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="#005ea2"></rect>'
            f'<text x="{length + 6}" y="{y + BAR_HEIGHT / 2 + 5}" font-size="{FONT_SIZE}" '
            f'fill="#1b1b1b">{value}</text>'
        )
        y += BAR_HEIGHT + GAP
    height = max(y, GAP + BAR_HEIGHT)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" '
        f'width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        *drawn,
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 (every label and title is escaped above)
