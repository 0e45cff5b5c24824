"""Server-side SVG bar charts: geometry computed here, drawn by templates/_barchart.html."""

from __future__ import annotations

from dataclasses import dataclass

ROW_HEIGHT = 22
LABEL_WIDTH = 220
BAR_AREA = 360
VALUE_WIDTH = 70


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    value_text: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    row_height: int = ROW_HEIGHT


def bar_chart(rows: list[tuple[str, int]], format_value) -> BarChart:
    """Horizontal bars, one per (label, value) row, scaled to the largest value."""
    largest = max((value for _, value in rows), default=0) or 1
    bars = [
        Bar(label, value, format_value(value), index * ROW_HEIGHT, BAR_AREA * value / largest)
        for index, (label, value) in enumerate(rows)
    ]
    return BarChart(bars, LABEL_WIDTH + BAR_AREA + VALUE_WIDTH, len(rows) * ROW_HEIGHT)
