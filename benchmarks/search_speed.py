"""Indexing and search speed on a synthetic catalog of realistic multilingual records.

    python benchmarks/search_speed.py --records 55482                    # through SQLite
    python benchmarks/search_speed.py --records 1000000 --source records --queries 360

Records are built from the words, names, publishers and subjects of the bundled demo
catalog (Azerbaijani Latin and Cyrillic, Kazakh, Turkish, Russian, English), so the term
distribution and scripts look like the real catalog's.

`--source catalog` (the default up to 100,000 records) imports the catalog through the real
importer into SQLite and times `Catalog.rebuild_index()`, which reads the records back from
SQLite. `--source records` builds the same records as dicts in memory first (what
`Catalog.documents()` yields, see benchmarks/synthetic.py) and times `SearchIndex.rebuild`
on them: a catalog of 1,000,000 records would take half an hour to import.

Then: a new worker process's start (time to ready, private memory), the latency of a mixed
set of distinct queries timed cold (result cache emptied before each), the worst crafted
queries, and the same text queries in tantivy (a compiled engine) side by side.
`--results FILE` writes each query's result list; `--compare FILE` checks them against a
file written earlier (before a change). `--json FILE` appends the figures for
benchmarks/cost_curves.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import tantivy_reference  # noqa: E402
from benchmarks.queries import query_set, worst_queries  # noqa: E402
from benchmarks.synthetic import as_record, synthetic_csv, synthetic_rows  # noqa: E402
from index import SearchIndex, SearchRequest  # noqa: E402
from index.collation import sort_key  # noqa: E402
from portal.catalog.catalog import Catalog, search_vocabularies  # noqa: E402

HERE = Path(__file__).resolve().parent
TEXT_KINDS = ("exact", "folded", "author", "typo", "cross_script", "two_words", "three_common")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=55_482)
    parser.add_argument("--queries", type=int, default=360)
    parser.add_argument("--source", choices=("catalog", "records"), default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time searches on the index already built in --data-dir (same --records)",
    )
    parser.add_argument("--results", type=Path, help="write each query's result list here")
    parser.add_argument("--compare", type=Path, help="compare result lists with this file")
    parser.add_argument("--json", type=Path, help="append this run's figures to this file")
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument(
        "--swap",
        action="store_true",
        help="rebuild again while searching and time the first search after the swap",
    )
    args = parser.parse_args()
    source = args.source or ("catalog" if args.records <= 100_000 else "records")
    figures: dict = {"records": args.records, "source": source, "load_start": load_average()}
    print(f"load average at start: {figures['load_start']}")

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        rows = [
            {k: r[k] for k in ("record_id", "title", "language", "authors")}
            for r in synthetic_rows(args.records)
        ]
        index = build(args, source, data_dir, figures)
        queries = query_set(rows, args.queries)
        worst = worst_queries(rows)
        probe_worker(index.path, queries, figures)
        results, per_query = time_searches(index, queries, figures)
        time_worst(index, worst, figures)
        if not args.no_tantivy and tantivy_reference.available():
            compare_with_tantivy(args.records, index, queries, per_query, figures)
        if args.swap:
            time_swap(args.records, source, data_dir, index, queries, figures)
        if args.results:
            args.results.write_text(json.dumps(results, ensure_ascii=False, indent=0))
            print(f"result lists written to {args.results}")
        if args.compare:
            compare_results(json.loads(args.compare.read_text()), results, args.records)
        index.close()
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["load_end"] = load_average()
    print(f"peak memory of this benchmark process (RSS): {figures['peak_rss_mib']:.0f} MiB")
    print(f"load average at end: {figures['load_end']}")
    if args.json:
        with args.json.open("a") as out:
            out.write(json.dumps(figures) + "\n")


def build(args, source: str, data_dir: Path, figures: dict) -> SearchIndex:
    """The index to time, built (or reused) the way `source` says; its build figures."""
    if source == "catalog":
        catalog = Catalog.open(data_dir)
        if not args.reuse:
            data, _ = synthetic_csv(args.records)
            build_through_catalog(catalog, data, data_dir, figures)
        path = catalog.index.path
        catalog.close()
    else:
        path = data_dir / "index"
        if not args.reuse:
            build_from_records(args.records, path, figures)
    figures["index_mib"] = folder_size(path.resolve()) / 2**20
    print(f"index size: {figures['index_mib']:.1f} MiB")
    return SearchIndex(path, vocabularies=search_vocabularies())


def build_through_catalog(catalog: Catalog, data: bytes, data_dir: Path, figures: dict) -> None:
    started = time.perf_counter()
    catalog.index.create()
    lines = data.split(b"\n")
    header, body = lines[0], [line for line in lines[1:] if line]
    files = [
        (f"synthetic-{n}.csv", b"\n".join([header, *body[n : n + 100_000]]) + b"\n")
        for n in range(0, len(body), 100_000)
    ]  # Catalog CSV files hold at most 200,000 rows
    report = catalog.import_files(files, actor="bench")
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    count = catalog.rebuild_index()
    seconds = time.perf_counter() - started
    figures.update(build_s=seconds, records_per_s=count / seconds)
    print(f"records: {count}")
    print(
        f"import (CSV -> SQLite + incremental index): {import_seconds:.1f} s "
        f"({report.rows / import_seconds:.0f} rows/s)"
    )
    print(
        f"full rebuild (Catalog.rebuild_index, records read from SQLite): {seconds:.1f} s "
        f"({count / seconds:.0f} records/s)"
    )
    print(f"database: {(data_dir / 'catalog.sqlite3').stat().st_size / 2**20:.1f} MiB")


def build_from_records(count: int, path: Path, figures: dict) -> None:
    started = time.perf_counter()
    records = [as_record(row) for row in synthetic_rows(count)]
    print(f"records built in memory: {len(records)} in {time.perf_counter() - started:.1f} s")
    index = SearchIndex(path, vocabularies=search_vocabularies())
    started = time.perf_counter()
    written = index.rebuild(records)
    seconds = time.perf_counter() - started
    index.close()
    figures.update(build_s=seconds, records_per_s=written / seconds)
    print(
        f"full rebuild (SearchIndex.rebuild from record dicts): {seconds:.1f} s "
        f"({written / seconds:.0f} records/s)"
    )


def as_json(request: SearchRequest) -> dict:
    fields = dataclasses.asdict(request)
    fields["filters"] = {k: list(v) for k, v in request.filters.items()}
    return fields


def probe_worker(path: Path, queries, figures: dict) -> None:
    """A new worker process: time to ready and private memory (see worker_probe.py)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([as_json(r) for _, r in queries], f)
    try:
        out = subprocess.run(
            [sys.executable, str(HERE / "worker_probe.py"), str(path), f.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(f.name)
    found = json.loads(out.splitlines()[-1])
    figures["worker"] = found
    warm, after = found["after_warm"], found["after_queries"]
    print(
        f"new worker: imports {found['import_s']:.2f} s, ready (warm) {found['ready_s']:.2f} s, "
        f"first search {found['first_search_s'] * 1000:.1f} ms"
    )
    print(
        f"  memory once ready: RSS {warm['VmRSS']:.0f} MiB = private {warm['RssAnon']:.0f} MiB"
        f" + shared file pages {warm['RssFile']:.0f} MiB; after {len(queries)} queries: "
        f"private {after['RssAnon']:.0f} MiB, file {after['RssFile']:.0f} MiB"
    )


def time_searches(index: SearchIndex, queries, figures: dict) -> tuple[dict, list[float]]:
    index.warm()
    for _kind, request in queries[:20]:  # as a running server has them
        index.search(request)
    timings: dict[str, list[float]] = {}
    per_query: list[float] = []
    kept = []
    results = {}
    for kind, request in queries:
        index.clear_result_cache()  # time the search, not the result cache
        started = time.perf_counter()
        result = index.search(request)
        per_query.append((time.perf_counter() - started) * 1000)
        kept.append(result)
        timings.setdefault(kind, []).append(per_query[-1])
        results[f"{kind}|{request!r}"] = {
            "ids": [h.id for h in result.hits],
            "total": result.total,
            "relaxed": result.relaxed,
            "suggestion": result.suggestion,
            "facets": {k: [[f.value, f.count] for f in v] for k, v in result.facets.items()},
        }
    every = [t for values in timings.values() for t in values]
    figures["partial"] = sum(bool(getattr(r, "partial", False)) for r in kept)
    figures.update(p50=percentile(every, 50), p95=percentile(every, 95), p99=percentile(every, 99))
    figures["kinds"] = {k: [percentile(v, 50), percentile(v, 95)] for k, v in timings.items()}
    print(
        f"search latency over {len(every)} distinct queries, cold (load {load_average()}): "
        f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, p99 {figures['p99']:.1f} ms"
    )
    print(f"  results cut by the work budget (partial): {figures['partial']}")
    for kind, values in timings.items():
        print(
            f"  {kind:<13} n={len(values):<3} p50 {percentile(values, 50):6.1f} ms  "
            f"p95 {percentile(values, 95):6.1f} ms  max {max(values):6.1f} ms"
        )
    return results, per_query


def time_worst(index: SearchIndex, worst, figures: dict, repeats: int = 3) -> None:
    print("worst crafted queries (median of 3, cold):")
    figures["worst"] = {}
    for label, request in worst:
        times = []
        for _ in range(repeats):
            index.clear_result_cache()
            started = time.perf_counter()
            result = index.search(request)
            times.append((time.perf_counter() - started) * 1000)
        median = statistics.median(times)
        partial = getattr(result, "partial", False)
        figures["worst"][label] = median
        print(
            f"  {label:<48} {median:8.1f} ms  total {result.total:<7} "
            f"relaxed {result.relaxed!s:<5} partial {partial}"
        )
    figures["worst_max"] = max(figures["worst"].values())


def compare_with_tantivy(
    count: int, index: SearchIndex, queries, per_query: list[float], figures: dict
) -> None:
    """The text queries in tantivy, against ours timed in the same run (ours from the timed
    pass above: each query's first run, as it was timed there)."""
    records = [as_record(row) for row in synthetic_rows(count)]
    engine, seconds = tantivy_reference.build(records)
    del records
    searcher = engine.searcher()
    chosen = [i for i, (kind, _) in enumerate(queries) if kind in TEXT_KINDS]
    theirs = []
    for i in chosen:
        started = time.perf_counter()
        tantivy_reference.search(engine, searcher, queries[i][1].text)
        theirs.append((time.perf_counter() - started) * 1000)
    ours = [per_query[i] for i in chosen]
    t50, t95 = percentile(theirs, 50), percentile(theirs, 95)
    o50, o95 = percentile(ours, 50), percentile(ours, 95)
    figures["tantivy"] = {
        "build_s": seconds,
        "p50": t50,
        "p95": t95,
        "ours_p50": o50,
        "ours_p95": o95,
    }
    print(f"tantivy reference ({len(chosen)} text queries, words OR-ed, top 20 with ids):")
    print(f"  build (in memory, 2 threads): {seconds:.1f} s ({count / seconds:.0f} records/s)")
    print(f"  tantivy p50 {t50:.2f} ms, p95 {t95:.2f} ms")
    print(
        f"  ours, the same queries (facets, highlights, editions): p50 {o50:.1f} ms "
        f"({o50 / t50:.0f}x), p95 {o95:.1f} ms ({o95 / t95:.0f}x)"
    )
    if figures.get("build_s"):
        print(f"  build time ratio: {figures['build_s'] / seconds:.1f}x")


def time_swap(count: int, source: str, data_dir: Path, index: SearchIndex, queries, figures):
    """A full reindex swapped in under a serving index: its first search on the new
    generation, against the same query before the swap."""
    request = queries[len(queries) // 2][1]
    index.clear_result_cache()
    started = time.perf_counter()
    index.search(request)
    before = (time.perf_counter() - started) * 1000
    if source == "catalog":
        catalog = Catalog.open(data_dir)
        catalog.rebuild_index()
        catalog.close()
    else:
        records = [as_record(row) for row in synthetic_rows(count)]
        SearchIndex(index.path).rebuild(records)
        del records
    time.sleep(0.3)  # a serving worker notices the new generation within REFRESH_SECONDS
    index.clear_result_cache()
    started = time.perf_counter()
    index.search(request)
    after = (time.perf_counter() - started) * 1000
    figures["swap"] = {"before_ms": before, "first_after_ms": after}
    print(
        f"reindex swapped in while serving: the same query took {before:.1f} ms before, "
        f"{after:.1f} ms as the first search on the new generation"
    )


def _order_keys(request_repr: str, ids: list[str], records: dict[str, dict]) -> list:
    """The sort values of a sorted list's hits (ties among them may come in any order)."""
    if "sort='newest'" in request_repr:
        return [records[i]["added"] for i in ids]
    if "sort='year'" in request_repr:
        return [records[i]["year"] for i in ids]
    locale = request_repr.split("locale='")[1].split("'")[0]
    return [sort_key(records[i]["title"], locale) for i in ids]


def compare_results(before: dict, after: dict, count: int) -> None:
    """Relevance lists must be identical; a sorted list must have the same sort values in
    the same order (which of several tied records shows first follows the index's layout)."""
    records = {r["id"]: r for r in (as_record(row) for row in synthetic_rows(count))}
    identical = ties = 0
    different = []
    for key, old in before.items():
        new = after.get(key)
        if new == old:
            identical += 1
            continue
        sorted_list = "sort='relevance'" not in key or "text=''" in key
        if (
            new is not None
            and sorted_list
            and {k: v for k, v in new.items() if k != "ids"}
            == {k: v for k, v in old.items() if k != "ids"}
            and _order_keys(key, new["ids"], records) == _order_keys(key, old["ids"], records)
        ):
            ties += 1
            continue
        different.append(key)
    print(
        f"result lists vs {len(before)} recorded before: {identical} identical, {ties} sorted "
        f"lists equal up to the order of tied records, {len(different)} different"
    )
    for key in different[:20]:
        print(f"  DIFFERENT: {key}")


if __name__ == "__main__":
    main()
