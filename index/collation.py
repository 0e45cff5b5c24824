"""Sort keys in each reader's alphabet (ICU collation).

Python's sorted() puts ç, ə and ı after z; ICU's Azerbaijani collator sorts
a b c ç d e ə f g ğ h x ı i j k q l m n o ö p r s ş t u ü v y z.
"""

from __future__ import annotations

from functools import cache

import icu

SORT_LOCALES = ("az", "kk", "tr", "ru", "en")


@cache
def _collator(locale: str) -> icu.Collator:
    collator = icu.Collator.createInstance(icu.Locale(locale))
    collator.setStrength(icu.Collator.TERTIARY)
    return collator


def sort_key(text: str, locale: str) -> bytes:
    """Bytes whose order is the ICU collation order of `text` in `locale`."""
    return bytes(_collator(locale).getSortKey(text))


def sorted_in(items, locale: str, key=lambda item: item):
    """Sort items by `key(item)` in the alphabet of `locale`."""
    collator = _collator(locale)
    return sorted(items, key=lambda item: collator.getSortKey(key(item)))
