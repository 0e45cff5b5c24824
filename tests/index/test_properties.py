"""Property-based tests of the analysis pipeline and the search API (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import SearchIndex, SearchRequest
from index.analysis import (
    analyze,
    exact_analyzer,
    fold,
    key_analyzer,
    search_keys,
    stem_analyzer,
    turkic_lower,
    words,
)
from index.query import ParsedQuery

# Letters readers actually type, plus anything Unicode can throw at us.
SCRIPTS = st.sampled_from(
    [
        "abcçdeəfgğhxıijkqlmnoöprsştuüvyzABCÇDEƏFGĞHXIİJKQLMNOÖPRSŞTUÜVYZ",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһіјҹҝАБВГДЕЁЖЗИЙҚҢӨҰҮҺІӘҒЈҸҜ",
        "0123456789 '’-.,:;!?\"()[]{}",
    ]
)
TYPED = st.lists(
    SCRIPTS.flatmap(lambda s: st.text(alphabet=s, min_size=1, max_size=12)), min_size=1, max_size=6
).map(" ".join)
ANY_TEXT = st.text(max_size=300)
ANALYZERS = [exact_analyzer(), key_analyzer(), key_analyzer("az")] + [
    stem_analyzer(lang) for lang in ("ru", "tr", "en", "turkic")
]


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
def test_any_text_analyzes_and_parses(text):
    for analyzer in ANALYZERS:
        for group in analyze(analyzer, text):
            assert all(isinstance(t, str) and t for t in group)
    ParsedQuery.parse(text).to_query()


@given(st.one_of(TYPED, ANY_TEXT))
@settings(max_examples=300, deadline=None)
def test_folding_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(TYPED)
@settings(max_examples=300, deadline=None)
def test_keys_of_latin_and_cyrillic_are_bounded_plain_ascii(text):
    for word in words(text):
        keys = search_keys(turkic_lower(word))
        assert len(keys) <= 8
        assert all(k.isascii() or not k.isalpha() for k in keys)


@given(st.text(min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_upper_and_lower_case_fold_alike(word):
    assert set(search_keys(turkic_lower(word.upper()))) & set(
        search_keys(turkic_lower(word))
    ) or not search_keys(turkic_lower(word))


_ids = itertools.count()


@given(title=st.one_of(TYPED, ANY_TEXT), language=st.sampled_from(["az", "kk", "tr", "ru", "en"]))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_title_always_finds_itself(tmp_path, title, language):
    index = SearchIndex(tmp_path / f"ix{next(_ids)}" / "index")
    index.create()
    script = "Cyrl" if any("\u0400" <= c <= "\u04ff" for c in title) else "Latn"
    index.update(
        [
            {
                "id": "r1",
                "title": title,
                "language": language,
                "script": script,
                "authors": [],
                "libraries": ["SHU"],
                "subjects": [],
            }
        ]
    )
    result = index.search(SearchRequest(text=title))
    if ParsedQuery.parse(title).words:
        assert "r1" in [h.id for h in result.hits], (title, result)
    index.close()
