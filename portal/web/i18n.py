"""Portal languages on the web: negotiation, gettext catalogs, and number/date formatting.

The languages themselves are listed once, in portal/languages.py. Catalogs are read from the
package's `locales/<code>/LC_MESSAGES/messages.po` and compiled by Babel in memory when a
worker first needs them: nothing is written next to the installed package.
"""

from __future__ import annotations

import io
import os
import re
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from portal import languages
from portal.errors import Message
from portal.resources import LOCALES

LANGUAGES = languages.CODES
DEFAULT_LANGUAGE = languages.DEFAULT
LOCALES_DIR = LOCALES
COOKIE = "lang"
NATIVE_NAMES = {language.code: language.native_name for language in languages.LANGUAGES}


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (q-values honoured)."""
    weighted = []
    for position, part in enumerate(header.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The reader's language: a saved choice, then the browser's preference, then az."""
    if cookie in LANGUAGES:
        return cookie
    preferred = parse_accept_language(accept_language or "")
    found = Locale.negotiate(preferred, list(LANGUAGES), sep="-") if preferred else None
    if found is None:
        # Locale.negotiate matches whole tags first; also try each tag's primary language.
        for tag in preferred:
            primary = tag.split("-")[0].lower()
            if primary in LANGUAGES:
                return primary
        return DEFAULT_LANGUAGE
    return str(found.language)


def po_path(lang: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / lang / "LC_MESSAGES" / "messages.po"


def compile_catalog(lang: str, locales_dir: Path = LOCALES_DIR) -> NullTranslations:
    """A language's .po compiled by Babel in memory (NullTranslations if it has none)."""
    path = po_path(lang, locales_dir)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}|</?[a-zA-Z][^>]*>")


def _marks(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


class SafeTranslations:
    """gettext and friends that fall back to the source text when a translation's
    placeholders or tags do not match it, so a broken translation never breaks a page."""

    def __init__(self, catalog: NullTranslations):
        self.catalog = catalog

    def gettext(self, message: str) -> str:
        translated = self.catalog.gettext(message)
        return translated if _marks(translated) == _marks(message) else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        translated = self.catalog.ngettext(singular, plural, n)
        # a singular form may leave out the count ("one copy"), so a subset is fine
        if _marks(translated) <= _marks(plural) | _marks(singular):
            return translated
        return singular if n == 1 else plural

    def pgettext(self, context: str, message: str) -> str:
        translated = self.catalog.pgettext(context, message)
        return translated if _marks(translated) == _marks(message) else message

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        translated = self.catalog.npgettext(context, singular, plural, n)
        if _marks(translated) <= _marks(plural) | _marks(singular):
            return translated
        return singular if n == 1 else plural

    def translate(self, message: Message | str) -> str:
        """A domain message in this language (plain strings are data: shown as they are)."""
        return message.translate(self) if isinstance(message, Message) else message


def catalog_complete(lang: str, locales_dir: Path = LOCALES_DIR) -> bool:
    """True if every message of a language is translated and none is fuzzy."""
    path = po_path(lang, locales_dir)
    if not path.exists():
        return False
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(strings):
            return False
    return True


@cache
def offered_languages() -> tuple[str, ...]:
    """Languages shown in the switcher: complete ones, unless PORTAL_OFFER_INCOMPLETE=1.

    English is the source language and is always complete.
    """
    if os.environ.get("PORTAL_OFFER_INCOMPLETE") == "1":
        return LANGUAGES
    return tuple(lang for lang in LANGUAGES if lang == languages.SOURCE or catalog_complete(lang))


@cache
def translations(lang: str) -> SafeTranslations:
    return SafeTranslations(compile_catalog(lang))


@cache
def _locale(lang: str) -> Locale:
    # One Locale per language: a Locale loads its CLDR data once, under Babel's global lock.
    return Locale.parse(lang)


def load_locale_data() -> None:
    """Load each portal language's catalog and CLDR data now (numbers, dates, names)."""
    for lang in LANGUAGES:
        translations(lang)
        locale = _locale(lang)
        locale.decimal_formats, locale.date_formats, locale.languages  # noqa: B018


def format_number(value: int | float, lang: str) -> str:
    return format_decimal(value, locale=_locale(lang))


def format_day(value: date, lang: str) -> str:
    return format_date(value, format="long", locale=_locale(lang))


def format_month(value: date, lang: str) -> str:
    return format_date(value, "LLLL y", locale=_locale(lang))


def language_name(code: str, lang: str) -> str:
    """A language's name in the reader's language (Babel/CLDR), e.g. kk in ru: казахский."""
    try:
        name = _locale(lang).languages.get(code)
    except ValueError:
        name = None
    return name or code
