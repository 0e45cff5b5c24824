"""Write a `BulkSegment` as a Whoosh W3 segment, from arrays, and its search arrays file.

Whoosh's writer pushes every posting through a sorting pool and a posting writer one at a
time, and compresses every block with a fresh zlib stream (which alone costs more than the
rest). Here each field's postings are already sorted arrays: a term's blocks, its term info
and its term-index entry are made in one pass, and the term index's hash tables are placed
with numpy. The files are the W3 codec's own format, read by Whoosh's unchanged readers:
tests/index/test_segment_writer.py compares every term, posting, statistic, length, column
and stored field with a segment Whoosh writes from the same documents.

Deliberate differences, all within the format: blocks shorter than `COMPRESS_ABOVE` bytes
are stored uncompressed (the block header says so), blocks and stored fields are compressed
with a small zlib window, the term index hashes with crc32 (hash type 1) rather than md5.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import W3Codec, W3Segment, _lenfield
from whoosh.fields import Schema

from index.segment_arrays import SegmentContent, title_ranks, write_search_arrays
from index.segment_builder import BulkSegment, length_bytes

BLOCK_LIMIT = 128  # postings per block, as W3Codec's default
COMPRESS_ABOVE = 256  # bytes of pickled block data
INDEX_NAME = "MAIN"
HASH_CRC32 = 1

_pointer = struct.Struct("!Iq")
_dir_entry = struct.Struct("!qi")
_lengths_pair = struct.Struct("!ii")
_terminfo = struct.Struct("!BfIBBfII")
_extent = struct.Struct("!qi")
_int = struct.Struct("!i")
_ushort = struct.Struct("!H")


def _compress(data: bytes) -> bytes:
    compressor = zlib.compressobj(3, zlib.DEFLATED, 12, 4)
    return compressor.compress(data) + compressor.flush()


def _typecode(maximum: int, smallest: str = "B") -> str:
    """The array typecode Whoosh's GrowableArray ends with for values up to `maximum`."""
    if maximum < 2**8 and smallest == "B":
        return "B"
    if maximum < 2**16:
        return "H"
    if maximum < 2**31:
        return "i"
    if maximum < 2**32:
        return "I"
    return "q"


def _big_endian(values, typecode: str) -> bytes:
    return np.asarray(values).astype(np.dtype(typecode).newbyteorder(">")).tobytes()


class _PostingFile:
    """The .pst file: each term's posting blocks, in field and term order."""

    def __init__(self, path: Path):
        self.out = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.position = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def close(self) -> None:
        self.out.close()


