"""Draw how the costs grow with the catalog, as one SVG (docs/cost-curves.svg).

    python benchmarks/cost_curves.py after.jsonl --before before.jsonl --out docs/cost-curves.svg

Reads the lines `search_speed.py --json FILE` appends (one per run; several runs of a size
are reduced to their median) and draws four panels against the number of records: search
latency (p50, p95), full rebuild time, index size on disk, and a new worker's memory.
Plain SVG, no plotting library.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

WIDTH, HEIGHT = 920, 640
PANEL_W, PANEL_H = 360, 200
MARGIN_LEFT, MARGIN_TOP = 70, 60
GAP_X, GAP_Y = 100, 90
AFTER, BEFORE = "#1f6feb", "#d1242f"


def load(path: Path | None) -> dict[int, dict]:
    """Records -> median of each figure over the runs of that size."""
    if path is None or not path.exists():
        return {}
    runs: dict[int, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if line.strip():
            run = json.loads(line)
            runs[run["records"]].append(run)
    return {n: _median(values) for n, values in runs.items()}


def _median(runs: list[dict]) -> dict:
    def get(run, key):
        value = run
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    keys = ["p50", "p95", "build_s", "index_mib", "worker.after_queries.RssAnon",
            "worker.after_queries.VmRSS", "worker.after_warm.RssAnon"]  # fmt: skip
    out = {}
    for key in keys:
        values = [v for v in (get(r, key) for r in runs) if v is not None]
        if values:
            out[key] = statistics.median(values)
    out["runs"] = len(runs)
    return out


def _nice_max(value: float) -> float:
    for step in (1, 2, 2.5, 5, 10):
        for scale in (10**k for k in range(-1, 6)):
            if step * scale >= value:
                return step * scale
    return value


def panel(x0: float, y0: float, title: str, unit: str, series, max_records: int) -> list[str]:
    """One chart: series = [(label, colour, dash, {records: value})]."""
    values = [v for _, _, _, points in series for v in points.values()]
    top = _nice_max(max(values) * 1.1 if values else 1)
    out = [
        f'<text x="{x0}" y="{y0 - 18}" class="title">{title}</text>',
        f'<rect x="{x0}" y="{y0}" width="{PANEL_W}" height="{PANEL_H}" class="frame"/>',
    ]
    for i in range(5):
        value = top * i / 4
        y = y0 + PANEL_H - PANEL_H * i / 4
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + PANEL_W}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                   f"{value:g}</text>")  # fmt: skip
    for records in (0, 250_000, 500_000, 750_000, 1_000_000):
        if records > max_records:
            continue
        x = x0 + PANEL_W * records / max_records
        out.append(f'<text x="{x:.1f}" y="{y0 + PANEL_H + 16}" class="tick" '
                   f'text-anchor="middle">{records // 1000:,}k</text>')  # fmt: skip
    out.append(f'<text x="{x0 - 50}" y="{y0 + PANEL_H / 2}" class="unit" '
               f'transform="rotate(-90 {x0 - 50} {y0 + PANEL_H / 2})">{unit}</text>')  # fmt: skip
    for _label, colour, dash, points in series:
        if not points:
            continue
        coords = [
            (x0 + PANEL_W * n / max_records, y0 + PANEL_H - PANEL_H * v / top)
            for n, v in sorted(points.items())
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="2" stroke-dasharray="{dash}"/>')  # fmt: skip
        for (x, y), value in zip(coords, [v for _, v in sorted(points.items())], strict=True):
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
            out.append(f'<text x="{x + 5:.1f}" y="{y - 6:.1f}" class="value" '
                       f'fill="{colour}">{value:.3g}</text>')  # fmt: skip
    return out


def draw(after: dict[int, dict], before: dict[int, dict]) -> str:
    max_records = max([*after, *before, 1_000_000])

    def pick(data, key):
        return {n: f[key] for n, f in data.items() if key in f}

    panels = [
        ("Search latency, cold distinct queries", "ms", [
            ("after p95", AFTER, "", pick(after, "p95")),
            ("after p50", AFTER, "5,4", pick(after, "p50")),
            ("before p95", BEFORE, "", pick(before, "p95")),
            ("before p50", BEFORE, "5,4", pick(before, "p50")),
        ]),
        ("Full rebuild", "seconds", [
            ("after", AFTER, "", pick(after, "build_s")),
            ("before", BEFORE, "", pick(before, "build_s")),
        ]),
        ("Index size on disk", "MiB", [
            ("after", AFTER, "", pick(after, "index_mib")),
            ("before", BEFORE, "", pick(before, "index_mib")),
        ]),
        ("A worker's private memory after 360 queries", "MiB", [
            ("after", AFTER, "", pick(after, "worker.after_queries.RssAnon")),
            ("before", BEFORE, "", pick(before, "worker.after_queries.RssAnon")),
        ]),
    ]  # fmt: skip
    body = []
    for i, (title, unit, series) in enumerate(panels):
        x0 = MARGIN_LEFT + (i % 2) * (PANEL_W + GAP_X)
        y0 = MARGIN_TOP + (i // 2) * (PANEL_H + GAP_Y)
        body += panel(x0, y0, title, unit, series, max_records)
    legend = [
        f'<line x1="70" y1="22" x2="100" y2="22" stroke="{AFTER}" stroke-width="2"/>',
        '<text x="106" y="26" class="tick">after (memory-mapped arrays, bulk segments)</text>',
        f'<line x1="420" y1="22" x2="450" y2="22" stroke="{BEFORE}" stroke-width="2"/>',
        '<text x="456" y="26" class="tick">before (this branch\'s start)</text>',
        '<line x1="660" y1="22" x2="690" y2="22" stroke="#555" stroke-width="2" '
        'stroke-dasharray="5,4"/>',
        '<text x="696" y="26" class="tick">dashed: p50</text>',
    ]
    style = (
        "<style>text{font-family:sans-serif}.title{font-size:14px;font-weight:bold}"
        ".tick,.value{font-size:11px}.unit{font-size:12px}.frame{fill:none;stroke:#999}"
        ".grid{stroke:#e5e5e5}</style>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">{style}'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>'
        + "".join(legend + body)
        + "</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("after", type=Path)
    parser.add_argument("--before", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/cost-curves.svg"))
    args = parser.parse_args()
    args.out.write_text(draw(load(args.after), load(args.before)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
