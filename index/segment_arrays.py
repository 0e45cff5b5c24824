"""A segment's search arrays in one file next to it, memory-mapped by every process.

What the evaluator reads of a segment (each field's terms and posting lists, field lengths,
facet values by document, the year, record id and work of each document, the sort columns
and every document in each sort order, and the words typos are looked up in) is written
once, when the segment is written, into `<segment id>.arrays` in the index folder. Every
worker maps the file read-only, so N workers share one copy in the page cache instead of
building N private copies, and a new worker (or a worker after a reindex swap) is ready as
soon as the file is mapped.

Layout: 8 magic bytes, the header's length (8 bytes, little-endian), a JSON header naming
each array's offset, dtype and length, then the arrays, each 64-byte aligned. A file is
written to a temporary name and renamed, so readers see a whole file or none. Whoosh
deletes the file with its segment (its name matches Whoosh's segment file pattern).
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"KBSEGAR1"
SUFFIX = ".arrays"
ALIGN = 64
MISSING_NUMBER = np.iinfo(np.int64).min  # a document without a value in a numeric array


class DamagedArrays(ValueError):
    """The file is not a complete arrays file of this segment."""


# --- what is stored ---------------------------------------------------------------------


@dataclass
class FieldPostings:
    """One field's terms (sorted as Whoosh sorts them: by bytes) and posting lists."""

    terms: list[bytes]
    ends: np.ndarray  # int64, len(terms) + 1: term i's postings are [ends[i], ends[i + 1])
    docs: np.ndarray  # int32 document numbers, ascending within each term
    weights: np.ndarray | None  # float64 per posting; None when every weight is 1.0


@dataclass
class SegmentContent:
    """Everything the search arrays are made of, from the bulk writer or Whoosh's reader."""

    segment_id: str
    doc_count: int
    fields: dict[str, FieldPostings]
    length_bytes: dict[str, np.ndarray]  # scorable field -> uint8 per document (Whoosh's)
    numeric_columns: dict[str, np.ndarray]  # column -> raw value per document
    title_ranks: dict[str, np.ndarray]  # sort column -> int32 rank per document
    facets: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = field(default_factory=dict)
    numbers: dict[str, np.ndarray] = field(default_factory=dict)  # field -> int64 value
    doc_terms: dict[str, np.ndarray] = field(default_factory=dict)  # field -> term index
    orders: dict[str, np.ndarray] = field(default_factory=dict)  # column -> documents


def title_ranks(keys: list[bytes]) -> np.ndarray:
    """Each document's rank by (sort key, document number). A fixed-width bytes array sorts
    in C, comparing as Python compares bytes (ICU sort keys hold no NUL but their last
    byte); stable, so equal keys keep document order."""
    order = np.argsort(np.array(keys, dtype=bytes), kind="stable") if keys else np.zeros(0, int)
    ranks = np.empty(len(keys), dtype=np.int32)
    ranks[order] = np.arange(len(keys), dtype=np.int32)
    return ranks


def add_orders(content: SegmentContent) -> None:
    """Every document in each sort order: titles by rank, numeric columns by value, highest
    first (the portal's year and newest sorts), equal values by document number. A sorted
    page of a large result is then read off the front of the order."""
    for name, ranks in content.title_ranks.items():
        order = np.empty(len(ranks), dtype=np.int32)
        order[ranks] = np.arange(len(ranks), dtype=np.int32)
        content.orders[name] = order
    for name, values in content.numeric_columns.items():
        descending = -values.astype(np.float64)
        content.orders[name] = np.argsort(descending, kind="stable").astype(np.int32)


class _Lexicon:
    """Just enough of a reader for a field's `sortable_terms()`."""

    def __init__(self, terms: list[bytes]):
        self.terms = terms

    def lexicon(self, fieldname: str):
        return iter(self.terms)


