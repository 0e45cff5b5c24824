"""The on-disk index: generations, one writer at a time, atomic rebuilds, fresh searchers.

Layout inside the data folder::

    index            -> symlink to the current generation
    index.<stamp>/   one complete Whoosh index per generation

A rebuild writes a new generation next to the current one and swaps the symlink with one
`rename`, so readers see either the old or the new index, never an empty one. Every process
checks the symlink and the index's own generation at most every `REFRESH_SECONDS`, so a
commit made by any process is searched by all of them within a second.

Never point this at a folder from an untrusted source: Whoosh stores its schema as a pickle.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher

from index import bulk
from index import searcher as search_api
from index.arrays import ArrayCache, ensure_arrays
from index.collation import SORT_LOCALES
from index.schema import INDEX_FORMAT, build_schema
from index.segment_builder import Batch as AnalyzedBatch
from index.segment_builder import merge_batches
from index.segment_writer import write_bulk_segment
from index.vocabulary import Vocabulary

REFRESH_SECONDS = 0.25
APPLIED_FILE = "applied-position"  # the caller's change-feed position this generation holds
WRITE_TIMEOUT_SECONDS = 120.0
KEEP_GENERATIONS = 2
RESULT_CACHE_SIZE = 1024
FORMAT_FILE = "portal-index-format"
REBUILD_PROCESSES = min(2, os.cpu_count() or 1)


class IndexUnavailable(RuntimeError):
    """The index folder is missing or cannot be opened."""


class IndexBuildFailed(OSError):
    """A rebuild did not write every record (disk full, a failed worker process)."""


class IndexBusy(RuntimeError):
    """Another process is writing the index (asked not to wait)."""


# What an `apply` step found to do: documents to add or replace, ids to delete, and the
# position they bring the index to; REBUILD asks for a full rebuild instead.
Batch = tuple[list[dict], set[str], int]
REBUILD = "rebuild"


class SearchIndex:
    def __init__(
        self,
        path: Path | str,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
        vocabularies: Sequence[Vocabulary] = (),
        sort_locales: Sequence[str] = SORT_LOCALES,
    ):
        self.path = Path(path)
        self.vocabularies = list(vocabularies)
        self.sort_locales = tuple(sort_locales)
        self._arrays = ArrayCache()
        self._opened = 0
        self._results: OrderedDict[tuple[int, str], search_api.SearchResult] = OrderedDict()
        self.write_timeout = write_timeout
        self._lock = threading.RLock()
        self._target: str | None = None
        self._ix = None
        self._searcher: Searcher | None = None
        self._checked = 0.0

    # --- lifecycle ------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_symlink() and whoosh_index.exists_in(str(self.path))

    def healthy(self) -> bool:
        """True if the current generation is of this version's format, opens and can be
        searched."""
        try:
            if (self.path / FORMAT_FILE).read_text().strip() != self._format_marker():
                return False
            with self.searching() as searcher:
                searcher.doc_count()
            return True
        except Exception:  # any corruption shows up as a different exception type
            return False

    def create(self) -> None:
        """Start with an empty generation (replacing whatever was there)."""
        self._swap_to(self._new_generation())

    def _new_generation(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        generation = self.path.parent / f"{self.path.name}.{time.time_ns()}"
        generation.mkdir()
        whoosh_index.create_in(str(generation), build_schema(self.sort_locales))
        (generation / FORMAT_FILE).write_text(f"{self._format_marker()}\n")
        return generation

    def _format_marker(self) -> str:
        """What an index generation must have been written as to be searched: this
        version's format, with a title order for each of these locales."""
        return f"{INDEX_FORMAT} {','.join(self.sort_locales)}"

    def _swap_to(self, generation: Path) -> None:
        if self.path.exists() and not self.path.is_symlink():
            # An old-style plain folder: move it aside so the symlink can take its name.
            self.path.rename(self.path.parent / f"{self.path.name}.{time.time_ns()}.old")
        link = self.path.parent / f".{self.path.name}.link-{os.getpid()}"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(generation.name)
        os.replace(link, self.path)
        self._remove_old_generations(keep=generation)

    def _remove_old_generations(self, keep: Path) -> None:
        prefix = f"{self.path.name}."
        generations = sorted(
            p
            for p in self.path.parent.iterdir()
            if p.name.startswith(prefix) and p.is_dir() and p != keep
        )
        # The previous generation stays so that searchers still holding it can finish.
        for old in generations[: max(0, len(generations) - (KEEP_GENERATIONS - 1))]:
            shutil.rmtree(old, ignore_errors=True)

    # --- writing --------------------------------------------------------------------------

    def update(self, records: Iterable[dict], delete_ids: Iterable[str] = ()) -> int:
        """Add or replace the given records and delete the given ids, in one commit."""
        latest = {record["id"]: record for record in records}  # the last of repeated ids
        batches = self._analyze(latest.values())
        with self._write_lock():
            self._write(batches, [*delete_ids, *latest])
        return len(latest)

    def _analyze(self, records: Iterable[dict]) -> list[AnalyzedBatch]:
        return bulk.analyze_all(records, processes=1, sort_locales=self.sort_locales)

    def _write(self, batches: list[AnalyzedBatch], delete_ids: Iterable[str]) -> None:
        """One commit (under the write lock): the ids deleted, the analyzed records as one
        new segment written from arrays (with its arrays file). Whoosh's writer merges small
        segments as it always does; a merged segment gets its arrays file before the commit."""
        # Opened under the lock: an index opened before another writer's commit names
        # segment files that commit may already have removed.
        ix = whoosh_index.open_dir(str(self.path))
        folder = Path(ix.storage.folder)
        writer = ix.writer(timeout=self.write_timeout, delay=0.05, limitmb=256)
        try:
            for record_id in delete_ids:
                writer.delete_by_term("id", record_id)
            added = (
                [write_bulk_segment(folder, ix.schema, merge_batches(ix.schema, batches))]
                if batches
                else []
            )
            segments = writer._merge_segments(None, None, None)
            if writer._added:  # small segments merged into the writer's own segment
                merged = writer._finalize_segment()
                reader = SegmentReader(ix.storage, ix.schema, merged)
                try:
                    ensure_arrays(folder, reader)
                finally:
                    reader.close()
                segments.append(merged)
            else:
                writer._close_segment()
            writer._commit_toc(segments + added)
        except BaseException:
            writer.cancel()
            raise
        writer._finish()
        self._checked = 0.0  # this process sees its own commit at once

    def applied(self) -> int:
        """The position the current generation was last brought to (0 if never)."""
        try:
            return int((self.path / APPLIED_FILE).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def _mark_applied(self, folder: Path, position: int) -> None:
        tmp = folder / f".{APPLIED_FILE}.{os.getpid()}"
        tmp.write_text(f"{position}\n")
        os.replace(tmp, folder / APPLIED_FILE)

    def apply(self, step: Callable[[int], Batch | str | None], wait: bool = True) -> int | str:
        """Bring the index forward under the write lock: `step(applied)` reads what changed
        since the applied position and returns a Batch (written, with its position, in one
        commit), None (nothing to do) or REBUILD (nothing written; the caller rebuilds).
        Reading inside the lock keeps two processes from writing older documents over newer
        ones. With `wait` False, IndexBusy is raised at once if another process is writing.
        Returns the position reached, or REBUILD."""
        with self._write_lock(wait=wait):
            position = self.applied()
            found = step(position)
            if found is None or found == REBUILD:
                return found or position
            records, delete_ids, reached = found
            latest = {record["id"]: record for record in records}
            self._write(self._analyze(latest.values()), [*delete_ids, *latest])
            self._mark_applied(self.path.parent / os.readlink(self.path), reached)
            return reached

    @contextmanager
    def _write_lock(self, wait: bool = True):
        """One writer at a time across threads and processes (waits up to write_timeout)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f".{self.path.name}.write.lock", "a") as lock:
            deadline = time.monotonic() + self.write_timeout
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        raise IndexBusy("another process is writing the index") from None
                    if time.monotonic() > deadline:
                        raise TimeoutError("another process keeps the index busy") from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def rebuild(
        self,
        records: Iterable[dict],
        progress: Callable[[int], None] | None = None,
        applied: int = 0,
    ) -> int:
        """Index every record into a new generation, then swap it in atomically. `applied`
        is the position of the snapshot the records were read at.

        The records are analyzed in `REBUILD_PROCESSES` worker processes and written as
        one segment per process, from arrays (index/bulk.py)."""
        generation = self._new_generation()
        self._mark_applied(generation, applied)
        try:
            batches = bulk.analyze_all(
                records, REBUILD_PROCESSES, progress, sort_locales=self.sort_locales
            )
            count = sum(b.count for b in batches)
            ix = whoosh_index.open_dir(str(generation))
            segments = (
                bulk.write_segments(generation, ix.schema, batches, REBUILD_PROCESSES)
                if batches
                else []
            )
            del batches
            bulk.commit_segments(ix, segments)
            # Count what the new generation holds before letting readers see it.
            with whoosh_index.open_dir(str(generation)).reader() as reader:
                written = reader.doc_count()
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        if written != count:
            shutil.rmtree(generation, ignore_errors=True)
            raise IndexBuildFailed(
                f"the new index holds {written} of {count} records; "
                "the previous index is still served"
            )
        if progress:
            progress(count)
        with self._write_lock():  # not while another process writes the generation it reads
            self._swap_to(generation)
        self._checked = 0.0
        return count

    # --- reading --------------------------------------------------------------------------

    @contextmanager
    def searching(self):
        """A searcher that reflects every commit made up to `REFRESH_SECONDS` ago."""
        with self._lock:
            yield self._current_searcher()

    def _current_searcher(self) -> Searcher:
        now = time.monotonic()
        if self._searcher is not None and now - self._checked < REFRESH_SECONDS:
            return self._searcher
        self._checked = now
        try:
            target = os.readlink(self.path)
        except OSError as error:
            raise IndexUnavailable(f"no index at {self.path}") from error
        try:
            # A new searcher rather than Searcher.refresh(): refresh() reuses the readers of
            # unchanged segments together with their old deletion sets, so a document
            # replaced by update_document would show twice.
            if target != self._target or self._searcher is None or not self._searcher.up_to_date():
                if self._searcher is not None:
                    self._searcher.close()
                    self._searcher = None
                folder = self.path.parent / target
                marker = folder / FORMAT_FILE
                if not marker.exists() or marker.read_text().strip() != self._format_marker():
                    raise IndexUnavailable(f"the index at {folder} is of an older format")
                self._ix = whoosh_index.open_dir(str(folder))
                self._searcher = self._ix.searcher()
                self._attach_arrays(folder, self._searcher)
                self._opened += 1  # results cached for older searchers no longer apply
                self._target = target
        except Exception as error:  # a damaged index raises many different errors
            self._searcher, self._target = None, None
            raise IndexUnavailable(f"the index at {self.path} cannot be opened: {error}") from error
        return self._searcher

    def _attach_arrays(self, folder: Path, searcher: Searcher) -> None:
        """Map the arrays file of every live segment (written here for a segment without
        one), so that a damaged file shows as an unavailable index, not a failed search."""
        leaves = [
            sub.reader()
            for sub, _ in searcher.leaf_searchers()
            if isinstance(sub.reader(), SegmentReader)
        ]
        self._arrays.keep_only(reader.segment().segment_id() for reader in leaves)
        for reader in leaves:
            self._arrays.segment(reader, folder)

    def search(self, request: search_api.SearchRequest) -> search_api.SearchResult:
        """Search; results of the current index state are cached (readers repeat popular
        queries, page through them and click facets), and any commit starts afresh."""
        with self.searching() as searcher:
            key = (self._opened, repr(request))
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return cached
            result = search_api.search(searcher, request, self.vocabularies, self._arrays)
            self._results[key] = result
            while len(self._results) > RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
            return result

    def warm(self) -> None:
        """Prepare the current index for searching (see searcher.warm)."""
        with self.searching() as searcher:
            search_api.warm(searcher, self._arrays)

    def clear_result_cache(self) -> None:
        with self._lock:
            self._results.clear()

    def suggest(self, text: str, limit: int = 8) -> list[search_api.Suggestion]:
        with self.searching() as searcher:
            return search_api.suggest(searcher, text, limit, self._arrays)

    def doc_count(self) -> int:
        with self.searching() as searcher:
            return searcher.doc_count()

    def stored_ids(self) -> set[str]:
        return set(self.fingerprints())

    def fingerprints(self) -> dict[str, str]:
        """Record id -> fingerprint of what the index holds for it."""
        with self.searching() as searcher:
            return {f["id"]: f.get("fingerprint", "") for f in searcher.all_stored_fields()}

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._target = None
