"""Evaluate a Whoosh query over whole arrays: the matches and BM25F scores Whoosh's matchers
give, computed with numpy over every document at once instead of one posting at a time.

A query is evaluated into `Scored`: a score and a matched flag for each document number of
the searcher. Term, Or, And, AndMaybe, ConstantScoreQuery, Every, NullQuery (what
index/query.py builds) and a NumericRange on a field with a value per document (year
filters) are evaluated here with Whoosh's scores, from each segment's mapped arrays
(segment_arrays.py); any other query except Prefix (see `_prefix`, for autocomplete) falls
back to Whoosh's own matcher. tests/index/test_evaluate.py holds the two to the same
matches and scores.

Every term read is charged to the search's `Budget`; once it is spent, further terms are
skipped and the result is marked partial (see searcher.py for what is cut first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import query as wq
from whoosh.reading import SegmentReader
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from index.arrays import LENGTH_OF_BYTE, ArrayCache
from index.segment_arrays import MISSING_NUMBER, SegmentArrays

MAX_PREFIX_TERMS = 200
UNLIMITED = 2**62


@dataclass
class Scored:
    scores: np.ndarray  # float64 per document number
    matched: np.ndarray  # bool per document number


@dataclass
class Budget:
    """The work one search may do, counted in term lookups and postings read. Generous
    enough that no reader's query comes near it (the benchmark's mixed queries use a few
    percent); a crafted one stops there, with what it has found so far."""

    terms: int = 3_000
    postings: int = 4_000_000
    spent_terms: int = 0
    spent_postings: int = 0
    exhausted: bool = field(default=False)

    def allows(self, terms: int = 1) -> bool:
        """Charge `terms` lookups; False (and exhausted from then on) once over."""
        if self.exhausted:
            return False
        self.spent_terms += terms
        if self.spent_terms > self.terms or self.spent_postings > self.postings:
            self.exhausted = True
        return not self.exhausted

    def read(self, postings: int) -> None:
        self.spent_postings += postings


def _folder(searcher: Searcher) -> Path | None:
    storage = getattr(getattr(searcher, "_ix", None), "storage", None)
    folder = getattr(storage, "folder", None)
    return Path(folder) if folder else None


class Evaluator:
    """Evaluates queries against one searcher (one state of the index)."""

    def __init__(self, searcher: Searcher, cache: ArrayCache, budget: Budget | None = None):
        self.searcher = searcher
        self.cache = cache
        self.budget = budget or Budget(terms=UNLIMITED, postings=UNLIMITED)
        self.size = searcher.doc_count_all()
        # An empty index has one leaf with no segment and no documents: nothing to read.
        self.leaves = [
            (sub, sub.reader(), offset)
            for sub, offset in searcher.leaf_searchers()
            if isinstance(sub.reader(), SegmentReader)
        ]
        cache.keep_only(reader.segment().segment_id() for _, reader, _ in self.leaves)
        folder = _folder(searcher)
        self.arrays: list[SegmentArrays] = [
            cache.segment(reader, folder) for _, reader, _ in self.leaves
        ]
        weighting = searcher.weighting
        self._bm25 = type(weighting) is BM25F and not weighting._field_B
        self._live: np.ndarray | None = None
        self._average_lengths: dict[str, float] = {}

    def segments(self):
        """(reader, offset, arrays) of each live segment."""
        return [
            (reader, offset, arrays)
            for (_, reader, offset), arrays in zip(self.leaves, self.arrays, strict=True)
        ]

    def per_document(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Per-segment arrays joined into one over the searcher's document numbers."""
        return np.concatenate(arrays) if arrays else np.zeros(0)

    def empty(self) -> Scored:
        return Scored(np.zeros(self.size), np.zeros(self.size, dtype=bool))

    def live(self) -> np.ndarray:
        """Documents not deleted."""
        if self._live is None:
            live = np.ones(self.size, dtype=bool)
            for _, reader, offset in self.leaves:
                if reader.has_deletions():
                    deleted = np.fromiter(reader.deleted_docs_set, dtype=np.int64)
                    live[deleted + offset] = False
            self._live = live
        return self._live

    def evaluate(self, q: wq.Query) -> Scored:
        kind = type(q)
        if kind is wq.Term:
            out = self.empty()
            self._add_term(q, out)
            return out
        if kind is wq.Or and q.boost == 1.0 and q.scale is None and not q.minmatch:
            return self._or(q.subqueries)
        if kind is wq.And and q.boost == 1.0:
            return self._and(q.subqueries)
        if kind is wq.AndMaybe and q.boost == 1.0:
            return self._and_maybe(q.a, q.b)
        if kind is wq.ConstantScoreQuery:
            child = self.evaluate(q.child)
            return Scored(np.where(child.matched, q.score, 0.0), child.matched)
        if kind is wq.Prefix:
            return self._prefix(q)
        if kind is wq.NumericRange and self._has_numbers(q.fieldname):
            return self._numeric_range(q)
        if kind is wq.Every and q.fieldname in (None, "", "*"):
            return Scored(np.full(self.size, float(q.boost)), self.live().copy())
        if q is wq.NullQuery:
            return self.empty()
        return self._by_whoosh(q)

    def postings(self, fieldname: str, btext: bytes):
        """(offset, arrays field, term index) of the term in each segment that has it."""
        found = []
        for (_, _, offset), arrays in zip(self.leaves, self.arrays, strict=True):
            mapped = arrays.field(fieldname)
            if mapped is not None:
                i = mapped.find(btext)
                if i >= 0:
                    found.append((offset, arrays, mapped, i))
        return found

    def doc_frequency(self, fieldname: str, btext: bytes) -> int:
        """Documents with the term, deleted ones included (as Whoosh counts them)."""
        return sum(m.doc_frequency(i) for _, _, m, i in self.postings(fieldname, btext))

    def contains(self, fieldname: str, btext: bytes) -> bool:
        return bool(self.postings(fieldname, btext))

    def _average_length(self, fieldname: str) -> float:
        found = self._average_lengths.get(fieldname)
        if found is None:
            found = self._average_lengths[fieldname] = (
                self.searcher.avg_field_length(fieldname) or 1
            )
        return found

    def _add_term(self, q: wq.Term, out: Scored, constant: float | None = None) -> None:
        """Add a term's scores (or a `constant` score) to `out` in place (a term's postings
        hold each document once, so plain fancy-index addition is exact)."""
        if q.fieldname not in self.searcher.schema:
            return
        fieldobj = self.searcher.schema[q.fieldname]
        try:
            btext = fieldobj.to_bytes(q.text)
        except ValueError:
            return
        if not self.budget.allows():
            return
        if constant is None and (not self._bm25 or q.minquality):
            self._add(self._by_whoosh(q), out)
            return
        found = self.postings(q.fieldname, btext)
        if not found:
            return  # (and Whoosh's idf of a term in no document is undefined)
        scorable = constant is None and fieldobj.scorable
        if scorable:
            frequency = sum(m.doc_frequency(i) for _, _, m, i in found)
            idf = math.log(self.size / (frequency + 1)) + 1  # Whoosh's WeightingModel.idf
            avg_length = self._average_length(q.fieldname)
            weighting = self.searcher.weighting
            b, k1 = weighting.B, weighting.K1
        for offset, arrays, mapped, i in found:
            ids, weights = mapped.postings(i)
            self.budget.read(len(ids))
            if constant is not None:
                scores = np.full(len(ids), float(constant))
            elif scorable:
                length_bytes = arrays.lengths(q.fieldname)
                # No length column: Whoosh's scorers read every length as 1.
                lengths = 1.0 if length_bytes is None else LENGTH_OF_BYTE[length_bytes[ids]]
                scores = bm25(idf, weights, lengths, avg_length, b, k1)
            else:
                scores = weights
            if q.boost != 1.0 and constant is None:
                scores = scores * q.boost
            ids = ids + offset
            out.scores[ids] += scores
            out.matched[ids] = True

    def _has_numbers(self, fieldname: str) -> bool:
        return all(a.number(fieldname) is not None for a in self.arrays)

    def _numeric_range(self, q: wq.NumericRange) -> Scored:
        """Documents whose value lies in the range, from each segment's value per document
        (Whoosh would walk a term per precision step); each scores the query's boost, as
        Whoosh's constant-score range does."""
        fieldobj = self.searcher.schema[q.fieldname]
        lowest, highest = int(fieldobj.min_value), int(fieldobj.max_value)
        low = lowest if q.start is None else int(q.start) + bool(q.startexcl)
        high = highest if q.end is None else int(q.end) - bool(q.endexcl)
        low, high = max(low, lowest), min(high, highest)  # no value lies outside the field's
        out = self.empty()
        for (_, _, offset), arrays in zip(self.leaves, self.arrays, strict=True):
            values = arrays.number(q.fieldname)
            inside = (values >= low) & (values <= high) & (values != MISSING_NUMBER)
            out.matched[offset : offset + len(values)] = inside
        out.scores[out.matched] = q.boost
        return out

    def _prefix(self, q: wq.Prefix) -> Scored:
        """Documents with a word starting with the prefix, each scoring the query's boost.
        Only the `MAX_PREFIX_TERMS` most frequent completions per segment are taken: a one-
        or two-letter prefix has thousands."""
        out = self.empty()
        if q.fieldname not in self.searcher.schema:
            return out
        prefix = q.text.encode("utf-8")
        for (_, _, offset), arrays in zip(self.leaves, self.arrays, strict=True):
            mapped = arrays.field(q.fieldname)
            if mapped is None:
                continue
            start, end = mapped.prefix_range(prefix)
            chosen = np.arange(start, end)
            if len(chosen) > MAX_PREFIX_TERMS:
                frequencies = np.diff(mapped.ends[start : end + 1])
                most = np.argpartition(-frequencies, MAX_PREFIX_TERMS)
                chosen = np.sort(chosen[most[:MAX_PREFIX_TERMS]])
            for i in chosen:
                ids, _ = mapped.postings(int(i))
                out.matched[ids + offset] = True
        out.scores[out.matched] = q.boost
        return out

    @staticmethod
    def _add(part: Scored, out: Scored) -> None:
        out.scores += np.where(part.matched, part.scores, 0.0)
        out.matched |= part.matched

    def _or(self, subqueries) -> Scored:
        out = self.empty()
        for sub in subqueries:
            if type(sub) is wq.Term:
                self._add_term(sub, out)
            elif type(sub) is wq.ConstantScoreQuery and type(sub.child) is wq.Term:
                self._add_term(sub.child, out, constant=sub.score)
            else:
                self._add(self.evaluate(sub), out)
        return out

    def _and(self, subqueries) -> Scored:
        if not subqueries:
            return self.empty()
        parts = [self.evaluate(sub) for sub in subqueries]
        matched = parts[0].matched.copy()
        for part in parts[1:]:
            matched &= part.matched
        scores = np.zeros(self.size)
        for part in parts:
            scores += part.scores
        return Scored(np.where(matched, scores, 0.0), matched)

    def _and_maybe(self, required: wq.Query, optional: wq.Query) -> Scored:
        a, b = self.evaluate(required), self.evaluate(optional)
        scores = a.scores + np.where(b.matched, b.scores, 0.0)
        return Scored(np.where(a.matched, scores, 0.0), a.matched)

    def _by_whoosh(self, q: wq.Query) -> Scored:
        """Whoosh's own matcher, one posting at a time (any query this module does not
        evaluate itself)."""
        out = self.empty()
        for sub, _, offset in self.leaves:
            matcher = q.matcher(sub)
            while matcher.is_active():
                docnum = matcher.id() + offset
                out.scores[docnum] += matcher.score()
                out.matched[docnum] = True
                matcher.next()
        return out

    def matches(self, q: wq.Query, within: np.ndarray | None = None) -> np.ndarray:
        """Live documents the query matches (and `within`, if given)."""
        matched = self.evaluate(q).matched & self.live()
        return matched & within if within is not None else matched

    def stored(self, docnum: int) -> dict:
        return self.searcher.stored_fields(int(docnum))


def bm25(idf, tf, lengths, avg_length, b, k1):
    """whoosh.scoring.bm25, on arrays."""
    return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * lengths / avg_length)))


def top(scores: np.ndarray, matched: np.ndarray, limit: int | None) -> np.ndarray:
    """Matched document numbers by score, highest first, equal scores by document number
    (Whoosh's order), at most `limit`."""
    docnums = np.flatnonzero(matched)
    values = scores[docnums]
    if limit is not None and len(docnums) > limit:
        # Everything scoring at least the limit-th best, so ties at the edge sort as a whole.
        threshold = np.partition(values, len(values) - limit)[len(values) - limit]
        keep = values >= threshold
        docnums, values = docnums[keep], values[keep]
    order = np.lexsort((docnums, -values))
    return docnums[order][:limit]
