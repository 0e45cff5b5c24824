"""Index documents analyzed into arrays, ready to be written as one Whoosh segment.

A `SegmentBuilder` takes documents (the dicts `schema.to_document` makes) and keeps, per
field, each document's term numbers and frequencies in flat arrays, plus field lengths,
stored values and column values: what Whoosh's writer would put in its posting pool, minus
the per-posting tuples. Batches built in several processes are joined in order by
`merge_batches` into a `BulkSegment`: per field, the terms sorted as Whoosh sorts them and
their posting lists, which segment_writer.py writes out.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from array import array
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass

import numpy as np
from whoosh import formats
from whoosh.fields import Schema
from whoosh.util.numeric import _length_byte_cache

from index.segment_arrays import FieldPostings
from index.terms import field_indexers

LENGTH_BYTE_LIMITS = np.frombuffer(_length_byte_cache, dtype=np.int32).astype(np.int64)


def length_bytes(lengths: np.ndarray) -> np.ndarray:
    """whoosh.util.numeric.length_to_byte on an array (0 stays 0)."""
    out = np.searchsorted(LENGTH_BYTE_LIMITS, lengths, side="left")
    out[lengths >= 106374] = 255
    return out.astype(np.uint8)


def compress_stored(value: bytes) -> bytes:
    """`value` as a zlib stream of stored (uncompressed) blocks, which is what Whoosh's
    stored-fields column decompresses. Deflating 200 bytes costs 10-20 µs a document (zlib
    sets up its window and tables each time) for about a quarter of their size."""
    parts = [b"\x78\x01"]
    for start in range(0, max(len(value), 1), 65_535):
        chunk = value[start : start + 65_535]
        last = start + 65_535 >= len(value)
        parts.append(bytes([last]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    parts.append(struct.pack(">I", zlib.adler32(value)))
    return b"".join(parts)


@dataclass
class Batch:
    """Documents analyzed into arrays; terms are numbered in order of first appearance."""

    count: int
    terms: dict[str, list[bytes]]  # field -> the batch's terms, by number
    postings: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # term nos, freqs, and
    # the number of terms of each document (document d's come after those of d - 1)
    lengths: dict[str, np.ndarray]  # scorable field -> token count per document
    stored: list[bytes]  # compressed pickled stored fields per document
    numeric: dict[str, tuple[np.ndarray, np.ndarray]]  # column -> (values, present)
    byte_columns: dict[str, list[bytes]]  # column -> value per document


class SegmentBuilder:
    """Collects documents into a `Batch`."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.indexers = field_indexers(schema)
        self.indexed = sorted(self.indexers)
        self.scorable = {n for n in self.indexed if schema[n].scorable}
        self.stored_names = sorted(n for n, f in schema.items() if f.stored)
        self.numeric_columns = sorted(
            n for n, f in schema.items() if f.column_type and not _bytes_column(f)
        )
        self.bytes_columns = sorted(
            n for n, f in schema.items() if f.column_type and _bytes_column(f)
        )
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self._vocab: dict[str, dict[bytes, int]] = {n: {} for n in self.indexed}
        self._term_nos = {n: array("i") for n in self.indexed}
        self._freqs = {n: array("i") for n in self.indexed}
        self._counts = {n: array("i") for n in self.indexed}
        self._lengths = {n: array("i") for n in self.scorable}
        # One tuple per field, so that `add` does no dictionary lookups per field.
        self._word_numbers: dict[str, dict[str, tuple[int, ...]]] = {n: {} for n in self.indexed}
        self._slots = [
            (
                n,
                {},
                self._term_nos[n],
                self._freqs[n],
                self._counts[n],
                self._lengths.get(n),
            )
            for n in self.indexed
        ]
        self._stored: list[bytes] = []
        self._numeric = {n: (array("q"), array("b")) for n in self.numeric_columns}
        self._bytes: dict[str, list[bytes]] = {n: [] for n in self.bytes_columns}

    def _learn(self, name: str, value, known: dict) -> tuple:
        """A value's term numbers, frequencies, term count and length (remembered: names,
        publishers, libraries and years repeat)."""
        indexer = self.indexers[name]
        if indexer.by_word and isinstance(value, str):
            found = self._by_word(name, indexer, value)
        else:
            vocab = self._vocab[name]
            pairs = indexer.terms(value)
            numbers = array("i", [vocab.setdefault(t, len(vocab)) for t, _ in pairs])
            freqs = array("i", [f for _, f in pairs])
            found = (numbers, freqs, len(numbers), sum(freqs))
        with suppress(TypeError):  # an unhashable value (a list) is analyzed each time
            known[value] = found
        return found

    def _by_word(self, name: str, indexer, value: str) -> tuple:
        """Term numbers of a text field's value from each word's numbers (a word's terms
        are looked up once per batch)."""
        words = self._word_numbers[name]
        numbers: list[int] = []
        for token in indexer.tokens(value):
            found = words.get(token)
            if found is None:
                vocab = self._vocab[name]
                found = tuple(vocab.setdefault(t, len(vocab)) for t in indexer.word(token))
                words[token] = found
            numbers += found
        length = len(numbers)
        if len(set(numbers)) == length:
            return array("i", numbers), array("i", [1]) * length, length, length
        counted = Counter(numbers)
        return array("i", counted), array("i", counted.values()), len(counted), length

    def add(self, document: dict) -> None:
        self.count += 1
        get = document.get
        for name, known, term_nos, freqs, counts, lengths in self._slots:
            value = get(name)
            if value is None:
                counts.append(0)
                if lengths is not None:
                    lengths.append(0)
                continue
            try:
                found = known.get(value) or self._learn(name, value, known)
            except TypeError:
                found = self._learn(name, value, {})
            term_nos.extend(found[0])
            freqs.extend(found[1])
            counts.append(found[2])
            if lengths is not None:
                lengths.append(found[3])
        stored = {n: document[n] for n in self.stored_names if get(n) is not None}
        self._stored.append(compress_stored(pickle.dumps(stored, 2)))
        for name in self.numeric_columns:
            value = get(name)
            values, present = self._numeric[name]
            if value is None:
                values.append(0)
                present.append(0)
            else:
                values.append(self.schema[name].to_column_value(value))
                present.append(1)
        for name in self.bytes_columns:
            value = get(name)
            self._bytes[name].append(
                b"" if value is None else self.schema[name].to_column_value(value)
            )

    def batch(self) -> Batch:
        """What was added since the last reset, as arrays (and start afresh)."""
        done = Batch(
            count=self.count,
            terms={n: list(v) for n, v in self._vocab.items()},
            postings={
                n: (
                    np.frombuffer(self._term_nos[n], dtype=np.int32).copy(),
                    np.frombuffer(self._freqs[n], dtype=np.int32).copy(),
                    np.frombuffer(self._counts[n], dtype=np.int32).copy(),
                )
                for n in self.indexed
            },
            lengths={n: np.frombuffer(v, dtype=np.int32).copy() for n, v in self._lengths.items()},
            stored=self._stored,
            numeric={
                n: (np.frombuffer(v, dtype=np.int64).copy(), np.frombuffer(p, dtype=np.int8) > 0)
                for n, (v, p) in self._numeric.items()
            },
            byte_columns=self._bytes,
        )
        self.reset()
        return done


