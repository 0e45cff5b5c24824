"""One query's work is bounded: year ranges are read from a value per document (no term
per year), and term lookups, postings and typo candidates are counted against a budget;
a search that reaches it stops and says its result is partial."""

from __future__ import annotations

import pytest

from benchmarks.queries import worst_queries
from benchmarks.synthetic import demo_rows
from index import SearchRequest, searcher
from index.evaluate import Budget, Evaluator
from tests.relevance.evaluate import load_queries

TWELVE_WORDS = "Abai zholy roman Qazaq adebieti kitab şeirlər Chekhov Prens Vurğun poema tarix"


def test_no_reader_query_comes_near_the_budget(demo_catalog):
    spent = []
    original = searcher.Evaluator

    def recording(*args, **kwargs):
        ev = original(*args, **kwargs)
        spent.append(ev.budget)
        return ev

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(searcher, "Evaluator", recording)
        for text in sorted({j.query for j in load_queries()}):
            demo_catalog.index.clear_result_cache()
            assert not demo_catalog.index.search(SearchRequest(text=text)).partial, text
    limit = Budget()
    assert max(b.spent_terms for b in spent) < limit.terms / 4
    assert max(b.spent_postings for b in spent) < limit.postings / 4


def test_the_worst_crafted_queries_stay_within_the_budget_and_say_so(demo_catalog, monkeypatch):
    small = {"terms": 60, "postings": 2_000, "words": 500}
    monkeypatch.setattr(searcher, "Budget", lambda: Budget(**small))
    partial = 0
    for _label, request in worst_queries(demo_rows()):
        demo_catalog.index.clear_result_cache()
        captured = []
        original = searcher.Evaluator

        def recording(*args, _original=original, _captured=captured, **kwargs):
            ev = _original(*args, **kwargs)
            _captured.append(ev)
            return ev

        monkeypatch.setattr(searcher, "Evaluator", recording)
        result = demo_catalog.index.search(request)
        monkeypatch.setattr(searcher, "Evaluator", original)
        budget = captured[0].budget
        assert result.partial == budget.exhausted
        # Once spent, nothing more is read: at most one term's postings over the limit.
        assert budget.spent_terms <= small["terms"] + 1
        partial += result.partial
    assert partial >= 4


def test_a_cut_search_skips_the_relaxed_pass_and_the_suggestion(demo_catalog, monkeypatch):
    monkeypatch.setattr(searcher, "Budget", lambda: Budget(terms=30))
    demo_catalog.index.clear_result_cache()
    result = demo_catalog.index.search(SearchRequest(text=TWELVE_WORDS))
    assert result.partial and not result.relaxed and result.suggestion is None
    monkeypatch.undo()
    demo_catalog.index.clear_result_cache()
    full = demo_catalog.index.search(SearchRequest(text=TWELVE_WORDS))
    assert not full.partial and full.relaxed and full.total > 0


def test_typo_candidates_count_against_the_budget(demo_catalog, monkeypatch):
    monkeypatch.setattr(searcher, "Budget", lambda: Budget(words=50))
    demo_catalog.index.clear_result_cache()
    assert demo_catalog.index.search(SearchRequest(text="Dostoevksy Bulgakoff")).partial


def test_year_ranges_never_walk_terms(demo_catalog, monkeypatch):
    def refuse(self, q):
        raise AssertionError(f"{q!r} went to Whoosh's matcher")

    monkeypatch.setattr(Evaluator, "_by_whoosh", refuse)
    for year_from, year_to in [(0, 9873), (1950, 1960), (1990, None), (None, 1970), (2020, 1990)]:
        demo_catalog.index.clear_result_cache()
        request = SearchRequest(year_from=year_from, year_to=year_to, per_page=100)
        result = demo_catalog.index.search(request)
        years = {r["year"] for r in demo_catalog.records([h.id for h in result.hits]).values()}
        low, high = year_from or 0, year_to or 9999
        assert all(low <= y <= high for y in years)
        assert bool(years) == (low <= high)


def test_a_cut_search_keeps_the_words_it_could_read(demo_catalog, monkeypatch):
    request = SearchRequest(text="Abai zholy roman", sort="title", per_page=100)
    demo_catalog.index.clear_result_cache()
    full = demo_catalog.index.search(request)
    monkeypatch.setattr(searcher, "Budget", lambda: Budget(terms=12))
    demo_catalog.index.clear_result_cache()
    cut = demo_catalog.index.search(request)
    assert cut.partial and not full.partial
    assert cut.total > full.total > 0  # fewer words read: more records match them
    assert {h.id for h in full.hits} <= {h.id for h in cut.hits}
