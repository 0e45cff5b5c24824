"""Where a search's time goes, by stage, measured with a sampling profiler (pyinstrument).

    python benchmarks/profile_search.py INDEX_PATH --records 55482

Runs the benchmark's mixed query set (the same requests as search_speed.py) against an
index built by `search_speed.py --data-dir D` (INDEX_PATH = D/index) under pyinstrument,
and sums the sampled time of each stage of `index.searcher.search`: what separates our
search from a bare inverted-index lookup in a compiled engine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.queries import query_set  # noqa: E402
from benchmarks.synthetic import synthetic_rows  # noqa: E402
from index import SearchIndex  # noqa: E402
from portal.catalog.catalog import search_vocabularies  # noqa: E402

# Stage -> the functions whose (inclusive) time it is; the first match on a call path wins.
STAGES = {
    "parse: search keys, stems, subject and language names": ("ParsedQuery.parse",),
    "typo words: rapidfuzz over the word groups": ("QueryWord.expand_typos",),
    "filters (unscored)": ("Evaluator.matches",),
    "words: term lookups, postings, BM25, sums": ("Evaluator.evaluate",),
    "ranking, ties by id, sort orders": ("top", "_by_score_then_id", "_sorted_docnums"),
    "other editions": ("_other_editions",),
    "facet counts": ("count",),
    "stored fields of the page": ("_Found.fields", "Evaluator.stored"),
    "highlights": ("highlight",),
    "did you mean": ("_suggestion",),
}


def stage_of(frame) -> str | None:
    name = frame.function
    qualified = f"{frame.class_name}.{name}" if getattr(frame, "class_name", None) else name
    for stage, names in STAGES.items():
        if qualified in names or name in names:
            return stage
    return None


def attribute(frame, totals: dict[str, float]) -> None:
    """Add each frame's time to the first stage found on its path from the top."""
    stage = stage_of(frame)
    if stage is not None:
        totals[stage] = totals.get(stage, 0.0) + frame.time
        return
    for child in frame.children:
        attribute(child, totals)


def main() -> None:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--queries", type=int, default=360)
    parser.add_argument("--kinds", default="", help="comma-separated query kinds only")
    args = parser.parse_args()
    rows = [{"title": r["title"], "language": r["language"], "authors": r["authors"]}
            for r in synthetic_rows(args.records)]  # fmt: skip
    queries = query_set(rows, args.queries)
    if args.kinds:
        queries = [(k, r) for k, r in queries if k in args.kinds.split(",")]
    index = SearchIndex(args.index, vocabularies=search_vocabularies())
    index.warm()
    for _, request in queries[:20]:
        index.search(request)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    started = time.perf_counter()
    for _, request in queries:
        index.clear_result_cache()
        index.search(request)
    elapsed = time.perf_counter() - started
    profiler.stop()
    root = profiler.last_session.root_frame()
    totals: dict[str, float] = {}
    attribute(root, totals)
    sampled = root.time
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{len(queries)} queries, {elapsed / len(queries) * 1000:.2f} ms each "
          f"(with the profiler; load {load})")  # fmt: skip
    for stage, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {seconds / len(queries) * 1000:6.2f} ms  {seconds / sampled:5.1%}  {stage}")
    rest = sampled - sum(totals.values())
    print(f"  {rest / len(queries) * 1000:6.2f} ms  {rest / sampled:5.1%}  everything else")


if __name__ == "__main__":
    main()
