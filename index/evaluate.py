"""Evaluate a Whoosh query over whole arrays: the matches and BM25F scores Whoosh's matchers
give, computed with numpy over every document at once instead of one posting at a time.

A query is evaluated into `Scored`: a score and a matched flag for each document number of
the searcher. Term, Or, And, AndMaybe, ConstantScoreQuery, Every and NullQuery (what
index/query.py builds) are evaluated here with Whoosh's scores; any other query except
Prefix (see `_prefix`, for autocomplete) falls back to Whoosh's own matcher.
tests/index/test_evaluate.py holds the two to the same matches and scores.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.reading import SegmentReader
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from index.arrays import ArrayCache

MAX_PREFIX_TERMS = 200


@dataclass
class Scored:
    scores: np.ndarray  # float64 per document number
    matched: np.ndarray  # bool per document number


class Evaluator:
    """Evaluates queries against one searcher (one state of the index)."""

    def __init__(self, searcher: Searcher, cache: ArrayCache):
        self.searcher = searcher
        self.cache = cache
        self.size = searcher.doc_count_all()
        # An empty index has one leaf with no segment and no documents: nothing to read.
        self.leaves = [
            (sub, sub.reader(), offset)
            for sub, offset in searcher.leaf_searchers()
            if isinstance(sub.reader(), SegmentReader)
        ]
        cache.keep_only(reader.segment().segment_id() for _, reader, _ in self.leaves)
        weighting = searcher.weighting
        self._bm25 = type(weighting) is BM25F and not weighting._field_B
        self._live: np.ndarray | None = None

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
        if kind is wq.Every and q.fieldname in (None, "", "*"):
            return Scored(np.full(self.size, float(q.boost)), self.live().copy())
        if q is wq.NullQuery:
            return self.empty()
        return self._by_whoosh(q)

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
        if constant is None and (not self._bm25 or q.minquality):
            self._add(self._by_whoosh(q), out)
            return
        found = [
            (reader, offset, *self.cache.postings(reader, q.fieldname, btext))
            for _, reader, offset in self.leaves
        ]
        found = [f for f in found if len(f[2])]
        if not found:
            return  # (and Whoosh's idf of a term in no document is undefined)
        scorable = constant is None and fieldobj.scorable
        if scorable:
            idf = self.searcher.idf(q.fieldname, btext)
            avg_length = self.searcher.avg_field_length(q.fieldname) or 1
            weighting = self.searcher.weighting
            b, k1 = weighting.B, weighting.K1
        for reader, offset, ids, weights in found:
            if constant is not None:
                scores = np.full(len(ids), float(constant))
            elif scorable:
                lengths = self.cache.lengths(reader, q.fieldname)[ids]
                scores = bm25(idf, weights, lengths, avg_length, b, k1)
            else:
                scores = weights
            if q.boost != 1.0 and constant is None:
                scores = scores * q.boost
            out.scores[ids + offset] += scores
            out.matched[ids + offset] = True

    def _prefix(self, q: wq.Prefix) -> Scored:
        """Documents with a word starting with the prefix, each scoring the query's boost.
        Only the `MAX_PREFIX_TERMS` most frequent completions per segment are taken: a one-
        or two-letter prefix has thousands."""
        out = self.empty()
        if q.fieldname not in self.searcher.schema:
            return out
        for _, reader, offset in self.leaves:
            terms, frequencies = self.cache.derived(
                reader, "completions", q.fieldname, _completions(q.fieldname)
            )
            start = bisect.bisect_left(terms, q.text)
            end = bisect.bisect_left(terms, q.text + "\U0010ffff")
            chosen = np.arange(start, end)
            if len(chosen) > MAX_PREFIX_TERMS:
                most = np.argpartition(-frequencies[start:end], MAX_PREFIX_TERMS)
                chosen = np.sort(chosen[most[:MAX_PREFIX_TERMS]])
            for i in chosen:
                ids, _ = self.cache.postings(reader, q.fieldname, terms[i].encode("utf-8"))
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


def _completions(fieldname: str):
    """A segment's terms of a field in order, with their document frequencies."""

    def build(reader) -> tuple[list[str], np.ndarray]:
        terms, frequencies = [], []
        for btext, info in reader.iter_field(fieldname):
            terms.append(btext.decode("utf-8"))
            frequencies.append(info.doc_frequency())
        return terms, np.array(frequencies, dtype=np.int64)

    return build


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
