"""Each field's terms, computed a distinct word at a time (index/terms.py), are Whoosh's
`field.index()` terms and frequencies; the cached title stems and folds equal the
analyzers run over the whole text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.synthetic import demo_rows
from index.analysis import analyze, fold, search_keys, turkic_lower, words
from index.schema import _STEMMERS, TURKIC_LANGUAGES, build_schema, key_text, title_stems
from index.terms import field_indexers

SCHEMA = build_schema()
INDEXERS = field_indexers(SCHEMA)
TEXT_FIELDS = sorted(n for n, f in SCHEMA.items() if f.indexed and n != "year")
# Readers' letters and separators, with a bias to what the analyzers treat specially.
TYPED = st.text(
    alphabet=st.sampled_from(
        list("abcçdeəfgğhxıijkqlmnoöprsştuüvyzİIЁёәӘ")
        + list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяқңөұүһіјҹҝ")
        + list(" ,;'’-.\t\nﬁ¼0123456789")
    ),
    max_size=60,
) | st.text(max_size=40)


def whoosh_terms(fieldname: str, value) -> list[tuple[bytes, int]]:
    return sorted((t, f) for t, f, _w, _v in SCHEMA[fieldname].index(value))


@settings(max_examples=300, deadline=None)
@given(TYPED)
def test_every_text_fields_terms_are_whooshs(value):
    for fieldname in TEXT_FIELDS:
        assert sorted(INDEXERS[fieldname].terms(value)) == whoosh_terms(fieldname, value), fieldname


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_numeric_terms_are_whooshs(year):
    assert sorted(INDEXERS["year"].terms(year)) == whoosh_terms("year", year)


def test_the_catalogs_values_index_as_in_whoosh():
    for row in demo_rows():
        for value in (row["title"], row["authors"], row["publisher"], row["subjects"]):
            for fieldname in TEXT_FIELDS:
                assert sorted(INDEXERS[fieldname].terms(value)) == whoosh_terms(fieldname, value)


def reference_title_stems(title: str, language: str, script: str) -> list[str]:
    """The analyzers over the whole title (what title_stems did before its word cache)."""
    stems: set[str] = set()
    if language in ("ru", "tr", "en"):
        stems.update(s for group in analyze(_STEMMERS[language], title, "index") for s in group)
    if language in TURKIC_LANGUAGES:
        text = key_text(title, language, script)
        stems.update(s for group in analyze(_STEMMERS["turkic"], text, "index") for s in group)
    return sorted(stems)


@settings(max_examples=200, deadline=None)
@given(
    TYPED,
    st.sampled_from(["az", "kk", "tr", "ru", "en", "de", ""]),
    st.sampled_from(["Latn", "Cyrl"]),
)
def test_title_stems_are_the_analyzers_over_the_whole_title(title, language, script):
    assert title_stems(title, language, script) == reference_title_stems(title, language, script)


@given(TYPED)
def test_fold_is_each_words_first_key(text):
    expected = " ".join(k[0] for w in words(text) if (k := search_keys(turkic_lower(w))))
    assert fold(text) == expected
