"""Small, measured fixes to Whoosh 2.7 (whoosh-reloaded 2.7.5), applied on import of `index`.

Whoosh's upstream is frozen, so fixes live here, each with the reason and a test.
"""

from __future__ import annotations

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


def apply() -> None:
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
