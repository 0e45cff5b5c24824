"""Index many records fast: records analyzed in worker processes, then written as a few
Whoosh segments straight from arrays.

A rebuild reads the records once, in order. Batches of records go to `processes` worker
processes, which analyze them (schema.to_document, then each field's terms, each distinct
word once) into arrays; the batches come back in order. Once all are in, their documents
are split into contiguous ranges, one segment per process, written in parallel (the parent
writes one, forked children the others, sharing the batches copy-on-write). Documents are
numbered in record order, so a rebuilt index lays out the same way every time.

Small inputs (one batch) are analyzed and written in the calling process.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from whoosh.codec.whoosh3 import W3Segment
from whoosh.fields import Schema
from whoosh.index import TOC, clean_files

from index.collation import SORT_LOCALES
from index.schema import build_schema, to_document
from index.segment_builder import Batch, SegmentBuilder, merge_batches
from index.segment_writer import write_bulk_segment

BATCH_RECORDS = 2_000
MIN_RECORDS_PER_SEGMENT = 20_000  # fewer, and one segment is written (in one process)
# One builder per set of sort locales, and per thread: a builder collects one batch at a
# time, and threads of one process (a web worker's writers) analyze at the same time.
_local = threading.local()


class BulkWriteFailed(OSError):
    """A worker process could not write its segment (a full disk, say)."""


@contextmanager
def gc_paused():
    """No cyclic garbage collection while building: the analysis makes millions of small
    objects and no cycles, and each full collection walks all of them (a third of the
    analysis time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """A worker whose parent is killed (SIGKILL during an import or a reindex) would wait
    for work forever; on Linux the kernel now kills it too."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


def _start_worker(parent: int) -> None:
    die_with_parent(parent)
    gc.disable()


def analyze(records: list[dict], sort_locales: tuple[str, ...] = SORT_LOCALES) -> Batch:
    """Records -> an analyzed batch (in a worker process, or in the caller)."""
    with gc_paused():
        builders = _local.__dict__.setdefault("builders", {})
        builder = builders.get(sort_locales)
        if builder is None:
            builder = builders[sort_locales] = SegmentBuilder(build_schema(sort_locales))
        for record in records:
            builder.add(to_document(record, sort_locales))
        return builder.batch()


def _batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def analyze_all(
    records: Iterable[dict],
    processes: int,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_RECORDS,
    sort_locales: Sequence[str] = SORT_LOCALES,
) -> list[Batch]:
    """Every record analyzed, in record order; the work spread over `processes` worker
    processes when there is more than one batch."""
    with gc_paused():  # the batches coming back are millions of small objects
        return _analyze_all(records, processes, progress, batch_size, tuple(sort_locales))


def _analyze_all(records, processes, progress, batch_size, sort_locales) -> list[Batch]:
    chunks = _batches(records, batch_size)
    first = next(chunks, None)
    if first is None:
        return []
    second = next(chunks, None)
    if second is None or processes < 2:
        done = [analyze(first, sort_locales)] + ([analyze(second, sort_locales)] if second else [])
        done += [analyze(chunk, sort_locales) for chunk in chunks]
        if progress:
            progress(sum(b.count for b in done))
        return done
    chunks = _chained(first, second, chunks)
    return list(_in_workers(chunks, processes, progress, sort_locales))


def _chained(first, second, rest):
    yield first
    yield second
    yield from rest


def _in_workers(chunks, processes: int, progress, sort_locales) -> Iterator[Batch]:
    """Analyze chunks in worker processes, at most two per worker in flight (the records
    are read as they are needed), yielding the batches in order."""
    context = multiprocessing.get_context("fork")
    done_count = 0
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(),),
    ) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(analyze, chunk, sort_locales))
            if len(pending) >= 2 * processes:
                batch = pending.popleft().result()
                done_count += batch.count
                if progress:
                    progress(done_count)
                yield batch
        while pending:
            batch = pending.popleft().result()
            done_count += batch.count
            if progress:
                progress(done_count)
            yield batch


def split(batches: list[Batch], parts: int) -> list[list[Batch]]:
    """Contiguous groups of batches with about the same number of documents each."""
    total = sum(b.count for b in batches)
    parts = max(1, min(parts, total // MIN_RECORDS_PER_SEGMENT, len(batches)))
    groups: list[list[Batch]] = [[] for _ in range(parts)]
    seen = 0
    for batch in batches:
        groups[min(parts - 1, seen * parts // max(total, 1))].append(batch)
        seen += batch.count
    return [g for g in groups if g]


def write_segments(
    folder: Path, schema: Schema, batches: list[Batch], processes: int
) -> list[W3Segment]:
    """One segment per group of batches, in document order; groups after the first are
    written by forked children while this process writes the first."""
    groups = split(batches, processes)
    context = multiprocessing.get_context("fork")
    children = []
    for group in groups[1:]:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_write_in_child, args=(folder, schema, group, sender, os.getpid())
        )
        child.start()
        sender.close()
        children.append((child, receiver))
    try:
        with gc_paused():
            first = write_bulk_segment(folder, schema, merge_batches(schema, groups[0]))
    except BaseException:
        for child, _ in children:
            child.kill()
            child.join()
        raise
    segments = [first]
    problems = []
    for child, receiver in children:
        try:
            status, value = receiver.recv()
        except EOFError:
            status, value = "error", "a segment writer process died"
        child.join()
        if status == "ok":
            segments.append(value)
        else:
            problems.append(value)
    if problems:
        raise BulkWriteFailed(problems[0])
    return segments


def commit_segments(ix, segments: list[W3Segment]) -> None:
    """Add written segments to an index nobody else writes (a new generation, or under
    the writer's lock): a new table of contents, then Whoosh removes what it no longer
    names."""
    toc = ix._read_toc()
    generation = toc.generation + 1
    every = [*toc.segments, *segments]
    TOC(toc.schema, every, generation).write(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, generation, every)


def _write_in_child(folder: Path, schema: Schema, group: list[Batch], sender, parent: int):
    _start_worker(parent)
    try:
        segment = write_bulk_segment(folder, schema, merge_batches(schema, group))
        sender.send(("ok", segment))
    except BaseException as error:  # reported to the parent, which raises it
        message = f"{type(error).__name__}: {error}"
        if not isinstance(error, OSError):
            message += "\n" + traceback.format_exc()
        sender.send(("error", message))
    finally:
        sender.close()
        os._exit(0)