def add_doc_terms(content: SegmentContent, fields: Iterable[str]) -> None:
    """For fields with one term per document (record id, work): each document's term, as
    an index into the field's terms (-1: none), so that they are read without the stored
    fields."""
    for name in fields:
        posting = content.fields.get(name)
        found = np.full(content.doc_count, -1, dtype=np.int32)
        if posting is not None:
            found[posting.docs] = np.repeat(
                np.arange(len(posting.terms), dtype=np.int32), np.diff(posting.ends)
            )
        content.doc_terms[name] = found


def add_facets(
    content: SegmentContent, schema, facet_fields: Iterable[str], number_fields: Iterable[str]
) -> None:
    """Each facet field's values by document (from the postings of its sortable terms, as
    Whoosh's sorting facets see them), and each numeric field's value per document."""
    for name in facet_fields:
        posting = content.fields.get(name)
        fieldobj = schema[name]
        terms = (
            [] if posting is None else list(fieldobj.sortable_terms(_Lexicon(posting.terms), name))
        )
        k = len(terms)
        if posting is None or not k:
            docs = codes = np.zeros(0, dtype=np.int64)
        else:
            docs = posting.docs[: posting.ends[k]].astype(np.int64)
            codes = np.repeat(np.arange(k), np.diff(posting.ends[: k + 1]))
        values = [str(fieldobj.from_bytes(t)) for t in terms]
        content.facets[name] = (values, *doc_major(docs, codes, content.doc_count))
        if name in number_fields:
            numbers = np.full(content.doc_count, MISSING_NUMBER, dtype=np.int64)
            if k:
                numbers[docs] = np.array([int(fieldobj.from_bytes(t)) for t in terms])[codes]
            content.numbers[name] = numbers


def doc_major(docs: np.ndarray, codes: np.ndarray, doc_count: int):
    """(document, code) pairs regrouped by document: (ptr, codes) where document d's codes
    are codes[ptr[d]:ptr[d + 1]]."""
    order = np.argsort(docs, kind="stable")
    ptr = np.zeros(doc_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(docs, minlength=doc_count), out=ptr[1:])
    return ptr, codes[order].astype(np.int32)


# --- writing --------------------------------------------------------------------------------


def arrays_path(folder: Path | str, segment_id: str) -> Path:
    return Path(folder) / f"{segment_id}{SUFFIX}"


def _smallest_exact(values: np.ndarray) -> np.ndarray:
    """The values in the smallest dtype that holds each of them exactly."""
    for dtype in (np.uint8, np.uint16, np.float32):
        cast = values.astype(dtype)
        if np.array_equal(cast.astype(np.float64), values):
            return cast
    return values.astype(np.float64)


def _offsets(values: np.ndarray) -> np.ndarray:
    """Offsets in 4 bytes each where they fit (they do below 2**31 postings or bytes)."""
    return values.astype(np.int32 if not len(values) or values[-1] < 2**31 else np.int64)


def _hash_table(terms: list[bytes]) -> np.ndarray:
    """Open addressing (linear probing) from crc32(term): slot -> term index + 1, 0 = empty.
    Built in rounds: each round places one term per free slot, the others move on a slot."""
    size = 1 << max(4, (2 * len(terms) - 1).bit_length())
    table = np.zeros(size, dtype=np.int32)
    if not terms:
        return table
    mask = size - 1
    slots = np.fromiter((zlib.crc32(t) for t in terms), dtype=np.int64, count=len(terms)) & mask
    waiting = np.arange(len(terms), dtype=np.int64)
    while len(waiting):
        free = table[slots] == 0
        _, first = np.unique(slots[free], return_index=True)
        placed = np.flatnonzero(free)[first]
        table[slots[placed]] = waiting[placed] + 1
        keep = np.ones(len(waiting), dtype=bool)
        keep[placed] = False
        waiting, slots = waiting[keep], (slots[keep] + 1) & mask
    return table


