"""Each analysis filter on its own, then the whole key pipeline on the cases readers hit."""

from __future__ import annotations

import pytest
from whoosh.analysis import RegexTokenizer

from index.analysis import (
    WORD_PATTERN,
    ApostropheFilter,
    LetterUnifyFilter,
    SearchKeyFilter,
    SnowballFilter,
    TurkicLowercaseFilter,
    TurkicSuffixFilter,
    analyze,
    exact_analyzer,
    fold,
    key_analyzer,
    search_keys,
    stem_analyzer,
    turkic_lower,
    turkic_stem,
)


def run(filter_, text):
    return [t.text for t in (RegexTokenizer(WORD_PATTERN) | filter_)(text)]


# --- TurkicLowercaseFilter -----------------------------------------------------------------


def test_turkic_lowercase_maps_dotted_capital_i_without_combining_dot():
    assert run(TurkicLowercaseFilter(), "İSTANBUL İzmir") == ["istanbul", "izmir"]
    assert "\u0307" not in turkic_lower("İ")


def test_turkic_lowercase_maps_dotless_capital_i_to_dotless_i():
    assert turkic_lower("ISPARTA") == "ısparta"
    assert turkic_lower("ƏLİ") == "əli"


def test_python_lower_is_what_we_avoid():
    assert "İ".lower() != "i"  # Python gives i + U+0307: the reason this filter exists


# --- ApostropheFilter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word,expected",
    [
        ("İstanbul'da", "İstanbul"),
        ("Madonna’nın", "Madonna"),
        ("Bakı", "Bakı"),
    ],
)
def test_apostrophe_filter_drops_suffix(word, expected):
    assert run(ApostropheFilter(), word) == [expected]


# --- LetterUnifyFilter -----------------------------------------------------------------------


def test_cyrillic_and_latin_schwa_are_one_letter():
    assert run(LetterUnifyFilter(), "Сәмәд") == run(LetterUnifyFilter(), "Сəмəд")


def test_yo_and_ye_are_one_letter():
    assert run(LetterUnifyFilter(), "вишнёвый") == ["вишневый"]


# --- SearchKeyFilter / search_keys -----------------------------------------------------------


@pytest.mark.parametrize(
    "a,b",
    [
        ("istanbul", "İSTANBUL"),
        ("ıstanbul", "ISTANBUL"),
        ("əli", "ƏLİ"),
        ("Kucuk", "Küçük"),
        ("Seher", "Səhər"),
        ("Кокше", "Көкше"),
        ("вишневый", "вишнёвый"),
        ("Chekhov", "Чехов"),
        ("Tchekhov", "Чехов"),
        ("Čechov", "Чехов"),
        ("Čehov", "Чехов"),
        ("Tschechow", "Чехов"),
        ("Qazaq", "Қазақ"),
        ("kazak", "Қазақ"),
        ("adebieti", "әдебиеті"),
        ("Oyan", "Оян"),
        ("oian", "Оян"),
        ("Abai", "Абай"),
        ("Abay", "Абай"),
        ("Zhibek", "Жібек"),
        ("Jibek", "Жібек"),
        ("Нурпеисов", "Нұрпейісов"),
        ("Səməd", "Сәмәд"),
        ("Vurğun", "Вурғун"),
        ("Самед", "Сәмәд"),
        ("Dostoevsky", "Достоевский"),
        ("Dostoyevskiy", "Достоевский"),
        ("Shusha", "Şuşa"),
        ("Susa", "Şuşa"),
        ("Шуша", "Şuşa"),
        ("Cəlil", "Джалил"),
        ("Xəlil", "Халил"),
        ("Aleksandr", "Александр"),
    ],
)
def test_spellings_share_a_key(a, b):
    assert set(search_keys(turkic_lower(a))) & set(search_keys(turkic_lower(b)))


@pytest.mark.parametrize("a,b", [("kitab", "kino"), ("Чехов", "Чапаев"), ("Abai", "Alma")])
def test_different_words_do_not_share_a_key(a, b):
    assert not set(search_keys(turkic_lower(a))) & set(search_keys(turkic_lower(b)))


def test_azerbaijani_cyrillic_ge_reads_q_only_for_azerbaijani():
    assert search_keys("гарабағ", "az") == search_keys("qarabağ")
    assert search_keys("город", "ru") == ["gorod"]
    assert search_keys("гаҹ") == ["kac"]  # ҹ marks Azerbaijani Cyrillic, so г is q


def test_search_key_filter_replaces_tokens_by_keys():
    assert run(SearchKeyFilter(), "чехов şuşa") == ["cehov", "susa"]
    assert run(SearchKeyFilter("az"), "гарабағ") == ["karabag"]


def test_key_variants_are_bounded():
    assert len(search_keys("ххххххххххххх" + "ch" * 10 + "ә" * 10)) <= 8


def test_search_key_filter_keeps_positions_for_variants():
    tokens = [(t.text, t.pos) for t in key_analyzer()("Səməd Vurğun", positions=True)]
    assert {pos for text, pos in tokens if text in ("semed", "samad")} == {0}
    assert [text for text, pos in tokens if pos == 1] == ["vurgun"]


def test_fold_is_idempotent_and_script_blind():
    assert fold("Оян, қазақ!") == fold("Oyan, qazaq!") == fold(fold("Оян, қазақ!"))


# --- stemming ---------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["kitablarımızda", "kitablarimizda", "Kitablar", "kitabı"])
def test_turkic_suffix_stripper(word):
    assert {turkic_stem(k) for k in search_keys(turkic_lower(word))} == {"kitab"}


def test_turkic_suffix_filter_keeps_short_roots():
    assert run(TurkicSuffixFilter(), "ana") == ["ana"]
    assert turkic_stem("batirlar") == "batir"


def test_snowball_filter_stems_turkish_and_russian():
    assert run(SnowballFilter("turkish"), "romanları") == ["roman"]
    assert run(SnowballFilter("russian"), "рассказов") == run(SnowballFilter("russian"), "рассказы")


def test_stem_analyzer_folds_after_stemming():
    assert analyze(stem_analyzer("tr"), "İstanbul'da romanları") == [["istanbul"], ["roman"]]
    assert (
        analyze(stem_analyzer("ru"), "Рассказов")[0] == analyze(stem_analyzer("ru"), "рассказы")[0]
    )


def test_exact_analyzer_keeps_marks():
    assert analyze(exact_analyzer(), "Küçük Prens") == [["küçük"], ["prens"]]
