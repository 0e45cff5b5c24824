"""The catalog: the source of truth, and the one write path that keeps the index in step.

Every change (an import, later a librarian's edit) is one database transaction; once it has
committed, the records it touched are re-indexed in one index commit.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import OperationalError

from index import SearchIndex
from index.store import REBUILD
from index.vocabulary import Vocabulary, language_labels
from portal import languages
from portal.catalog import feed, harvest, models, works
from portal.catalog.audit import record_action
from portal.catalog.csvformat import (
    CatalogFileError,
    ParsedFile,
    Problem,
    parse_catalog_csv,
    write_catalog_csv,
)
from portal.catalog.db import (
    migrate,
    open_engine,
    retrying,
    revisions,
    snapshot,
    sqlite_url,
    writing,
)
from portal.catalog.imports import ImportReport, apply_import
from portal.catalog.marc import parse_marc
from portal.catalog.records import LIST_FIELDS, Record, isbn10
from portal.catalog.reference import LANGUAGES, subject_variants, subjects

EPOCH = date(1970, 1, 1)
log = logging.getLogger("portal.catalog")
FULL_REBUILD_ABOVE = 5_000
DOCUMENT_PAGE = 5_000  # records read at a time when every record is read (a rebuild)


# Languages whose names readers may type ("Kazakh", "qazax", "казахский"): the portal's five
# and the neighbours a donation may bring.
NAMED_LANGUAGES = (
    "az",
    "kk",
    "tr",
    "ru",
    "en",
    "uz",
    "ky",
    "tk",
    "tt",
    "uk",
    "de",
    "fr",
    "fa",
    "ar",
)


@cache
def search_vocabularies() -> tuple[Vocabulary, ...]:
    """Subject headings and language names in every portal language, matched at query time."""
    variants = subject_variants()
    headings = {key: [*names.values(), *variants[key]] for key, names in subjects().items()}
    return (
        Vocabulary("subjects", headings),
        Vocabulary("language", language_labels(NAMED_LANGUAGES, languages.CODES)),
    )


MARC_SUFFIXES = (".mrc", ".marc", ".iso2709", ".xml", ".marcxml")


def is_marc(source: str, data: bytes) -> bool:
    """MARC by name, or by content: an ISO 2709 leader starts with five digits."""
    if source.lower().endswith(MARC_SUFFIXES):
        return True
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5]
    return head.isdigit() and len(head) == 5 or head.startswith(b"<")


class DryRun(Exception):
    """Raised inside an import transaction to roll it back after validation."""

    def __init__(self, report: ImportReport):
        self.report = report


class Touched:
    """The records a change touched (or every record)."""

    def __init__(self) -> None:
        self.ids: set[str] | None = set()
        self.any = False

    def add(self, record_id: str) -> None:
        self.update([record_id])

    def update(self, record_ids: Iterable[str]) -> None:
        if self.ids is not None:
            self.ids.update(record_ids)
        self.any = True

    def everything(self) -> None:
        self.ids, self.any = None, True

    def __bool__(self) -> bool:
        return self.any and (self.ids is None or bool(self.ids))


T = TypeVar("T")
FEED_BATCH = 2000  # changes applied in one index commit


@dataclass
class DataPaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "catalog.sqlite3"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def database_url_file(self) -> Path:
        return self.root / "database.url"

    def named_database(self) -> str | None:
        """The database URL the folder names (a node's folder, beside its own index)."""
        try:
            return self.database_url_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def private_database_file(self) -> None:
        """The SQLite catalog readable by its owner only (mode 0600: it holds password
        hashes); SQLite gives its -wal and -shm files the same mode."""
        fd = os.open(self.database, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.database, 0o600)

    def database_url(self, explicit: str | None = None) -> str:
        """`explicit` (PORTAL_DATABASE_URL), else the folder's database.url, else SQLite in
        the folder."""
        return explicit or self.named_database() or sqlite_url(self.database)


def _json_list(value: str | None) -> list[str]:
    return list(_json_tuple(value)) if value else []


@lru_cache(maxsize=65_536)
def _json_tuple(value: str) -> tuple[str, ...]:
    """Names and subject lists repeat across records: each distinct one is decoded once."""
    return tuple(json.loads(value))


# Libraries, districts and donors are read on every page; a process keeps them this long, so
# another process's edit to them shows within it (this process's own edits show at once).
REFERENCE_SECONDS = 1.0


class Catalog:
    def __init__(self, engine: Engine, search_index: SearchIndex | None):
        self.engine = engine
        self.index = search_index
        self.created = False  # this process created the catalog's tables (an empty catalog)
        self.index_behind: Exception | None = None  # why the last change is not indexed yet
        self._reference: dict[str, tuple[float, object]] = {}
        self._reference_lock = threading.Lock()
        self._figures: dict[str, tuple[int, object]] = {}

    @classmethod
    def open(cls, data_dir: Path | str, database_url: str | None = None) -> Catalog:
        """Open (creating if needed) the catalog of a data folder and migrate it. The
        database is `database_url`, else the one the folder names in `database.url` (a node
        of a shared PostgreSQL catalog), else SQLite in the folder."""
        paths = DataPaths(Path(data_dir))
        paths.root.mkdir(parents=True, exist_ok=True)
        url = paths.database_url(database_url)
        if url == sqlite_url(paths.database):
            paths.private_database_file()
        engine = open_engine(url)
        catalog = cls(engine, None)
        catalog.created = migrate(engine) == revisions()
        catalog.index = SearchIndex(
            paths.index,
            vocabularies=search_vocabularies(),
            sort_locales=languages.collations(),
        )
        return catalog

    def close(self) -> None:
        self.index.close()
        self.engine.dispose()

    # --- reference data -------------------------------------------------------------------

    def _reference_rows(self, table) -> list[dict]:
        """A reference table's rows, read at most every `REFERENCE_SECONDS`."""
        now = time.monotonic()
        with self._reference_lock:
            found = self._reference.get(table.name)
        if found is None or now - found[0] >= REFERENCE_SECONDS:
            try:
                with self.engine.connect() as conn:
                    rows = [dict(r) for r in conn.execute(select(table)).mappings()]
            except OperationalError:
                if found is None:
                    raise
                return [dict(r) for r in found[1]]  # the database is away: the last we read
            found = (now, rows)
            with self._reference_lock:
                self._reference[table.name] = found
        return [dict(r) for r in found[1]]

    def forget_reference_data(self) -> None:
        """After this process changes libraries, districts or donors."""
        with self._reference_lock:
            self._reference.clear()

    def _named(self, table, kind: str) -> list[dict]:
        """Reference rows, each with its `names` by language."""
        names: dict[str, dict[str, str]] = defaultdict(dict)
        for row in self._reference_rows(models.names):
            if row["kind"] == kind:
                names[row["code"]][row["lang"]] = row["name"]
        return [{**row, "names": names.get(row["code"], {})} for row in self._reference_rows(table)]

    def library_codes(self) -> set[str]:
        return {r["code"] for r in self._reference_rows(models.libraries)}

    def libraries(self) -> list[dict]:
        return sorted(self._named(models.libraries, "library"), key=lambda r: r["code"])

    def districts(self) -> dict[str, dict]:
        return {r["code"]: r for r in self._named(models.districts, "district")}

    def donors(self) -> dict[str, dict]:
        return {r["code"]: r for r in self._named(models.donors, "donor")}

    def record_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(models.records)).scalar_one()

    # --- imports --------------------------------------------------------------------------

    def parse_files(
        self, files: Iterable[tuple[str, bytes]], library: str | None = None
    ) -> list[ParsedFile]:
        """Validate every file (Catalog CSV v1, or MARC 21 as ISO 2709 or MARCXML); raises
        CatalogFileError with the problems of all of them. `library` is where MARC records
        without 852 holdings go."""
        libraries = self.library_codes()
        parsed, problems = [], []
        if library is not None and library not in libraries:
            problems.append(Problem("--library", None, None, library, "unknown library code"))
        for source, data in files:
            try:
                if is_marc(source, data):
                    parsed.append(parse_marc(data, source, libraries, default_library=library))
                else:
                    parsed.append(parse_catalog_csv(data, source, libraries))
            except CatalogFileError as error:
                problems.extend(error.problems)
        if problems:
            raise CatalogFileError(problems)
        return parsed

    def import_files(
        self,
        files: Iterable[tuple[str, bytes]],
        actor: str = "cli",
        dry_run: bool = False,
        library: str | None = None,
        claim: Callable[[Connection], None] | None = None,
        wait_seconds: float | None = None,
        progress: Callable[..., None] | None = None,
    ) -> ImportReport:
        """Import files all-or-nothing, then index what changed. `claim(conn)` runs first in
        the import's transaction (a previewed upload taken, so it is imported once)."""
        progress = progress or (lambda **_: None)
        progress(stage="checking")
        parsed = self.parse_files(files, library)
        progress(stage="writing", total=sum(len(f.rows) for f in parsed))

        def work(conn: Connection, touched: Touched) -> ImportReport:
            if claim is not None:
                claim(conn)
            report = apply_import(conn, parsed, actor=actor, dry_run=dry_run)
            if dry_run:
                raise DryRun(report)
            record_action(
                conn,
                actor,
                "import",
                ", ".join(report.files)[:200],
                library,
                None,
                {"summary": report.summary()},
            )
            touched.update(report.changed_ids)
            return report

        try:
            report = self.change("import", actor, work, wait_seconds, progress)
        except DryRun as rolled_back:
            return rolled_back.report
        self.forget_reference_data()  # an import may bring new donors
        return report

    # --- the one write path ---------------------------------------------------------------

    def change(
        self,
        kind: str,
        actor: str,
        work: Callable[[Connection, Touched], T],
        wait_seconds: float | None = None,
        progress: Callable[..., None] | None = None,
    ) -> T:
        """Run `work(conn, touched)` as one write transaction that also appends to the change
        feed the records it touched; run again if it lost a race (a key another transaction
        just took); then bring this node's index up to date. Every write of the catalog
        goes through here, so one machine and ten behave the same."""

        def attempt() -> T:
            touched = Touched()
            with writing(self.engine, wait_seconds) as conn:
                result = work(conn, touched)
                if touched:
                    feed.append(conn, kind, touched.ids, actor)
            return result

        result = retrying(attempt)
        self.follow(progress)
        return result

    def follow(self, progress: Callable[..., None] | None = None) -> None:
        """Catch up after a committed change. A failure here (a full disk, an index another
        process holds too long) must not turn a saved change into an error: it is logged
        and kept in `index_behind`, and this node's follower, the next start or `portal
        check` applies the change later (it is in the feed)."""
        try:
            if progress is not None:
                progress(stage="indexing", done=0)
            self.catch_up(
                progress=(lambda done: progress(done=done)) if progress is not None else None
            )
            self.index_behind = None
        except Exception as error:  # noqa: BLE001 - the change is committed either way
            log.warning("the search index could not follow a committed change: %s", error)
            self.index_behind = error

    def catch_up(self, wait: bool = True, progress: Callable[[int], None] | None = None) -> int:
        """Apply every committed change this node's index has not seen, in order; returns
        the position reached. A missing index, or more changed records than an update is
        worth, is rebuilt from a snapshot (and the changes after it)."""
        if not self.index.exists():
            self.rebuild_index(progress)
            return self.index.applied()
        reached = self.index.apply(self._pending, wait=wait)
        if reached == REBUILD:
            self.rebuild_index(progress)
            return self.index.applied()
        return reached

    def _pending(self, applied: int):
        """What changed after `applied`: documents to write, ids to delete, the position."""
        with self.engine.connect() as conn:
            if feed.head(conn) <= applied:
                return None
            changes = feed.since(conn, applied, limit=FEED_BATCH)
            ids: set[str] = set()
            for change in changes:
                if change.records is None:
                    return REBUILD
                ids |= change.records
            if len(ids) > FULL_REBUILD_ABOVE:
                return REBUILD
            found = list(self.documents(ids, conn=conn))
        return found, ids - {doc["id"] for doc in found}, changes[-1].position

    def import_paths(
        self,
        paths: Iterable[Path],
        actor: str = "cli",
        dry_run: bool = False,
        library: str | None = None,
    ) -> ImportReport:
        files = [(str(p), Path(p).read_bytes()) for p in paths]
        return self.import_files(files, actor, dry_run, library)

    # --- index documents ------------------------------------------------------------------

    def documents(
        self, ids: Iterable[str] | None = None, conn: Connection | None = None
    ) -> Iterator[dict]:
        """Records as the plain dicts the index takes, with their current holdings (read
        on `conn` if given: inside a snapshot, or the caller's transaction): the given ids,
        or every record a page at a time (a rebuild of a million records holds one page of
        rows, and the index starts on the first page while the next is read)."""
        with nullcontext(conn) if conn is not None else self.engine.connect() as conn:
            library_district = dict(
                conn.execute(select(models.libraries.c.code, models.libraries.c.district)).all()
            )
            for rows, held in self._record_pages(conn, ids):
                for row in rows:
                    yield index_document(
                        Record.from_row(row), held.get(row["id"], {}), library_district
                    )

    def _record_pages(self, conn, ids: Iterable[str] | None):
        """(record rows, their holdings summary) in id order: chunks of the given ids, or
        pages of every record read by id range."""
        records = models.records
        query = select(records).order_by(records.c.id)
        if ids is not None:
            id_list = sorted(set(ids))
            for i in range(0, len(id_list), 500):
                chunk = id_list[i : i + 500]
                rows = conn.execute(query.where(records.c.id.in_(chunk))).mappings().all()
                yield rows, self._holdings_summary(conn, chunk)
            return
        last = None
        while True:
            page = query.limit(DOCUMENT_PAGE)
            rows = conn.execute(page if last is None else page.where(records.c.id > last))
            rows = rows.mappings().all()
            if not rows:
                return
            last = rows[-1]["id"]
            yield rows, self._holdings_summary(conn, None, (rows[0]["id"], last))

    def _holdings_summary(
        self, conn, ids: list[str] | None, id_range: tuple[str, str] | None = None
    ) -> dict[str, dict]:
        h, e = models.holdings, models.holding_events
        q = select(h.c.record_id, h.c.library, h.c.copies, h.c.last_added).where(h.c.copies > 0)
        dq = select(e.c.record_id, e.c.donor).where(e.c.donor.is_not(None)).distinct()
        if ids is not None:
            q = q.where(h.c.record_id.in_(ids))
            dq = dq.where(e.c.record_id.in_(ids))
        if id_range is not None:
            q = q.where(h.c.record_id.between(*id_range))
            dq = dq.where(e.c.record_id.between(*id_range))
        summary: dict[str, dict] = defaultdict(
            lambda: {"libraries": set(), "donors": set(), "last_added": None}
        )
        for record_id, library, _copies, last_added in conn.execute(q):
            entry = summary[record_id]
            entry["libraries"].add(library)
            if entry["last_added"] is None or last_added > entry["last_added"]:
                entry["last_added"] = last_added
        for record_id, donor in conn.execute(dq):
            summary[record_id]["donors"].add(donor)
        return summary

    def rebuild_index(self, progress: Callable[[int], None] | None = None) -> int:
        """Build a fresh index generation from one snapshot of the catalog, swap it in, then
        apply the changes committed while it was built (a librarian's edit during a reindex
        is never lost: it is in the feed after the snapshot's position)."""
        with snapshot(self.engine) as conn:
            position = feed.head(conn)
            count = self.index.rebuild(
                self.documents(conn=conn), progress=progress, applied=position
            )
        self.catch_up()
        return count

    # --- reading for the web and the CLI --------------------------------------------------

    def records(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(models.records).where(models.records.c.id.in_(ids)))
            out = {}
            for row in rows.mappings():
                record = dict(row)
                for key in LIST_FIELDS:
                    record[key] = _json_list(record[key])
                out[row["id"]] = record
            return out

    def holdings(self, ids: list[str]) -> dict[str, list[dict]]:
        """Record id -> [{library, copies}] for libraries holding at least one copy."""
        out: dict[str, list[dict]] = defaultdict(list)
        if not ids:
            return out
        h = models.holdings
        with self.engine.connect() as conn:
            q = (
                select(h.c.record_id, h.c.library, h.c.copies)
                .where(h.c.record_id.in_(ids), h.c.copies > 0)
                .order_by(h.c.record_id, h.c.copies.desc(), h.c.library)
            )
            for record_id, library, copies in conn.execute(q):
                out[record_id].append({"library": library, "copies": copies})
        return out

    def editions(self, work: str, exclude: str | None = None) -> list[dict]:
        with self.engine.connect() as conn:
            q = select(models.records.c.id).where(models.records.c.work == work)
            ids = [i for i in conn.execute(q).scalars() if i != exclude]
        records = self.records(ids)
        return [records[i] for i in sorted(records)]

    def _per_change(self, name: str, compute: Callable[[], T]) -> T:
        """`compute()`, computed again only after the catalog changed (every write moves the
        change feed's head): sums over the whole ledger are too dear for every page view."""
        with self.engine.connect() as conn:
            head = feed.head(conn)
        cached = self._figures.get(name)
        if cached is not None and cached[0] == head:
            return cached[1]
        value = compute()  # a change landing meanwhile moves the head: computed again next time
        self._figures[name] = (head, value)
        return value

    def totals(self) -> dict[str, int]:
        """Campaign figures: records, copies, libraries holding books, donors, languages."""
        return self._per_change("totals", self._totals)

    def _totals(self) -> dict[str, int]:
        h, r, e = models.holdings, models.records, models.holding_events
        with self.engine.connect() as conn:
            return {
                "records": conn.execute(select(func.count()).select_from(r)).scalar_one(),
                "copies": conn.execute(select(func.coalesce(func.sum(h.c.copies), 0))).scalar_one(),
                "libraries": conn.execute(
                    select(func.count(func.distinct(h.c.library))).where(h.c.copies > 0)
                ).scalar_one(),
                "donors": conn.execute(select(func.count(func.distinct(e.c.donor)))).scalar_one(),
                "languages": conn.execute(
                    select(func.count(func.distinct(r.c.language)))
                ).scalar_one(),
            }

    def copies_by_library(self) -> dict[str, int]:
        """Library code -> copies on its shelves now (library pages show it on every view)."""
        return self._per_change("copies by library", lambda: harvest.copies_by_library(self.engine))

    def campaign_figures(self) -> dict[str, list[tuple[str, int]]]:
        """Donated copies by month, donor, language and library (donations and their
        corrections only: transfers move copies, they do not add any)."""
        return self._per_change("campaign", self._campaign_figures)

    def _campaign_figures(self) -> dict[str, list[tuple[str, int]]]:
        e, r = models.holding_events, models.records
        donated = e.c.kind.in_(("donation", "correction"))
        by_day = (
            select(e.c.event_date, func.sum(e.c.delta))
            .where(donated)
            .group_by(e.c.event_date)
            .order_by(e.c.event_date)
        )
        queries = {
            "donor": select(e.c.donor, func.sum(e.c.delta))
            .where(donated)
            .group_by(e.c.donor)
            .order_by(func.sum(e.c.delta).desc()),
            "language": select(r.c.language, func.sum(e.c.delta))
            .join(r, r.c.id == e.c.record_id)
            .where(donated)
            .group_by(r.c.language)
            .order_by(func.sum(e.c.delta).desc()),
            "library": select(e.c.library, func.sum(e.c.delta))
            .where(donated)
            .group_by(e.c.library)
            .order_by(func.sum(e.c.delta).desc()),
        }
        with self.engine.connect() as conn:
            figures = {
                name: [(str(key or ""), int(total)) for key, total in conn.execute(query)]
                for name, query in queries.items()
            }
            # Months are counted here, not with a date function: SQL dialects disagree on it.
            months: dict[str, int] = {}
            for day, total in conn.execute(by_day):
                month = day.strftime("%Y-%m")
                months[month] = months.get(month, 0) + int(total)
        return {"month": sorted(months.items()), **figures}

    def newest_arrivals(self, library: str | None = None, limit: int = 30) -> list[dict]:
        """Most recent donations (record, library, copies, date), newest first."""
        e = models.holding_events
        query = (
            select(e.c.record_id, e.c.library, e.c.delta, e.c.event_date, e.c.created_at)
            .where(e.c.kind == "donation")
            .order_by(e.c.event_date.desc(), e.c.id.desc())
            .limit(limit)
        )
        if library:
            query = query.where(e.c.library == library)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # --- export ---------------------------------------------------------------------------

    def export_rows(self) -> Iterator[dict[str, str]]:
        """The catalog as Catalog CSV v1 rows: one row per donation, with its corrections
        folded in, so that importing the export into an empty catalog gives the same records
        and donations. (Transfers and withdrawals are ledger events that Catalog CSV v1 has
        no column for.)
        """
        e, r = models.holding_events, models.records
        donor_names = {code: localized(row, "en") for code, row in self.donors().items()}
        with self.engine.connect() as conn:
            records = {row["id"]: row for row in conn.execute(select(r)).mappings()}
            donated = conn.execute(
                select(
                    e.c.record_id,
                    e.c.library,
                    e.c.donor,
                    e.c.source_key,
                    func.min(e.c.event_date),
                    func.sum(e.c.delta),
                )
                .where(e.c.kind.in_(("donation", "correction")))
                .group_by(e.c.record_id, e.c.library, e.c.donor, e.c.source_key)
                .order_by(e.c.record_id, e.c.library, func.min(e.c.event_date))
            ).all()
        for record_id, library, donor, source_key, day, copies in donated:
            if copies <= 0:
                continue
            dated = source_key.rsplit("|", 1)[-1] if source_key else day.isoformat()
            yield _csv_row(
                records[record_id], donor_names.get(donor, donor or ""), dated, library, copies
            )

    def holdings_rows(self, library: str) -> Iterator[dict[str, str]]:
        """What a library holds now, as Catalog CSV v1 rows: one row per record with the
        copies on its shelves (copies transferred in count, transferred out do not; donor
        and date are left empty: copies moved between libraries have no single donor)."""
        h, r = models.holdings, models.records
        query = (
            select(r, h.c.copies)
            .join(h, h.c.record_id == r.c.id)
            .where(h.c.library == library, h.c.copies > 0)
            .order_by(r.c.id)
        )
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query).mappings():
                yield _csv_row(row, "", "", library, row["copies"])

    def export_csv(self) -> str:
        stream = io.StringIO()
        write_catalog_csv(list(self.export_rows()), stream)
        return stream.getvalue()


