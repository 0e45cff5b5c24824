"""Applying validated donation rows to the catalog in one transaction.

Records are upserted (new, updated or unchanged) and each row becomes a donation event on
the holdings ledger. A row is identified by record, library, donor and date: importing the
same file again adds nothing, and a changed copy count adds a correction event for the
difference, so the ledger keeps the history.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Connection, bindparam, insert, select, update

from index.analysis import fold
from portal.catalog import models, works
from portal.catalog.csvformat import DonationRow, ParsedFile
from portal.catalog.holdings import Event, apply_events
from portal.catalog.records import Record
from portal.catalog.reference import LANGUAGES, subject_variants, subjects


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    rows: int = 0
    records_new: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    records_linked: int = 0  # records of the file that are editions of a work the authority knows
    donations_new: int = 0
    donations_corrected: int = 0
    donations_unchanged: int = 0
    copies_added: int = 0
    donors_new: int = 0
    changed_ids: set[str] = field(default_factory=set)
    dry_run: bool = False

    def summary(self) -> str:
        """The report in one English line (the command line, the audit log); pages show the
        counts one by one, translated (templates/staff/_import_report.html)."""
        verb = "would import" if self.dry_run else "imported"
        return (
            f"{verb} {self.rows} rows from {len(self.files)} file(s): records "
            f"{self.records_new} new, {self.records_updated} updated, "
            f"{self.records_unchanged} unchanged, {self.records_linked} linked to a known work; "
            f"donations {self.donations_new} new, "
            f"{self.donations_corrected} corrected, {self.donations_unchanged} unchanged; "
            f"{self.copies_added:+d} copies"
        )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "donor"


@cache
def _subject_keys() -> dict[str, str]:
    """Every heading and variant of the subject authority, folded -> its key."""
    found: dict[str, str] = {}
    variants = subject_variants()
    for key, names in subjects().items():
        for written in (key, *names.values(), *variants[key]):
            found.setdefault(fold(written), key)
    return found


def _subject_key(subject: str) -> str:
    """A subject written as any heading or variant of the subject authority, in any language
    and script (`Bakı`, `Баку`, `Baku`, `Поэзия`, `şiir`) -> its key; a subject the authority
    does not know stays as written (still searchable by its words)."""
    return _subject_keys().get(fold(subject), subject)


def _record_values(data: Record) -> dict:
    values = data.changed(subjects=tuple(_subject_key(s) for s in data.subjects)).values()
    del values["id"]
    return values


class _DonorResolver:
    """Maps a donor as written (code or name in any language) to a donor code."""

    def __init__(self, conn: Connection, report: ImportReport):
        self.conn, self.report = conn, report
        self.by_name: dict[str, str] = {}
        for code in conn.execute(select(models.donors.c.code)).scalars():
            self.by_name[code.casefold()] = code
        names = models.names
        for code, name in conn.execute(
            select(names.c.code, names.c.name).where(names.c.kind == "donor")
        ):
            self.by_name[name.casefold()] = code

    def code(self, written: str) -> str | None:
        if not written:
            return None
        found = self.by_name.get(written.casefold())
        if found:
            return found
        code = _slug(written)
        while self.conn.execute(
            select(models.donors.c.code).where(models.donors.c.code == code)
        ).first():
            code += "-x"
        self.conn.execute(insert(models.donors).values(code=code))
        self.conn.execute(
            insert(models.names),
            [{"kind": "donor", "code": code, "lang": lang, "name": written} for lang in LANGUAGES],
        )
        self.by_name[written.casefold()] = code
        self.report.donors_new += 1
        return code


def _upsert_records(
    conn: Connection, rows: list[DonationRow], report: ImportReport, now: datetime
) -> None:
    wanted = {row.record.id: row.record for row in rows}
    existing = {}
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = sorted(ids[start : start + 500])
        query = (  # locked until the import commits: another import waits, then sees ours
            select(models.records)
            .where(models.records.c.id.in_(chunk))
            .order_by(models.records.c.id)
            .with_for_update()
        )
        for row in conn.execute(query).mappings():
            existing[row["id"]] = row
    new_rows = []
    known = works.authority()
    for record_id, data in wanted.items():
        values = _record_values(data)
        if known.link(data.work, data.title, data.authors) is not None:
            report.records_linked += 1
        current = existing.get(record_id)
        if current is None:
            new_rows.append(
                {"id": record_id, **values, "created_at": now, "updated_at": now, "version": 1}
            )
            report.records_new += 1
            report.changed_ids.add(record_id)
        elif any(current[k] != v for k, v in values.items()):
            conn.execute(
                update(models.records)
                .where(models.records.c.id == record_id)
                .values(**values, updated_at=now, version=models.records.c.version + 1)
            )
            report.records_updated += 1
            report.changed_ids.add(record_id)
        else:
            report.records_unchanged += 1
    if new_rows:
        conn.execute(insert(models.records), new_rows)


def _source_key(row: DonationRow, donor: str | None) -> str:
    day = row.donated_on.isoformat() if row.donated_on else ""
    return f"{row.record.id}|{row.library}|{donor or ''}|{day}"


def _recorded_copies(conn: Connection, keys: list[str]) -> dict[str, int]:
    """The copies each donation row of the file was imported with before (locked until the
    import commits; a row imported by another import meanwhile is found here after it
    commits, or refused by the primary key, and the import runs again)."""
    found: dict[str, int] = {}
    donations = models.donations
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = (
            select(donations.c.source_key, donations.c.copies)
            .where(donations.c.source_key.in_(chunk))
            .order_by(donations.c.source_key)
            .with_for_update()
        )
        found.update({key: int(copies) for key, copies in conn.execute(query)})
    return found


def _record_donations(
    conn: Connection, recorded: dict[str, int], before: dict[str, int], rows: dict[str, tuple]
) -> None:
    """What each donation row now says: new ones inserted, changed ones updated."""
    donations = models.donations
    new = [
        {"source_key": key, "record_id": r, "library": lib, "copies": recorded[key]}
        for key, (r, lib) in rows.items()
        if key not in before
    ]
    if new:
        conn.execute(insert(donations), new)
    changed = [
        {"b_key": key, "b_copies": recorded[key]}
        for key in rows
        if key in before and before[key] != recorded[key]
    ]
    if changed:
        conn.execute(
            update(donations)
            .where(donations.c.source_key == bindparam("b_key"))
            .values(copies=bindparam("b_copies")),
            changed,
        )


def apply_import(
    conn: Connection, parsed_files: list[ParsedFile], actor: str, dry_run: bool = False
) -> ImportReport:
    """Write every row of every file within the caller's transaction."""
    now = datetime.now(UTC)
    today = now.date()
    report = ImportReport(files=[f.source for f in parsed_files], dry_run=dry_run)
    rows = [row for f in parsed_files for row in f.rows]
    report.rows = len(rows)
    _upsert_records(conn, rows, report, now)
    donors = _DonorResolver(conn, report)
    keyed = [
        (row, donor, _source_key(row, donor)) for row in rows for donor in [donors.code(row.donor)]
    ]
    recorded = _recorded_copies(conn, [key for _, _, key in keyed])
    imported_before = dict(recorded)
    donation_rows: dict[str, tuple[str, str]] = {}
    events: list[Event] = []
    for parsed in parsed_files:
        batch_id = conn.execute(
            insert(models.import_batches).values(
                source=parsed.source,
                sha256=parsed.sha256,
                rows=len(parsed.rows),
                imported_at=now,
                actor=actor,
            )
        ).inserted_primary_key[0]
        for row in parsed.rows:
            donor = donors.code(row.donor)
            key = _source_key(row, donor)
            before = recorded.get(key)
            if before == row.copies:
                report.donations_unchanged += 1
                continue
            kind = "donation" if before is None else "correction"
            delta = row.copies - (before or 0)
            events.append(
                Event(
                    record_id=row.record.id,
                    library=row.library,
                    kind=kind,
                    delta=delta,
                    donor=donor,
                    event_date=row.donated_on or today,
                    source_key=key,
                    batch_id=batch_id,
                    note=f"{parsed.source} line {row.line}",
                )
            )
            recorded[key] = row.copies
            donation_rows[key] = (row.record.id, row.library)
            report.copies_added += delta
            report.changed_ids.add(row.record.id)
            if kind == "donation":
                report.donations_new += 1
            else:
                report.donations_corrected += 1
    apply_events(conn, events, now=now, actor=actor)
    _record_donations(conn, recorded, imported_before, donation_rows)
    return report
