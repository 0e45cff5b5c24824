"""The array evaluator gives Whoosh's matches, scores and orders for every query the portal
builds: the judged reader queries, filters, relaxed queries and sorts, on one segment and on
several with deletions."""

from __future__ import annotations

import pytest
from whoosh import query as wq
from whoosh import sorting

from index import SearchIndex, facets
from index.arrays import ArrayCache
from index.evaluate import Evaluator, member, top
from index.query import ParsedQuery
from index.searcher import (
    SearchRequest,
    _by_score_then_id,
    _Found,
    _sorted_docnums,
    filter_query,
)
from index.spelling import Lexicon
from tests.relevance.evaluate import load_queries

QUERIES = sorted({j.query for j in load_queries()})


@pytest.fixture
def changed_demo(fresh_demo):
    """Several segments, with records deleted from the first."""
    docs = list(fresh_demo.documents(["kk-0004", "ru-0001", "az-0001", "tr-0001"]))
    fresh_demo.index.update([{**doc, "title": doc["title"] + " 2"} for doc in docs])
    fresh_demo.index.update([], delete_ids=["kk-0010"])
    return fresh_demo


def whoosh_scores(searcher, q, flt=None) -> dict[int, float]:
    return {hit.docnum: hit.score for hit in searcher.search(q, filter=flt, limit=None)}


def ours(ev: Evaluator, q, flt=None) -> dict[int, float]:
    scored = ev.evaluate(q)
    docs = ev.live_docs(scored.docs)
    if flt is not None:
        docs = docs[member(docs, ev.matches(flt))]
    return {int(d): float(s) for d, s in zip(docs, scored.score_of(docs), strict=True)}


def assert_same(expected: dict[int, float], found: dict[int, float], label: str) -> None:
    assert found.keys() == expected.keys(), label
    for docnum, score in expected.items():
        assert found[docnum] == pytest.approx(score, rel=1e-9, abs=1e-12), (label, docnum)


def parsed_queries(searcher, ev):
    lexicon = Lexicon(ev)
    for text in QUERIES:
        parsed = ParsedQuery.parse(text)
        for word in parsed.words:
            word.expand_typos(lexicon)
        yield text, parsed


@pytest.mark.parametrize("catalog_fixture", ["demo_catalog", "changed_demo", "merged_demo"])
def test_judged_queries_match_and_score_as_in_whoosh(request, catalog_fixture):
    catalog = request.getfixturevalue(catalog_fixture)
    with catalog.index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        compared = 0
        for text, parsed in parsed_queries(searcher, ev):
            for require_all in (True, False):
                q = parsed.to_query(require_all=require_all)
                assert_same(whoosh_scores(searcher, q), ours(ev, q), f"{text!r} {require_all}")
                compared += 1
        assert compared == 2 * len(QUERIES) >= 400


@pytest.mark.parametrize("catalog_fixture", ["changed_demo", "merged_demo"])
def test_filters_match_as_in_whoosh(request, catalog_fixture):
    catalog = request.getfixturevalue(catalog_fixture)
    requests = [
        SearchRequest(filters={"library": ["SHU"]}),
        SearchRequest(filters={"language": ["kk", "ru"], "library": ["LAC", "SHU"]}),
        SearchRequest(filters={"year": ["1983"]}),
        SearchRequest(year_from=1990, year_to=2010),
        SearchRequest(year_from=1990),
        SearchRequest(year_to=1969),
        SearchRequest(year_from=0, year_to=9873),
        SearchRequest(year_from=2010, year_to=1990),
        SearchRequest(year_from=-(2**31), year_to=2**31 - 1),
        SearchRequest(filters={"subject": ["poetry"]}, year_from=2000),
    ]
    with catalog.index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        for req in requests:
            flt = filter_query(req)
            for q in (wq.Every(), ParsedQuery.parse("Abay").to_query()):
                expected = whoosh_scores(searcher, q, flt)
                assert_same(expected, ours(ev, q, flt), repr(req))
        assert any(whoosh_scores(searcher, wq.Every(), filter_query(r)) for r in requests)


def test_queries_it_does_not_evaluate_itself_fall_back_to_whoosh(demo_catalog):
    with demo_catalog.index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        for q in (
            wq.Wildcard("title_key", "ab*i"),
            wq.AndNot(wq.Term("title_key", "abai"), wq.Term("language", "kk")),
            wq.DisjunctionMax([wq.Term("title_key", "abai"), wq.Term("authors_key", "abai")]),
            wq.Not(wq.Term("language", "kk")),
        ):
            expected = whoosh_scores(searcher, q)
            assert expected
            assert_same(expected, ours(ev, q), repr(q))


def test_top_orders_by_score_then_document_number_like_whoosh(changed_demo):
    with changed_demo.index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        for text in ("Abay", "kitab", "Qazaq adebieti", "şeirler", "Чехов", "roman"):
            q = ParsedQuery.parse(text).to_query()
            scored = ev.evaluate(q)
            matched = ev.live_docs(scored.docs)
            for limit in (1, 5, 30, None):
                hits = searcher.search(q, limit=limit)
                expected = [(round(h.score, 9), h.docnum) for h in hits]
                chosen = top(scored, matched, limit)
                found = [
                    (round(s, 9), int(d))
                    for d, s in zip(chosen, scored.score_of(chosen), strict=True)
                ]
                assert sorted(found, key=lambda s: (-s[0], s[1])) == sorted(
                    expected, key=lambda s: (-s[0], s[1])
                ), (text, limit)