def _csv_row(record, donor: str, dated: str, library: str, copies: int) -> dict[str, str]:
    """A record row of the database and one donation (or holding) as a Catalog CSV row."""
    return {
        "record_id": record["id"],
        "title": record["title"],
        "language": record["language"],
        "authors": "; ".join(_json_list(record["authors"])),
        "translators": "; ".join(_json_list(record["translators"])),
        "work": record["work"],
        "publisher": record["publisher"],
        "year": str(record["year"] or ""),
        "isbn": record["isbn"] or "",
        "subjects": "; ".join(_json_list(record["subjects"])),
        "donor": donor,
        "donated_on": dated,
        "library": library,
        "copies": str(copies),
    }


def other_titles(record: Record | Mapping) -> tuple[str, ...]:
    """The record's other titles and those of its work in the work authority, once each
    (a Record, or a record as `Catalog.records` gives it)."""
    if not isinstance(record, Record):
        record = Record.from_row({**record, **{k: json.dumps(record[k]) for k in LIST_FIELDS}})
    linked = works.authority().other_titles(record.work, record.title, record.authors)
    return works.distinct_titles([*record.other_titles, *linked], record.title)


def index_document(record: Record, summary: dict, library_district: dict[str, str]) -> dict:
    """A record and its holdings as the plain dict the index takes (see index/schema.py)."""
    libraries = sorted(summary.get("libraries", ()))
    return {
        "id": record.id,
        "title": record.title,
        "language": record.language,
        "script": record.script,
        "authors": list(record.authors),
        "translators": list(record.translators),
        "work": record.work,
        "publisher": record.publisher,
        "year": record.year,
        "isbn13": record.isbn,
        "isbn10": isbn10(record.isbn),
        "subjects": list(record.subjects),
        "other_titles": list(other_titles(record)),
        "libraries": libraries,
        "districts": sorted({library_district[c] for c in libraries}),
        "donors": sorted(summary.get("donors", ())),
        "added": (summary["last_added"] - EPOCH).days if summary.get("last_added") else None,
    }


def localized(row: dict, lang: str) -> str:
    """A reference row's name in a language, falling back to English, then Azerbaijani."""
    names = row.get("names") or {}
    for candidate in (lang, languages.SOURCE, languages.DEFAULT):
        if names.get(candidate):
            return names[candidate]
    return row.get("code", "")


__all__ = ["Catalog", "CatalogFileError", "DataPaths", "LANGUAGES", "localized"]
