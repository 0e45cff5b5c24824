"""Index generations: atomic rebuilds, freshness across processes, one writer at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from index import SearchIndex, SearchRequest
from index.store import REFRESH_SECONDS


def test_reindex_in_another_process_never_shows_an_empty_index(fresh_demo):
    expected = fresh_demo.record_count()
    reader = SearchIndex(fresh_demo.index.path)  # as a server worker would hold it
    first_target = os.readlink(fresh_demo.index.path)
    env = {**os.environ, "PORTAL_DATA_DIR": str(fresh_demo.index.path.parent)}
    totals = []
    with subprocess.Popen(
        [sys.executable, "-m", "portal", "reindex"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        while process.poll() is None:
            totals.append(reader.search(SearchRequest(text="Abay", facets=False)).total)
            totals.append(reader.search(SearchRequest(per_page=1, facets=False)).total)
        errors = process.stderr.read()
    assert process.returncode == 0, errors
    time.sleep(REFRESH_SECONDS * 2)
    totals.append(reader.search(SearchRequest(per_page=1, facets=False)).total)
    assert os.readlink(fresh_demo.index.path) != first_target  # a new generation is live
    assert len(totals) > 3
    assert all(t > 0 for t in totals)
    assert totals[-1] == expected
    reader.close()


def test_a_commit_is_seen_by_other_readers_within_a_second(fresh_demo):
    reader = SearchIndex(fresh_demo.index.path)

    def found() -> bool:
        result = reader.search(SearchRequest(text="Zzyzx Qwerty", facets=False))
        return "new-1" in [h.id for h in result.hits]

    assert not found()
    doc = next(fresh_demo.documents(["kk-0004"]))
    fresh_demo.index.update([{**doc, "id": "new-1", "title": "Zzyzx Qwerty"}])
    deadline = time.monotonic() + 1.0
    while not found():
        assert time.monotonic() < deadline, "not visible within a second"
        time.sleep(0.05)
    reader.close()


def test_writers_take_turns(fresh_demo):
    doc = next(fresh_demo.documents(["kk-0004"]))
    errors = []

    def write(n):
        try:
            with SearchIndex(fresh_demo.index.path) as index:
                index.update([{**doc, "id": f"w-{n}"}])
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with SearchIndex(fresh_demo.index.path) as index:
        ids = index.stored_ids()
    assert {f"w-{n}" for n in range(4)} <= ids


def test_old_generations_are_cleaned_up(fresh_demo):
    for _ in range(3):
        fresh_demo.rebuild_index()
    generations = [
        p
        for p in fresh_demo.index.path.parent.iterdir()
        if p.name.startswith("index.") and p.is_dir()
    ]
    assert len(generations) <= 2


def test_repeated_updates_keep_one_document_per_record(fresh_demo):
    """Whoosh's Searcher.refresh() kept stale deletion sets: replaced documents showed twice."""
    count = fresh_demo.record_count()
    for _ in range(3):
        fresh_demo.index.update(list(fresh_demo.documents(["kk-0006"])))
        assert fresh_demo.index.doc_count() == count
        found = fresh_demo.index.search(SearchRequest(text="Көксерек", facets=False))
        assert [h.id for h in found.hits].count("kk-0006") == 1


def test_an_index_of_an_older_format_is_rebuilt(fresh_demo):
    from index.store import FORMAT_FILE

    (fresh_demo.index.path / FORMAT_FILE).write_text("1\n")  # as left by an older portal
    assert not fresh_demo.index.healthy()
    from portal.catalog.check import check

    report = check(fresh_demo)
    assert report.index_rebuilt
    assert fresh_demo.index.healthy() and check(fresh_demo, repair=False).clean


def test_results_are_cached_until_the_index_changes(fresh_demo):
    request = SearchRequest(text="Abai")
    first = fresh_demo.index.search(request)
    assert fresh_demo.index.search(request) is first
    fresh_demo.index.update(list(fresh_demo.documents(["kk-0006"])))
    assert fresh_demo.index.search(request) is not first


def test_a_damaged_table_of_contents_leaves_no_file_open(tmp_path):
    import gc
    import warnings

    import pytest
    from whoosh import index as whoosh_index

    from index.schema import build_schema

    whoosh_index.create_in(str(tmp_path), build_schema())
    for toc in tmp_path.glob("*.toc"):
        toc.write_bytes(b"\0garbage" * 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(Exception):  # noqa: B017, PT011 - Whoosh raises many kinds
            whoosh_index.open_dir(str(tmp_path))
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_small_updates_merged_by_whoosh_keep_arrays_for_every_segment(merged_demo):
    """Small commits pile up segments until Whoosh merges them into one it writes itself;
    that segment gets its arrays file at the commit (tests/index/test_evaluate.py checks
    its searches against Whoosh's)."""
    from index.segment_arrays import arrays_path

    with merged_demo.index.searching() as searcher:
        segments = [sub.reader().segment() for sub, _ in searcher.leaf_searchers()]
    folder = merged_demo.index.path.resolve()
    assert any(s.is_compound() for s in segments)  # a segment Whoosh merged
    assert all(arrays_path(folder, s.segment_id()).exists() for s in segments)
    found = merged_demo.index.search(SearchRequest(text="", filters={"library": ["SHU"]}))
    assert found.total == sum("SHU" in r["libraries"] for r in merged_demo.expected_records)
