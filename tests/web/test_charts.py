"""Bar charts fit their labels in every portal language (portal/web/charts.py, _barchart.html).

The chart partial is rendered through a plain Jinja2 environment and its SVG parsed; every
label line is measured with the shared width estimate (portal/web/textwidth.py).
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date
from importlib import resources

import pytest
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment

from portal.web import charts
from portal.web.charts import Bar, BarChart, bar_chart
from portal.web.templating import environment
from portal.web.textwidth import WIDTH_CLASSES, text_box, text_width, wrap_text

LANGUAGES = ["az", "kk", "tr", "ru", "en"]
LANGUAGE_CODES = ["az", "ru", "kk", "tr", "en", "de", "fr", "uk", "fa", "ar", "ka", "hy"]


def read_csv(name: str) -> list[dict]:
    text = resources.files("portal.data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


DONORS = read_csv("donors.csv")
LIBRARIES = read_csv("libraries.csv")
DISTRICTS = {row["code"]: row for row in read_csv("districts.csv")}


def label_sets(lang: str) -> dict[str, list[str]]:
    locale = Locale.parse(lang)
    return {
        "donor": [row[lang] for row in DONORS],
        "library": [
            DISTRICTS[row["district"]][lang] if row["kind"] == "district-central" else row[lang]
            for row in LIBRARIES
        ],
        "library-full-name": [row[lang] for row in LIBRARIES],
        "month": [
            format_date(date(year, month, 1), "LLLL y", locale=locale)
            for year in (2021, 2024)
            for month in range(1, 13)
        ],
        "language": [locale.languages.get(code, code) for code in LANGUAGE_CODES],
    }


CASES = [(lang, kind) for lang in LANGUAGES for kind in label_sets("en")]


@pytest.fixture(scope="module")
def env():
    """The app's own English template environment."""
    return environment("en")