@pytest.mark.parametrize(
    "column, facet",
    [
        ("sort_title_az", sorting.FieldFacet("sort_title_az")),
        ("year", sorting.FieldFacet("year", reverse=True)),
        ("added", sorting.FieldFacet("added", reverse=True)),
    ],
)
@pytest.mark.parametrize("catalog_fixture", ["changed_demo", "merged_demo"])
def test_sorted_orders_match_whoosh(request, catalog_fixture, column, facet):
    with request.getfixturevalue(catalog_fixture).index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        for q in (wq.Every(), ParsedQuery.parse("kitab").to_query()):
            matched = ev.matches(q)
            expected = [h.docnum for h in searcher.search(q, sortedby=facet, limit=None)]
            descending = column != "sort_title_az"
            found = _sorted_docnums(ev, matched, column, descending, None).tolist()
            assert found == expected
            for limit in (1, 7, 40):
                assert (
                    _sorted_docnums(ev, matched, column, descending, limit).tolist()
                    == (expected[:limit])
                )


@pytest.mark.parametrize("catalog_fixture", ["changed_demo", "merged_demo"])
def test_facet_counts_equal_whooshs_count_of_each_value(request, catalog_fixture):
    catalog = request.getfixturevalue(catalog_fixture)
    with catalog.index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        # A few matches (counted directly) and nearly all (counted as the rest's complement).
        for q in (ParsedQuery.parse("kitab").to_query(), wq.Every()):
            matched = ev.matches(q)
            counts = facets.count(ev, matched)
            assert sum(counts["language"].values()) == len(matched) > 0
            for name, fieldname in facets.FACET_FIELDS.items():
                assert counts[name], name
                fieldobj = searcher.schema[fieldname]
                for btext in fieldobj.sortable_terms(searcher.reader(), fieldname):
                    value = fieldobj.from_bytes(btext)
                    expected = sum(
                        1 for _ in searcher.docs_for_query(wq.And([q, wq.Term(fieldname, value)]))
                    )
                    assert counts[name].get(str(value), 0) == expected, (name, value)


@pytest.mark.parametrize("prefix", ["a", "ab", "kaz", "ş", "q"])
def test_prefix_matches_the_records_whooshs_prefix_query_matches(changed_demo, prefix):
    with changed_demo.index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        for fieldname in ("title_key", "authors_key"):
            q = wq.Prefix(fieldname, prefix, boost=2.0)
            expected = set(searcher.docs_for_query(q))
            scored = ev.evaluate(q)
            found = set(ev.live_docs(scored.docs).tolist())
            assert found == expected
            assert set(scored.values.tolist()) <= {2.0}


def test_a_prefix_with_very_many_completions_keeps_the_most_frequent(empty_catalog, monkeypatch):
    monkeypatch.setattr("index.evaluate.MAX_PREFIX_TERMS", 2)
    titles = ["Kitab"] * 5 + ["Kimya"] * 3 + ["Kino"] * 2 + ["Kilim"]
    empty_catalog.index.update([{"id": f"r{n}", "title": t} for n, t in enumerate(titles)])
    with SearchIndex(empty_catalog.index.path) as index, index.searching() as searcher:
        ev = Evaluator(searcher, ArrayCache())
        scored = ev.evaluate(wq.Prefix("title_key", "ki"))
        found = {searcher.stored_fields(int(d))["title"] for d in scored.docs}
        assert found == {"Kitab", "Kimya"}


def test_autocomplete_puts_more_matching_words_then_shorter_titles_first(empty_catalog):
    titles = ["Abai zholy: roman-epopeia, ekinshi kitap", "Abai", "Qazaq Abai zholy", "Roman"]
    empty_catalog.index.update([{"id": f"r{n}", "title": t} for n, t in enumerate(titles)])
    index = SearchIndex(empty_catalog.index.path)
    assert [s.title for s in index.suggest("ab")] == [titles[1], titles[2], titles[0]]
    assert [s.title for s in index.suggest("abai zh")] == [titles[2], titles[0]]
    index.close()


def test_an_empty_index_answers_every_kind_of_request(empty_catalog):
    index = empty_catalog.index
    index.warm()
    for sort in ("relevance", "title", "year", "newest"):
        for request in (
            SearchRequest(text="Abai", sort=sort),
            SearchRequest(sort=sort, filters={"library": ["SHU"]}),
            SearchRequest(text="Madanno", sort=sort, year_from=1990),
        ):
            result = index.search(request)
            assert (result.total, result.hits, result.suggestion) == (0, [], None)
            assert all(values == [] for values in result.facets.values())
    assert index.suggest("ab") == []


def test_ties_are_ordered_by_id_wherever_a_page_reaches_them():
    import random

    rng = random.Random(5)
    found = [
        _Found(
            None, n, float(rng.choice([1.0, 2.0, 2.0000000001, 3.5])), {"id": f"r{rng.random()}"}
        )
        for n in range(500)
    ]
    expected = sorted(found, key=lambda h: (-round(h.score, 6), h.fields["id"]))
    for start, stop in [(0, 20), (40, 60), (120, 140), (480, 500)]:
        ordered = _by_score_then_id(list(found), start, stop)
        assert [h.docnum for h in ordered[start:stop]] == [h.docnum for h in expected[start:stop]]
        assert sorted(h.docnum for h in ordered) == list(range(500))
