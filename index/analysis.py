"""Text analysis shared by indexing and querying.

The pipeline is a chain of small Whoosh filters, one idea each:

    tokenize -> ApostropheFilter -> TurkicLowercaseFilter -> <field-specific filters>

Field-specific ends of the chain:

* exact:   LetterUnifyFilter            (case and compatible letters only, marks kept)
* key:     SearchKeyFilter              (any script and spelling -> Latin skeleton keys)
* stem:    SnowballFilter(lang) or TurkicSuffixFilter, then SearchKeyFilter

Both sides of a match run the same functions, so whatever collapses on one side collapses
on the other: Latin `Chekhov`, ISO 9 `Čehov`, Czech `Čechov` and Cyrillic `Чехов` all end
as the key `cehov`.

Why hand-written tables and not ICU's transliterators: ICU's Kazakh-Latin/BGN and
Russian-Latin/BGN produce one romanization each ("Qazaq ädebīeti", "Chekhov"); readers type
many (`kazak`, `qazaq`, `Tchekhov`, `Čechov`). A search key must collapse all of them, which
is a different job from transliterating for display.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import Stemmer
from whoosh.analysis import Filter, RegexTokenizer, Token

# Words are runs of letters, digits, combining marks and in-word apostrophes/hyphens are split.
WORD_PATTERN = re.compile(r"[^\W_]+(?:[\'’ʼ`][^\W_]+)*", re.UNICODE)
APOSTROPHES = "'’ʼ`"

MAX_VARIANTS = 8


# --- single-word functions (each filter below is a thin wrapper over one of these) ----------


def turkic_lower(text: str) -> str:
    """Lowercase with the Turkic I rules, in NFKC.

    Python maps İ to "i" + U+0307 and I to "i"; Turkish and Azerbaijani map İ to i and I to ı.
    Every I-like letter is folded to plain i by `search_key` anyway; here the aim is to never
    produce a stray combining dot.
    """
    # NFKC: compatibility forms are the letters they look like (ﬁ, µ, ſ, full-width Ａ).
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("İ", "i").replace("I", "ı")
    return unicodedata.normalize("NFKC", text.lower()).replace("i̇", "i")


# Letters that are the same letter for matching purposes, whatever codepoint was typed.
_UNIFY = str.maketrans(
    {
        "ә": "ə",  # Cyrillic schwa typed for Latin schwa and back
        "ǝ": "ə",  # turned e, used by mistake for schwa
        "ё": "е",
    }
)


def unify_letters(word: str) -> str:
    """Map look-alike and optional letters to one form, keeping all other marks."""
    return word.translate(_UNIFY)


def strip_apostrophe_suffix(word: str) -> str:
    """`İstanbul'da` -> `İstanbul` (Turkish and Azerbaijani write case endings after an
    apostrophe on proper names)."""
    for mark in APOSTROPHES:
        if mark in word:
            return word.split(mark, 1)[0]
    return word


_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_AZ_CYRILLIC_ONLY = set("ҹҝјЈҸҜ")
_TURKIC_SHARED = set("әғөүһӘҒӨҮҺ")
_KAZAKH_ONLY = set("қңұіҚҢҰІ")

# Cyrillic -> Latin for search keys. Values are already in the skeleton alphabet where the
# letter is unambiguous; `г` is resolved per word (Russian/Kazakh g, Azerbaijani q).
_CYRILLIC_TO_LATIN = {
    "а": "a",
    "б": "b",
    "в": "v",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "j",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "ts",
    "ч": "c",
    "ш": "s",
    "щ": "s",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
    # Kazakh
    "ә": "ə",
    "ғ": "g",
    "қ": "k",
    "ң": "n",
    "ө": "o",
    "ұ": "u",
    "ү": "u",
    "һ": "h",
    "і": "i",
    # Azerbaijani Cyrillic (1958-1991)
    "ҹ": "c",
    "ҝ": "g",
    "ј": "i",
    # Ukrainian/Belarusian letters that appear in Russian-language catalogues
    "є": "e",
    "ї": "i",
    "ў": "u",
    "ґ": "g",
}


def cyrillic_g_readings(word: str, language: str | None = None) -> tuple[str, ...]:
    """How `г` may read in this word: `g` (Russian, Kazakh) or `q` (Azerbaijani Cyrillic).

    Knowing the record's language decides it; for a query word we only know its letters.
    """
    if language == "az" or _AZ_CYRILLIC_ONLY & set(word):
        return ("q",)
    if language in ("ru", "kk") or _KAZAKH_ONLY & set(word):
        return ("g",)
    if _TURKIC_SHARED & set(word):
        return ("g", "q")
    return ("g",)


def cyrillic_to_latin(word: str, language: str | None = None) -> list[str]:
    """Romanize the Cyrillic letters of a lowercase word; one result per reading of `г`."""
    if not _CYRILLIC.search(word):
        return [word]
    results = []
    for g in cyrillic_g_readings(word, language):
        table = dict(_CYRILLIC_TO_LATIN, г=g)
        results.append("".join(table.get(ch, ch) for ch in word))
    return results


# Latin letters folded before digraphs are collapsed. ə becomes a placeholder so that it can
# branch into both readings (a, e) below.
_LATIN_FOLD = str.maketrans(
    {
        "ç": "c",
        "ş": "s",
        "ğ": "g",
        "ö": "o",
        "ü": "u",
        "ı": "i",
        "ä": "a",
        "ñ": "n",
        "ū": "u",
        "ž": "j",
        "ß": "ss",
        "æ": "ae",
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "ʹ": "",
        "ʺ": "",
        "'": "",
        "’": "",
        "ʼ": "",
        "`": "",
    }
)

# Applied in order, before and after branching; each collapses spellings readers use for
# one sound. Multi-letter spellings go first so that `tch` is not read as `t` + `ch`.
_DIGRAPHS_FIRST: tuple[tuple[str, str], ...] = (
    ("tsch", "c"),  # German Tschechow
    ("tch", "c"),  # French Tchekhov
    ("shch", "s"),
    ("sch", "s"),
    ("sh", "s"),
    ("dzh", "c"),  # Russian Джалил for Azerbaijani Cəlil
    ("zh", "j"),
    ("kh", "h"),
)
_DIGRAPHS_LAST: tuple[tuple[str, str], ...] = (
    ("dj", "c"),
    ("gh", "g"),
    ("ng", "n"),  # Kazakh ң written ng
    ("q", "k"),
    ("w", "v"),
    ("y", "i"),
)

# Letters and digraphs with two common readings: each yields a branch of keys.
_BRANCHES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ə", ("e", "a")),  # Səməd / Самед; әдебиеті / adebieti
    ("ch", ("c", "h")),  # English Chekhov (ч) / Czech Čechov (х)
    ("x", ("h", "ks")),  # Azerbaijani Xəlil (х) / Alexander (кс)
)

_DOUBLES = re.compile(r"(.)\1+")
_KNOWN_LETTERS = frozenset(_CYRILLIC_TO_LATIN) | {chr(c) for c in _LATIN_FOLD} | {"ə", "г"}


def _strip_marks(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _expand_branches(word: str, single_schwa: bool = False) -> list[str]:
    variants = [word]
    for pattern, readings in _BRANCHES:
        if pattern not in word:
            continue
        if single_schwa and pattern == "ə":
            readings = readings[:1]
        expanded = []
        for variant in variants:
            parts = variant.split(pattern)
            for choice in itertools.product(readings, repeat=len(parts) - 1):
                expanded.append(
                    "".join(p + c for p, c in zip(parts, choice, strict=False)) + parts[-1]
                )
                if len(expanded) >= MAX_VARIANTS:
                    break
        variants = expanded[:MAX_VARIANTS]
    return variants


def _replace_all(word: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for source, target in pairs:
        word = word.replace(source, target)
    return word


_FIRST_READINGS = tuple((pattern, readings[0]) for pattern, readings in _BRANCHES)


def _settle(key: str) -> str:
    """Fold a key again until it stops changing: romanized letters can meet and form a new
    digraph (қ + һ gives "kh"), and a key must fold to itself."""
    while True:
        again = _skeleton(_replace_all(_replace_all(key, _DIGRAPHS_FIRST), _FIRST_READINGS))
        if again == key:
            return key
        key = again


def _skeleton(word: str) -> str:
    word = _replace_all(word, _DIGRAPHS_LAST)
    while True:  # until nothing changes, so that folding a key again gives the same key
        collapsed = _DOUBLES.sub(r"\1", word).replace("ie", "e")
        if collapsed == word:
            return word
        word = collapsed


def search_keys(word: str, language: str | None = None, query: bool = False) -> list[str]:
    """All Latin skeleton keys of one lowercase word, in a stable order, without duplicates.

    >>> search_keys("чехов")
    ['cehov']
    >>> "cehov" in search_keys("chekhov")
    True
    """
    return list(_search_keys(word, language, query))


def _known_letters_first(word: str) -> str:
    """Letters the tables below do not know lose their marks first (Cyrillic `ѐ`, `ӂ`, Latin
    `ǣ`, `ǿ`), so that they fold like their base letter (`е`, `ж`, `æ`, `ø`) and a key
    folds to itself."""
    if word.isascii():
        return word
    return "".join(ch if ch in _KNOWN_LETTERS else _strip_marks(ch) for ch in word)


@lru_cache(maxsize=262_144)
def _search_keys(word: str, language: str | None, query: bool) -> tuple[str, ...]:
    # Words repeat across titles and queries; the cache makes indexing several times faster.
    word = _known_letters_first(unify_letters(word))
    keys: list[str] = []
    for romanized in cyrillic_to_latin(word, language):
        folded = _strip_marks(romanized.replace("ə", "\0").translate(_LATIN_FOLD)).replace(
            "\0", "ə"
        )
        # Indexed words carry every reading of ə (e and a); a query word needs only the
        # first, which every indexed variant set contains: fewer terms to look up.
        for variant in _expand_branches(_replace_all(folded, _DIGRAPHS_FIRST), single_schwa=query):
            key = _settle(_skeleton(variant))
            if key and key not in keys:
                keys.append(key)
    return tuple(keys[:MAX_VARIANTS])


def fold(text: str) -> str:
    """The first search key of every word, space-joined: a readable one-line fold."""
    return " ".join(key for word in words(text) if (key := _fold_word(word)))


@lru_cache(maxsize=262_144)
def _fold_word(word: str) -> str:
    keys = search_keys(turkic_lower(word))
    return keys[0] if keys else ""


def words(text: str) -> list[str]:
    """The words of a text as a reader would count them (after NFKC, like the analyzers)."""
    return WORD_PATTERN.findall(unicodedata.normalize("NFKC", text))


# --- Turkic light stemmer -----------------------------------------------------------------

# Endings of Azerbaijani, Kazakh and Turkish nouns in skeleton spelling (after search_key:
# ı->i, ə->e/a, q->k, ğ->g), longest first. Vowel harmony cannot be checked once letters are
# folded, so both harmony variants are listed and a minimum stem length keeps roots intact.
_TURKIC_ENDINGS = tuple(
    sorted(
        {
            # plural: -lar/-lər, Kazakh -лар/-лер/-дар/-дер/-тар/-тер
            "lar",
            "ler",
            "dar",
            "der",
            "tar",
            "ter",
            # possessive: our, your, his/her, their
            "imiz",
            "umuz",
            "miz",
            "muz",
            "iniz",
            "unuz",
            "niz",
            "nuz",
            "lari",
            "leri",
            "si",
            "su",
            "i",
            "u",
            # genitive, Kazakh -ның/-дың/-тың
            "nin",
            "nun",
            "in",
            "un",
            "din",
            "dun",
            "tin",
            "tun",
            # dative, Kazakh -ға/-ге/-қа/-ке
            "na",
            "ne",
            "ia",
            "a",
            "e",
            "ga",
            "ge",
            "ka",
            "ke",
            # accusative, Kazakh -ны/-ды/-ты
            "ni",
            "nu",
            "di",
            "du",
            "ti",
            "tu",
            # locative and ablative
            "da",
            "de",
            "ta",
            "te",
            "nda",
            "nde",
            "dan",
            "den",
            "tan",
            "ten",
            "nan",
            "nen",
            "ndan",
            "nden",
            # relative locative: -dakı/-deki, Kazakh -дағы/-дегі
            "daki",
            "deki",
            "taki",
            "teki",
            "dagi",
            "degi",
            "tagi",
            "tegi",
            # comitative: ilə/ile, Kazakh мен/бен/пен
            "ile",
            "ila",
            "men",
            "ben",
            "pen",
        },
        key=len,
        reverse=True,
    )
)
_MIN_TURKIC_STEM = 3


@lru_cache(maxsize=262_144)
def turkic_stem(key: str) -> str:
    """Strip stacked suffixes from a skeleton key: `kitablarimizda` -> `kitab`.

    Works on folded keys so that a reader's `kitablarimizda` and the printed
    `kitablarımızda` stem alike. Stops when the rest would be shorter than three letters.
    """
    changed = True
    while changed:
        changed = False
        for ending in _TURKIC_ENDINGS:
            if key.endswith(ending) and len(key) - len(ending) >= _MIN_TURKIC_STEM:
                key = key[: -len(ending)]
                changed = True
                break
    return key


# --- name forms -----------------------------------------------------------------------------

# Surname and patronymic endings, on keys (see `search_keys`): Kazakh -ұлы/-uly/-ulı, Turkish
# and Azerbaijani -oğlu, Russian -оглы/-ogly, Uzbek -o'g'li, and the Russian-style -ov/-ev
# (-yev/-iev fold to -ev in keys). One person's name written by readers of four countries
# meets in one form: Бөкейұлы, Bökeyuly, Bökeyoğlu and Бокеев are all `boke=`.
_NAME_ENDINGS = ("ogli", "oglu", "ugli", "uli", "ulu", "ov", "ev")
_FEMININE_ENDINGS = (("ova", "ov"), ("eva", "ev"))  # Məmmədova is a Məmmədov
NAME_MARK = "="  # keeps a name form apart from any word's key
MIN_NAME_BASE = 3


def name_key(key: str) -> str:
    """The key of a surname or patronymic without its ending, marked: `bokeiuli`,
    `bokeioglu` and `bokeev` -> `boke=`; `ahundova` -> `ahund=`. Other keys are returned
    as they are (a base shorter than MIN_NAME_BASE letters says too little: `lev`)."""
    for feminine, masculine in _FEMININE_ENDINGS:
        if key.endswith(feminine):
            key = key[: -len(feminine)] + masculine
            break
    for ending in _NAME_ENDINGS:
        if key.endswith(ending):
            base = key[: -len(ending)]
            if base.endswith("i"):  # the y of Bökey-, Kunanbay- before the ending
                base = base[:-1]
            if len(base) >= MIN_NAME_BASE:
                return base + NAME_MARK
            return key
    return key


# --- Whoosh filters ------------------------------------------------------------------------


class ApostropheFilter(Filter):
    """Drop what follows an apostrophe: `İstanbul'da` -> `İstanbul` (like Lucene's)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = strip_apostrophe_suffix(t.text)
            yield t


class TurkicLowercaseFilter(Filter):
    """Lowercase with Turkic I rules (Whoosh's LowercaseFilter uses str.lower())."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = turkic_lower(t.text)
            yield t


class LetterUnifyFilter(Filter):
    """ә/ə and ё/е are one letter each; everything else is kept as typed."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = unify_letters(t.text)
            yield t


class SearchKeyFilter(Filter):
    """Replace each token by its Latin skeleton keys (one token per variant, same position)."""

    def __init__(self, language: str | None = None):
        self.language = language

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchKeyFilter) and other.language == self.language

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            for key in search_keys(t.text, self.language, query=t.mode == "query"):
                t.text = key
                yield t


