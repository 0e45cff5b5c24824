"""What readers really type: the wrong keyboard layout, name forms, function words, a year
with a title, titles in other languages and topics in any language (docs/search.md)."""

from __future__ import annotations

import pytest

from index import SearchRequest
from index.analysis import analyze, name_analyzer, name_key, search_keys
from index.query import ParsedQuery
from index.vocabulary import Vocabulary


def search(catalog, text: str, **kwargs):
    catalog.index.clear_result_cache()
    return catalog.index.search(SearchRequest(text=text, **kwargs))


def ids(result) -> list[str]:
    return [hit.id for hit in result.hits]


# --- name forms --------------------------------------------------------------------------------


def names(text: str) -> set[str]:
    return {key for group in analyze(name_analyzer(), text, "index") for key in group}


@pytest.mark.parametrize(
    "forms",
    [
        ("Bökeyuly", "Бөкейұлы", "Bökeyoğlu", "Bokeyoglu", "Bökeiuly"),
        ("Құнанбайұлы", "Kunanbayoğlu", "Кунанбаев", "Qunanbayev", "Kunanbaiuly"),
        ("Ахундов", "Axundov", "Ахундова", "Axundova"),
        ("Məmmədov", "Məmmədova"),
        ("Байтұрсынұлы", "Baitursynuly", "Байтурсынов"),
    ],
)
def test_surname_and_patronymic_endings_meet(forms):
    first = names(forms[0])
    for other in forms[1:]:
        assert names(other) & first, (forms[0], other)


@pytest.mark.parametrize("word", ["lev", "oğlu", "ұлы", "Abai", "Nizami", "roman"])
def test_names_without_an_ending_keep_their_key(word):
    keys = search_keys(word.lower())
    assert [name_key(k) for k in keys] == keys


def test_name_forms_find_every_record_of_an_author(demo_catalog):
    by_kazakh = set(ids(search(demo_catalog, "Абай Құнанбайұлы", per_page=50)))
    for form in ("Abay Kunanbayoğlu", "Абай Кунанбаев", "Abai Kunanbaiuly"):
        found = set(ids(search(demo_catalog, form, per_page=50)))
        assert by_kazakh <= found, form


def test_a_name_form_with_a_transliteration_slip_is_a_typo_of_the_folded_name(demo_catalog):
    # A Turkish reader writes ы as u: `Baytursunoğlu` is `baitursun=`, one letter from
    # `Байтұрсынұлы` (`baitursin=`).
    assert {"kk-0014", "kk-0015", "kk-0016"} <= set(
        ids(search(demo_catalog, "Ahmet Baytursunoğlu"))
    )


def test_an_initial_is_not_required(demo_catalog):
    assert ids(search(demo_catalog, "Auezov M."))[:3] == ids(search(demo_catalog, "Auezov"))[:3]
    assert search(demo_catalog, "М. Әуезов").total >= 5


# --- function words and junk -------------------------------------------------------------------


def test_function_words_are_never_required():
    parsed = ParsedQuery.parse("the xylophone and zebra")
    assert [w.exact for w in parsed.content_words()] == ["xylophone", "zebra"]
    assert [w.exact for w in ParsedQuery.parse("Оян және қазақ").content_words()] == [
        "оян",
        "қазақ",
    ]


@pytest.mark.parametrize(
    "text", ["the xylophone and zebra", "kosmik stansiya və robot", "квантовая механика и"]
)
def test_records_that_match_only_function_words_are_not_results(demo_catalog, text):
    result = search(demo_catalog, text)
    assert result.total == 0 and not result.relaxed


def test_a_query_of_function_words_finds_nothing(demo_catalog):
    assert search(demo_catalog, "the and of").total == 0
    assert search(demo_catalog, "və").total == 0


def test_a_function_word_of_a_title_still_counts(demo_catalog):
    assert ids(search(demo_catalog, "Leyli və Məcnun"))[0] in {"az-0003", "az-0006"}


# --- a year typed with a title -----------------------------------------------------------------


def test_a_year_ranks_that_edition_first_and_is_not_required(demo_catalog):
    assert ids(search(demo_catalog, "Dəli Kür 1978"))[0] == "azc-0023"
    assert ids(search(demo_catalog, "Dəli Kür 2004"))[0] == "az-0054"
    assert search(demo_catalog, "Dəli Kür 1999").total == 2  # no such edition: both shown


def test_a_number_alone_is_a_word():
    parsed = ParsedQuery.parse("1984")
    assert [w.exact for w in parsed.content_words()] == ["1984"]


# --- the wrong keyboard layout -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant", "layouts", "record"),
    [
        ("Ujujkm", "Гоголь", ("us", "ru"), "ru-0018"),
        ("Тшяфьш", "Nizami", ("ru", "us"), "az-0001"),
        ("Ljrnjh :bdfuj", "Доктор Живаго", ("us", "ru"), "ru-0026"),
        ("F,fq ;jks", "Абай жолы", None, "kk-0004"),  # Kazakh and Russian keys agree here
    ],
)
def test_text_typed_on_the_wrong_layout_is_read_as_meant(
    demo_catalog, typed, meant, layouts, record
):
    result = search(demo_catalog, typed)
    assert result.typed == typed and result.text == meant
    assert layouts is None or result.layouts == layouts
    assert record in ids(result)


def test_as_typed_searches_the_text_itself(demo_catalog):
    result = search(demo_catalog, "Ujujkm", as_typed=True)
    assert result.typed is None and result.total == 0


@pytest.mark.parametrize(
    "text", ["Гоголь", "Nizami", "Абай жолы", "Оян қазақ", "Dəli Kür", "Chekhov"]
)
def test_a_real_query_is_never_retyped(demo_catalog, text):
    assert search(demo_catalog, text).typed is None


def test_a_query_that_finds_nothing_either_way_is_left_as_typed(demo_catalog):
    result = search(demo_catalog, "qwpoeiruty")
    assert result.typed is None and result.total == 0


# --- titles in other languages and topics ------------------------------------------------------


@pytest.mark.parametrize("text", ["Doctor Zhivago", "Doktor Jivaqo", "Doktor Jivago"])
def test_a_work_is_found_by_its_title_in_another_language(demo_catalog, text):
    assert ids(search(demo_catalog, text))[:1] == ["ru-0026"]


def test_every_edition_is_found_by_the_works_english_title(demo_catalog):
    found = set(ids(search(demo_catalog, "The Path of Abai")))
    assert {"kk-0004", "ru-0027", "az-0095", "tr-0036"} <= found


def test_subject_headings_ignore_function_words():
    vocabulary = Vocabulary("subjects", {"Arts": ["Arts and crafts", "Sanat ve el işi"]})
    assert vocabulary.values_for({"and"}) == set()
    assert vocabulary.values_for({"ve"}) == set()
    assert vocabulary.values_for({"crafts"}) == {"Arts"}


@pytest.mark.parametrize("text", ["kazakh short stories", "история Турции", "Qarabağ şeirləri"])
def test_a_topic_in_any_language_finds_its_records(demo_catalog, text):
    assert search(demo_catalog, text).total >= 3
