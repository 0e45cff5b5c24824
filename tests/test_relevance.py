"""The judged relevance benchmark (tests/relevance/) must stay above its bar."""

from __future__ import annotations

from relevance.evaluate import baseline_ranker, engine_ranker, evaluate, load_queries, report

OVERALL_SUCCESS_AT_5 = 0.95
CATEGORY_SUCCESS_AT_5 = 0.85


def test_there_are_enough_judged_queries():
    judged = load_queries()
    assert len(judged) >= 400
    categories = {item.category for item in judged}
    assert {
        "exact",
        "case",
        "marks",
        "cross_latin_to_cyrillic",
        "cross_cyrillic_to_latin",
        "word_forms",
        "authors",
        "translations",
        "typos",
        "isbn",
        "subjects",
        # what readers really type (queries_c.jsonl)
        "layout",
        "other_language_titles",
        "name_forms",
        "topics",
        "junk",
    } <= categories
    counts = {c: sum(item.category == c for item in judged) for c in categories}
    assert min(counts[c] for c in ("layout", "other_language_titles", "name_forms", "topics")) >= 26
    assert counts["junk"] >= 20


def test_junk_queries_find_nothing(demo_catalog):
    rank = engine_ranker(demo_catalog)
    for item in load_queries():
        if item.category == "junk":
            assert rank(item.query) == [], item.query


def test_judged_ids_exist(demo_catalog):
    ids = {doc["id"] for doc in demo_catalog.documents()}
    for item in load_queries():
        assert item.relevant <= ids, item.query


def test_relevance_bar_and_gain_over_plain_whoosh(demo_catalog, tmp_path):
    judged = load_queries()
    ours = evaluate(engine_ranker(demo_catalog), judged)
    plain = evaluate(baseline_ranker(demo_catalog, tmp_path), judged)
    print(report(ours, plain))
    assert ours["overall"].row()[1] >= OVERALL_SUCCESS_AT_5
    for category, scores in ours.items():
        assert scores.row()[1] >= CATEGORY_SUCCESS_AT_5, category
    assert ours["overall"].row()[1] > plain["overall"].row()[1] + 0.3
