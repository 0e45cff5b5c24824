"""Typo candidates and "did you mean" words: the same words Whoosh's edit distance finds,
without walking the term dictionary in Python."""

from __future__ import annotations

import pytest
from whoosh.support.levenshtein import damerau_levenshtein

from index import SearchRequest
from index.arrays import ArrayCache
from index.evaluate import Evaluator
from index.query import QueryWord
from index.spelling import Lexicon, edit_distance


@pytest.mark.parametrize(
    "a, b",
    [
        ("kitab", "kitap"),
        ("kitab", "ktiab"),
        ("abai", "abay"),
        ("madonna", "madona"),
        ("ca", "abc"),
        ("", "abc"),
        ("qazaq", "kazak"),
        ("тураы", "туралы"),
    ],
)
def test_edit_distance_is_whooshs_restricted_damerau_levenshtein(a, b):
    assert edit_distance(a, b) == damerau_levenshtein(a, b)


@pytest.mark.parametrize("word", ["madona", "abay", "kazakh", "sairler", "tchekhov", "kitablar"])
@pytest.mark.parametrize("same_initial", [False, True])
def test_within_finds_exactly_the_terms_a_brute_force_scan_finds(demo_catalog, word, same_initial):
    with demo_catalog.index.searching() as searcher:
        lexicon = Lexicon(Evaluator(searcher, ArrayCache()))
        for fieldname in ("title_key", "authors_exact"):
            found = lexicon.within(fieldname, word, 2, same_initial=same_initial)
            expected = {}
            for btext in searcher.reader().lexicon(fieldname):
                term = btext.decode()
                distance = damerau_levenshtein(term, word)
                if distance <= 2 and (not same_initial or term[:1] == word[:1]):
                    expected[term] = distance
            assert found == expected


def test_nearest_prefers_fewer_edits_then_more_records(demo_catalog):
    with demo_catalog.index.searching() as searcher:
        lexicon = Lexicon(Evaluator(searcher, ArrayCache()))
        assert lexicon.nearest("title_exact", "madona", 2) == "madonna"
        found = lexicon.within("title_exact", "kitab", 2)
        nearest = lexicon.nearest("title_exact", "kitab", 2)
        assert nearest != "kitab"
        closest = min(d for t, d in found.items() if t != "kitab")
        assert found[nearest] == closest
        ties = [t for t, d in found.items() if d == closest and t != "kitab"]
        frequency = searcher.doc_frequency
        assert frequency("title_exact", nearest) == max(frequency("title_exact", t) for t in ties)


def test_typo_expansion_counts_a_swap_of_neighbouring_letters_as_one_typo(demo_catalog):
    with demo_catalog.index.searching() as searcher:
        lexicon = Lexicon(Evaluator(searcher, ArrayCache()))
        word = QueryWord.parse("Matnolu")  # «Kürk Mantolu Madonna»
        assert word.typos == 1
        word.expand_typos(lexicon)
        assert "mantolu" in word.typo_terms["title_key"]
        known = QueryWord.parse("Mantolu")
        known.expand_typos(lexicon)
        assert known.typo_terms == {}  # a word the index has is taken as typed


def test_did_you_mean_keeps_the_words_the_index_has(demo_catalog):
    result = demo_catalog.index.search(SearchRequest(text="Kürk Mantolu Madanno"))
    assert result.suggestion is not None
    assert result.suggestion == "kürk mantolu madonna"
