"""The terms a document gives each index field, as Whoosh's `field.index()` gives them, with
each distinct word analyzed once.

Whoosh runs a field's whole analyzer chain over every token of every document (a dozen
Python generator steps per token and field). Titles and names share a small vocabulary, and
every filter here works on one token at a time, so the chain's output for a word is the
same wherever the word appears: it is computed once and reused. A field whose analyzer is
not of that shape is indexed by Whoosh's own `field.index()`.

tests/index/test_terms.py holds every field's terms and frequencies to `field.index()`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

from whoosh import analysis, fields, formats

from index.analysis import NormalizingTokenizer

Terms = list[tuple[bytes, int]]  # (term, frequency) for each distinct term of a value
WORD_CACHE_SIZE = 500_000
VALUE_CACHE_SIZE = 200_000

# Filters that look at one token at a time and keep no state between tokens: a word's
# output does not depend on its neighbours.
_PER_TOKEN_FILTERS = (analysis.StripFilter, analysis.LowercaseFilter)


def _per_token(item) -> bool:
    from index import analysis as ours

    return isinstance(
        item,
        (
            *_PER_TOKEN_FILTERS,
            ours.ApostropheFilter,
            ours.TurkicLowercaseFilter,
            ours.LetterUnifyFilter,
            ours.SearchKeyFilter,
            ours.TurkicSuffixFilter,
            ours.SnowballFilter,
            ours.MinLengthFilter,
            ours.NameFormFilter,
        ),
    )


class FieldIndexer:
    """A field's `index()` for whole values: the distinct terms with their frequencies.
    Whole values are remembered too: names, publishers, libraries and years repeat."""

    def __init__(self, fieldobj: fields.FieldType):
        self.fieldobj = fieldobj
        self.existence = isinstance(fieldobj.format, formats.Existence)
        self.by_word = False  # terms(value) is the words' terms, each word's counted
        self._compute: Callable[[object], Terms] = self._choose()
        self._words: dict[str, tuple[bytes, ...]] = {}
        self._values: dict[object, Terms] = {}

    def terms(self, value) -> Terms:
        found = self._values.get(value)
        if found is None:
            found = self._compute(value)
            if len(self._values) >= VALUE_CACHE_SIZE:
                self._values.clear()
            self._values[value] = found
        return found

    def _choose(self) -> Callable[[object], Terms]:
        analyzer = getattr(self.fieldobj, "analyzer", None)
        if isinstance(self.fieldobj, fields.NUMERIC) or analyzer is None:
            return self._whoosh
        if isinstance(analyzer, analysis.IDTokenizer):
            return self._whole_value
        tokenizer, filters = analyzer, []
        if isinstance(analyzer, analysis.CompositeAnalyzer):
            tokenizer, *filters = analyzer.items
        if (
            type(tokenizer) in (analysis.RegexTokenizer, NormalizingTokenizer)
            and not tokenizer.gaps
            and tokenizer.expression.groups == 0
            and all(_per_token(f) for f in filters)
        ):
            self._normalize = type(tokenizer) is NormalizingTokenizer
            self._pattern = tokenizer.expression
            self._analyzer = analyzer
            self.by_word = not self.existence
            return self._by_word
        return self._whoosh

    def _whoosh(self, value) -> Terms:
        return [(btext, freq) for btext, freq, _weight, _value in self.fieldobj.index(value)]

    def _whole_value(self, value) -> Terms:  # IDTokenizer: the value is the one token
        return [(value.encode("utf-8"), 1)]

    def tokens(self, value: str) -> list[str]:
        """The value's tokens, as the field's tokenizer splits it."""
        return _tokens(self._pattern, self._normalize, value)

    def word(self, token: str) -> tuple[bytes, ...]:
        return self._word(token)

    def _word(self, token: str) -> tuple[bytes, ...]:
        """The analyzer's output for one token (a token analyzed alone is itself: the
        tokenizer's patterns match maximal runs)."""
        found = self._words.get(token)
        if found is None:
            found = tuple(t.text.encode("utf-8") for t in self._analyzer(token, mode="index"))
            if len(self._words) >= WORD_CACHE_SIZE:
                self._words.clear()
            self._words[token] = found
        return found

    def _by_word(self, value) -> Terms:
        if not isinstance(value, str):
            return self._whoosh(value)
        word = self._word
        outputs = [term for token in self.tokens(value) for term in word(token)]
        if self.existence:
            return [(term, 1) for term in sorted(set(outputs))]
        distinct = set(outputs)
        if len(distinct) == len(outputs):
            return [(term, 1) for term in outputs]
        return list(Counter(outputs).items())


@lru_cache(maxsize=16)
def _tokens(pattern: re.Pattern, normalize: bool, value: str) -> list[str]:
    """Remembered briefly: a document's title is split for several fields in a row."""
    if normalize:
        value = unicodedata.normalize("NFKC", value)
    return pattern.findall(value)


def field_indexers(schema: fields.Schema) -> dict[str, FieldIndexer]:
    """An indexer for every indexed field of the schema."""
    return {name: FieldIndexer(field) for name, field in schema.items() if field.indexed}
