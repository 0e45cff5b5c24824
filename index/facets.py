"""Facet counts over every record a search matched, fast enough for 500,000 records.

Whoosh's overlapping FieldFacet rebuilds a document->values map from the postings of every
term on every search. Here each segment's values are read once from one column (segments
never change, only their deletions do) and kept while the segment is live; a search then
counts the values of its matching documents.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from whoosh import query as wq
from whoosh.searching import Searcher

FACETS = ("language", "library", "district", "donor", "subject", "year")
FIELD_SEPARATOR = "\x1f"
VALUE_SEPARATOR = "\x1e"


def encode(values: dict[str, Iterable[str]]) -> bytes:
    """One record's facet values, for the `facet_values` column."""
    return FIELD_SEPARATOR.join(
        VALUE_SEPARATOR.join(str(v) for v in values.get(name) or () if v not in (None, ""))
        for name in FACETS
    ).encode("utf-8")


def _decode(raw: bytes) -> tuple[tuple[str, ...], ...]:
    parts = raw.decode("utf-8").split(FIELD_SEPARATOR) if raw else []
    parts += [""] * (len(FACETS) - len(parts))
    return tuple(tuple(p.split(VALUE_SEPARATOR)) if p else () for p in parts)


class FacetCounter:
    """Per-segment caches of facet values; thread-safe; forgets segments no longer live."""

    def __init__(self):
        self._lock = threading.Lock()
        self._segments: dict[str, list[tuple[tuple[str, ...], ...]]] = {}

    def _values(self, reader) -> list[tuple[tuple[str, ...], ...]]:
        key = reader.segment().segment_id()
        with self._lock:
            cached = self._segments.get(key)
        if cached is None:
            if reader.has_column("facet_values"):
                column = reader.column_reader("facet_values")
                cached = [_decode(raw) for raw in column]
            else:
                cached = [((),) * len(FACETS)] * reader.doc_count_all()
            with self._lock:
                self._segments[key] = cached
        return cached

    def count(self, searcher: Searcher, q: wq.Query) -> dict[str, Counter]:
        counts = {name: Counter() for name in FACETS}
        live = set()
        for subsearcher, _offset in searcher.leaf_searchers():
            reader = subsearcher.reader()
            live.add(reader.segment().segment_id())
            values = self._values(reader)
            deleted = reader.has_deletions()
            for docnum in q.docs(subsearcher):
                if deleted and reader.is_deleted(docnum):
                    continue
                for counter, found in zip(counts.values(), values[docnum], strict=True):
                    counter.update(found)
        with self._lock:
            for gone in set(self._segments) - live:
                del self._segments[gone]
        return counts
