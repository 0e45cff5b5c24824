"""Posting lists, lengths and columns read as arrays equal what Whoosh's own readers give."""

from __future__ import annotations

import pytest

from index import SearchIndex
from index.arrays import (
    ArrayCache,
    read_bytes_column,
    read_lengths,
    read_numeric_column,
    read_postings,
)

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
    with SearchIndex(empty_catalog.index.path).searching() as searcher:
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


def test_cache_keeps_postings_within_its_byte_budget(demo_catalog):
    cache = ArrayCache(max_posting_bytes=4096)
    with demo_catalog.index.searching() as searcher:
        reader = searcher.leaf_searchers()[0][0].reader()
        terms = list(reader.lexicon("title_key"))[:200]
        for btext in terms:
            ids, _ = cache.postings(reader, "title_key", btext)
            assert ids.tolist() == whoosh_postings(reader, "title_key", btext)[0]
        assert 0 < cache._posting_bytes <= 4096
        assert len(cache._postings) < len(terms)


def test_cache_forgets_segments_no_longer_live(changed_demo):
    cache = ArrayCache()
    with changed_demo.index.searching() as searcher:
        readers = [sub.reader() for sub, _ in searcher.leaf_searchers()]
        assert len(readers) > 1
        for reader in readers:
            cache.postings(reader, "language", b"kk")
            cache.lengths(reader, "title_key")
        kept = readers[-1].segment().segment_id()
        cache.keep_only([kept])
        assert {key[0] for key in cache._postings} == {kept}
        assert {key[0] for key in cache._derived} == {kept}
