"""The search arrays of each live segment: mapped from the file written with the segment,
or built from Whoosh's own files when a segment has none.

Segments written by this package (segment_writer.py) come with their arrays file. A segment
Whoosh wrote itself (a merge of small segments during an update, or an index from before
the arrays files) gets one the first time it is searched: its posting lists, field lengths
and columns are read below Whoosh's public API (the W3 codec's posting blocks and length
columns) and written next to it, so the next process maps it too. That reading is safe
because whoosh-reloaded is pinned exactly and frozen upstream; tests/index/test_arrays.py
compares every array with what Whoosh's own matchers and readers return.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length

from index.segment_arrays import (
    DamagedArrays,
    FieldPostings,
    SegmentArrays,
    SegmentContent,
    arrays_path,
    title_ranks,
    write_search_arrays,
)

# Whoosh stores a field's length per document as one byte (a logarithmic approximation).
LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)

Postings = tuple[np.ndarray, np.ndarray]  # document numbers, weights (float64)
EMPTY_POSTINGS: Postings = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64))


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


def read_length_bytes(reader: SegmentReader, fieldname: str) -> np.ndarray | None:
    """The byte Whoosh stores for a field's length in each document (None: no column, so
    Whoosh's scorers read every length as 1)."""
    count = reader.doc_count_all()
    lenfield = _lenfield(fieldname)
    if not reader._perdoc.has_column(lenfield):
        return None
    column = reader._perdoc.column_reader(lenfield, LENGTHS_COLUMN)
    return _numeric_column(column, count, np.uint8, 0)


def read_lengths(reader: SegmentReader, fieldname: str) -> np.ndarray:
    """The length of a field in each document, as Whoosh's scorers see it."""
    found = read_length_bytes(reader, fieldname)
    return np.ones(reader.doc_count_all()) if found is None else LENGTH_OF_BYTE[found]


def read_numeric_column(reader: SegmentReader, fieldname: str) -> np.ndarray:
    """A numeric column's value for each document (its default where none was stored)."""
    column = reader.column_reader(fieldname, translate=False)
    return _numeric_column(column, reader.doc_count_all(), None, None)


def _numeric_column(column, count: int, dtype, default) -> np.ndarray:
    if isinstance(column, columns.NumericColumn.Reader):
        stored = min(column._count, count)
        raw = column._dbfile.get(column._basepos, stored * column._fixedlen)
        values = np.frombuffer(raw, dtype=np.dtype(column._typecode).newbyteorder(">"))
        native = values.dtype.newbyteorder("=")
        out = np.full(count, column._default if default is None else default, dtype=native)
        out[:stored] = values
        return out.astype(dtype) if dtype is not None else out
    return np.fromiter((column[d] for d in range(count)), dtype=dtype or np.float64, count=count)


def read_bytes_column(reader: SegmentReader, fieldname: str) -> list[bytes]:
    """A bytes column's value for each document."""
    column = reader.column_reader(fieldname, translate=False)
    return [column[d] for d in range(reader.doc_count_all())]


def segment_content(reader: SegmentReader) -> SegmentContent:
    """What a segment's arrays file holds, read from Whoosh's files."""
    schema = reader.schema
    fields = {}
    for name in sorted(set(reader.indexed_field_names()) & set(schema.names())):
        terms = list(reader.lexicon(name))
        if not terms:
            continue
        parts = [read_postings(reader, name, t) for t in terms]
        ends = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(ids) for ids, _ in parts], out=ends[1:])
        weights = np.concatenate([w for _, w in parts])
        fields[name] = FieldPostings(
            terms,
            ends,
            np.concatenate([ids for ids, _ in parts]).astype(np.int32),
            None if (weights == 1.0).all() else weights,
        )
    length_bytes = {}
    for name, fieldobj in schema.items():
        if fieldobj.scorable:
            found = read_length_bytes(reader, name)
            if found is not None:
                length_bytes[name] = found
    numeric, ranks = {}, {}
    for name, fieldobj in schema.items():
        if not fieldobj.column_type or not reader.has_column(name):
            continue
        if isinstance(fieldobj.column_type, columns.VarBytesColumn):
            ranks[name] = title_ranks(read_bytes_column(reader, name))
        else:
            numeric[name] = read_numeric_column(reader, name)
    return SegmentContent(
        segment_id=reader.segment().segment_id(),
        doc_count=reader.doc_count_all(),
        fields=fields,
        length_bytes=length_bytes,
        numeric_columns=numeric,
        title_ranks=ranks,
    )


def ensure_arrays(folder: Path | str, reader: SegmentReader) -> Path:
    """The segment's arrays file, written now if it has none (or a damaged one)."""
    segment = reader.segment()
    path = arrays_path(folder, segment.segment_id())
    try:
        SegmentArrays.open(path, segment.segment_id(), reader.doc_count_all())
        return path
    except (OSError, DamagedArrays):
        return write_search_arrays(folder, segment_content(reader), reader.schema)


class ArrayCache:
    """The mapped arrays of each live segment, and small per-process values derived from
    them. Not thread-safe: SearchIndex searches one at a time."""

    def __init__(self):
        self._segments: dict[str, SegmentArrays] = {}
        self._derived: dict[tuple[str, str, str], Any] = {}
        self._live: set[str] = set()

    def segment(self, reader: SegmentReader, folder: Path | str | None) -> SegmentArrays:
        """The segment's arrays (mapped; written first if the segment has none)."""
        segment_id = reader.segment().segment_id()
        found = self._segments.get(segment_id)
        if found is None:
            found = self._open(reader, folder)
            self._segments[segment_id] = found
        return found

    def _open(self, reader: SegmentReader, folder: Path | str | None) -> SegmentArrays:
        segment = reader.segment()
        if folder is None or not os.access(folder, os.W_OK):
            folder = _private_folder()
        path = ensure_arrays(folder, reader)
        return SegmentArrays.open(path, segment.segment_id(), reader.doc_count_all())

    def derived(
        self, reader: SegmentReader, kind: str, name: str, build: Callable[[SegmentReader], Any]
    ) -> Any:
        """`build(reader)`, computed once per segment."""
        key = (reader.segment().segment_id(), kind, name)
        if key not in self._derived:
            self._derived[key] = build(reader)
        return self._derived[key]

    def keep_only(self, segment_ids: Iterable[str]) -> None:
        """Forget the arrays of segments that are no longer live (merged or rebuilt away)."""
        live = set(segment_ids)
        if live == self._live:
            return
        self._live = live
        for key in [k for k in self._segments if k not in live]:
            del self._segments[key]
        for key in [k for k in self._derived if k[0] not in live]:
            del self._derived[key]


def _private_folder() -> Path:
    """Where arrays go for an index this process cannot write to (a read-only copy)."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / f"karabakh-arrays-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder
