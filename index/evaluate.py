"""Evaluate a Whoosh query over whole arrays: the matches and BM25F scores Whoosh's matchers
give, computed with numpy over whole posting lists instead of one posting at a time.

A query is evaluated into `Scored`: the matching document numbers (sorted) and their scores.
The work grows with the postings read, not with the catalog: a word's terms are summed in
a scratch array the size of the catalog, touched only where postings fall, in the order
Whoosh's scorer adds them (so the sums are bit for bit the same), and only the touched
places are read back. Term, Or, And, AndMaybe, ConstantScoreQuery, Every, NullQuery (what
index/query.py builds) and a NumericRange on a field with a value per document (year
filters) are evaluated here with Whoosh's scores, from each segment's mapped arrays
(segment_arrays.py); any other query except Prefix (see `_prefix`, for autocomplete) falls
back to Whoosh's own matcher. tests/index/test_evaluate.py holds the two to the same
matches and scores.

Every term read is charged to the search's `Budget`; once it is spent, further terms are
skipped and the result is marked partial (see searcher.py for what is cut first).
"""

from __future__ import annotations

import bisect
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
SPARSE_SHARE = 256  # fewer postings than 1/256 of the catalog: distinct documents by sorting
FLAGS_ABOVE = 4_096  # membership of long lists through a flag per document


@dataclass
class Scored:
    """Matching documents: sorted, distinct document numbers and a score for each."""

    docs: np.ndarray  # int64, ascending
    values: np.ndarray  # float64 score of each
    size: int  # documents in the searcher

    @property
    def matched(self) -> np.ndarray:
        """A flag per document number (for callers that want the dense form)."""
        out = np.zeros(self.size, dtype=bool)
        out[self.docs] = True
        return out

    @property
    def scores(self) -> np.ndarray:
        """A score per document number, 0 where not matched (the dense form)."""
        out = np.zeros(self.size)
        out[self.docs] = self.values
        return out

    def score_of(self, docs: np.ndarray) -> np.ndarray:
        """Scores of the given documents (each must match)."""
        if docs is self.docs:
            return self.values
        return self.values[np.searchsorted(self.docs, docs)]


def member(docs: np.ndarray, of: np.ndarray, size: int = 0) -> np.ndarray:
    """For each of the sorted `docs`, whether it is in the sorted `of` (by binary search,
    or, when both are long and `size` documents are known, through flags)."""
    if not len(of) or not len(docs):
        return np.zeros(len(docs), dtype=bool)
    if size and len(of) > FLAGS_ABOVE and len(docs) > FLAGS_ABOVE:
        flags = np.zeros(size, dtype=bool)
        flags[of] = True
        return flags[docs]
    at = np.searchsorted(of, docs)
    at[at == len(of)] = len(of) - 1
    return of[at] == docs


@dataclass
class Budget:
    """The work one search may do: term lookups, postings read and words compared for
    typos. Generous enough that no reader's query comes near it (the benchmark's mixed
    queries use a few percent); a crafted one stops there, with what it has found so far.
    Deterministic (counted work, not time), so a cut result is the same on every run."""

    terms: int = 3_000
    postings: int = 4_000_000
    words: int = 2_000_000
    spent_terms: int = 0
    spent_postings: int = 0
    spent_words: int = 0
    exhausted: bool = field(default=False)

    def allows(self, terms: int = 1) -> bool:
        """Charge `terms` lookups; False (and exhausted from then on) once over."""
        if self.exhausted:
            return False
        self.spent_terms += terms
        self._check()
        return not self.exhausted

    def allows_scan(self, words: int) -> bool:
        """Charge comparing a query word with `words` index words."""
        if self.exhausted:
            return False
        self.spent_words += words
        self._check()
        return not self.exhausted

    def read(self, postings: int) -> None:
        self.spent_postings += postings

    def _check(self) -> None:
        self.exhausted = (
            self.spent_terms > self.terms
            or self.spent_postings > self.postings
            or self.spent_words > self.words
        )


def _folder(searcher: Searcher) -> Path | None:
    storage = getattr(getattr(searcher, "_ix", None), "storage", None)
    folder = getattr(storage, "folder", None)
    return Path(folder) if folder else None


class Evaluator:
    """Evaluates queries against one searcher (one state of the index)."""

    def __init__(self, searcher: Searcher, cache: ArrayCache, budget: Budget | None = None):
        self.searcher = searcher
        self.cache = cache
        self.budget = budget or Budget(UNLIMITED, UNLIMITED, UNLIMITED)
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
        self._dead: np.ndarray | bool | None = None
        self._average_lengths: dict[str, float] = {}
        self._sums: np.ndarray | None = None  # scratch: a running score per document
        self._flags: np.ndarray | None = None  # scratch: a flag per document, all clear
        self._memo: dict[wq.Query, Scored] = {}

    def segments(self):
        """(reader, offset, arrays) of each live segment."""
        return [
            (reader, offset, arrays)
            for (_, reader, offset), arrays in zip(self.leaves, self.arrays, strict=True)
        ]

    def empty(self) -> Scored:
        return Scored(np.zeros(0, dtype=np.int64), np.zeros(0), self.size)

    def _deleted(self) -> np.ndarray | None:
        """A flag per document number for deleted documents (None: nothing deleted)."""
        if self._dead is None:
            dead = np.zeros(self.size, dtype=bool)
            for _, reader, offset in self.leaves:
                if reader.has_deletions():
                    deleted = np.fromiter(reader.deleted_docs_set, dtype=np.int64)
                    dead[deleted + offset] = True
            self._dead = dead if dead.any() else False
        return None if self._dead is False else self._dead

    def live(self) -> np.ndarray:
        """Documents not deleted (a flag per document number)."""
        dead = self._deleted()
        return np.ones(self.size, dtype=bool) if dead is None else ~dead

    def live_docs(self, docs: np.ndarray) -> np.ndarray:
        """The given sorted documents less the deleted ones."""
        dead = self._deleted()
        return docs if dead is None else docs[~dead[docs]]

    def evaluate(self, q: wq.Query) -> Scored:
        kind = type(q)
        if kind is wq.Term:
            return self._or([q])
        if kind is wq.Or and q.boost == 1.0 and q.scale is None and not q.minmatch:
            # A word's clauses: a search's second pass (any word instead of every word)
            # and its "did you mean" reuse them.
            found = self._memo.get(q)
            if found is None:
                found = self._memo[q] = self._or(q.subqueries)
            return found
        if kind is wq.And and q.boost == 1.0:
            return self._and(q.subqueries)
        if kind is wq.AndMaybe and q.boost == 1.0:
            return self._and_maybe(q.a, q.b)
        if kind is wq.ConstantScoreQuery:
            child = self.evaluate(q.child)
            return Scored(child.docs, np.full(len(child.docs), float(q.score)), self.size)
        if kind is wq.Prefix:
            return self._prefix(q)
        if kind is wq.NumericRange and self._has_numbers(q.fieldname):
            return self._numeric_range(q)
        if kind is wq.Every and q.fieldname in (None, "", "*"):
            docs = self.live_docs(np.arange(self.size, dtype=np.int64))
            return Scored(docs, np.full(len(docs), float(q.boost)), self.size)
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

    def _term_parts(self, q: wq.Term, constant: float | None = None):
        """A term's (document numbers, scores) per segment that has it; `constant` scores
        every posting alike (an edition's score)."""
        if q.fieldname not in self.searcher.schema:
            return []
        fieldobj = self.searcher.schema[q.fieldname]
        try:
            btext = fieldobj.to_bytes(q.text)
        except ValueError:
            return []
        if not self.budget.allows():
            return []
        if constant is None and (not self._bm25 or q.minquality):
            found = self._by_whoosh(q)
            return [(found.docs, found.values)] if len(found.docs) else []
        found = self.postings(q.fieldname, btext)
        if not found:
            return []  # (and Whoosh's idf of a term in no document is undefined)
        scorable = constant is None and fieldobj.scorable
        if scorable:
            frequency = sum(m.doc_frequency(i) for _, _, m, i in found)
            idf = math.log(self.size / (frequency + 1)) + 1  # Whoosh's WeightingModel.idf
            avg_length = self._average_length(q.fieldname)
            weighting = self.searcher.weighting
            b, k1 = weighting.B, weighting.K1
        parts = []
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
            parts.append((ids.astype(np.int64) + offset, scores))
        return parts

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
        parts = []
        for (_, _, offset), arrays in zip(self.leaves, self.arrays, strict=True):
            values = arrays.number(q.fieldname)
            inside = (values >= low) & (values <= high) & (values != MISSING_NUMBER)
            parts.append(np.flatnonzero(inside) + offset)
        docs = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return Scored(docs, np.full(len(docs), float(q.boost)), self.size)

    def _prefix(self, q: wq.Prefix) -> Scored:
        """Documents with a word starting with the prefix, each scoring the query's boost.
        Only the `MAX_PREFIX_TERMS` most frequent completions per segment are taken: a one-
        or two-letter prefix has thousands."""
        if q.fieldname not in self.searcher.schema:
            return self.empty()
        prefix = q.text.encode("utf-8")
        parts = []
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
            parts += [mapped.postings(int(i))[0].astype(np.int64) + offset for i in chosen]
        docs = self._union(parts)
        return Scored(docs, np.full(len(docs), float(q.boost)), self.size)

    def _union(self, parts: list[np.ndarray]) -> np.ndarray:
        """The sorted distinct documents of several lists (by sorting when they are few,
        else by flags over the catalog)."""
        if not parts:
            return np.zeros(0, dtype=np.int64)
        count = sum(len(p) for p in parts)
        if count * SPARSE_SHARE < self.size:
            return np.unique(np.concatenate(parts))
        if self._flags is None:
            self._flags = np.zeros(self.size, dtype=bool)
        flags = self._flags
        for p in parts:
            flags[p] = True
        docs = np.flatnonzero(flags)
        flags[docs] = False  # all clear again for the next union
        return docs

    def _sum(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> Scored:
        """Each document's scores summed in the order of `parts`, as Whoosh's Or adds its
        clauses (a part holds each document at most once)."""
        if not parts:
            return self.empty()
        if len(parts) == 1:
            return Scored(parts[0][0], parts[0][1].astype(np.float64), self.size)
        if self._sums is None:
            self._sums = np.zeros(self.size)
        sums = self._sums
        for ids, scores in parts:
            sums[ids] += scores
        docs = self._union([ids for ids, _ in parts])
        values = sums[docs]
        sums[docs] = 0.0  # the scratch is all zeros again for the next sum
        return Scored(docs, values, self.size)

    def _or(self, subqueries) -> Scored:
        # Other queries first, so that the running sums below are not shared with theirs.
        evaluated = {
            i: self.evaluate(sub) for i, sub in enumerate(subqueries) if not _term_like(sub)
        }
        parts = []
        for i, sub in enumerate(subqueries):
            if type(sub) is wq.Term:
                parts += self._term_parts(sub)
            elif type(sub) is wq.ConstantScoreQuery and type(sub.child) is wq.Term:
                parts += self._term_parts(sub.child, constant=sub.score)
            elif len(evaluated[i].docs):
                parts.append((evaluated[i].docs, evaluated[i].values))
        return self._sum(parts)

    def _and(self, subqueries) -> Scored:
        """Documents every part matches. A part cut short by the budget is left out (with
        the parts after it): a cut search finds what matches the words it could read."""
        parts = []
        for sub in subqueries:
            spent = self.budget.exhausted
            part = self.evaluate(sub)
            if self.budget.exhausted and not spent:
                break
            parts.append(part)
        if not parts:
            return self.empty()
        docs = min(parts, key=lambda p: len(p.docs)).docs
        for part in parts:
            if part.docs is not docs:
                docs = docs[member(docs, part.docs, self.size)]
        values = np.zeros(len(docs))
        for part in parts:  # in order, as Whoosh adds them
            values += part.score_of(docs)
        return Scored(docs, values, self.size)

    def _and_maybe(self, required: wq.Query, optional: wq.Query) -> Scored:
        a, b = self.evaluate(required), self.evaluate(optional)
        both = member(a.docs, b.docs)
        values = a.values.copy()
        values[both] += b.score_of(a.docs[both])
        return Scored(a.docs, values, self.size)

    def _by_whoosh(self, q: wq.Query) -> Scored:
        """Whoosh's own matcher, one posting at a time (any query this module does not
        evaluate itself)."""
        found: dict[int, float] = {}
        for sub, _, offset in self.leaves:
            matcher = q.matcher(sub)
            while matcher.is_active():
                docnum = matcher.id() + offset
                found[docnum] = found.get(docnum, 0.0) + matcher.score()
                matcher.next()
        docs = np.array(sorted(found), dtype=np.int64)
        return Scored(docs, np.array([found[d] for d in docs.tolist()]), self.size)

    def matches(self, q: wq.Query, within: np.ndarray | None = None) -> np.ndarray:
        """Live documents the query matches (and in the sorted `within`, if given), sorted."""
        docs = self.live_docs(self._match(q))
        return docs if within is None else docs[member(docs, within, self.size)]

    def _match(self, q: wq.Query) -> np.ndarray:
        """The documents a query matches, unscored (filters, counts)."""
        kind = type(q)
        if kind is wq.Term:  # segments hold disjoint, ascending document numbers
            parts = self._term_docs(q)
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if kind is wq.Or and q.scale is None and not q.minmatch:
            return self._union([self._match(sub) for sub in q.subqueries])
        if kind is wq.And:
            docs = None
            for sub in q.subqueries:
                found = self._match(sub)
                docs = found if docs is None else docs[member(docs, found, self.size)]
            return np.zeros(0, dtype=np.int64) if docs is None else docs
        if kind is wq.ConstantScoreQuery:
            return self._match(q.child)
        return self.evaluate(q).docs

    def _term_docs(self, q: wq.Term) -> list[np.ndarray]:
        """A term's documents in each segment that has it (no scores)."""
        if q.fieldname not in self.searcher.schema:
            return []
        try:
            btext = self.searcher.schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return []
        if not self.budget.allows():
            return []
        parts = []
        for offset, _, mapped, i in self.postings(q.fieldname, btext):
            ids = mapped.postings(i)[0]
            self.budget.read(len(ids))
            parts.append(ids.astype(np.int64) + offset)
        return parts

    def term_of(self, fieldname: str, docnum: int) -> str | None:
        """A document's term in a one-term-per-document field (record id, work), from the
        arrays rather than the stored fields."""
        offsets = [offset for _, _, offset in self.leaves]
        i = bisect.bisect_right(offsets, docnum) - 1
        found = self.arrays[i].doc_term(fieldname, docnum - offsets[i])
        return None if found is None else found.decode("utf-8")

    def stored(self, docnum: int) -> dict:
        return self.searcher.stored_fields(int(docnum))


def _term_like(q: wq.Query) -> bool:
    return type(q) is wq.Term or (type(q) is wq.ConstantScoreQuery and type(q.child) is wq.Term)


def bm25(idf, tf, lengths, avg_length, b, k1):
    """whoosh.scoring.bm25, on arrays."""
    return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * lengths / avg_length)))


def top(scored: Scored, docs: np.ndarray, limit: int | None) -> np.ndarray:
    """The given matched documents (sorted) by score, highest first, equal scores by
    document number (Whoosh's order), at most `limit`."""
    values = scored.score_of(docs)
    if limit is not None and len(docs) > limit:
        # Everything scoring at least the limit-th best, so ties at the edge sort as a whole.
        threshold = np.partition(values, len(values) - limit)[len(values) - limit]
        keep = values >= threshold
        docs, values = docs[keep], values[keep]
    order = np.lexsort((docs, -values))
    return docs[order][:limit]
