"""Index words near a misspelt one: typo expansion and "did you mean".

Whoosh's `terms_within` computes an edit distance in Python against every term of a field
(and its spelling corrector does so once per edit distance). Here each segment's arrays
file holds the field's words grouped by length and first letter (segment_arrays.Lexicon);
only the groups a word can be within `maxdist` edits of are read (a word is at least as
many edits away as the lengths differ), and they are searched with rapidfuzz's C++
optimal-string-alignment distance: the same restricted Damerau-Levenshtein distance Whoosh
uses, where a swap of two neighbouring letters is one edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapidfuzz import process
from rapidfuzz.distance import OSA

if TYPE_CHECKING:
    from index.evaluate import Evaluator


def edit_distance(a: str, b: str) -> int:
    return OSA.distance(a, b)


class Lexicon:
    """The words of the index's text fields, over the evaluator's live segments."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def __contains__(self, term: tuple[str, str]) -> bool:
        fieldname, text = term
        return self.evaluator.contains(fieldname, text.encode("utf-8"))

    def candidates(self, fieldname: str, word: str, maxdist: int, same_initial: bool):
        """Each segment's words whose length is within `maxdist` of the word's."""
        initial = word[:1] if same_initial else None
        for arrays in self.evaluator.arrays:
            lexicon = arrays.lexicon(fieldname)
            if lexicon is None:
                continue
            for length in range(max(1, len(word) - maxdist), len(word) + maxdist + 1):
                found = lexicon.words(length, initial)
                if found:
                    yield found

    def within(
        self, fieldname: str, word: str, maxdist: int, same_initial: bool = False
    ) -> dict[str, int]:
        """Terms at most `maxdist` edits from `word` (and starting with the same letter, if
        `same_initial`), with their distance."""
        found: dict[str, int] = {}
        budget = self.evaluator.budget
        for terms in self.candidates(fieldname, word, maxdist, same_initial):
            if not budget.allows_scan(len(terms)):
                break
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
        frequency = self.evaluator.doc_frequency
        return min(found, key=lambda t: (found[t], -frequency(fieldname, t.encode("utf-8")), t))
