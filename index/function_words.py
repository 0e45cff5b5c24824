"""Words that join others in every language of the catalog.

They never decide which book is wanted: no query requires them, a record that matches only
them is not a result, and they never select a subject heading ("and" in "Arts and crafts").
Written as typed, lowercased with Turkic rules and ə/ә unified (`unify_letters`).
"""

from __future__ import annotations

from index.analysis import unify_letters

_WRITTEN = frozenset(
    {
        # English
        *("a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "with", "by"),
        *("from", "about", "is"),
        # Azerbaijani
        *("və", "ilə", "ya", "yaxud", "bu", "bir", "üçün", "da", "də", "ki", "haqqında"),
        *("kimi", "hər"),
        # Turkish
        *("ve", "ile", "veya", "şu", "için", "de", "gibi", "hakkında", "her"),
        # Russian
        *("и", "в", "во", "на", "с", "со", "о", "об", "по", "для", "из", "к", "ко", "не"),
        *("а", "но", "или", "у", "от", "до", "за", "про"),
        # Kazakh
        *("мен", "және", "пен", "бен", "да", "де", "та", "те", "үшін", "бұл", "бір"),
        *("туралы", "немесе"),
    }
)
FUNCTION_WORDS = frozenset(unify_letters(word) for word in _WRITTEN)
