"""The libraries map: geometry from portal/web/maps.py drawn by templates/_map.html.

The partial is rendered through a plain Jinja2 environment (autoescape, i18n with null
translations) and its SVG parsed with xml.etree; label boxes are rebuilt from the SVG's own
<text>/<tspan> attributes with the shared width estimate (portal/web/textwidth.py).
"""

from __future__ import annotations

import csv
import io
import math
import re
import xml.etree.ElementTree as ET
from importlib import resources

import pytest
from jinja2 import Environment

from portal.web import maps
from portal.web.maps import MapPoint, render_map
from portal.web.templating import environment
from portal.web.textwidth import text_box

SVG = "{http://www.w3.org/2000/svg}"
LANGUAGES = ["az", "kk", "tr", "ru", "en"]
COUNTRY_NAMES = {
    "az": {"AZE": "Azərbaycan", "ARM": "Ermənistan", "IRN": "İran"},
    "kk": {"AZE": "Әзірбайжан", "ARM": "Армения", "IRN": "Иран"},
    "tr": {"AZE": "Azerbaycan", "ARM": "Ermenistan", "IRN": "İran"},
    "ru": {"AZE": "Азербайджан", "ARM": "Армения", "IRN": "Иран"},
    "en": {"AZE": "Azerbaijan", "ARM": "Armenia", "IRN": "Iran"},
}
FONT_SIZES = {"map-label": maps.LABEL_FONT_SIZE, "map-country-label": maps.COUNTRY_FONT_SIZE}