def _bytes_column(fieldobj) -> bool:
    from whoosh import columns

    return isinstance(fieldobj.column_type, columns.VarBytesColumn)


@dataclass
class BulkSegment:
    """A whole segment's content, merged from batches in document order."""

    doc_count: int
    fields: dict[str, FieldPostings]  # sorted terms, postings; weights as Whoosh's
    freqs: dict[str, np.ndarray]  # field -> frequency per posting (Frequency fields)
    lengths: dict[str, np.ndarray]  # scorable field -> token count per document
    stored: list[bytes]
    numeric: dict[str, tuple[np.ndarray, np.ndarray]]
    byte_columns: dict[str, list[bytes]]


def merge_batches(schema: Schema, batches: list[Batch]) -> BulkSegment:
    """Join batches (documents numbered in batch order) into one segment's content."""
    offsets = np.cumsum([0] + [b.count for b in batches])
    doc_count = int(offsets[-1])
    names = sorted({n for b in batches for n in b.terms})
    fields, freqs = {}, {}
    for name in names:
        posting, frequencies = _merge_field(schema, name, batches, offsets)
        if posting is not None:
            fields[name], freqs[name] = posting, frequencies
    lengths = (
        {
            name: np.concatenate([b.lengths[name] for b in batches]).astype(np.int64)
            for name in batches[0].lengths
        }
        if batches
        else {}
    )
    numeric = {
        name: (
            np.concatenate([b.numeric[name][0] for b in batches]),
            np.concatenate([b.numeric[name][1] for b in batches]),
        )
        for name in (batches[0].numeric if batches else {})
    }
    byte_columns = {
        name: [v for b in batches for v in b.byte_columns[name]]
        for name in (batches[0].byte_columns if batches else {})
    }
    stored = [v for b in batches for v in b.stored]
    return BulkSegment(doc_count, fields, freqs, lengths, stored, numeric, byte_columns)


def _merge_field(schema: Schema, name: str, batches: list[Batch], offsets: np.ndarray):
    vocab: dict[bytes, int] = {}
    term_parts, doc_parts, freq_parts = [], [], []
    for batch, offset in zip(batches, offsets, strict=False):
        local = batch.terms.get(name)
        if not local:
            continue
        renumber = np.array([vocab.setdefault(t, len(vocab)) for t in local], dtype=np.int64)
        numbers, freqs, counts = batch.postings[name]
        term_parts.append(renumber[numbers])
        doc_parts.append(np.repeat(np.arange(batch.count, dtype=np.int64) + offset, counts))
        freq_parts.append(freqs)
    if not vocab:
        return None, None
    terms = list(vocab)
    order = sorted(range(len(terms)), key=terms.__getitem__)
    rank = np.empty(len(terms), dtype=np.int64)
    rank[order] = np.arange(len(terms))
    keys = rank[np.concatenate(term_parts)]
    by_term = np.argsort(keys, kind="stable")  # documents stay ascending within a term
    ends = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=len(terms)), out=ends[1:])
    docs = np.concatenate(doc_parts)[by_term].astype(np.int32)
    freqs = np.concatenate(freq_parts)[by_term]
    fieldobj = schema[name]
    boost = fieldobj.format.field_boost
    if isinstance(fieldobj.format, formats.Existence):
        weights = None if boost == 1.0 else np.full(len(docs), boost)
    else:  # Frequency: a term's weight is its count times the field's boost
        weights = freqs.astype(np.float64) * boost
    return FieldPostings([terms[i] for i in order], ends, docs, weights), freqs
