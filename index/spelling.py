"""Index words near a misspelt one: typo expansion and "did you mean".

Whoosh's `terms_within` computes an edit distance in Python against every term of a field
(and its spelling corrector does so once per edit distance), which took hundreds of
milliseconds per word at 55,000 records. Here each segment's term list is read once, grouped
by first letter, and searched with rapidfuzz's C++ optimal-string-alignment distance: the
same restricted Damerau-Levenshtein distance Whoosh uses, where a swap of two neighbouring
letters is one edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapidfuzz import process
from rapidfuzz.distance import OSA

if TYPE_CHECKING:
    from index.evaluate import Evaluator

TermsByInitial = dict[str, list[str]]


def edit_distance(a: str, b: str) -> int:
    return OSA.distance(a, b)


def _terms_by_initial(fieldname: str):
    def build(reader) -> TermsByInitial:
        grouped: TermsByInitial = {}
        for btext in reader.lexicon(fieldname):
            term = btext.decode("utf-8")
            grouped.setdefault(term[:1], []).append(term)
        return grouped

    return build


class Lexicon:
    """The words of the index's text fields, over the evaluator's live segments."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def __contains__(self, term: tuple[str, str]) -> bool:
        fieldname, text = term
        return (fieldname, text) in self.evaluator.searcher.reader()

    def load(self, fieldname: str) -> list[TermsByInitial]:
        """Each live segment's terms of a field, grouped by first letter."""
        return [
            self.evaluator.cache.derived(reader, "lexicon", fieldname, _terms_by_initial(fieldname))
            for _, reader, _ in self.evaluator.leaves
        ]

    def within(
        self, fieldname: str, word: str, maxdist: int, same_initial: bool = False
    ) -> dict[str, int]:
        """Terms at most `maxdist` edits from `word` (and starting with the same letter, if
        `same_initial`), with their distance."""
        found: dict[str, int] = {}
        for grouped in self.load(fieldname):
            groups = [grouped.get(word[:1], [])] if same_initial else list(grouped.values())
            for terms in groups:
                for term, distance, _ in process.extract(
                    word, terms, scorer=OSA.distance, score_cutoff=maxdist, limit=None
                ):
                    found[term] = min(distance, found.get(term, maxdist))
        return found

    def nearest(self, fieldname: str, word: str, maxdist: int) -> str | None:
        """The closest other term, the more frequent first among equally close ones."""
        found = self.within(fieldname, word, maxdist)
        found.pop(word, None)
        if not found:
            return None
        searcher = self.evaluator.searcher
        return min(found, key=lambda t: (found[t], -searcher.doc_frequency(fieldname, t), t))
