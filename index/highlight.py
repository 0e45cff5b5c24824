"""Mark the words of a title that a query matched, in the title's own script."""

from __future__ import annotations

from functools import lru_cache

from index.analysis import (
    WORD_PATTERN,
    search_keys,
    strip_apostrophe_suffix,
    turkic_lower,
    unify_letters,
)
from index.query import QueryWord
from index.schema import key_text, title_stems
from index.spelling import edit_distance

Segment = tuple[str, bool]


@lru_cache(maxsize=65_536)
def _word_forms(word: str, language: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """A title word's exact form, search keys and stems."""
    lowered = turkic_lower(strip_apostrophe_suffix(word))
    return (
        unify_letters(lowered),
        frozenset(search_keys(lowered, language)),
        frozenset(title_stems(word, language, "")),
    )


def _word_matches(word: str, language: str, query_words: list[QueryWord]) -> bool:
    exact, keys, stems = _word_forms(word, language)
    for q in query_words:
        if q.exact == exact or keys & set(q.keys) or stems & q.all_stems():
            return True
        if q.typos and any(
            edit_distance(k, qk) <= q.typos and k[:1] == qk[:1] for k in keys for qk in q.keys[:2]
        ):
            return True
    return False


def highlight(
    title: str, language: str, script: str, query_words: list[QueryWord]
) -> list[Segment]:
    """Split `title` into (text, matched) segments; joined they give the title back."""
    if not query_words:
        return [(title, False)]
    keyed = key_text(title, language, script)
    segments: list[Segment] = []
    position = 0
    for match in WORD_PATTERN.finditer(keyed):
        start, end = match.span()
        if not _word_matches(match.group(), language, query_words):
            continue
        if start > position:
            segments.append((title[position:start], False))
        segments.append((title[start:end], True))
        position = end
    if position < len(title):
        segments.append((title[position:], False))
    return segments
