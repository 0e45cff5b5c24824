"""The portal's languages: one entry each, and everything else derives from this list.

Read by the web layer (URL prefixes, negotiation, the language switcher, quotes), the
translators' tools (which catalogs exist, their plural rules), the catalog (which names a
library, district or donor has), the index (one title order per collation locale) and the
tests. Adding a language is one entry here, one `locales/<code>/LC_MESSAGES/messages.po` and
its names in the reference data (docs/translating.md, "Adding a language").
"""

from __future__ import annotations

from dataclasses import dataclass

# GNU gettext's plural rule for languages with two forms (Babel writes nplurals=1 for
# Turkish; Weblate and translate-toolkit use two, which keeps "1 copy" natural).
TWO_FORMS = "nplurals=2; plural=(n != 1);"
RUSSIAN_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1: URL prefix, catalog folder, Babel locale
    native_name: str  # in the switcher, in its own language
    plural_forms: str  # the Plural-Forms header of its .po file
    collation: str  # ICU locale whose alphabet sorts titles for its readers
    stemmer: str  # "russian", "turkish", "english" (Snowball) or "turkic" (index/analysis.py)
    quotes: tuple[str, str]  # how a title is quoted in running text
    layouts: tuple[str, ...]  # keyboard layouts its readers type with (index/layouts.py)

    def quote(self, text: str) -> str:
        return f"{self.quotes[0]}{text}{self.quotes[1]}"


LANGUAGES: tuple[Language, ...] = (
    Language("az", "azərbaycan", TWO_FORMS, "az", "turkic", ("“", "”"), ("az", "ru", "us")),
    Language("kk", "қазақ тілі", TWO_FORMS, "kk", "turkic", ("«", "»"), ("kk", "ru", "us")),
    Language("tr", "Türkçe", TWO_FORMS, "tr", "turkish", ("“", "”"), ("tr", "us")),
    Language("ru", "русский", RUSSIAN_FORMS, "ru", "russian", ("«", "»"), ("ru", "us")),
    Language("en", "English", TWO_FORMS, "en", "english", ("“", "”"), ("us",)),
    # (a new language goes above this line)
)

CODES: tuple[str, ...] = tuple(language.code for language in LANGUAGES)
DEFAULT = "az"  # the campaign's language: where a reader's preference says nothing
SOURCE = "en"  # the language the texts are written in (its catalog is always complete)
_BY_CODE = {language.code: language for language in LANGUAGES}


def get(code: str) -> Language:
    """The language with this code; KeyError for one the portal does not speak."""
    return _BY_CODE[code]


def is_language(code: object) -> bool:
    return isinstance(code, str) and code in _BY_CODE


def collations() -> tuple[str, ...]:
    """The ICU locales the index keeps a title order for (one per portal language)."""
    return tuple(dict.fromkeys(language.collation for language in LANGUAGES))
