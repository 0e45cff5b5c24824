"""Indexing and search speed on a synthetic catalog of realistic multilingual records.

    python benchmarks/search_speed.py --records 55482
    python benchmarks/search_speed.py --records 500000 --queries 300

Records are built from the words, names, publishers and subjects of the bundled demo
catalog (Azerbaijani Latin and Cyrillic, Kazakh, Turkish, Russian, English), so the term
distribution and scripts look like the real catalog's. The catalog goes through the real
importer into SQLite, then `rebuild_index` builds the Whoosh index from it, then a mixed
query set (exact titles, lowercase without marks, authors, typos, cross-script, browse with
a filter) is timed.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import icu

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.synthetic import LIBRARIES, synthetic_csv  # noqa: E402
from index import SearchIndex, SearchRequest  # noqa: E402
from index.analysis import words  # noqa: E402
from portal.catalog.catalog import Catalog  # noqa: E402

TO_LATIN = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word))
    return word[:i] + word[i + 1 :]


def query_set(
    rows: list[dict[str, str]], count: int, seed: int = 11
) -> list[tuple[str, SearchRequest]]:
    rng = random.Random(seed)
    queries = []
    kinds = ["exact", "folded", "author", "typo", "cross_script", "two_words", "browse"]
    for n in range(count):
        kind = kinds[n % len(kinds)]
        row = rng.choice(rows)
        title_words = words(row["title"])
        if kind == "exact":
            text = row["title"]
        elif kind == "folded":
            text = (
                TO_LATIN.transliterate(row["title"]).lower()
                if row["language"] != "ru"
                else row["title"].lower()
            )
        elif kind == "author":
            text = (row["authors"].split(";")[0].split() or ["Abai"])[-1]
        elif kind == "typo":
            text = " ".join(typo(w, rng) for w in title_words[:2])
        elif kind == "cross_script":
            text = TO_LATIN.transliterate(" ".join(title_words[:2]))
        elif kind == "two_words":
            text = " ".join(rng.sample(title_words, min(2, len(title_words))))
        else:
            queries.append(
                (kind, SearchRequest(text="", filters={"library": [rng.choice(LIBRARIES)]}))
            )
            continue
        queries.append((kind, SearchRequest(text=text)))
    return queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=55_482)
    parser.add_argument("--queries", type=int, default=350)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time searches on the catalog already built in --data-dir (same --records)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        data, rows = synthetic_csv(args.records)
        catalog = Catalog.open(data_dir)
        if not args.reuse:
            build(catalog, data, data_dir)
        time_searches(catalog, rows, args.queries)
        catalog.close()


def build(catalog: Catalog, data: bytes, data_dir: Path) -> None:
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
    rebuild_seconds = time.perf_counter() - started
    index_bytes = folder_size(catalog.index.path.resolve())
    print(f"records: {count}")
    print(
        f"import (CSV -> SQLite + incremental index): {import_seconds:.1f} s "
        f"({report.rows / import_seconds:.0f} rows/s)"
    )
    print(f"full rebuild: {rebuild_seconds:.1f} s ({count / rebuild_seconds:.0f} records/s)")
    print(
        f"index size: {index_bytes / 2**20:.1f} MiB; "
        f"database: {(data_dir / 'catalog.sqlite3').stat().st_size / 2**20:.1f} MiB"
    )


def time_searches(catalog: Catalog, rows: list[dict[str, str]], count: int) -> None:
    queries = query_set(rows, count)
    cold = SearchIndex(catalog.index.path)  # a process that has not searched yet
    started = time.perf_counter()
    cold.search(queries[0][1])
    print(f"first search of a new process (arrays read): {time.perf_counter() - started:.2f} s")
    cold.close()
    for _kind, request in queries[:20]:  # warm caches, as a running server has them
        catalog.index.search(request)
    timings: dict[str, list[float]] = {}
    for kind, request in queries:
        catalog.index.clear_result_cache()  # time the search, not the result cache
        started = time.perf_counter()
        catalog.index.search(request)
        timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    every = [t for values in timings.values() for t in values]
    print(
        f"search latency over {len(every)} queries: p50 {percentile(every, 50):.1f} ms, "
        f"p95 {percentile(every, 95):.1f} ms, p99 {percentile(every, 99):.1f} ms"
    )
    for kind, values in timings.items():
        print(
            f"  {kind:<13} p50 {percentile(values, 50):6.1f} ms  "
            f"p95 {percentile(values, 95):6.1f} ms"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
