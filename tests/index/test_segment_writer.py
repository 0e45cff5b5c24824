"""A segment written from arrays (index/segment_writer.py) reads, through Whoosh's own
unchanged readers, exactly like the segment Whoosh's writer makes from the same documents:
every term and its statistics, every posting (id, weight, value) and block, every length,
stored field and column, and every search's scores."""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq

from index.bulk import commit_segments
from index.query import ParsedQuery
from index.schema import build_schema, to_document
from index.segment_arrays import SegmentArrays, arrays_path
from index.segment_builder import SegmentBuilder, merge_batches
from index.segment_writer import write_bulk_segment
from tests.relevance.evaluate import load_queries

EDGE_CASES = [
    {"id": "e-1", "title": "", "language": ""},  # no words, no year, no holdings
    {"id": "e-2", "title": "Kitab kitab KİTAB kitabı", "language": "az", "year": 1990},
    {
        "id": "e-3",
        "title": "Гүлүстан Ҝәнҹә гара ",
        "language": "az",
        "script": "Cyrl",
        "authors": ["Низами Ҝәнҹәви"],
        "libraries": ["SHU", "LAC"],
        "subjects": ["Poetry", "Novels"],
        "isbn13": "9789952440003",
        "isbn10": "9952440002",
        "donors": ["ilesam"],
        "added": 19000,
    },
    # Many words, many repeats: frequencies above 1 and long lengths.
    {"id": "e-4", "title": " ".join(["roman"] * 40 + ["şeir"] * 3), "language": "tr"},
]


def documents(catalog) -> list[dict]:
    records = list(catalog.documents()) + EDGE_CASES
    # Enough documents sharing words that posting lists span several 128-posting blocks.
    records += [
        {"id": f"m-{n:04d}", "title": f"Qarabağ kitab {n % 7}", "language": "az", "year": 2000}
        for n in range(300)
    ]
    return [to_document(r) for r in records]


@pytest.fixture(scope="module")
def two_indexes(demo_catalog, tmp_path_factory):
    """The same documents written by Whoosh's writer and by the bulk writer."""
    docs = documents(demo_catalog)
    whoosh_dir = tmp_path_factory.mktemp("whoosh-written")
    ours_dir = tmp_path_factory.mktemp("bulk-written")
    ix = whoosh_index.create_in(str(whoosh_dir), build_schema())
    writer = ix.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    ours = whoosh_index.create_in(str(ours_dir), build_schema())
    builder = SegmentBuilder(ours.schema)
    for doc in docs:
        builder.add(doc)
    segment = write_bulk_segment(
        ours_dir, ours.schema, merge_batches(ours.schema, [builder.batch()])
    )
    commit_segments(ours, [segment])
    a, b = ix.reader(), whoosh_index.open_dir(str(ours_dir)).reader()
    yield a, b, len(docs), ours_dir, segment
    a.close()
    b.close()


def test_terms_and_their_statistics_are_whooshs(two_indexes):
    theirs, ours, _, _, _ = two_indexes
    assert sorted(ours.indexed_field_names()) == sorted(theirs.indexed_field_names())
    compared = 0
    for fieldname in theirs.indexed_field_names():
        assert list(ours.lexicon(fieldname)) == list(theirs.lexicon(fieldname)), fieldname
        for btext in theirs.lexicon(fieldname):
            a, b = theirs.term_info(fieldname, btext), ours.term_info(fieldname, btext)
            assert (
                b.doc_frequency(),
                b.weight(),
                b.min_length(),
                b.max_length(),
                b.max_weight(),
                b.min_id(),
                b.max_id(),
            ) == (
                a.doc_frequency(),
                a.weight(),
                a.min_length(),
                a.max_length(),
                a.max_weight(),
                a.min_id(),
                a.max_id(),
            ), (fieldname, btext)
            compared += 1
    assert compared > 3000


def _postings(reader, fieldname, btext):
    """Every posting and, at each block, the block's statistics, as Whoosh's matcher
    reports them."""
    m = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    out, block = [], None
    while m.is_active():
        current = (
            m.block_max_id(),
            m.block_max_weight(),
            m.block_min_length(),
            m.block_max_length(),
        )
        if current != block:
            out.append(("block", *current))
            block = current
        out.append((m.id(), m.weight(), m.value()))
        m.next()
    return out


def test_every_posting_and_block_is_whooshs(two_indexes):
    theirs, ours, _, _, _ = two_indexes
    long_lists = 0
    for fieldname in theirs.indexed_field_names():
        for btext in theirs.lexicon(fieldname):
            expected = _postings(theirs, fieldname, btext)
            assert _postings(ours, fieldname, btext) == expected, (fieldname, btext)
            long_lists += sum(1 for p in expected if p[0] == "block") > 1
    assert long_lists >= 3  # several terms span more than one block


def test_lengths_stored_fields_and_columns_are_whooshs(two_indexes):
    theirs, ours, count, _, _ = two_indexes
    assert ours.doc_count_all() == theirs.doc_count_all() == count
    schema = theirs.schema
    for fieldname, field in schema.items():
        if field.scorable:
            assert ours.field_length(fieldname) == theirs.field_length(fieldname), fieldname
            for docnum in range(count):
                for default in (0, 1):
                    assert ours.doc_field_length(docnum, fieldname, default) == (
                        theirs.doc_field_length(docnum, fieldname, default)
                    ), (fieldname, docnum)
        if field.column_type:
            a = theirs.column_reader(fieldname, translate=False)
            b = ours.column_reader(fieldname, translate=False)
            assert [b[d] for d in range(count)] == [a[d] for d in range(count)], fieldname
    assert list(ours.all_stored_fields()) == list(theirs.all_stored_fields())


def test_searches_score_alike_through_whooshs_searcher(two_indexes):
    theirs, ours, _, _, _ = two_indexes
    from whoosh.searching import Searcher

    a, b = Searcher(theirs), Searcher(ours)
    texts = sorted({j.query for j in load_queries()})[:120] + ["kitab", "roman şeir"]
    for text in texts:
        q = ParsedQuery.parse(text).to_query()
        expected = [(h.docnum, round(h.score, 9)) for h in a.search(q, limit=None)]
        assert [(h.docnum, round(h.score, 9)) for h in b.search(q, limit=None)] == expected, text
    for q in (wq.NumericRange("year", 1980, 2001), wq.Term("libraries", "SHU")):
        assert [h.docnum for h in b.search(q, limit=None)] == [
            h.docnum for h in a.search(q, limit=None)
        ]


def test_the_arrays_file_equals_one_built_from_whooshs_files(two_indexes, tmp_path):
    """The arrays written with the segment are what reading its Whoosh files back gives
    (the path taken for segments Whoosh itself wrote)."""
    import numpy as np

    from index.arrays import ensure_arrays

    _, ours, count, folder, segment = two_indexes
    written = SegmentArrays.open(
        arrays_path(folder, segment.segment_id()), segment.segment_id(), count
    )
    rebuilt_path = ensure_arrays(tmp_path, ours.leaf_readers()[0][0])
    rebuilt = SegmentArrays.open(rebuilt_path, segment.segment_id(), count)
    layout = {name: (dtype, n) for name, (_, dtype, n) in written.header["arrays"].items()}
    assert {name: (dtype, n) for name, (_, dtype, n) in rebuilt.header["arrays"].items()} == layout
    assert {k: v for k, v in written.header.items() if k != "arrays"} == {
        k: v for k, v in rebuilt.header.items() if k != "arrays"
    }
    for name, values in written.arrays.items():
        assert np.array_equal(rebuilt.arrays[name], values), name
