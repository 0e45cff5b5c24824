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

from sqlalchemy import Connection, func, insert, select, update

from portal.catalog import models
from portal.catalog.csvformat import DonationRow, ParsedFile
from portal.catalog.holdings import Event, apply_events
from portal.catalog.records import Record
from portal.catalog.reference import LANGUAGES, subjects


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    rows: int = 0
    records_new: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
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
            f"{self.records_unchanged} unchanged; donations {self.donations_new} new, "
            f"{self.donations_corrected} corrected, {self.donations_unchanged} unchanged; "
            f"{self.copies_added:+d} copies"
        )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "donor"


def _subject_key(subject: str) -> str:
    """A subject written as any language's heading -> its key; unknown subjects stay as is."""
    wanted = subject.casefold()
    for key, names in subjects().items():
        if wanted == key.casefold() or wanted in (n.casefold() for n in names.values()):
            return key
    return subject


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
        chunk = ids[start : start + 500]
        for row in conn.execute(
            select(models.records).where(models.records.c.id.in_(chunk))
        ).mappings():
            existing[row["id"]] = row
    new_rows = []
    for record_id, data in wanted.items():
        values = _record_values(data)
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
                .values(**values, updated_at=now, version=current["version"] + 1)
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
    found: dict[str, int] = {}
    events = models.holding_events
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = (
            select(events.c.source_key, func.sum(events.c.delta))
            .where(events.c.source_key.in_(chunk))
            .group_by(events.c.source_key)
        )
        found.update({key: int(total) for key, total in conn.execute(query)})
    return found


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
            report.copies_added += delta
            report.changed_ids.add(row.record.id)
            if kind == "donation":
                report.donations_new += 1
            else:
                report.donations_corrected += 1
    apply_events(conn, events, now=now, actor=actor)
    return report