def _block_table(ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every posting block of a field: its first and past-the-end posting and its term
    (a term's postings are cut into blocks of `BLOCK_LIMIT`)."""
    counts = np.diff(ends)
    blocks = (counts + BLOCK_LIMIT - 1) // BLOCK_LIMIT
    term = np.repeat(np.arange(len(counts)), blocks)
    within = np.arange(len(term)) - np.repeat(np.cumsum(blocks) - blocks, blocks)
    start = ends[:-1][term] + within * BLOCK_LIMIT
    end = np.minimum(start + BLOCK_LIMIT, ends[1:][term])
    return start, end, term


def _reduce(op, values: np.ndarray | None, starts: np.ndarray, default) -> list:
    if values is None:
        return [default] * len(starts)
    return op.reduceat(values, starts).tolist() if len(starts) else []


def _single_records(frequency: bool) -> np.dtype:
    """The bytes of a one-posting term's postings, as a fixed-width record: the W3 header,
    a block length, the block info and the block data, pickled with fixed-width opcodes
    (BININT, BINFLOAT, SHORT_BINBYTES) so that numpy lays out every term at once."""
    data = [("d_proto", "S2"), ("d_j", "S1"), ("d_id", "<i4"), ("d_tuple1", "S1"),
            ("d_g", "S1"), ("d_weight", ">f8")]  # fmt: skip
    data += [("d_c", "S1"), ("d_n", "u1"), ("d_freq", ">u4")] if frequency else [("d_none", "S1")]
    data += [("d_tuple3", "S1"), ("d_stop", "S1")]
    info = [("i_proto", "S2"), ("i_mark", "S1"), ("i_j1", "S1"), ("i_count", "<i4"),
            ("i_j2", "S1"), ("i_id", "<i4"), ("i_g", "S1"), ("i_max", ">f8"),
            ("i_j3", "S1"), ("i_level", "<i4"), ("i_j4", "S1"), ("i_low", "<i4"),
            ("i_j5", "S1"), ("i_high", "<i4"), ("i_tuple", "S1"), ("i_stop", "S1")]  # fmt: skip
    return np.dtype([("magic", "S4"), ("size", ">i4"), *info, *data])


_FIXED = {
    "magic": b"W3Bl",
    "d_proto": b"\x80\x03",
    "i_proto": b"\x80\x03",
    "i_mark": b"(",
    "d_tuple1": b"\x85",
    "d_tuple3": b"\x87",
    "i_tuple": b"t",
    "d_stop": b".",
    "i_stop": b".",
    "d_none": b"N",
    "d_c": b"C",
    "d_g": b"G",
    "i_g": b"G",
    **{name: b"J" for name in ("d_j", "i_j1", "i_j2", "i_j3", "i_j4", "i_j5")},
}
_TERM_INFO = np.dtype(
    [("inlined", "u1"), ("weight", ">f4"), ("df", ">u4"), ("low", "u1"), ("high", "u1"),
     ("max", ">f4"), ("min_id", ">u4"), ("max_id", ">u4"), ("offset", ">i8"), ("length", ">i4")]
)  # fmt: skip


def _single_postings(
    docs: np.ndarray,
    weights: np.ndarray | None,
    freqs: np.ndarray | None,
    length_bytes: np.ndarray | None,
    postfile: _PostingFile,
) -> list[bytes]:
    """Write the postings of terms with one posting each (record ids, most titles); return
    their term infos. Their pickles read back as Whoosh's own: one id, its weight (a float,
    which Whoosh reads as every posting's weight), its frequency bytes."""
    count = len(docs)
    records = np.zeros(count, dtype=_single_records(freqs is not None))
    for name, value in _FIXED.items():
        if name in records.dtype.names:
            records[name] = value
    weight = np.ones(count) if weights is None else weights
    low = np.zeros(count, dtype=np.int64) if length_bytes is None else length_bytes
    top = np.maximum(weight, 0.0)
    records["size"] = -(records.itemsize - 8)  # the only block: a negative length
    records["i_count"], records["i_id"], records["i_max"] = 1, docs, top
    records["i_level"], records["i_low"], records["i_high"] = 0, low, low
    records["d_id"], records["d_weight"] = docs, weight
    if freqs is not None:
        records["d_n"], records["d_freq"] = 4, freqs
    offset = postfile.position
    postfile.write(records.tobytes())
    infos = np.zeros(count, dtype=_TERM_INFO)
    infos["weight"], infos["df"], infos["low"], infos["high"] = weight, 1, low, low
    infos["max"], infos["min_id"], infos["max_id"] = top, docs, docs
    infos["offset"] = offset + np.arange(count, dtype=np.int64) * records.itemsize
    infos["length"] = records.itemsize
    raw = infos.tobytes()
    size = _TERM_INFO.itemsize
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def _field_postings(
    docs: np.ndarray,
    ends: np.ndarray,
    weights: np.ndarray | None,
    freqs: np.ndarray | None,
    length_bytes: np.ndarray | None,
    postfile: _PostingFile,
) -> list[bytes]:
    """Write one field's posting lists; return each term's term info (W3TermInfo bytes),
    in term order. One-posting terms are laid out all at once (_single_postings); the
    others block by block below."""
    single = np.diff(ends) == 1
    infos = np.empty(len(ends) - 1, dtype=object)
    if single.any():
        at = ends[:-1][single]
        infos[single] = _single_postings(
            docs[at],
            None if weights is None else weights[at],
            None if freqs is None else freqs[at],
            None if length_bytes is None else length_bytes[at],
            postfile,
        )
    if not single.all():
        freq_bytes = None if freqs is None else freqs.astype(">u4").tobytes()
        infos[~single] = _block_postings(
            docs, ends, weights, freq_bytes, length_bytes, ~single, postfile
        )
    return infos.tolist()


def _block_postings(
    docs: np.ndarray,
    ends: np.ndarray,
    weights: np.ndarray | None,
    freq_bytes: bytes | None,
    length_bytes: np.ndarray | None,
    chosen: np.ndarray,
    postfile: _PostingFile,
) -> list[bytes]:
    """Write the posting lists of the `chosen` terms block by block; return their term
    infos in order.

    Whoosh's per-block values (delta-coded ids, weights minified to None, one number or a
    tuple; frequencies as 4 bytes each; block and term statistics) are computed for the
    whole field with numpy, leaving Python a loop over blocks that only serializes."""
    starts, stops, terms = _block_table(ends)
    deltas = docs.astype(np.int64)
    deltas[1:] -= docs[:-1]
    deltas[starts] = docs[starts]  # each block's first id is absolute
    deltas = deltas.tolist()
    ids = docs.tolist()
    weight_list = None if weights is None else weights.tolist()
    low = _reduce(np.minimum, weights, starts, 1.0)
    high = _reduce(np.maximum, weights, starts, 1.0)
    sums = _reduce(np.add, weights, starts, None)
    short = _reduce(np.minimum, length_bytes, starts, 0)
    long = _reduce(np.maximum, length_bytes, starts, 0)
    term_starts, term_stops = ends[:-1].tolist(), ends[1:].tolist()
    dumps = pickle.dumps
    infos: list[bytes] = []
    parts: list[bytes] = []
    stats = [0.0, 255, 0, 0.0]  # total weight, shortest, longest, highest weight
    block_starts, block_stops, block_terms = starts.tolist(), stops.tolist(), terms.tolist()
    wanted = chosen[terms].tolist()
    for j, a in enumerate(block_starts):
        if not wanted[j]:
            continue
        b, term = block_stops[j], block_terms[j]
        first = a == term_starts[term]
        if first:
            parts = [b"W3Bl"]
            stats = [0.0, 255, 0, 0.0]
        if low[j] == high[j]:
            mini_weights = None if low[j] == 1.0 else high[j]
        else:
            mini_weights = tuple(weight_list[a:b])
        data = dumps(
            (
                tuple(deltas[a:b]),
                mini_weights,
                None if freq_bytes is None else freq_bytes[4 * a : 4 * b],
            ),
            2,
        )
        level = 0
        if len(data) > COMPRESS_ABOVE:
            data, level = _compress(data), 3
        top = high[j] if high[j] > 0 else 0.0
        info = dumps((b - a, ids[b - 1], top, level, short[j], long[j]), 2)
        last = b == term_stops[term]
        size = len(info) + len(data)
        parts += (_int.pack(-size if last else size), info, data)
        stats[0] += (b - a) if sums[j] is None else sums[j]
        stats[1] = min(stats[1], short[j])
        stats[2] = max(stats[2], long[j])
        stats[3] = max(stats[3], top)
        if last:
            data = b"".join(parts)
            offset = postfile.position
            postfile.write(data)
            a0, b0 = term_starts[term], term_stops[term]
            shortest = stats[1] if length_bytes is not None else 0
            infos.append(
                _terminfo.pack(
                    0, stats[0], b0 - a0, shortest, stats[2], stats[3], ids[a0], ids[b0 - 1]
                )
                + _extent.pack(offset, len(data))
            )
    return infos


def _write_postings(schema: Schema, bulk: BulkSegment, encoded_lengths, postfile: _PostingFile):
    """Every field's postings; returns the term index entries (key, value) in key order and
    the field map."""
    keys: list[bytes] = []
    values: list[bytes] = []
    fieldmap: dict[str, int] = {}
    for name in sorted(bulk.fields):
        posting = bulk.fields[name]
        fieldobj = schema[name]
        fieldmap[name] = len(fieldmap)
        prefix = _ushort.pack(fieldmap[name])
        freqs = (
            bulk.freqs[name]
            if isinstance(fieldobj.format, formats.Frequency)
            and fieldobj.format.fixed_value_size() == 4
            else None
        )
        lengths = encoded_lengths.get(name) if fieldobj.scorable else None
        # Whoosh passes a posting's length only for scored fields (others have no column).
        values += _field_postings(
            posting.docs,
            posting.ends,
            posting.weights,
            freqs,
            None if lengths is None else lengths[posting.docs],
            postfile,
        )
        keys += [prefix + term for term in posting.terms]
    return keys, values, fieldmap


def _write_term_index(path: Path, keys: list[bytes], values: list[bytes], fieldmap) -> None:
    """The .trm file: Whoosh's OrderedHashWriter format (records in key order, 256 hash
    tables with linear probing, their directory, then the extras and the key positions)."""
    header = b"HSH3" + bytes([HASH_CRC32]) + _int.pack(0) + _int.pack(0)
    records = [
        _lengths_pair.pack(len(k), len(v)) + k + v for k, v in zip(keys, values, strict=True)
    ]
    sizes = np.fromiter((len(r) for r in records), dtype=np.int64, count=len(records))
    positions = np.zeros(len(records), dtype=np.int64)
    if len(records):
        positions[1:] = np.cumsum(sizes[:-1])
    positions += len(header)
    end_of_data = len(header) + int(sizes.sum())
    hashes = np.fromiter((zlib.crc32(k) for k in keys), dtype=np.int64, count=len(keys))
    tables, directory = _hash_tables(hashes, positions, end_of_data)
    index_code = _typecode(int(positions.max()) if len(positions) else 0, smallest="H")
    extras = pickle.dumps(
        {"fieldmap": fieldmap, "indextype": index_code, "indexlen": len(keys)}, -1
    )
    extras += _big_endian(positions, index_code)
    with open(path, "wb") as out:
        out.write(header)
        out.write(b"".join(records))
        out.write(tables)
        out.write(directory)
        out.write(extras)
        out.write(_int.pack(len(extras)))


def _hash_tables(hashes: np.ndarray, positions: np.ndarray, start: int) -> tuple[bytes, bytes]:
    """The 256 hash tables (bucket = low byte of the hash, 2 slots per entry, first slot at
    (hash >> 8) % slots, the next free one after it) and their directory."""
    buckets = hashes & 255
    counts = np.bincount(buckets, minlength=256)
    slots = 2 * counts
    bases = np.zeros(256, dtype=np.int64)
    bases[1:] = np.cumsum(slots)[:-1]
    table_hashes = np.zeros(int(slots.sum()), dtype=np.int64)
    table_positions = np.zeros(int(slots.sum()), dtype=np.int64)
    order = np.argsort(buckets, kind="stable")  # entries of a bucket in key order
    waiting = order
    tries = np.zeros(len(waiting), dtype=np.int64)
    while len(waiting):
        b = buckets[waiting]
        home = (hashes[waiting] >> 8) % slots[b]
        slot = bases[b] + (home + tries) % slots[b]
        free = table_positions[slot] == 0
        _, first = np.unique(slot[free], return_index=True)
        placed = np.flatnonzero(free)[first]
        table_hashes[slot[placed]] = hashes[waiting[placed]]
        table_positions[slot[placed]] = positions[waiting[placed]]
        keep = np.ones(len(waiting), dtype=bool)
        keep[placed] = False
        waiting, tries = waiting[keep], tries[keep] + 1
    pointer = np.dtype([("hash", ">u4"), ("position", ">i8")])
    table = np.zeros(len(table_hashes), dtype=pointer)
    table["hash"], table["position"] = table_hashes, table_positions
    entry = np.dtype([("position", ">i8"), ("slots", ">i4")])
    directory = np.zeros(256, dtype=entry)
    directory["position"] = start + bases * _pointer.size
    directory["slots"] = slots
    return table.tobytes(), directory.tobytes()


def _write_var_bytes(path: Path, values: list[bytes]) -> None:
    """A VarBytesColumn (and so a CompressedBytesColumn's) file, always with its offsets
    (Whoosh writes them above 32,768 documents, else its reader adds up every length in
    Python when it opens the column: the first search of a segment paid for that)."""
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    offsets = np.zeros(len(values), dtype=np.int64)
    if len(values):
        offsets[1:] = np.cumsum(lengths[:-1])
    lengths_code = _typecode(int(lengths.max()) if len(values) else 0)
    offsets_code = _typecode(int(offsets.max()) if len(values) else 0)
    with open(path, "wb") as out:
        out.write(b"".join(values))
        out.write(_big_endian(lengths, lengths_code))
        out.write(_big_endian(offsets, offsets_code))
        out.write(lengths_code.encode() + offsets_code.encode() + b"X")


def _write_numeric(path: Path, values: np.ndarray, typecode: str) -> None:
    with open(path, "wb") as out:
        out.write(_big_endian(values, typecode))


def new_segment() -> W3Segment:
    return W3Codec().new_segment(None, INDEX_NAME)


def write_segment(folder: Path, schema: Schema, bulk: BulkSegment, segment: W3Segment) -> None:
    """Write the segment's files into `folder` (Whoosh's file names for `segment`)."""
    folder = Path(folder)
    name = segment.segment_id()
    encoded_lengths = {}
    fieldlengths: dict[str, int] = defaultdict(int)
    for field, counts in bulk.lengths.items():
        encoded = length_bytes(counts)
        encoded_lengths[field] = encoded
        if counts.any():  # Whoosh makes a length column on a field's first length
            fieldlengths[field] = int(counts.sum())
            _write_numeric(
                folder / W3Codec.column_filename(segment, _lenfield(field)), encoded, "B"
            )
    postfile = _PostingFile(folder / f"{name}{W3Codec.POSTS_EXT}")
    try:
        keys, values, fieldmap = _write_postings(schema, bulk, encoded_lengths, postfile)
    finally:
        postfile.close()
    _write_term_index(folder / f"{name}{W3Codec.TERMS_EXT}", keys, values, fieldmap)
    _write_var_bytes(folder / W3Codec.column_filename(segment, "_stored"), bulk.stored)
    for field, (column_values, present) in bulk.numeric.items():
        column = schema[field].column_type
        filled = np.where(present, column_values, column._default)
        _write_numeric(folder / W3Codec.column_filename(segment, field), filled, column._typecode)
    for field, column_values in bulk.byte_columns.items():
        _write_var_bytes(folder / W3Codec.column_filename(segment, field), column_values)
    segment.set_doc_count(bulk.doc_count)
    segment._fieldlengths = fieldlengths
    segment.compound = False


def bulk_content(segment: W3Segment, bulk: BulkSegment, schema: Schema) -> SegmentContent:
    """The search arrays of a segment written from `bulk` (what segment_content would read
    back from its files)."""
    numeric = {}
    for field, (column_values, present) in bulk.numeric.items():
        column = schema[field].column_type
        numeric[field] = np.where(present, column_values, column._default).astype(
            np.dtype(column._typecode)
        )
    return SegmentContent(
        segment_id=segment.segment_id(),
        doc_count=bulk.doc_count,
        fields=bulk.fields,
        length_bytes={f: length_bytes(c) for f, c in bulk.lengths.items() if c.any()},
        numeric_columns=numeric,
        title_ranks={f: title_ranks(keys) for f, keys in bulk.byte_columns.items()},
    )


def write_bulk_segment(folder: Path, schema: Schema, bulk: BulkSegment) -> W3Segment:
    """A new segment's Whoosh files and its search arrays file, in `folder`."""
    segment = new_segment()
    write_segment(folder, schema, bulk, segment)
    write_search_arrays(folder, bulk_content(segment, bulk, schema), schema)
    return segment