def read_csv(name: str) -> list[dict]:
    text = resources.files("portal.data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


LIBRARIES = read_csv("libraries.csv")
DISTRICTS = {row["code"]: row for row in read_csv("districts.csv")}
VALUES = {
    "ANL": 5400,
    "SHU": 1234,
    "LAC": 0,
    "KEL": 87,
    "AGD": 2,
    "FUZ": 640,
    "JAB": 1,
    "ZAN": 300,
    "GUB": 0,
    "KHO": 2500,
    "KHV": 45,
}


@pytest.fixture(scope="module")
def env():
    """The app's own English template environment."""
    return environment("en")


def points_for(lang: str, *, full_names: bool = False, values=None) -> list[MapPoint]:
    values = values or VALUES
    points = []
    for row in LIBRARIES:
        central = row["kind"] == "district-central"
        label = DISTRICTS[row["district"]][lang] if central and not full_names else row[lang]
        value = values[row["code"]]
        points.append(
            MapPoint(
                code=row["code"],
                label=label,
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                value=value,
                value_text=f"{value:,}",
                href=f"/{lang}/libraries/{row['code']}",
                tooltip=f"{label}: {value:,}",
            )
        )
    return points


def render(env: Environment, view) -> ET.Element:
    html = env.get_template("_map.html").render(
        map=view, map_title=view.title, label_heading="Library", value_heading="Copies"
    )
    return ET.fromstring(html)


def view_box(svg: ET.Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in svg.get("viewBox").split())
    return x, y, x + w, y + h


def inside(box, outer) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def overlap(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def label_box(text: ET.Element) -> tuple[float, float, float, float]:
    """Extent of an SVG <text> as a browser draws it, estimated from the SVG's own attributes."""
    size = FONT_SIZES[text.get("class")]
    spans = list(text.iter(f"{SVG}tspan"))
    lines = [span.text or "" for span in spans] or [text.text or ""]
    line_height = float(spans[1].get("dy")) if len(spans) > 1 else 0.0
    assert all(float(span.get("dy", line_height)) == line_height for span in spans[1:])
    assert all(span.get("x") == text.get("x") for span in spans)
    return text_box(
        lines,
        float(text.get("x")),
        float(text.get("y")),
        size,
        text.get("text-anchor", "start"),
        line_height,
    )


def path_points(d: str) -> list[list[tuple[float, float]]]:
    assert re.fullmatch(r"(M[-\d., ]+Z)+", d), d[:80]
    return [
        [tuple(float(v) for v in pair.split(",")) for pair in sub.split()]
        for sub in re.findall(r"M([^MZ]+)Z", d)
    ]


def circles(svg: ET.Element) -> dict[str, ET.Element]:
    found = {}
    for link in svg.iter(f"{SVG}a"):
        found[link.get("data-code")] = link.find(f"{SVG}circle")
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("full_names", [False, True], ids=["district-names", "library-names"])
def test_points_and_labels_fit_without_overlap(env, lang, full_names):
    view = render_map(
        points_for(lang, full_names=full_names),
        title="Libraries",
        description="Baku is off the map, to the east.",
        country_names=COUNTRY_NAMES[lang],
        highlight={"SHU"},
    )
    figure = render(env, view)
    svg = figure.find(f"{SVG}svg")
    outer = view_box(svg)
    for code, circle in circles(svg).items():
        cx, cy, r = (float(circle.get(k)) for k in ("cx", "cy", "r"))
        assert inside((cx - r, cy - r, cx + r, cy + r), outer), code
    boxes = [(label_box(t), "".join(t.itertext())) for t in svg.iter(f"{SVG}text")]
    assert len(boxes) == len(LIBRARIES) + 3  # a label per library, a name per country
    for box, text in boxes:
        assert inside(box, outer), (text, box, outer)
    for i, (a, text_a) in enumerate(boxes):
        for b, text_b in boxes[i + 1 :]:
            assert not overlap(a, b), (text_a, text_b)
    # the layout's own boxes are the same as the ones rebuilt from the SVG
    for point in view.points:
        rebuilt = label_box(next(t for t in svg.iter(f"{SVG}text") if t.get("x") and _is(t, point)))
        box = point.label.box
        assert rebuilt == pytest.approx((box.left, box.top, box.right, box.bottom), abs=0.11)


def _is(text: ET.Element, point) -> bool:
    return " ".join(s.text for s in text.iter(f"{SVG}tspan")) == " ".join(point.label.lines)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_library_is_a_named_link(env, lang):
    points = points_for(lang)
    svg = render(env, render_map(points, title="Libraries")).find(f"{SVG}svg")
    links = {link.get("data-code"): link for link in svg.iter(f"{SVG}a")}
    assert set(links) == {p.code for p in points}
    for point in points:
        link = links[point.code]
        assert link.get("href") == point.href
        assert link.get("aria-label") == point.tooltip
        assert link.find(f"{SVG}circle/{SVG}title").text == point.tooltip
        label = link.find(f"{SVG}text")
        assert " ".join(s.text for s in label.iter(f"{SVG}tspan")) == point.label


def test_svg_is_labelled_and_described(env):
    view = render_map(points_for("en"), title="Where the books went", description="Circles…")
    svg = render(env, view).find(f"{SVG}svg")
    title_id, desc_id = svg.get("aria-labelledby"), svg.get("aria-describedby")
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert svg.find(f"{SVG}title").text == "Where the books went"
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert svg.find(f"{SVG}desc").text == "Circles…"


def test_circle_areas_are_proportional_with_a_minimum(env):
    svg = render(env, render_map(points_for("en"), title="Libraries")).find(f"{SVG}svg")
    radii = {code: float(c.get("r")) for code, c in circles(svg).items()}
    largest = max(VALUES.values())
    assert radii["ANL"] == pytest.approx(maps.MAX_RADIUS, abs=0.01)
    for code, value in VALUES.items():
        assert radii[code] >= maps.MIN_RADIUS - 0.01
        expected = maps.MAX_RADIUS**2 * value / largest
        if expected >= maps.MIN_RADIUS**2:
            assert radii[code] ** 2 == pytest.approx(expected, rel=0.01), code
        else:
            assert radii[code] == pytest.approx(maps.MIN_RADIUS, abs=0.01), code


def test_one_scale_across_pages():
    small = render_map(points_for("en"), title="t", scale_max=10000)
    by_code = {p.code: p.r for p in small.points}
    assert by_code["ANL"] == pytest.approx(maps.MAX_RADIUS * math.sqrt(5400 / 10000))


def test_relative_positions(env):
    svg = render(env, render_map(points_for("en"), title="Libraries")).find(f"{SVG}svg")
    at = {code: (float(c.get("cx")), float(c.get("cy"))) for code, c in circles(svg).items()}

    def west_of(a, b):
        return at[a][0] < at[b][0]

    def south_of(a, b):
        return at[a][1] > at[b][1]

    assert west_of("SHU", "AGD")
    assert west_of("KEL", "AGD")
    assert west_of("LAC", "SHU")
    assert west_of("GUB", "JAB")
    assert west_of("JAB", "FUZ")
    assert south_of("ZAN", "KEL")
    assert south_of("ZAN", "GUB")
    assert south_of("SHU", "KHO")
    assert south_of("JAB", "KHV")
    assert south_of("FUZ", "AGD")
    # Baku is east of everything, drawn as an edge marker with an arrow
    assert all(west_of(code, "ANL") for code in at if code != "ANL")
    anl = next(p for p in render_map(points_for("en"), title="t").points if p.code == "ANL")
    assert anl.off_map and anl.arrow

    # to scale: Shusha-Aghdam and Zangilan-Kalbajar distances keep their real ratio
    def km(a, b):
        rows = {r["code"]: r for r in LIBRARIES}
        la, lb = (math.radians(float(rows[c]["latitude"])) for c in (a, b))
        dlon = math.radians(float(rows[b]["longitude"]) - float(rows[a]["longitude"]))
        return 6371 * math.hypot(dlon * math.cos((la + lb) / 2), lb - la)

    def units(a, b):
        return math.dist(at[a], at[b])

    ratio = units("SHU", "AGD") / km("SHU", "AGD")
    assert units("ZAN", "KEL") / km("ZAN", "KEL") == pytest.approx(ratio, rel=0.03)


def test_district_outlines_are_closed_paths_inside_the_view(env):
    view = render_map(points_for("en"), title="t", district_names={"SHU": "Shusha"})
    svg = render(env, view).find(f"{SVG}svg")
    outer = view_box(svg)
    frame = (view.frame.left, view.frame.top, view.frame.right, view.frame.bottom)
    paths = [p for p in svg.iter(f"{SVG}path") if "map-district" in p.get("class")]
    assert len(paths) == 10
    assert {s.code for s in view.districts} == {r["code"] for r in LIBRARIES} - {"ANL"}
    for path in paths:
        rings = path_points(path.get("d"))
        assert rings
        for ring in rings:
            assert len(ring) >= 3
            for x, y in ring:
                assert frame[0] <= x <= frame[2] and frame[1] <= y <= frame[3]
                assert outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]
    shusha = next(p for p in paths if p.find(f"{SVG}title") is not None)
    assert shusha.find(f"{SVG}title").text == "Shusha"
    countries = [p for p in svg.iter(f"{SVG}path") if "map-country" in p.get("class")]
    assert {p.get("class").split("-")[-1] for p in countries} >= {"aze", "arm", "irn"}
    for path in countries:
        for ring in path_points(path.get("d")):
            for x, y in ring:
                assert (
                    frame[0] - 0.1 <= x <= frame[2] + 0.1 and frame[1] - 0.1 <= y <= frame[3] + 0.1
                )


def test_libraries_lie_in_or_next_to_their_districts():
    """Each district-central library's town is inside its district's outline, or within the
    1:10m data's generalisation (Lachin and Jabrayil towns sit just outside)."""
    data = maps.map_data()
    for row in LIBRARIES:
        if row["code"] == "ANL":
            continue
        point = (float(row["longitude"]), float(row["latitude"]))
        rings = data["districts"][row["code"]]
        near = _inside_any(point, rings) or min(_distance(point, r) for r in rings) < 0.03
        assert near, row["code"]
    inside_count = sum(
        _inside_any((float(r["longitude"]), float(r["latitude"])), data["districts"][r["code"]])
        for r in LIBRARIES
        if r["code"] != "ANL"
    )
    assert inside_count >= 8


def _inside_any(point, rings) -> bool:
    x, y = point
    crossings = 0
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                crossings += 1
    return crossings % 2 == 1


def _distance(point, ring) -> float:
    px, py = point
    best = math.inf
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((px - x0) * dx + (py - y0) * dy) / ((dx * dx + dy * dy) or 1)))
        best = min(best, math.hypot(px - x0 - t * dx, py - y0 - t * dy))
    return best


