"""Server-side SVG map of the libraries: geometry computed here, drawn by templates/_map.html.

Pure functions, no database and no HTTP. The outlines (Natural Earth, public domain; see
portal/data/map/SOURCE.md) are read once from portal/data/map/karabakh.json.

Projection. The map frame spans about 2.6 degrees of longitude and 2 of latitude around the
Karabakh districts, so a plain equirectangular projection with its x axis scaled by
cos(latitude of the frame's centre) is enough: across the frame the east-west scale is off by
under 1.5 % at the top and bottom edges, far below what the eye sees at this size, and north
is straight up, which keeps "west of" and "south of" readable.

Points off the frame. The Azerbaijan National Library in Baku is about 260 km east of the
districts. A frame wide enough to hold it would shrink the ten districts to a fifth of the
width and their labels could no longer fit, so a point outside the frame becomes an edge
marker: its circle (same area scale as the others) sits in a band just outside the frame's
edge on its side, at its true latitude (or longitude), with an arrow pointing towards where it
really is. The map's description should say so (the caller words it, translated).

Labels. Each library's label (its district's name, or any text the caller passes; long labels
wrap onto several lines) is placed to the right, left, above or below its circle, then at the
diagonals, then further out with a leader line, choosing the first place where it stays inside
the picture and overlaps no other label, and preferring places that cover no circle; a
backtracking search tries the most crowded points first. Text widths are estimated with
portal.web.textwidth (conservative for DejaVu Sans at LABEL_FONT_SIZE user units), and the
viewBox is grown to hold every label, circle and arrow, so no text is ever cut.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from portal.web.textwidth import ASCENT, DESCENT, SIDE, text_box, text_width, wrap_text

FRAME_WIDTH = 600.0  # user units across the map frame
MARGIN = 10.0  # room around the frame for labels of points near its edge
MIN_RADIUS = 6.0  # a library with no copies still gets a visible, clickable circle
MAX_RADIUS = 26.0  # radius of the largest value (area-proportional below it)
LABEL_FONT_SIZE = 13.0  # .map-label in static/map.css
LABEL_LINE_HEIGHT = 16.0
LABEL_MAX_WIDTH = 150.0  # longer labels wrap
COUNTRY_FONT_SIZE = 14.0  # .map-country-label in static/map.css
LABEL_GAP = 3.0  # between a circle and its label
LABEL_PAD = 2.0  # kept clear around every label box
ARROW_LENGTH = 16.0
DISTANCES = (0.0, 8.0, 18.0, 30.0, 46.0)  # extra label distances; beyond 0 a leader is drawn
SEARCH_LIMIT = 20000  # label placements tried before the fallback below the map


@dataclass(frozen=True)
class MapPoint:
    """One library on the map; every text already translated and formatted by the caller."""

    code: str
    label: str  # shown next to the circle, e.g. the district's name
    latitude: float
    longitude: float
    value: int  # sets the circle's area
    value_text: str  # the value as shown in the table, e.g. "1,234"
    href: str
    tooltip: str = ""  # circle's <title> and the link's accessible name, "Shusha: 1,234 copies"

    @property
    def accessible_name(self) -> str:
        return self.tooltip or f"{self.label}: {self.value_text}"


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        return not (
            self.right + pad <= other.left
            or other.right + pad <= self.left
            or self.bottom + pad <= other.top
            or other.bottom + pad <= self.top
        )

    def inside(self, other: Box) -> bool:
        return (
            self.left >= other.left
            and self.right <= other.right
            and self.top >= other.top
            and self.bottom <= other.bottom
        )

    def union(self, other: Box) -> Box:
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def hits_circle(self, cx: float, cy: float, r: float) -> bool:
        nearest_x = min(max(cx, self.left), self.right)
        nearest_y = min(max(cy, self.top), self.bottom)
        return (nearest_x - cx) ** 2 + (nearest_y - cy) ** 2 < r * r


@dataclass(frozen=True)
class MapLabel:
    """A (possibly multi-line) <text>: `x` and `anchor` as in SVG, `y` the first baseline."""

    lines: tuple[str, ...]
    x: float
    y: float
    anchor: str  # "start", "middle" or "end"
    line_height: float
    font_size: float
    box: Box  # estimated extent of the rendered text, in user units


@dataclass(frozen=True)
class MapShape:
    code: str
    d: str  # SVG path data, closed subpaths
    css_class: str
    name: str = ""  # <title> of the shape, if any


@dataclass(frozen=True)
class PlacedPoint:
    code: str
    label_text: str
    x: float
    y: float
    r: float
    value: int
    value_text: str
    href: str
    tooltip: str
    label: MapLabel
    leader: tuple[float, float, float, float] | None  # line from circle to a far label
    arrow: str | None  # path data of the off-map arrow, for edge markers
    off_map: bool
    css_class: str

    @property
    def box(self) -> Box:
        return Box(self.x - self.r, self.y - self.r, self.x + self.r, self.y + self.r)


@dataclass(frozen=True)
class TableRow:
    code: str
    label: str
    value_text: str
    href: str


@dataclass(frozen=True)
class MapView:
    id: str
    title: str
    description: str
    view_box: Box
    frame: Box
    countries: list[MapShape]
    districts: list[MapShape]
    points: list[PlacedPoint]  # in drawing order: larger circles first
    country_labels: list[MapLabel]
    rows: list[TableRow]  # the text equivalent, in the caller's order
    label_font_size: float = LABEL_FONT_SIZE

    @property
    def view_box_attr(self) -> str:
        b = self.view_box
        return f"{b.left:.1f} {b.top:.1f} {b.width:.1f} {b.height:.1f}"

    @property
    def width(self) -> float:
        return self.view_box.width

    @property
    def height(self) -> float:
        return self.view_box.height


# --- data and projection -------------------------------------------------------------------


@cache
def map_data() -> dict:
    """The stored outlines (portal/data/map/karabakh.json), coordinates in degrees."""
    text = (
        resources.files("portal.data").joinpath("map").joinpath("karabakh.json").read_text("utf-8")
    )
    raw = json.loads(text)
    scale = raw["scale"]

    def rings(feature: dict) -> list[list[tuple[float, float]]]:
        return [[(x / scale, y / scale) for x, y in ring] for ring in feature["rings"]]

    west, south, east, north = (v / scale for v in raw["frame"])
    return {
        "frame": (west, south, east, north),
        "countries": {f["code"]: rings(f) for f in raw["countries"]},
        "districts": {f["code"]: rings(f) for f in raw["districts"]},
        "country_label_points": {
            code: (x / scale, y / scale) for code, (x, y) in raw.get("label_points", {}).items()
        },
    }


@dataclass(frozen=True)
class Projection:
    """Equirectangular with cos(φ0) scaling: x east, y down, the frame at (0, 0)."""

    west: float
    north: float
    k: float  # user units per degree of latitude
    cos0: float

    @classmethod
    def for_frame(cls, frame: tuple[float, float, float, float], width: float) -> Projection:
        west, south, east, north = frame
        cos0 = math.cos(math.radians((south + north) / 2))
        return cls(west, north, width / ((east - west) * cos0), cos0)

    def __call__(self, longitude: float, latitude: float) -> tuple[float, float]:
        return (longitude - self.west) * self.cos0 * self.k, (self.north - latitude) * self.k


def _path(rings: Iterable[list[tuple[float, float]]], project: Projection) -> str:
    parts = []
    for ring in rings:
        points = [project(lon, lat) for lon, lat in ring]
        if points[0] == points[-1]:
            points = points[:-1]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f"M{coords}Z")
    return "".join(parts)


@cache
def _projected_shapes(width: float) -> tuple[Projection, Box, dict, dict]:
    data = map_data()
    project = Projection.for_frame(data["frame"], width)
    west, south, east, north = data["frame"]
    x0, y0 = project(west, north)
    x1, y1 = project(east, south)
    countries = {code: _path(r, project) for code, r in data["countries"].items()}
    districts = {code: _path(r, project) for code, r in data["districts"].items()}
    return project, Box(x0, y0, x1, y1), countries, districts


# --- circles -------------------------------------------------------------------------------


def radius(value: int, largest: int) -> float:
    """Area-proportional radius, MAX_RADIUS for `largest`, never below MIN_RADIUS."""
    if largest <= 0 or value <= 0:
        return MIN_RADIUS
    return max(MIN_RADIUS, MAX_RADIUS * math.sqrt(value / largest))


# --- labels --------------------------------------------------------------------------------


def _label_lines(text: str) -> tuple[str, ...]:
    return tuple(wrap_text(text, LABEL_MAX_WIDTH, LABEL_FONT_SIZE))


def _make_label(
    lines: tuple[str, ...], left: float, top: float, width: float, anchor: str, size: float
) -> MapLabel:
    """The label whose box (ink margins included) has this top-left corner and width."""
    pad = SIDE * size
    x = {"start": left + pad, "middle": left + width / 2, "end": left + width - pad}[anchor]
    baseline = top + ASCENT * size
    box = Box(*text_box(lines, x, baseline, size, anchor, _line_height(size)))
    return MapLabel(lines, x, baseline, anchor, _line_height(size), size, box)


def _line_height(size: float) -> float:
    return LABEL_LINE_HEIGHT * size / LABEL_FONT_SIZE


def _block_height(lines: tuple[str, ...], size: float) -> float:
    return (len(lines) - 1) * _line_height(size) + (ASCENT + DESCENT) * size


def _block_width(lines: tuple[str, ...], size: float) -> float:
    return max(text_width(line, size) for line in lines) + 2 * SIDE * size


# positions around a circle: (dx, dy) direction of the label, text anchor
_POSITIONS = [
    ((1, 0), "start"),
    ((-1, 0), "end"),
    ((0, -1), "middle"),
    ((0, 1), "middle"),
    ((1, -1), "start"),
    ((-1, -1), "end"),
    ((1, 1), "start"),
    ((-1, 1), "end"),
]


@dataclass
class _Item:
    index: int
    code: str
    x: float
    y: float
    r: float
    lines: tuple[str, ...]
    width: float
    height: float
    preferred: list[tuple[int, int]] = field(default_factory=list)  # (position, distance)


def _candidate(item: _Item, position: int, distance: int) -> tuple[MapLabel, tuple | None]:
    (dx, dy), anchor = _POSITIONS[position]
    reach = item.r + LABEL_GAP + DISTANCES[distance]
    w, h = item.width, item.height
    if dx and dy:  # diagonal: the box corner nearest the circle sits on the 45-degree ray
        cx = item.x + dx * reach * math.sqrt(0.5)
        cy = item.y + dy * reach * math.sqrt(0.5)
        left = cx if dx > 0 else cx - w
        top = cy if dy > 0 else cy - h
    elif dx:
        left = item.x + reach if dx > 0 else item.x - reach - w
        top = item.y - h / 2
    else:
        left = item.x - w / 2
        top = item.y + reach if dy > 0 else item.y - reach - h
    label = _make_label(item.lines, left, top, w, anchor, LABEL_FONT_SIZE)
    leader = None
    if distance:
        box = label.box
        nx = min(max(item.x, box.left), box.right)
        ny = min(max(item.y, box.top), box.bottom)
        length = math.hypot(nx - item.x, ny - item.y) or 1.0
        sx = item.x + (nx - item.x) * item.r / length
        sy = item.y + (ny - item.y) * item.r / length
        leader = (sx, sy, nx, ny)
    return label, leader


def _place_labels(
    items: list[_Item],
    circles: list[tuple[float, float, float]],
    fixed: list[Box],
    region: Box,
) -> dict[int, tuple[MapLabel, tuple | None]]:
    """Backtracking search: most crowded first, candidates cheapest first."""

    def crowding(item: _Item) -> float:
        return sum(
            1.0 / (1.0 + math.hypot(item.x - o.x, item.y - o.y)) for o in items if o is not item
        )

    order = sorted(items, key=crowding, reverse=True)
    options: dict[int, list[tuple[float, MapLabel, tuple | None]]] = {}
    for item in order:
        found = []
        for distance in range(len(DISTANCES)):
            for position in range(len(_POSITIONS)):
                label, leader = _candidate(item, position, distance)
                box = label.box
                if not box.inside(region) or any(box.overlaps(f, LABEL_PAD) for f in fixed):
                    continue
                covered = sum(
                    1
                    for cx, cy, r in circles
                    if (cx, cy) != (item.x, item.y) and box.hits_circle(cx, cy, r + LABEL_PAD)
                )
                cost = distance * 10 + position + covered * 60
                found.append((cost, label, leader))
        found.sort(key=lambda option: option[0])
        options[item.index] = found

    chosen: dict[int, tuple[MapLabel, tuple | None]] = {}
    steps = 0

    def search(position: int) -> bool:
        nonlocal steps
        if position == len(order):
            return True
        item = order[position]
        for _cost, label, leader in options[item.index]:
            steps += 1
            if steps > SEARCH_LIMIT:
                return False
            if any(label.box.overlaps(other.box, LABEL_PAD) for other, _ in chosen.values()):
                continue
            chosen[item.index] = (label, leader)
            if search(position + 1):
                return True
            del chosen[item.index]
        return False

    if search(0):
        return chosen
    # Fallback, for crowds the search cannot untangle: keep what the greedy pass can place
    # and stack the rest below the map, each joined to its circle by a leader line.
    chosen = {}
    for item in order:
        for _cost, label, leader in options[item.index]:
            if not any(label.box.overlaps(other.box, LABEL_PAD) for other, _ in chosen.values()):
                chosen[item.index] = (label, leader)
                break
    bottom = max([region.bottom] + [label.box.bottom for label, _ in chosen.values()])
    for item in order:
        if item.index in chosen:
            continue
        top = bottom + LABEL_PAD * 2
        left = min(max(item.x - item.width / 2, region.left), region.right - item.width)
        label = _make_label(item.lines, left, top, item.width, "start", LABEL_FONT_SIZE)
        chosen[item.index] = (label, (item.x, item.y + item.r, item.x, top))
        bottom = label.box.bottom
    return chosen


# --- the map -------------------------------------------------------------------------------


def render_map(
    points: list[MapPoint],
    *,
    title: str,
    description: str = "",
    highlight: Iterable[str] = frozenset(),
    district_names: Mapping[str, str] | None = None,
    country_names: Mapping[str, str] | None = None,
    scale_max: int | None = None,
    map_id: str = "libraries-map",
) -> MapView:
    """Lay out the map of `points` (libraries) over the Karabakh districts.

    `highlight`: codes of points (and districts) to emphasise, e.g. the library being viewed.
    `district_names`: district code -> name, the <title> of each district outline.
    `country_names`: ISO 3166-1 alpha-3 -> name, drawn in the countries (AZE, ARM, IRN).
    `scale_max`: the value drawn at MAX_RADIUS (default: the largest value), to keep one
    scale across pages.
    """
    highlight = set(highlight)
    project, frame, country_paths, district_paths = _projected_shapes(FRAME_WIDTH)
    data = map_data()
    largest = scale_max if scale_max is not None else max((p.value for p in points), default=0)

    region = Box(
        frame.left - MARGIN, frame.top - MARGIN, frame.right + MARGIN, frame.bottom + MARGIN
    )
    placed_circles: list[tuple[float, float, float]] = []
    items: list[_Item] = []
    arrows: dict[int, str] = {}
    off_map: set[int] = set()
    for index, point in enumerate(points):
        x, y = project(point.longitude, point.latitude)
        r = radius(point.value, largest)
        inside = frame.left <= x <= frame.right and frame.top <= y <= frame.bottom
        if not inside:
            off_map.add(index)
            x, y, arrow, band = _edge_marker(x, y, r, frame)
            arrows[index] = arrow
            region = region.union(band)
        lines = _label_lines(point.label)
        items.append(
            _Item(
                index,
                point.code,
                x,
                y,
                r,
                lines,
                _block_width(lines, LABEL_FONT_SIZE),
                _block_height(lines, LABEL_FONT_SIZE),
            )
        )
        placed_circles.append((x, y, r))

    country_labels = []
    for code, (lon, lat) in data["country_label_points"].items():
        name = (country_names or {}).get(code)
        if not name:
            continue
        lines = (name,)
        x, y = project(lon, lat)
        w = _block_width(lines, COUNTRY_FONT_SIZE)
        h = _block_height(lines, COUNTRY_FONT_SIZE)
        left = min(max(x - w / 2, frame.left), frame.right - w)
        top = min(max(y - h / 2, frame.top), frame.bottom - h)
        country_labels.append(_make_label(lines, left, top, w, "middle", COUNTRY_FONT_SIZE))

    fixed = [label.box for label in country_labels]
    fixed.extend(_arrow_box(arrow) for arrow in arrows.values())
    labels = _place_labels(items, placed_circles, fixed, region)

    placed = []
    for item, point in zip(items, points, strict=True):
        label, leader = labels[item.index]
        classes = ["map-point"]
        if point.code in highlight:
            classes.append("is-current")
        if item.index in off_map:
            classes.append("is-off-map")
        placed.append(
            PlacedPoint(
                code=point.code,
                label_text=point.label,
                x=item.x,
                y=item.y,
                r=item.r,
                value=point.value,
                value_text=point.value_text,
                href=point.href,
                tooltip=point.accessible_name,
                label=label,
                leader=leader,
                arrow=arrows.get(item.index),
                off_map=item.index in off_map,
                css_class=" ".join(classes),
            )
        )

    view = region
    for p in placed:
        view = view.union(p.box).union(p.label.box)
        if p.arrow:
            view = view.union(_arrow_box(p.arrow))
    for label in country_labels:
        view = view.union(label.box)
    view = Box(view.left - 2, view.top - 2, view.right + 2, view.bottom + 2)

    names = district_names or {}
    countries = [
        MapShape(code, d, f"map-country map-country-{code.lower()}")
        for code, d in country_paths.items()
    ]
    districts = [
        MapShape(
            code,
            d,
            "map-district is-current" if code in highlight else "map-district",
            names.get(code, ""),
        )
        for code, d in district_paths.items()
    ]
    return MapView(
        id=map_id,
        title=title,
        description=description,
        view_box=view,
        frame=frame,
        countries=countries,
        districts=districts,
        points=sorted(placed, key=lambda p: -p.r),
        country_labels=country_labels,
        rows=[TableRow(p.code, p.label, p.value_text, p.href) for p in points],
    )


def _edge_marker(x: float, y: float, r: float, frame: Box) -> tuple[float, float, str, Box]:
    """Where an off-frame point is drawn, its arrow towards its true place, and its band."""
    offset = r + 6.0
    if x > frame.right:
        mx = frame.right + offset
    elif x < frame.left:
        mx = frame.left - offset
    else:
        mx = min(max(x, frame.left + r), frame.right - r)
    if y < frame.top:
        my = frame.top - offset
    elif y > frame.bottom:
        my = frame.bottom + offset
    else:
        my = min(max(y, frame.top + r), frame.bottom - r)
    dx, dy = x - mx, y - my
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    sx, sy = mx + ux * (r + 2), my + uy * (r + 2)
    ex, ey = sx + ux * ARROW_LENGTH, sy + uy * ARROW_LENGTH
    # arrowhead: two short strokes back from the tip
    hx1, hy1 = ex - ux * 6 - uy * 4, ey - uy * 6 + ux * 4
    hx2, hy2 = ex - ux * 6 + uy * 4, ey - uy * 6 - ux * 4
    arrow = (
        f"M{sx:.1f},{sy:.1f}L{ex:.1f},{ey:.1f}"
        f"M{hx1:.1f},{hy1:.1f}L{ex:.1f},{ey:.1f}L{hx2:.1f},{hy2:.1f}"
    )
    reach = r + ARROW_LENGTH + 10
    band = Box(mx - reach, my - r - MARGIN, mx + reach, my + r + MARGIN)
    return mx, my, arrow, band


def _arrow_box(arrow: str) -> Box:
    numbers = [
        float(n)
        for part in arrow.replace("M", " ").replace("L", " ").split()
        for n in part.split(",")
    ]
    xs, ys = numbers[0::2], numbers[1::2]
    return Box(min(xs) - 1, min(ys) - 1, max(xs) + 1, max(ys) + 1)
