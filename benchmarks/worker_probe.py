"""A new server worker, measured: how long until it is ready, and how much private memory it
holds once ready and after serving a query set. Run by search_speed.py in a subprocess, so
that nothing the benchmark itself holds is counted.

    python benchmarks/worker_probe.py INDEX_PATH QUERIES_JSON
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def memory_mib() -> dict[str, float]:
    """Resident memory by kind (Linux): RssAnon is the process's own (heap, arrays it
    built); RssFile is file pages it maps, shared with every process mapping the same file."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def main() -> None:
    index_path, queries_file = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    from index import SearchIndex, SearchRequest
    from portal.catalog.catalog import search_vocabularies

    vocabularies = search_vocabularies()
    imported = time.perf_counter() - started
    index = SearchIndex(index_path, vocabularies=vocabularies)
    started = time.perf_counter()
    index.warm()
    ready = time.perf_counter() - started
    requests = [SearchRequest(**r) for r in json.loads(Path(queries_file).read_text())]
    started = time.perf_counter()
    index.search(requests[0])
    first = time.perf_counter() - started
    after_warm = memory_mib()
    for request in requests:
        index.clear_result_cache()
        index.search(request)
    after_queries = memory_mib()
    index.close()
    print(
        json.dumps(
            {
                "import_s": imported,
                "ready_s": ready,
                "first_search_s": first,
                "after_warm": after_warm,
                "after_queries": after_queries,
            }
        )
    )


if __name__ == "__main__":
    main()