@pytest.mark.parametrize("lang", LANGUAGES)
def test_text_equivalent_lists_every_library(env, lang):
    points = points_for(lang)
    figure = render(env, render_map(points, title="Libraries"))
    table = figure.find("table")
    assert table is not None
    rows = table.findall("tbody/tr")
    assert len(rows) == len(points)
    for row, point in zip(rows, points, strict=True):
        link = row.find("th/a")
        assert link.get("href") == point.href
        assert link.text == point.label
        assert row.find("td").text == point.value_text
    headings = [th.text for th in table.findall("thead/tr/th")]
    assert headings == ["Library", "Copies"]


def test_text_is_escaped(env):
    hostile = '<script>alert("x")</script> & Co'
    points = points_for("en")
    points[1] = MapPoint("SHU", hostile, 39.7583, 46.7486, 5, "5", '/en/x?a=1&b="2"', hostile)
    html = env.get_template("_map.html").render(
        map=render_map(points, title=hostile, description=hostile),
        map_title=hostile,
        label_heading="L",
        value_heading="V",
    )
    assert "<script>" not in html
    figure = ET.fromstring(html)  # still well-formed
    link = next(a for a in figure.iter(f"{SVG}a") if a.get("data-code") == "SHU")
    assert link.get("href") == '/en/x?a=1&b="2"'
    assert link.get("aria-label") == hostile