def _lexicon(terms: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A field's words ordered by (length, first letter, word), newline-joined, with each
    (length, first letter) group's key and byte range: typo search reads only the groups
    within reach of a word's length."""
    words = sorted(
        (w for w in (t.decode("utf-8") for t in terms) if w and "\n" not in w),
        key=lambda w: (len(w), w[0], w),
    )
    keys, starts, blob, position = [], [], [], 0
    for word in words:
        key = len(word) * 2**21 + ord(word[0])
        if not keys or keys[-1] != key:
            keys.append(key)
            starts.append(position)
        encoded = word.encode("utf-8")
        blob.append(encoded)
        position += len(encoded) + 1
    starts.append(position)
    return b"\n".join(blob), np.array(keys, dtype=np.int64), np.array(starts, dtype=np.int64)


def write_search_arrays(folder: Path | str, content: SegmentContent, schema) -> Path:
    """The arrays file of a segment whose postings, lengths and columns are in `content`."""
    from index.schema import DOC_TERM_FIELDS, FACET_FIELDS, LEXICON_FIELDS, RANGE_FIELDS

    add_facets(content, schema, FACET_FIELDS.values(), RANGE_FIELDS)
    add_doc_terms(content, DOC_TERM_FIELDS)
    add_orders(content)
    return write_arrays(folder, content, LEXICON_FIELDS)


def write_arrays(
    folder: Path | str, content: SegmentContent, lexicon_fields: Iterable[str] = ()
) -> Path:
    """Write the segment's arrays file (temporary name, then an atomic rename)."""
    arrays: dict[str, np.ndarray] = {}
    header: dict = {
        "segment": content.segment_id,
        "doc_count": content.doc_count,
        "fields": {},
        "facets": {},
        "lexicon": [],
    }
    for name, posting in content.fields.items():
        lengths = np.fromiter((len(t) for t in posting.terms), dtype=np.int64)
        term_ends = np.zeros(len(posting.terms) + 1, dtype=np.int64)
        np.cumsum(lengths, out=term_ends[1:])
        arrays[f"{name}/terms"] = np.frombuffer(b"".join(posting.terms), dtype=np.uint8)
        arrays[f"{name}/term_ends"] = _offsets(term_ends)
        arrays[f"{name}/hash"] = _hash_table(posting.terms)
        arrays[f"{name}/ends"] = _offsets(posting.ends)
        arrays[f"{name}/docs"] = posting.docs.astype(np.int32)
        if posting.weights is not None and not (posting.weights == 1.0).all():
            arrays[f"{name}/weights"] = _smallest_exact(posting.weights)
        header["fields"][name] = len(posting.terms)
    for name in lexicon_fields:
        if name in content.fields:
            blob, keys, starts = _lexicon(content.fields[name].terms)
            arrays[f"lexicon/{name}/words"] = np.frombuffer(blob, dtype=np.uint8)
            arrays[f"lexicon/{name}/keys"] = keys
            arrays[f"lexicon/{name}/starts"] = starts
            header["lexicon"].append(name)
    for name, values in content.length_bytes.items():
        arrays[f"lengths/{name}"] = values.astype(np.uint8)
    for name, values in content.numeric_columns.items():
        arrays[f"column/{name}"] = values
    for name, values in content.title_ranks.items():
        arrays[f"ranks/{name}"] = values.astype(np.int32)
    for name, (values, ptr, codes) in content.facets.items():
        per_document = np.diff(ptr)
        if len(per_document) and per_document.max() <= 1:  # one value at most: a code each
            single = np.full(content.doc_count, -1, dtype=np.int32)
            single[per_document == 1] = codes
            arrays[f"facet/{name}/single"] = single
        else:
            arrays[f"facet/{name}/ptr"] = ptr.astype(np.int32 if ptr[-1] < 2**31 else np.int64)
            arrays[f"facet/{name}/codes"] = codes
        header["facets"][name] = values
    for name, values in content.numbers.items():
        arrays[f"number/{name}"] = values.astype(np.int64)
    for name, values in content.doc_terms.items():
        arrays[f"doc_term/{name}"] = values
    for name, values in content.orders.items():
        arrays[f"order/{name}"] = values
    return _write_file(arrays_path(folder, content.segment_id), header, arrays)


def _write_file(path: Path, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    layout = {}
    # The header names every offset, so its size must be known first: lay out twice.
    header["arrays"] = {name: [0, a.dtype.str, len(a)] for name, a in arrays.items()}
    for _ in range(2):
        encoded = json.dumps(header, ensure_ascii=False).encode("utf-8")
        position = _aligned(len(MAGIC) + 8 + len(encoded) + 64)
        for name, a in arrays.items():
            layout[name] = [position, a.dtype.str, len(a)]
            position = _aligned(position + a.nbytes)
        header["arrays"] = layout
    encoded = json.dumps(header, ensure_ascii=False).encode("utf-8")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(MAGIC + len(encoded).to_bytes(8, "little") + encoded)
            for name, a in arrays.items():
                out.write(b"\0" * (layout[name][0] - out.tell()))
                out.write(np.ascontiguousarray(a).tobytes())
            out.write(b"\0" * (position - out.tell()))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _aligned(position: int) -> int:
    return (position + ALIGN - 1) // ALIGN * ALIGN


# --- reading --------------------------------------------------------------------------------


@dataclass
class Facet:
    """A facet field's values by document: document d has the value codes
    codes[ptr[d]:ptr[d + 1]]; or, when no document has two values, just single[d] (-1:
    none)."""

    values: list[str]
    ptr: np.ndarray | None
    codes: np.ndarray | None
    single: np.ndarray | None


class MappedField:
    """One field's terms and postings in a mapped file."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str):
        self.terms = arrays[f"{name}/terms"]
        self._term_ends = memoryview(arrays[f"{name}/term_ends"])
        self._hash = memoryview(arrays[f"{name}/hash"])
        self._mask = len(self._hash) - 1
        self._blob = memoryview(self.terms)
        self.ends = arrays[f"{name}/ends"]
        self._ends = memoryview(self.ends)
        self.docs = arrays[f"{name}/docs"]
        self.weights = arrays.get(f"{name}/weights")
        self.count = len(self._term_ends) - 1

    def find(self, btext: bytes) -> int:
        """The term's index, or -1."""
        table, ends, blob = self._hash, self._term_ends, self._blob
        slot = zlib.crc32(btext) & self._mask
        while True:
            found = table[slot]
            if not found:
                return -1
            if blob[ends[found - 1] : ends[found]] == btext:
                return found - 1
            slot = (slot + 1) & self._mask

    def term(self, i: int) -> bytes:
        return bytes(self._blob[self._term_ends[i] : self._term_ends[i + 1]])

    def doc_frequency(self, i: int) -> int:
        return self._ends[i + 1] - self._ends[i]

    def postings(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and weights (float64) of term i."""
        start, end = self._ends[i], self._ends[i + 1]
        if self.weights is None:
            return self.docs[start:end], np.ones(end - start)
        return self.docs[start:end], self.weights[start:end].astype(np.float64)

    def prefix_range(self, prefix: bytes) -> tuple[int, int]:
        """[start, end) of the terms starting with `prefix` (UTF-8 never holds 0xff, so
        prefix + 0xff sorts after every term with the prefix)."""
        return self._bisect(prefix), self._bisect(prefix + b"\xff")

    def _bisect(self, key: bytes) -> int:
        lo, hi = 0, self.count
        ends, blob = self._term_ends, self._blob
        while lo < hi:
            mid = (lo + hi) // 2
            if bytes(blob[ends[mid] : ends[mid + 1]]) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo


class Lexicon:
    """A field's words grouped by (length, first letter), decoded a group range at a time."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str):
        self._words = arrays[f"lexicon/{name}/words"]
        self._keys = arrays[f"lexicon/{name}/keys"]
        self._starts = arrays[f"lexicon/{name}/starts"]

    def words(self, length: int, initial: str | None = None) -> list[str]:
        """The words of a length (and first letter, if given)."""
        if initial is None:
            low, high = length * 2**21, (length + 1) * 2**21
        else:
            low = length * 2**21 + ord(initial)
            high = low + 1
        lo, hi = np.searchsorted(self._keys, [low, high])
        if lo >= hi:
            return []
        start, end = int(self._starts[lo]), int(self._starts[hi]) - 1
        return self._words[start:end].tobytes().decode("utf-8").split("\n")


class SegmentArrays:
    """A segment's arrays file, mapped read-only."""

    def __init__(self, path: Path, header: dict, arrays: dict[str, np.ndarray], mapped=None):
        self.path = path
        self._mapped = mapped
        self.header = header
        self.arrays = arrays
        self.doc_count: int = header["doc_count"]
        self._fields: dict[str, MappedField] = {}
        self._lexicons: dict[str, Lexicon] = {}

    @classmethod
    def open(cls, path: Path, segment_id: str, doc_count: int) -> SegmentArrays:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(MAGIC) + 8:
                raise DamagedArrays(f"{path} is truncated")
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if mapped[: len(MAGIC)] != MAGIC:
            raise DamagedArrays(f"{path} is not an arrays file")
        length = int.from_bytes(mapped[len(MAGIC) : len(MAGIC) + 8], "little")
        try:
            header = json.loads(mapped[len(MAGIC) + 8 : len(MAGIC) + 8 + length])
            arrays = {}
            for name, (offset, dtype, count) in header["arrays"].items():
                if offset + np.dtype(dtype).itemsize * count > size:
                    raise DamagedArrays(f"{path} is truncated")
                arrays[name] = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)
        except (ValueError, KeyError, TypeError) as error:
            raise DamagedArrays(f"{path}: {error}") from error
        if header.get("segment") != segment_id or header.get("doc_count") != doc_count:
            raise DamagedArrays(f"{path} belongs to another segment")
        return cls(path, header, arrays, mapped)

    def field(self, name: str) -> MappedField | None:
        found = self._fields.get(name)
        if found is None and name in self.header["fields"]:
            found = self._fields[name] = MappedField(self.arrays, name)
        return found

    def lexicon(self, name: str) -> Lexicon | None:
        found = self._lexicons.get(name)
        if found is None and name in self.header["lexicon"]:
            found = self._lexicons[name] = Lexicon(self.arrays, name)
        return found

    def lengths(self, name: str) -> np.ndarray | None:
        return self.arrays.get(f"lengths/{name}")

    def column(self, name: str) -> np.ndarray | None:
        return self.arrays.get(f"column/{name}")

    def ranks(self, name: str) -> np.ndarray | None:
        return self.arrays.get(f"ranks/{name}")

    def order(self, name: str) -> np.ndarray | None:
        """Documents in the column's sort order (see add_orders)."""
        return self.arrays.get(f"order/{name}")

    def number(self, name: str) -> np.ndarray | None:
        return self.arrays.get(f"number/{name}")

    def facet(self, name: str) -> Facet | None:
        if name not in self.header["facets"]:
            return None
        return Facet(
            self.header["facets"][name],
            self.arrays.get(f"facet/{name}/ptr"),
            self.arrays.get(f"facet/{name}/codes"),
            self.arrays.get(f"facet/{name}/single"),
        )

    def doc_term(self, name: str, docnum: int) -> bytes | None:
        """The document's term in a one-term-per-document field (see add_doc_terms)."""
        found = self.arrays.get(f"doc_term/{name}")
        if found is None or found[docnum] < 0:
            return None
        return self.field(name).term(int(found[docnum]))

    def advise_willneed(self) -> None:
        """Ask the kernel to read the file into the page cache ahead of the first search."""
        if self._mapped is not None and hasattr(mmap, "MADV_WILLNEED"):
            self._mapped.madvise(mmap.MADV_WILLNEED)
