"""Posting lists, lengths and columns read as arrays equal what Whoosh's own readers give."""

from __future__ import annotations

import pytest

from index import SearchIndex, SearchRequest
from index.arrays import (
    LENGTH_OF_BYTE,
    ArrayCache,
    read_bytes_column,
    read_lengths,
    read_numeric_column,
    read_postings,
)
from index.segment_arrays import MAGIC, MISSING_NUMBER

TEXT_FIELDS = ("title_exact", "title_key", "authors_key", "title_stem", "other_key")
KEYWORD_FIELDS = ("work", "libraries", "subjects", "language", "isbn", "title_sig", "year")


def leaf_readers(catalog):
    with catalog.index.searching() as searcher:
        return [(sub.reader(), offset) for sub, offset in searcher.leaf_searchers()], searcher


def whoosh_postings(reader, fieldname, btext):
    matcher = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


@pytest.fixture
def changed_demo(fresh_demo):
    """The demo index with a second segment and deletions in the first."""
    docs = list(fresh_demo.documents(["kk-0004", "ru-0001", "az-0001"]))
    fresh_demo.index.update([{**doc, "title": doc["title"] + " revised"} for doc in docs])
    return fresh_demo


@pytest.mark.parametrize("fieldname", TEXT_FIELDS + KEYWORD_FIELDS)
def test_every_posting_list_matches_whooshs_matcher(demo_catalog, fieldname):
    with demo_catalog.index.searching() as searcher:
        for sub, _ in searcher.leaf_searchers():
            reader = sub.reader()
            terms = list(reader.lexicon(fieldname))
            assert terms
            for btext in terms:
                ids, weights = read_postings(reader, fieldname, btext)
                expected_ids, expected_weights = whoosh_postings(reader, fieldname, btext)
                assert ids.tolist() == expected_ids
                assert weights.tolist() == pytest.approx(expected_weights)


def test_long_posting_lists_span_several_blocks(empty_catalog):
    """Postings are written in blocks of at most 128; every block is read."""
    records = [
        {"id": f"r{n:04d}", "title": f"Kitab {n} {'qalın' if n % 3 else 'nazik'}"}
        for n in range(700)
    ]
    empty_catalog.index.update(records)
    with SearchIndex(empty_catalog.index.path) as index, index.searching() as searcher:
        reader = searcher.leaf_searchers()[0][0].reader()
        for word in ("kitab", "kalin", "nazik"):
            btext = word.encode()
            ids, weights = read_postings(reader, "title_key", btext)
            assert reader.doc_frequency("title_key", btext) == len(ids) > 128
            assert (ids.tolist(), weights.tolist()) == whoosh_postings(reader, "title_key", btext)


def test_an_unknown_term_has_no_postings(demo_catalog):
    with demo_catalog.index.searching() as searcher:
        reader = searcher.leaf_searchers()[0][0].reader()
        ids, weights = read_postings(reader, "title_key", b"zzzzqqqq")
        assert len(ids) == 0 and len(weights) == 0


@pytest.mark.parametrize("fieldname", ["title_exact", "title_key", "authors_key", "other_key"])
def test_lengths_match_whooshs_field_lengths(changed_demo, fieldname):
    with changed_demo.index.searching() as searcher:
        for sub, _ in searcher.leaf_searchers():
            reader = sub.reader()
            lengths = read_lengths(reader, fieldname)
            assert len(lengths) == reader.doc_count_all()
            for docnum in range(reader.doc_count_all()):
                expected = reader.doc_field_length(docnum, fieldname, 1)
                if expected is not None:  # Whoosh gives None for an empty field
                    assert lengths[docnum] == expected


def test_columns_match_whooshs_column_readers(changed_demo):
    with changed_demo.index.searching() as searcher:
        for sub, _ in searcher.leaf_searchers():
            reader = sub.reader()
            for name in ("added", "year"):
                column = reader.column_reader(name, translate=False)
                expected = [column[d] for d in range(reader.doc_count_all())]
                assert read_numeric_column(reader, name).tolist() == expected
            sort_keys = read_bytes_column(reader, "sort_title_kk")
            assert len(sort_keys) == reader.doc_count_all()
            assert all(isinstance(k, bytes) and k for k in sort_keys)


def test_the_arrays_file_holds_whooshs_postings_lengths_and_columns(changed_demo):
    """Every segment's mapped arrays (written with it, or built from Whoosh's files for a
    segment Whoosh merged) give Whoosh's postings, lengths, columns and facet values."""
    cache = ArrayCache()
    with changed_demo.index.searching() as searcher:
        folder = changed_demo.index.path.resolve()
        for sub, _ in searcher.leaf_searchers():
            reader = sub.reader()
            arrays = cache.segment(reader, folder)
            for fieldname in TEXT_FIELDS + KEYWORD_FIELDS:
                mapped = arrays.field(fieldname)
                if mapped is None:  # a small segment may have no terms in a field
                    assert not list(reader.lexicon(fieldname))
                    continue
                for btext in reader.lexicon(fieldname):
                    i = mapped.find(btext)
                    assert mapped.term(i) == btext
                    ids, weights = mapped.postings(i)
                    expected_ids, expected_weights = whoosh_postings(reader, fieldname, btext)
                    assert ids.tolist() == expected_ids
                    assert weights.tolist() == pytest.approx(expected_weights)
                    assert mapped.doc_frequency(i) == reader.doc_frequency(fieldname, btext)
                assert mapped.find(b"no such term") == -1
            for fieldname in ("title_exact", "title_key", "authors_key", "other_key"):
                assert (
                    LENGTH_OF_BYTE[arrays.lengths(fieldname)] == read_lengths(reader, fieldname)
                ).all()
            for name in ("added", "year"):
                assert arrays.column(name).tolist() == read_numeric_column(reader, name).tolist()
            years = reader.column_reader("year")
            numbers = arrays.number("year")
            for docnum in range(reader.doc_count_all()):
                stored = reader.stored_fields(docnum).get("year")
                assert (
                    (numbers[docnum] == MISSING_NUMBER)
                    if stored is None
                    else (numbers[docnum] == stored == years[docnum])
                )


def test_a_damaged_arrays_file_is_written_again(fresh_demo):
    folder = fresh_demo.index.path.resolve()
    files = sorted(folder.glob("*.arrays"))
    assert files
    files[0].write_bytes(b"\0garbage" * 10)
    index = SearchIndex(fresh_demo.index.path)
    assert index.search(SearchRequest(text="Abai")).total > 0
    assert files[0].read_bytes()[:8] == MAGIC
    index.close()


def test_a_segment_without_an_arrays_file_gets_one(fresh_demo):
    folder = fresh_demo.index.path.resolve()
    for path in folder.glob("*.arrays"):
        path.unlink()
    index = SearchIndex(fresh_demo.index.path)
    assert index.search(SearchRequest(text="Abai")).total > 0
    assert sorted(folder.glob("*.arrays"))
    index.close()


def test_cache_forgets_segments_no_longer_live(changed_demo):
    cache = ArrayCache()
    with changed_demo.index.searching() as searcher:
        folder = changed_demo.index.path.resolve()
        readers = [sub.reader() for sub, _ in searcher.leaf_searchers()]
        assert len(readers) > 1
        for reader in readers:
            cache.segment(reader, folder)
            cache.derived(reader, "test", "name", lambda r: 1)
        kept = readers[-1].segment().segment_id()
        cache.keep_only([kept])
        assert set(cache._segments) == {kept}
        assert {key[0] for key in cache._derived} == {kept}