def test_crowded_map_still_fits(env):
    """Every library at the largest size, with full library names as labels."""
    values = dict.fromkeys(VALUES, 1000)
    for lang in LANGUAGES:
        view = render_map(points_for(lang, full_names=True, values=values), title="t")
        svg = render(env, view).find(f"{SVG}svg")
        outer = view_box(svg)
        boxes = [label_box(t) for t in svg.iter(f"{SVG}text")]
        for i, a in enumerate(boxes):
            assert inside(a, outer)
            for b in boxes[i + 1 :]:
                assert not overlap(a, b)


def test_no_points():
    view = render_map([], title="t")
    assert view.points == [] and view.rows == []
    assert len(view.districts) == 10


def test_map_data_is_small_and_packaged():
    folder = resources.files("portal.data").joinpath("map")
    total = sum(len(item.read_bytes()) for item in folder.iterdir() if item.name.endswith(".json"))
    assert 0 < total < 150_000


def test_fallback_stacks_labels_below_the_map(env, monkeypatch):
    """When the search gives up, labels it cannot place go below the map, still clear."""
    monkeypatch.setattr(maps, "SEARCH_LIMIT", 0)
    crowd = [
        MapPoint(f"P{i}", f"Library number {i} of a crowded place", 39.75, 46.75, 500, "500", "/x")
        for i in range(14)
    ]
    view = render_map(crowd, title="t")
    svg = render(env, view).find(f"{SVG}svg")
    outer = view_box(svg)
    boxes = [label_box(t) for t in svg.iter(f"{SVG}text")]
    assert len(boxes) == 14
    for i, a in enumerate(boxes):
        assert inside(a, outer)
        for b in boxes[i + 1 :]:
            assert not overlap(a, b)
    assert any(p.leader for p in view.points)