class TurkicSuffixFilter(Filter):
    """Light Azerbaijani/Kazakh/Turkish stemmer over skeleton keys (see `turkic_stem`)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = turkic_stem(t.text)
            yield t


class SnowballFilter(Filter):
    """Snowball stemming through PyStemmer (Whoosh ships no Turkish stemmer)."""

    def __init__(self, language: str):
        self.language = language
        self._stemmer = Stemmer.Stemmer(language)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SnowballFilter) and other.language == self.language

    def __getstate__(self) -> dict:
        return {"language": self.language}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["language"])

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = self._stemmer.stemWord(t.text)
            yield t


class NameFormFilter(Filter):
    """Surname and patronymic endings folded to one form (see `name_key`)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = name_key(t.text)
            yield t


class MinLengthFilter(Filter):
    """Drop empty tokens left after folding (a lone apostrophe, a soft sign)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            if t.text:
                yield t


# --- analyzers ------------------------------------------------------------------------------


class NormalizingTokenizer(RegexTokenizer):
    """Whoosh's RegexTokenizer over the NFKC form of the text, so that compatibility
    characters split into words the same way wherever text is analyzed (¼ is 1⁄4)."""

    def __call__(self, value, **kwargs):
        return super().__call__(unicodedata.normalize("NFKC", value), **kwargs)


def _base():
    return NormalizingTokenizer(WORD_PATTERN) | ApostropheFilter() | TurkicLowercaseFilter()


def exact_analyzer():
    """Words as printed, only case and look-alike letters unified."""
    return _base() | LetterUnifyFilter() | MinLengthFilter()


def key_analyzer(language: str | None = None):
    """Cross-script, mark-insensitive keys (see `search_keys`)."""
    return _base() | SearchKeyFilter(language) | MinLengthFilter()


def name_analyzer():
    """Keys of people's names, their surname and patronymic endings folded."""
    return _base() | SearchKeyFilter() | NameFormFilter() | MinLengthFilter()


SNOWBALL_LANGUAGES = {"ru": "russian", "tr": "turkish", "en": "english"}


def stem_analyzer(language: str):
    """Stemmed keys for one language: Snowball on the word as spelled, then folded, or the
    Turkic suffix stripper on the folded key for Azerbaijani and Kazakh."""
    if language in SNOWBALL_LANGUAGES:
        return (
            _base()
            | LetterUnifyFilter()
            | SnowballFilter(SNOWBALL_LANGUAGES[language])
            | SearchKeyFilter(language)
            | MinLengthFilter()
        )
    return _base() | SearchKeyFilter(language) | TurkicSuffixFilter() | MinLengthFilter()


def analyze(analyzer, text: str, mode: str = "query") -> list[list[str]]:
    """Run an analyzer and group its tokens by word position: [[variants of word 1], ...].

    mode="index" gives every variant an indexed word has; "query" the fewer a query needs.
    """
    groups: dict[int, list[str]] = {}
    for token in analyzer(text, positions=True, mode=mode):
        bucket = groups.setdefault(token.pos, [])
        if token.text not in bucket:
            bucket.append(token.text)
    return [groups[pos] for pos in sorted(groups)]