def make_chart(lang: str, labels: list[str]) -> BarChart:
    locale = Locale.parse(lang)
    rows = [(label, 12345 * (index + 1) // len(labels)) for index, label in enumerate(labels)]
    return bar_chart(rows, lambda value: format_decimal(value, locale=locale))


def render(env: Environment, chart: BarChart) -> ET.Element:
    html = env.get_template("_barchart.html").render(
        chart=chart, chart_id="by-x", chart_title="Copies by x", label_heading="X"
    )
    return ET.fromstring(html)


@pytest.mark.parametrize(("lang", "kind"), CASES)
def test_every_label_line_fits(env, lang, kind):
    labels = label_sets(lang)[kind]
    chart = make_chart(lang, labels)
    svg = render(env, chart).find("svg")
    _, _, width, height = (float(v) for v in svg.get("viewBox").split())
    assert (width, height) == (chart.width, chart.height)
    size = charts.FONT_SIZE
    texts = svg.findall("text")
    label_texts = [t for t in texts if t.get("class") == "chart-label"]
    value_texts = [t for t in texts if t.get("class") == "chart-value"]
    assert len(label_texts) == len(value_texts) == len(labels)
    for text, label in zip(label_texts, labels, strict=True):
        assert text.get("text-anchor") == "end"
        spans = text.findall("tspan")
        lines = [span.text for span in spans]
        # nothing lost: the lines give the label back
        assert " ".join(lines) == " ".join(label.split())
        assert all(float(span.get("x")) == chart.label_x < chart.label_width for span in spans)
        assert all(float(span.get("dy")) == chart.line_height for span in spans[1:])
        left, top, right, bottom = text_box(
            lines, chart.label_x, float(text.get("y")), size, "end", chart.line_height
        )
        # every line inside the label column (so inside the SVG), clear of the bars
        assert left >= 0, (lines, left)
        assert right <= chart.label_width
        assert top >= 0 and bottom <= height
        for line in lines:
            assert text_width(line, size) <= chart.label_width - charts.LABEL_GAP
    for text in value_texts:
        x = float(text.get("x"))
        left, top, right, bottom = text_box([text.text], x, float(text.get("y")), size)
        assert x >= chart.label_width
        assert right <= width and top >= 0 and bottom <= height
    # bars and rows stay inside, one row after another
    rects = svg.findall("rect")
    for rect, bar in zip(rects, chart.bars, strict=True):
        y, h = float(rect.get("y")), float(rect.get("height"))
        assert bar.y <= y and y + h <= bar.y + bar.row_height
        assert float(rect.get("x")) + float(rect.get("width")) <= width
    tops = [bar.y for bar in chart.bars]
    assert tops == sorted(tops)
    assert chart.bars[-1].y + chart.bars[-1].row_height == pytest.approx(height, abs=1)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_table_keeps_every_label(env, lang):
    labels = label_sets(lang)["donor"]
    chart = make_chart(lang, labels)
    figure = render(env, chart)
    headers = [th.text for th in figure.findall("table/tbody/tr/th")]
    assert headers == labels
    values = [td.text for td in figure.findall("table/tbody/tr/td")]
    assert values == [bar.value_text for bar in chart.bars]


def test_long_russian_donor_names_wrap_instead_of_being_cut():
    chart = make_chart("ru", label_sets("ru")["donor"])
    assert chart.label_width <= charts.LABEL_MAX_WIDTH
    wrapped = {bar.label: bar.lines for bar in chart.bars if len(bar.lines) > 1}
    assert "Посольство Казахстана в Азербайджане" in wrapped
    assert "Министерство культуры Азербайджана" in wrapped
    for bar in chart.bars:
        assert bar.row_height == charts.ROW_HEIGHT + (len(bar.lines) - 1) * charts.LINE_HEIGHT


def test_short_labels_keep_one_line_and_a_narrow_column():
    chart = bar_chart([("az", 3), ("ru", 5)], str)
    assert all(bar.lines == (bar.label,) for bar in chart.bars)
    assert chart.label_width == charts.LABEL_MIN_WIDTH
    assert chart.height == 2 * charts.ROW_HEIGHT


def test_signature_and_fields_kept():
    chart = bar_chart([("Shusha", 10), ("Lachin", 5)], lambda value: f"{value} copies")
    first = chart.bars[0]
    assert isinstance(first, Bar)
    assert (first.label, first.value, first.value_text, first.y) == ("Shusha", 10, "10 copies", 0)
    assert chart.bars[1].width == pytest.approx(first.width / 2)
    assert chart.row_height == charts.ROW_HEIGHT
    assert bar_chart([], str).bars == []


def test_charts_share_one_width_when_labels_allow():
    widths = {make_chart(lang, label_sets(lang)[kind]).width for lang, kind in CASES}
    assert widths == {charts.CHART_WIDTH}


def test_a_word_longer_than_the_column_is_broken_not_cut():
    word = "Донорлар" * 12
    chart = bar_chart([(word, 1), (f"a {word} b", 2)], str)
    for bar in chart.bars:
        assert len(bar.lines) > 1
        assert "".join(bar.lines).replace(" ", "") == bar.label.replace(" ", "")
        for line in bar.lines:
            assert text_width(line, charts.FONT_SIZE) <= chart.label_width - charts.LABEL_GAP


def test_text_is_escaped(env):
    chart = bar_chart([('<b>"Bold" & co</b>', 1)], str)
    html = env.get_template("_barchart.html").render(
        chart=chart, chart_id="x", chart_title="t", label_heading="h"
    )
    assert "<b>" not in html
    assert ET.fromstring(html).find("svg/text/tspan").text == '<b>"Bold" & co</b>'


# --- the shared width estimate --------------------------------------------------------------


def test_width_estimate_is_monotonic_and_covers_every_script():
    assert text_width("", 12) == 0
    assert text_width("Ш", 12) > text_width("ш", 12) > text_width("і", 12)
    assert text_width("WWW", 10) > text_width("iii", 10)
    # every letter of the portal's languages is in the table (no 1-em fallback for them)
    letters = "".join(
        row[lang] for row in DONORS + LIBRARIES + list(DISTRICTS.values()) for lang in LANGUAGES
    )
    known = set("".join(WIDTH_CLASSES.values()))
    assert set(letters) <= known, set(letters) - known
    # a character the table does not know counts as a full (wide) em
    assert text_width("漢", 10) == pytest.approx(10 * 1.04)


def test_wrap_text_keeps_every_word():
    text = "Әзірбайжан Республикасының Мәдениет министрлігі"
    lines = wrap_text(text, 160, 12)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(text_width(line, 12) <= 160 for line in lines)
    assert wrap_text("", 100, 12) == [""]
