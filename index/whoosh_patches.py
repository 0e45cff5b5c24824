"""Small, measured fixes to Whoosh 2.7 (whoosh-reloaded 2.7.5), applied on import of `index`.

Whoosh's upstream is frozen, so fixes live here, each with the reason and a test.
"""

from __future__ import annotations

from whoosh import index as whoosh_index
from whoosh.codec import whoosh3

_MISSING = object()


def _cached_reader(self, fieldname, column):
    """Like W3PerDocReader._cached_reader, but also remembers that a column is absent.

    Fields without length columns (ID and KEYWORD fields are not scorable) made Whoosh stat
    the column file once per posting while flushing a segment: a 55,000-record rebuild
    spent most of its time in os.stat.
    """
    reader = self._readers.get(fieldname, _MISSING)
    if reader is _MISSING:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
    return reader


class _ClosingStorage:
    """A storage that remembers the files it opened, so a failed read can close them."""

    def __init__(self, storage) -> None:
        self._storage = storage
        self.opened: list = []

    def open_file(self, *args, **kwargs):
        stream = self._storage.open_file(*args, **kwargs)
        self.opened.append(stream)
        return stream

    def __iter__(self):
        return iter(self._storage)

    def __getattr__(self, name):
        return getattr(self._storage, name)


_toc_read = whoosh_index.TOC.read.__func__


def _toc_read_closing(cls, storage, indexname, gen=None, schema=None):
    """Like TOC.read, but a damaged table of contents does not leave its file open
    (TOC.read closes the stream only when every read succeeds)."""
    tracking = _ClosingStorage(storage)
    try:
        return _toc_read(cls, tracking, indexname, gen, schema)
    finally:
        for stream in tracking.opened:
            if not stream.is_closed:
                stream.close()


def apply() -> None:
    whoosh_index.TOC.read = classmethod(_toc_read_closing)
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
