"""The catalog: the source of truth, and the one write path that keeps the index in step.

Every change (an import, later a librarian's edit) is one database transaction; once it has
committed, the records it touched are re-indexed in one index commit.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

from sqlalchemy import Engine, func, select

from index import SearchIndex
from index.vocabulary import Vocabulary, language_labels
from portal.catalog import models
from portal.catalog.audit import record_action
from portal.catalog.csvformat import (
    CatalogFileError,
    ParsedFile,
    Problem,
    isbn10,
    parse_catalog_csv,
    write_catalog_csv,
)
from portal.catalog.db import migrate, open_engine, sqlite_url, writing
from portal.catalog.imports import ImportReport, apply_import
from portal.catalog.marc import parse_marc
from portal.catalog.reference import LANGUAGES, subjects

EPOCH = date(1970, 1, 1)
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
    headings = {key: list(names.values()) for key, names in subjects().items()}
    return (
        Vocabulary("subjects", headings),
        Vocabulary("language", language_labels(NAMED_LANGUAGES)),
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


@dataclass
class DataPaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "catalog.sqlite3"

    @property
    def index(self) -> Path:
        return self.root / "index"


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
    def __init__(self, engine: Engine, search_index: SearchIndex):
        self.engine = engine
        self.index = search_index
        self._reference: dict[str, tuple[float, object]] = {}
        self._reference_lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path | str, database_url: str | None = None) -> Catalog:
        """Open (creating if needed) the catalog in a data folder and migrate it."""
        paths = DataPaths(Path(data_dir))
        paths.root.mkdir(parents=True, exist_ok=True)
        engine = open_engine(database_url or sqlite_url(paths.database))
        migrate(engine)
        return cls(engine, SearchIndex(paths.index, vocabularies=search_vocabularies()))

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
            with self.engine.connect() as conn:
                rows = [dict(r) for r in conn.execute(select(table)).mappings()]
            found = (now, rows)
            with self._reference_lock:
                self._reference[table.name] = found
        return [dict(r) for r in found[1]]

    def forget_reference_data(self) -> None:
        """After this process changes libraries, districts or donors."""
        with self._reference_lock:
            self._reference.clear()

    def library_codes(self) -> set[str]:
        return {r["code"] for r in self._reference_rows(models.libraries)}

    def libraries(self) -> list[dict]:
        return sorted(self._reference_rows(models.libraries), key=lambda r: r["code"])

    def districts(self) -> dict[str, dict]:
        return {r["code"]: r for r in self._reference_rows(models.districts)}

    def donors(self) -> dict[str, dict]:
        return {r["code"]: r for r in self._reference_rows(models.donors)}

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
    ) -> ImportReport:
        """Import files all-or-nothing, then index what changed."""
        parsed = self.parse_files(files, library)
        report = None
        try:
            with writing(self.engine) as conn:
                report = apply_import(conn, parsed, actor=actor, dry_run=dry_run)
                if dry_run:
                    raise DryRun
                record_action(
                    conn,
                    actor,
                    "import",
                    ", ".join(report.files)[:200],
                    library,
                    None,
                    {"summary": report.summary()},
                )
        except DryRun:
            return report
        self.forget_reference_data()  # an import may bring new donors
        self.reindex_records(report.changed_ids)
        return report

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

    def documents(self, ids: Iterable[str] | None = None) -> Iterator[dict]:
        """Records as the plain dicts the index takes, with their current holdings: the
        given ids, or every record a page at a time (a rebuild of a million records holds
        one page of rows, and the index starts on the first page while the next is read)."""
        with self.engine.connect() as conn:
            library_district = dict(
                conn.execute(select(models.libraries.c.code, models.libraries.c.district)).all()
            )
            for rows, held in self._record_pages(conn, ids):
                for row in rows:
                    summary = held.get(row["id"], {})
                    subject_keys = _json_list(row["subjects"])
                    libraries = sorted(summary.get("libraries", ()))
                    yield {
                        "id": row["id"],
                        "title": row["title"],
                        "language": row["language"],
                        "script": row["script"],
                        "authors": _json_list(row["authors"]),
                        "translators": _json_list(row["translators"]),
                        "work": row["work"],
                        "publisher": row["publisher"],
                        "year": row["year"],
                        "isbn13": row["isbn"],
                        "isbn10": isbn10(row["isbn"]),
                        "subjects": subject_keys,
                        "libraries": libraries,
                        "districts": sorted({library_district[c] for c in libraries}),
                        "donors": sorted(summary.get("donors", ())),
                        "added": (summary["last_added"] - EPOCH).days
                        if summary.get("last_added")
                        else None,
                    }

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

    def reindex_records(self, ids: Iterable[str]) -> int:
        ids = set(ids)
        if not ids:
            return 0
        if not self.index.exists() or len(ids) > FULL_REBUILD_ABOVE:
            # Re-indexing tens of thousands of documents one by one is slower than writing a
            # fresh generation, and a fresh one is compact.
            return self.rebuild_index()
        found = list(self.documents(ids))
        missing = ids - {doc["id"] for doc in found}
        return self.index.update(found, delete_ids=missing)

    def rebuild_index(self, progress: Callable[[int], None] | None = None) -> int:
        """Build a fresh index generation from the catalog and swap it in.

        Changes committed while the rebuild runs are re-indexed right after the swap, so a
        librarian's edit during a reindex is never lost.
        """
        with self.engine.connect() as conn:
            started = conn.execute(select(func.max(models.records.c.updated_at))).scalar()
            last_event = conn.execute(select(func.max(models.holding_events.c.id))).scalar()
        count = self.index.rebuild(self.documents(), progress=progress)
        with self.engine.connect() as conn:
            changed = set()
            if started is not None:
                changed |= set(
                    conn.execute(
                        select(models.records.c.id).where(models.records.c.updated_at > started)
                    ).scalars()
                )
            changed |= set(
                conn.execute(
                    select(models.holding_events.c.record_id).where(
                        models.holding_events.c.id > (last_event or 0)
                    )
                ).scalars()
            )
        if changed:
            self.index.update(list(self.documents(changed)))
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
                for key in ("authors", "translators", "subjects"):
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

    def totals(self) -> dict[str, int]:
        """Campaign figures: records, copies, libraries holding books, donors, languages."""
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

    def campaign_figures(self) -> dict[str, list[tuple[str, int]]]:
        """Donated copies by month, donor, language and library (donations and their
        corrections only: transfers move copies, they do not add any)."""
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
        donor_names = {code: row["name_en"] for code, row in self.donors().items()}
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
            record = records[record_id]
            dated = source_key.rsplit("|", 1)[-1] if source_key else day.isoformat()
            yield {
                "record_id": record_id,
                "title": record["title"],
                "language": record["language"],
                "authors": "; ".join(_json_list(record["authors"])),
                "translators": "; ".join(_json_list(record["translators"])),
                "work": record["work"],
                "publisher": record["publisher"],
                "year": str(record["year"] or ""),
                "isbn": record["isbn"] or "",
                "subjects": "; ".join(_json_list(record["subjects"])),
                "donor": donor_names.get(donor, donor or ""),
                "donated_on": dated,
                "library": library,
                "copies": str(copies),
            }

    def export_csv(self) -> str:
        stream = io.StringIO()
        write_catalog_csv(list(self.export_rows()), stream)
        return stream.getvalue()


def localized(row: dict, lang: str, prefix: str = "name") -> str:
    """The row's `name_<lang>`, falling back to English, then Azerbaijani."""
    for candidate in (lang, "en", "az"):
        value = row.get(f"{prefix}_{candidate}")
        if value:
            return value
    return row.get("code", "")


__all__ = ["Catalog", "CatalogFileError", "DataPaths", "LANGUAGES", "localized"]
