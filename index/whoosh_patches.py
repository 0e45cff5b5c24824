"""Small, measured fixes to Whoosh 2.7 (whoosh-reloaded 2.7.5), applied on import of `index`.

Whoosh's upstream is frozen, so fixes live here, each with the reason and a test.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from whoosh import index as whoosh_index
from whoosh import multiproc
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


_original_subwriter_run = multiproc.SubWriterTask.run
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent_pid: int) -> None:
    """A writer process whose parent is killed (SIGKILL during an import or a reindex)
    would wait on its job queue forever; on Linux the kernel now kills it too."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


def _subwriter_run(self) -> None:
    """A sub-writer that fails (a full disk) says so in one line instead of a traceback;
    SearchIndex.rebuild notices the missing documents and keeps the previous index."""
    _die_with_parent(self._parent_pid)
    try:
        _original_subwriter_run(self)
    except Exception as error:  # noqa: BLE001 - reported, and the parent checks the result
        sys.stderr.write(f"index writer process failed: {error}\n")
        sys.stderr.flush()
        os._exit(1)


class WriterProcessDied(OSError):
    """A writer process of a rebuild exited (a full disk, say); nothing is waiting for the
    documents still to be written."""


def _put_while_alive(writer, jobinfo) -> None:
    """MpWriter puts each batch of documents on its job queue; if every writer process has
    died, the put would block forever once the queue is full. Wait in short steps and give
    up when a writer process is gone."""
    import queue

    while True:
        if any(not task.is_alive() for task in writer.tasks):
            raise WriterProcessDied("an index writer process exited; the rebuild stops")
        try:
            writer.jobqueue.put(jobinfo, timeout=0.5)
            return
        except queue.Full:
            continue


def _enqueue(self) -> None:
    """MpWriter._enqueue, with a put that notices dead writer processes."""
    import pickle

    from whoosh.util import random_name

    docbuffer = self.docbuffer
    filename = f"{random_name()}.doclist"
    with self.temp_storage().create_file(filename).raw_file() as f:
        for item in docbuffer:
            pickle.dump(item, f, 2)
    if len(self.tasks) < self.procs:
        self._new_task()
    _put_while_alive(self, (filename, len(docbuffer)))
    self.docbuffer = []


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
    multiproc.SubWriterTask.run = _subwriter_run
    multiproc.MpWriter._enqueue = _enqueue
