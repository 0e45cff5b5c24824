"""A segment's posting lists, field lengths and columns as numpy arrays, read once and kept.

Whoosh walks postings one document at a time in Python, and a search for a common word
spends nearly all its time there. A segment never changes once written (only its deletion
set does), so a term's whole posting list can be read into arrays once and reused by every
search while the segment is live; index/evaluate.py then works on whole arrays.

Reading goes below Whoosh's public API (the W3 codec's posting blocks and length columns).
That is safe because whoosh-reloaded is pinned exactly and frozen upstream; the tests compare
every array with what Whoosh's own matchers and readers return.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length

# Whoosh stores a field's length per document as one byte (a logarithmic approximation).
LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
MAX_POSTING_BYTES = 256 * 2**20

Postings = tuple[np.ndarray, np.ndarray]  # document numbers (int64), weights (float64)
EMPTY_POSTINGS: Postings = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


def read_postings(reader: SegmentReader, fieldname: str, btext: bytes) -> Postings:
    """Every posting of a term in one segment, deleted documents included (as in Whoosh's
    raw postings: callers mask deletions once, at the end)."""
    if (fieldname, btext) not in reader:
        return EMPTY_POSTINGS
    fieldobj = reader.schema[fieldname]
    matcher = reader._terms.matcher(fieldname, btext, fieldobj.format)
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        return _read_blocks(matcher)
    ids, weights = [], []
    while matcher.is_active():  # terms stored inline in the term dictionary
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def _read_blocks(matcher: W3LeafMatcher) -> Postings:
    """The posting blocks of a W3 matcher, decoded a block at a time (each block is a
    pickled tuple of delta-coded ids and weights)."""
    id_parts, weight_parts = [], []
    while True:
        matcher._read_data()
        deltas, weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        id_parts.append(np.cumsum(np.array(deltas, dtype=np.int64)))
        if weights is None:
            weight_parts.append(np.ones(count))
        elif isinstance(weights, float):
            weight_parts.append(np.full(count, weights))
        else:
            weight_parts.append(np.array(weights, dtype=np.float64))
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return np.concatenate(id_parts), np.concatenate(weight_parts)


def read_lengths(reader: SegmentReader, fieldname: str) -> np.ndarray:
    """The length of a field in each document, as Whoosh's scorers see it (a document with
    no length column reads as 1, Whoosh's default for scoring)."""
    count = reader.doc_count_all()
    perdoc = reader._perdoc
    lenfield = _lenfield(fieldname)
    if not perdoc.has_column(lenfield):
        return np.ones(count)
    column = perdoc.column_reader(lenfield, LENGTHS_COLUMN)
    return LENGTH_OF_BYTE[_numeric_column(column, count, np.uint8, 0)]


def read_numeric_column(reader: SegmentReader, fieldname: str) -> np.ndarray:
    """A numeric column's value for each document (its default where none was stored)."""
    column = reader.column_reader(fieldname, translate=False)
    return _numeric_column(column, reader.doc_count_all(), None, None)


def _numeric_column(column, count: int, dtype, default) -> np.ndarray:
    if isinstance(column, columns.NumericColumn.Reader):
        stored = min(column._count, count)
        raw = column._dbfile.get(column._basepos, stored * column._fixedlen)
        values = np.frombuffer(raw, dtype=np.dtype(column._typecode).newbyteorder(">"))
        out = np.full(count, column._default if default is None else default, dtype=values.dtype)
        out[:stored] = values
        return out.astype(dtype) if dtype is not None else out
    return np.fromiter((column[d] for d in range(count)), dtype=dtype or np.float64, count=count)


def read_bytes_column(reader: SegmentReader, fieldname: str) -> list[bytes]:
    """A bytes column's value for each document."""
    column = reader.column_reader(fieldname, translate=False)
    return [column[d] for d in range(reader.doc_count_all())]


class ArrayCache:
    """Arrays per live segment: posting lists (least recently used first out, within a byte
    budget), field lengths and columns. Not thread-safe: SearchIndex searches one at a time.
    """

    def __init__(self, max_posting_bytes: int = MAX_POSTING_BYTES):
        self.max_posting_bytes = max_posting_bytes
        self._postings: OrderedDict[tuple[str, str, bytes], Postings] = OrderedDict()
        self._posting_bytes = 0
        self._derived: dict[tuple[str, str, str], Any] = {}
        self._live: set[str] = set()

    def postings(self, reader: SegmentReader, fieldname: str, btext: bytes) -> Postings:
        key = (reader.segment().segment_id(), fieldname, btext)
        found = self._postings.get(key)
        if found is not None:
            self._postings.move_to_end(key)
            return found
        found = read_postings(reader, fieldname, btext)
        self._postings[key] = found
        self._posting_bytes += _size(found)
        while self._posting_bytes > self.max_posting_bytes and len(self._postings) > 1:
            _, dropped = self._postings.popitem(last=False)
            self._posting_bytes -= _size(dropped)
        return found

    def derived(
        self, reader: SegmentReader, kind: str, name: str, build: Callable[[SegmentReader], Any]
    ) -> Any:
        """`build(reader)`, computed once per segment (lengths, columns, facet tables)."""
        key = (reader.segment().segment_id(), kind, name)
        if key not in self._derived:
            self._derived[key] = build(reader)
        return self._derived[key]

    def lengths(self, reader: SegmentReader, fieldname: str) -> np.ndarray:
        return self.derived(reader, "lengths", fieldname, lambda r: read_lengths(r, fieldname))

    def keep_only(self, segment_ids: Iterable[str]) -> None:
        """Forget the arrays of segments that are no longer live (merged or rebuilt away)."""
        live = set(segment_ids)
        if live == self._live:
            return
        self._live = live
        for key in [k for k in self._postings if k[0] not in live]:
            self._posting_bytes -= _size(self._postings.pop(key))
        for key in [k for k in self._derived if k[0] not in live]:
            del self._derived[key]


ENTRY_OVERHEAD = 256  # two array objects, a tuple and a dict entry


def _size(postings: Postings) -> int:
    return postings[0].nbytes + postings[1].nbytes + ENTRY_OVERHEAD
