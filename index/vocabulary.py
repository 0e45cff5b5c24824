"""Controlled vocabularies matched at query time: subject headings and language names.

A subject has a heading in each portal language ("Poetry", "Poeziya", "Поэзия", "Şiir").
Rather than index all five headings in every record (dozens of postings per record), the
headings are analyzed once here; a query word that matches a heading word (by key or stem)
becomes a term on the record's subject key. The same goes for language names, so that
"Kazakh epics" or "казахские сказки" find books in Kazakh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache

from babel import Locale, UnknownLocaleError

from index.analysis import analyze, key_analyzer, stem_analyzer, turkic_lower, unify_letters, words
from index.function_words import FUNCTION_WORDS

UI_LANGUAGES = ("az", "kk", "tr", "ru", "en")
STEMMERS = ("ru", "tr", "en", "turkic")


@cache
def _analyzers():
    return [key_analyzer()] + [stem_analyzer(lang) for lang in STEMMERS]


def word_forms(text: str) -> list[set[str]]:
    """For each word of a text but its function words: every key and stem it is matched by."""
    text = " ".join(w for w in words(text) if unify_letters(turkic_lower(w)) not in FUNCTION_WORDS)
    groups: list[set[str]] = []
    for analyzer in _analyzers():
        for position, forms in enumerate(analyze(analyzer, text)):
            while len(groups) <= position:
                groups.append(set())
            groups[position].update(forms)
    return groups


class Vocabulary:
    """Maps word forms to the values of one field (subject keys, language codes)."""

    def __init__(self, fieldname: str, labels: Mapping[str, Sequence[str]]):
        self.fieldname = fieldname
        self._values: dict[str, set[str]] = defaultdict(set)
        for value, names in labels.items():
            for name in {value, *names}:
                for forms in word_forms(name):
                    for form in forms:
                        if len(form) >= 3:  # "of", "və", "и" must not select a subject
                            self._values[form].add(value)

    def values_for(self, forms: set[str]) -> set[str]:
        found: set[str] = set()
        for form in forms:
            found |= self._values.get(form, set())
        return found


def language_labels(
    codes: Sequence[str], ui_languages: Sequence[str] = UI_LANGUAGES
) -> dict[str, list[str]]:
    """Each language's name in each of the readers' languages (Babel/CLDR)."""
    labels: dict[str, list[str]] = {}
    for code in codes:
        names = []
        for ui in ui_languages:
            try:
                name = Locale(ui).languages.get(code)
            except (ValueError, UnknownLocaleError):
                name = None
            if name:
                names.append(name)
        labels[code] = names
    return labels
