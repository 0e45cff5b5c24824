"""Wrong-layout queries: the keyboard tables, `retype`, `retypings` and the evidence rule."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import words
from index.layouts import (
    DUPLICATE_KEYS,
    KEYS,
    LAYOUTS,
    MIN_LETTERS,
    PAIRS,
    Retyping,
    choose,
    retype,
    retypings,
)

ALPHABETS = {
    "us": "abcdefghijklmnopqrstuvwxyz",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    # Windows Kazakh has no ё (Russian loanwords are typed on the Russian layout).
    "kk": "аәбвгғдежзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    "az": "abcçdeəfgğhxıijkqlmnoöprsştuüvyz",
    "tr": "abcçdefgğhıijklmnoöprsştuüvyz",
}
TURKIC_UPPER = {"i": "İ", "ı": "I"}


def vocabulary(*entries: str):
    """`known` over a fixed set of words, case-insensitively (the lead normalizes likewise)."""
    vocab = {word.casefold() for entry in entries for word in words(entry)}
    return lambda word: word.casefold() in vocab


# --- the tables -------------------------------------------------------------------------


def test_the_five_layouts_and_the_twelve_directions():
    assert set(LAYOUTS) == {"us", "ru", "kk", "az", "tr"}
    assert len(PAIRS) == len(set(PAIRS)) == 12
    latin, cyrillic = {"us", "az", "tr"}, {"ru", "kk"}
    for typed_on, meant in PAIRS:
        assert {typed_on, meant} & latin and {typed_on, meant} & cyrillic
        assert (meant, typed_on) in PAIRS
    assert ("us", "az") not in PAIRS and ("ru", "kk") not in PAIRS


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_layout_covers_the_48_keys_with_one_character_per_level(name):
    layout = LAYOUTS[name]
    assert len(KEYS) == 48 and list(layout) == list(KEYS)
    for key, chars in layout.items():
        assert len(chars) == 2 and all(len(char) == 1 and char.isprintable() for char in chars), key


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_no_character_sits_on_two_keys_apart_from_the_documented_iso_key(name):
    layout = LAYOUTS[name]
    keys_of = defaultdict(list)
    for key, chars in layout.items():
        for char in chars:
            keys_of[char].append(key)
    for char, keys in keys_of.items():
        if len(keys) > 1:
            # Only IntlBackslash may repeat, and only what Backslash already types.
            assert len(keys) == 2 and set(keys) - {"Backslash"} <= DUPLICATE_KEYS, (char, keys)


def test_the_documented_duplicates_are_exactly_these():
    assert LAYOUTS["us"]["IntlBackslash"] == LAYOUTS["us"]["Backslash"] == ("\\", "|")
    assert LAYOUTS["ru"]["IntlBackslash"] == LAYOUTS["ru"]["Backslash"] == ("\\", "/")
    assert LAYOUTS["az"]["IntlBackslash"] == LAYOUTS["az"]["Backslash"] == ("\\", "/")
    assert LAYOUTS["kk"]["IntlBackslash"] == ("\\", "|")
    assert LAYOUTS["kk"]["Backslash"] == ("\\", "/")
    assert LAYOUTS["tr"]["IntlBackslash"] == ("<", ">")


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_letter_keys_shift_to_their_capital(name):
    turkic = name in ("az", "tr")
    for key, (low, high) in LAYOUTS[name].items():
        if low.isalpha():
            expected = TURKIC_UPPER.get(low, low.upper()) if turkic else low.upper()
            assert high == expected, (key, low, high)


@pytest.mark.parametrize("name", sorted(ALPHABETS))
def test_every_layout_types_its_whole_alphabet_in_both_cases(name):
    typed = {char for chars in LAYOUTS[name].values() for char in chars}
    alphabet = ALPHABETS[name]
    upper = (
        "".join(TURKIC_UPPER.get(c, c.upper()) for c in alphabet)
        if name in ("az", "tr")
        else alphabet.upper()
    )
    assert set(alphabet) <= typed and set(upper) <= typed
    # and no other letter, apart from q w x and é (Shift+") on Turkish Q; Azerbaijani Latin
    # has no w at all (ü took its key)
    extra = {c for c in typed if c.isalpha()} - set(alphabet) - set(upper)
    assert {c.lower() for c in extra} == {"tr": {"é", "q", "w", "x"}}.get(name, set())


@pytest.mark.parametrize(
    "name, key, chars",
    [
        # Windows Kazakh: the number row carries the Kazakh letters and the punctuation
        ("kk", "Backquote", ("(", ")")),
        ("kk", "Digit1", ('"', "!")),
        ("kk", "Digit2", ("ә", "Ә")),
        ("kk", "Digit3", ("і", "І")),
        ("kk", "Digit4", ("ң", "Ң")),
        ("kk", "Digit5", ("ғ", "Ғ")),
        ("kk", "Digit6", (",", ";")),
        ("kk", "Digit7", (".", ":")),
        ("kk", "Digit8", ("ү", "Ү")),
        ("kk", "Digit9", ("ұ", "Ұ")),
        ("kk", "Digit0", ("қ", "Қ")),
        ("kk", "Minus", ("ө", "Ө")),
        ("kk", "Equal", ("һ", "Һ")),
        ("kk", "Slash", ("№", "?")),
        ("kk", "Period", ("ю", "Ю")),
        # Windows Russian
        ("ru", "Backquote", ("ё", "Ё")),
        ("ru", "Digit3", ("3", "№")),
        ("ru", "Digit7", ("7", "?")),
        ("ru", "Comma", ("б", "Б")),
        ("ru", "Slash", (".", ",")),
        ("ru", "Backslash", ("\\", "/")),
        # Windows Azerbaijani Latin
        ("az", "KeyW", ("ü", "Ü")),
        ("az", "KeyI", ("i", "İ")),
        ("az", "BracketLeft", ("ö", "Ö")),
        ("az", "BracketRight", ("ğ", "Ğ")),
        ("az", "Semicolon", ("ı", "I")),
        ("az", "Quote", ("ə", "Ə")),
        ("az", "Comma", ("ç", "Ç")),
        ("az", "Period", ("ş", "Ş")),
        ("az", "Slash", (".", ",")),
        ("az", "Digit3", ("3", "№")),
        # Windows Turkish Q
        ("tr", "KeyI", ("ı", "I")),
        ("tr", "Quote", ("i", "İ")),
        ("tr", "BracketLeft", ("ğ", "Ğ")),
        ("tr", "BracketRight", ("ü", "Ü")),
        ("tr", "Semicolon", ("ş", "Ş")),
        ("tr", "Comma", ("ö", "Ö")),
        ("tr", "Period", ("ç", "Ç")),
        ("tr", "Slash", (".", ":")),
        ("tr", "Backslash", (",", ";")),
        ("tr", "Backquote", ('"', "é")),
        ("tr", "Minus", ("*", "?")),
        ("tr", "Equal", ("-", "_")),
        # US
        ("us", "Backquote", ("`", "~")),
        ("us", "Quote", ("'", '"')),
        ("us", "Digit2", ("2", "@")),
    ],
)
def test_keys_as_the_windows_layouts_have_them(name, key, chars):
    assert LAYOUTS[name][key] == chars


def test_russian_and_kazakh_share_all_letter_keys_but_the_number_row():
    ru, kk = LAYOUTS["ru"], LAYOUTS["kk"]
    differ = {key for key in KEYS if ru[key] != kk[key]}
    assert differ == {
        "Backquote",
        *(f"Digit{d}" for d in "1234567890"),
        "Minus",
        "Equal",
        "Slash",
        "IntlBackslash",
    }


# --- retype -----------------------------------------------------------------------------

EXAMPLES = [
    # (meant text, layout it was typed on, what the reader saw)
    ("Гоголь", "us", "Ujujkm"),
    ("Nizami", "ru", "Тшяфьш"),
    ("бунин", "us", ",eyby"),
    ("Гоголь бунин", "us", "Ujujkm ,eyby"),
    ("Абай жолы", "us", "F,fq ;jks"),
    ("қазақ", "us", "0fpf0"),
    ("әдебиеті", "us", "2lt,btn3"),
    ("Қазақ әдебиеті", "us", ")fpf0 2lt,btn3"),  # Shift+0 is Қ
    ("Dəli Kür", "ru", "Вэдш Лцк"),
    ("Qızlar bulağı", "ru", "Йжядфк игдфъж"),
    ("Küçük Prens", "ru", "Лъюъл Зкуты"),
    ("Benim Adım Kırmızı", "ru", "Иутэь Фвшь Лшкьшяш"),
    ("Мёртвые души", "us", "V`hndst leib"),
]
MEANT_LAYOUT = {
    "Гоголь": "ru",
    "Nizami": "us",
    "бунин": "ru",
    "Гоголь бунин": "ru",
    "Абай жолы": "kk",
    "қазақ": "kk",
    "әдебиеті": "kk",
    "Қазақ әдебиеті": "kk",
    "Dəli Kür": "az",
    "Qızlar bulağı": "az",
    "Küçük Prens": "tr",
    "Benim Adım Kırmızı": "tr",
    "Мёртвые души": "ru",
}


@pytest.mark.parametrize("meant_text, typed_on, seen", EXAMPLES)
def test_retype_reads_the_keys_under_the_meant_layout(meant_text, typed_on, seen):
    meant = MEANT_LAYOUT[meant_text]
    assert retype(seen, typed_on, meant) == meant_text
    # and the same keys pressed with the meant layout on give back what the reader saw
    assert retype(meant_text, meant, typed_on) == seen


def test_kazakh_number_row_letters_are_digits_on_us():
    assert retype("қазақ", "kk", "us") == "0fpf0"
    assert retype("әіңғүұқөһ", "kk", "us") == "2345890-="
    # the Russian layout types digits there: the same keys read as a different text
    assert retype("0fpf0", "us", "ru") == "0аза0"


def test_shift_is_kept_key_by_key():
    assert retype("UJUJKM", "us", "ru") == "ГОГОЛЬ"
    assert retype("<eyby", "us", "ru") == "Бунин"  # Shift+, is Б
    assert retype("Ujujkm", "us", "ru") == "Гоголь"
    assert retype("ТШЯФЬШ", "ru", "us") == "NIZAMI"
    assert retype("KIRMIZI", "tr", "ru") == "ЛШКЬШЯШ"
    assert retype("ЛШКЬШЯШ", "ru", "tr") == "KIRMIZI"
    assert retype("İSTANBUL", "tr", "ru") == "ЭЫЕФТИГД"
    assert retype("ЭЫЕФТИГД", "ru", "tr") == "İSTANBUL"
    assert retype("ЭЫЕФТИГД", "ru", "us") == "'STANBUL"  # Caps Lock: ' has no capital


def test_caps_lock_reaches_keys_that_are_letters_on_one_layout_only():
    # Caps Lock on: , . ; [ stay punctuation on US but are capitals on Russian
    assert retype(",EYBY", "us", "ru") == "БУНИН"
    assert retype("БУНИН", "ru", "us") == ",EYBY"
    assert retype("0FPF0", "us", "kk") == "ҚАЗАҚ"
    assert retype("ҚАЗАҚ", "kk", "us") == "0FPF0"
    assert retype("V`HNDST LEIB", "us", "ru") == "МЁРТВЫЕ ДУШИ"
    # one capital is no Caps Lock: Shift was pressed for that key only
    assert retype(",Eyby", "us", "ru") == "бУнин"


@pytest.mark.parametrize(
    "text, typed_on, meant",
    [
        ("Гоголь", "us", "ru"),
        ("Nizami", "ru", "us"),
        ("Ujujkm Гоголь", "us", "ru"),
        ("Ёлка", "kk", "us"),  # Windows Kazakh has no ё
        ("Şəki", "us", "ru"),
        ("Kırmızı", "us", "kk"),
        ("Dəli", "tr", "ru"),  # ə is not on Turkish Q
        ("Qızlar", "us", "ru"),
        ("Straße", "us", "ru"),
    ],
)
def test_retype_refuses_letters_the_layout_cannot_type(text, typed_on, meant):
    assert retype(text, typed_on, meant) is None


def test_turkish_q_types_azerbaijani_words_without_schwa():
    # q and ı are on Turkish Q too (ı on the I key), so this reading exists
    assert retype("Qızlar", "tr", "ru") == "Йшядфк"
    assert retype("Qızlar", "az", "ru") == "Йжядфк"


def test_characters_no_key_types_are_kept():
    assert retype("«Ujujkm» — 1852!", "us", "ru") == "«Гоголь» — 1852!"
    assert retype("Тшяфьш\tТшяфьш", "ru", "us") == "Nizami\tNizami"
    assert retype("№ Ujujkm", "us", "ru") == "№ Гоголь"  # № is on no US key
    assert retype("Абай 1845", "kk", "us") == "F,fq 1845"  # no digits on Windows Kazakh


def test_retype_normalizes_decomposed_input():
    decomposed = "Ku\u0308c\u0327u\u0308k"
    assert retype(decomposed, "tr", "ru") == "Лъюъл"


def test_unknown_layout_is_an_error():
    with pytest.raises(ValueError, match="unknown keyboard layout"):
        retype("abc", "dvorak", "ru")


def _reversible(name: str) -> list[str]:
    """Characters typed by a key that is not a documented duplicate (those read back as
    Backslash, so no text through them can survive a round trip)."""
    layout = LAYOUTS[name]
    return sorted({char for key in KEYS if key not in DUPLICATE_KEYS for char in layout[key]})


@pytest.mark.parametrize("typed_on, meant", PAIRS)
def test_the_round_trip_alphabet_covers_every_letter(typed_on, meant):
    alphabet = set(_reversible(typed_on))
    letters = {char for chars in LAYOUTS[typed_on].values() for char in chars if char.isalpha()}
    assert letters <= alphabet


@pytest.mark.parametrize("typed_on, meant", PAIRS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_retyping_back_gives_the_text(typed_on, meant, data):
    alphabet = _reversible(typed_on) + [" "]
    text = data.draw(st.text(alphabet=alphabet, max_size=30))
    there = retype(text, typed_on, meant)
    assert there is not None and len(there) == len(text)
    assert retype(there, meant, typed_on) == text


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_caps_lock_texts_round_trip_too(data):
    typed_on, meant = data.draw(st.sampled_from(PAIRS))
    letters = [c for c in _reversible(typed_on) if c.isalpha() and c.isupper()]
    others = [c for c in _reversible(typed_on) if not c.isalpha()]
    text = data.draw(st.text(alphabet=letters + others, min_size=2, max_size=30))
    there = retype(text, typed_on, meant)
    assert retype(there, meant, typed_on) == text


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_retyping_onto_the_same_layout_changes_nothing(name, data):
    text = data.draw(st.text(alphabet=_reversible(name) + [" "], max_size=30))
    assert retype(text, name, name) == text


# --- retypings --------------------------------------------------------------------------


def test_retypings_of_a_latin_slip():
    found = retypings("Ujujkm")
    assert found[0] == Retyping("us", "ru", "Гоголь")
    assert [r.text for r in found].count("Гоголь") == 1  # us->kk and az->ru say the same


def test_retypings_of_a_cyrillic_slip():
    assert retypings("Тшяфьш") == [
        Retyping("ru", "us", "Nizami"),
        Retyping("ru", "tr", "Nızamı"),  # I is ı on Turkish Q
    ]


def test_retypings_keep_pairs_order_and_drop_duplicates_and_no_ops():
    for text in ["Ujujkm ,eyby", "Тшяфьш", "Лъюъл Зкуты", "0fpf0", "Вэдш Лцк", "F,fq ;jks"]:
        found = retypings(text)
        assert found
        positions = [PAIRS.index((r.typed_on, r.meant)) for r in found]
        assert positions == sorted(positions)
        texts = [r.text for r in found]
        assert len(texts) == len(set(texts)) and text not in texts
        for r in found:
            assert retype(text, r.typed_on, r.meant) == r.text


def test_retypings_of_an_azerbaijani_title_typed_on_russian():
    found = {r.meant: r.text for r in retypings("Вэдш Лцк")}
    assert found["az"] == "Dəli Kür"
    assert found["us"] == "D'li Kwr"
    assert found["tr"] == "Dilı Kwr"


def test_texts_without_letters_are_not_retyped():
    assert retypings("") == []
    assert retypings("1852") == []  # even though the keys read "үғә on Kazakh
    assert retypings(",.;'[]") == []  # even though it reads бюжэхъ on Russian


def test_retyping_is_frozen():
    r = Retyping("us", "ru", "Гоголь")
    with pytest.raises(AttributeError):
        r.text = "x"  # type: ignore[misc]


# --- choose -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seen, vocab, expected",
    [
        ("Ujujkm", ["Гоголь"], Retyping("us", "ru", "Гоголь")),
        ("Тшяфьш", ["Nizami"], Retyping("ru", "us", "Nizami")),
        (",eyby", ["Бунин"], Retyping("us", "ru", "бунин")),
        ("Ujujkm ,eyby", ["Гоголь", "Бунин"], Retyping("us", "ru", "Гоголь бунин")),
        ("F,fq ;jks", ["Абай жолы"], Retyping("us", "ru", "Абай жолы")),
        ("0fpf0 2lt,btn3", ["Қазақ әдебиеті"], Retyping("us", "kk", "қазақ әдебиеті")),
        ("Вэдш Лцк", ["Dəli Kür"], Retyping("ru", "az", "Dəli Kür")),
        ("Йжядфк игдфъж", ["Qızlar bulağı"], Retyping("ru", "az", "Qızlar bulağı")),
        ("Лъюъл Зкуты", ["Küçük Prens"], Retyping("ru", "tr", "Küçük Prens")),
        ("Иутэь Фвшь Лшкьшяш", ["Benim Adım Kırmızı"], Retyping("ru", "tr", "Benim Adım Kırmızı")),
    ],
)
def test_choose_converts_when_only_the_retyping_is_known(seen, vocab, expected):
    assert choose(seen, vocabulary(*vocab), words) == expected


@pytest.mark.parametrize(
    "query, retyped_vocab",
    [
        ("Гоголь", "Ujujkm"),
        ("Abai", "Фифш"),
        ("Nizami", "Тшяфьш"),
        ("Оян қазақ", "Jzy 0fpf0"),
    ],
)
def test_choose_never_converts_a_query_with_a_known_word(query, retyped_vocab):
    # the index knows one real word of the query *and* every word of a retyping: no change
    original_word = words(query)[0]
    assert choose(query, vocabulary(original_word, retyped_vocab), words) is None
    # without the real word, the retyping wins (so the first assertion was not vacuous)
    assert choose(query, vocabulary(retyped_vocab), words) is not None


def test_choose_needs_every_changed_word_known():
    assert choose("Ujujkm ,eyby", vocabulary("Гоголь"), words) is None
    assert choose("Ujujkm ,eyby", vocabulary(), words) is None


def test_choose_prefers_the_retyping_with_more_known_words():
    # Вьёга: ё is ` on US (an in-word apostrophe: one word) and " on Turkish Q (two words)
    assert retypings("Вьёга")[0] == Retyping("ru", "us", "Dm`uf")
    vocab = vocabulary("Dm`uf", "Dm", "uf")
    assert choose("Вьёга", vocab, words) == Retyping("ru", "tr", 'Dm"uf')
    # equal counts: the first in retypings order
    assert choose("Тшяфьш", vocabulary("Nizami", "Nızamı"), words) == Retyping("ru", "us", "Nizami")


@pytest.mark.parametrize("seen, vocab", [("j", "о"), ("gh", "пр"), ("Ok", "Щл"), ("f d", "а в")])
def test_choose_ignores_inputs_of_one_or_two_letters(seen, vocab):
    assert choose(seen, vocabulary(vocab), words) is None


def test_choose_counts_letter_keys_not_latin_letters():
    # өңір typed on US is "-43h": one Latin letter, but four letter keys of the Kazakh word
    assert retype("өңір", "kk", "us") == "-43h"
    assert choose("-43h", vocabulary("өңір"), words) == Retyping("us", "kk", "өңір")
    assert MIN_LETTERS == 3


def test_numbers_are_neutral_evidence():
    # a year reads the same on both layouts: known or not, it decides nothing
    assert choose("Ujujkm 1852", vocabulary("Гоголь"), words) == Retyping("us", "ru", "Гоголь 1852")
    assert choose("Ujujkm 1852", vocabulary("Гоголь", "1852"), words) == Retyping(
        "us", "ru", "Гоголь 1852"
    )


def test_known_initials_in_a_slip_do_not_block_it():
    # "F,fq ;jks" splits into F, fq, jks; the index knows "f" (an author's initial)
    assert choose("F,fq ;jks", vocabulary("F", "Абай жолы"), words) == Retyping(
        "us", "ru", "Абай жолы"
    )


def test_a_real_query_of_short_known_words_stays():
    # Od və su ("Fire and water"): every word is known, and so (unluckily) is every word of
    # its Russian-layout reading; the original's evidence is as strong, so no change
    assert retype("Od və su", "az", "ru") == "Щв мэ ыг"
    assert choose("Od və su", vocabulary("Od və su", "Щв мэ ыг"), words) is None


def test_choose_asks_known_once_per_word():
    asked: list[str] = []

    def known(word: str) -> bool:
        asked.append(word)
        return word.casefold() in {"гоголь", "бунин"}

    assert choose("Ujujkm ,eyby", known, words) == Retyping("us", "ru", "Гоголь бунин")
    assert len(asked) == len(set(asked))


def _all_words(text: str) -> list[str]:
    found = set(words(text))
    for r in retypings(text):
        found.update(words(r.text))
    return sorted(found)


TEXTS = st.sampled_from(
    ["Ujujkm ,eyby", "Тшяфьш", "Вэдш Лцк", "Лъюъл Зкуты", "0fpf0 2lt,btn3", "Абай жолы", "Nizami"]
)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_choose_never_overrides_a_known_original_word(data):
    text = data.draw(TEXTS)
    vocab = set(data.draw(st.lists(st.sampled_from(_all_words(text)), unique=True)))
    real = [w for w in words(text) if sum(c.isalpha() for c in w) >= 3]
    vocab.add(data.draw(st.sampled_from(real)))
    assert choose(text, lambda w: w in vocab, words) is None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_choice_is_a_retyping_whose_changed_words_are_all_known(data):
    text = data.draw(TEXTS)
    vocab = set(data.draw(st.lists(st.sampled_from(_all_words(text)), unique=True)))
    choice = choose(text, lambda w: w in vocab, words)
    if choice is not None:
        assert choice in retypings(text)
        original = words(text)
        assert all(w in vocab for w in words(choice.text) if w not in original)
        assert not any(w in vocab for w in original if sum(c.isalpha() for c in w) >= 3)
