"""Server-side SVG bar charts: geometry computed here, drawn by templates/_barchart.html.

Labels are measured with portal.web.textwidth (conservative for DejaVu Sans at FONT_SIZE, the
12px of .chart-label in static/portal.css). The label column is as wide as the widest label
up to LABEL_MAX_WIDTH; a longer label wraps onto more lines (one <tspan> each) and its row
grows, so no label is ever cut whatever the language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from portal.web.textwidth import text_width, wrap_text

FONT_SIZE = 12.0  # .chart-label and .chart-value in static/portal.css
LINE_HEIGHT = 15  # between the baselines of a wrapped label's lines
ROW_HEIGHT = 22  # a one-line row; each further line adds LINE_HEIGHT
BAR_HEIGHT = 14
BASELINE_SHIFT = 4  # from a line's vertical centre down to its baseline (about 0.35 em)
LABEL_GAP = 8  # between a label's end and its bar
LABEL_LEFT = 4  # kept clear left of the longest label line
LABEL_MIN_WIDTH = 80
LABEL_MAX_WIDTH = 240  # widest label column (gap and margin included)
LABEL_WIDTH = LABEL_MAX_WIDTH  # kept for callers of the old fixed-width layout
CHART_WIDTH = 650  # every chart is this wide (one scale on the page) unless its text needs more
MIN_BAR_AREA = 240
VALUE_GAP = 6  # between a bar's end and its value
VALUE_RIGHT = 4  # kept clear right of the widest value


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    value_text: str
    y: float  # top of the row
    width: float  # length of the bar
    lines: tuple[str, ...] = ()  # the label as drawn, one <tspan> per line
    row_height: float = ROW_HEIGHT
    text_y: float = 0.0  # baseline of the label's first line
    bar_y: float = 0.0  # top of the bar
    value_y: float = 0.0  # baseline of the value

    @property
    def center(self) -> float:
        return self.y + self.row_height / 2


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int = LABEL_WIDTH  # x where the bars start
    row_height: int = ROW_HEIGHT
    line_height: int = LINE_HEIGHT
    bar_height: int = BAR_HEIGHT
    label_gap: int = LABEL_GAP
    value_gap: int = VALUE_GAP
    font_size: float = FONT_SIZE

    @property
    def label_x(self) -> int:
        """x of the labels' right end (text-anchor="end")."""
        return self.label_width - self.label_gap


def label_column(labels: list[str]) -> tuple[int, list[tuple[str, ...]]]:
    """Width of the label column and every label's lines within it."""
    widest = max((text_width(label, FONT_SIZE) for label in labels), default=0.0)
    column = int(min(LABEL_MAX_WIDTH, max(LABEL_MIN_WIDTH, widest + LABEL_GAP + LABEL_LEFT + 1)))
    room = column - LABEL_GAP - LABEL_LEFT
    return column, [tuple(wrap_text(label, room, FONT_SIZE)) for label in labels]


def bar_chart(rows: list[tuple[str, int]], format_value: Callable[[int], str]) -> BarChart:
    """Horizontal bars, one per (label, value) row, scaled to the largest value."""
    largest = max((value for _, value in rows), default=0) or 1
    column, wrapped = label_column([label for label, _ in rows])
    values = [format_value(value) for _, value in rows]
    value_width = max((text_width(text, FONT_SIZE) for text in values), default=0.0)
    value_column = VALUE_GAP + int(value_width + 0.999) + VALUE_RIGHT
    bar_area = max(MIN_BAR_AREA, CHART_WIDTH - column - value_column)
    bars = []
    y = 0.0
    for (label, value), lines, value_text in zip(rows, wrapped, values, strict=True):
        height = ROW_HEIGHT + (len(lines) - 1) * LINE_HEIGHT
        center = y + height / 2
        bars.append(
            Bar(
                label=label,
                value=value,
                value_text=value_text,
                y=y,
                width=bar_area * value / largest,
                lines=lines,
                row_height=height,
                text_y=center - (len(lines) - 1) * LINE_HEIGHT / 2 + BASELINE_SHIFT,
                bar_y=center - BAR_HEIGHT / 2,
                value_y=center + BASELINE_SHIFT,
            )
        )
        y += height
    width = column + bar_area + value_column
    return BarChart(bars, width, int(y + 0.999), label_width=column)
