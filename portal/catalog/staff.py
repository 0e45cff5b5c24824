"""What staff do to the catalog: the service layer the web pages and the command line call.

Each action checks the user's permission (permissions.can), validates its input by the same
rules as an import, runs as one transaction with its audit entry, then updates the index of
the records it touched. Failures are domain errors (portal/errors.py) with a message for the
user; nothing here knows about HTTP.
"""

from __future__ import annotations

import io
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select, update

from portal import languages, limits
from portal.catalog import accounts, audit, jobs, models, records, reference
from portal.catalog.accounts import User
from portal.catalog.audit import record_action
from portal.catalog.catalog import Catalog, Touched
from portal.catalog.csvformat import (
    CatalogFileError,
    check_copies,
    check_date,
    write_catalog_csv,
)
from portal.catalog.db import STAFF_WAIT_SECONDS, writing
from portal.catalog.holdings import apply_event, expect_version, holding_versions, lock_holdings
from portal.catalog.permissions import require
from portal.errors import Conflict, Forbidden, InvalidInput, NotFound, PortalError, msg, pmsg

WITHDRAWAL_REASONS = ("lost", "damaged", "outdated")
MAX_COPIES = limits.MAX_COPIES
LIBRARY_KINDS = {
    "national": pmsg("library kind", "national library"),
    "district-central": pmsg("library kind", "district central library"),
    "branch": pmsg("library kind", "branch library"),
    "school": pmsg("library kind", "school library"),
    "other": pmsg("library kind", "other library"),
}
LIBRARY_FIELDS = ("kind", "district", "address", "latitude", "longitude")
COORDINATE_LABELS = {"latitude": msg("Latitude"), "longitude": msg("Longitude")}


def _copies(value: int | str) -> int:
    try:
        return check_copies(value)
    except InvalidInput as problem:
        raise InvalidInput(msg("Copies: %(reason)s", reason=problem.message)) from None


_UNKNOWN = {
    "records": msg("There is no record %(value)s."),
    "libraries": msg("There is no library %(value)s."),
    "donors": msg("There is no donor %(value)s."),
    "districts": msg("There is no district %(value)s."),
}


def unknown(table: str, value: str) -> NotFound:
    return NotFound(replace(_UNKNOWN[table], params={"value": value}))


def _known(conn, column, value) -> None:
    if not conn.execute(select(column).where(column == value)).first():
        raise unknown(column.table.name, value)


# --- holdings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldingRow:
    record: dict | None
    copies: int
    version: int
    elsewhere: int


def holdings_page(catalog: Catalog, user: User, library: str, ids: list[str]) -> list[HoldingRow]:
    """A library's holdings of these records for its staff list: the records, the copies
    here and elsewhere and each holding's version, in three queries whatever the page size."""
    require(user, "holdings.view", library)
    found = catalog.records(ids)
    held = catalog.holdings(ids)
    with catalog.engine.connect() as conn:
        versions = holding_versions(conn, ids, library)
    rows = []
    for record_id in ids:
        copies, version = versions.get(record_id, (0, 0))
        everywhere = sum(h["copies"] for h in held.get(record_id, []))
        rows.append(HoldingRow(found.get(record_id), copies, version, everywhere - copies))
    return rows


def holding(catalog: Catalog, user: User, record_id: str, library: str) -> tuple[dict, int, int]:
    """(record, copies, version) of one holding, for its staff page."""
    require(user, "holdings.view", library)
    record = (
        catalog.records([record_id]).get(record_id) if limits.valid_record_id(record_id) else None
    )
    if record is None:
        raise unknown("records", record_id)
    with catalog.engine.connect() as conn:
        copies, version = holding_versions(conn, [record_id], library).get(record_id, (0, 0))
    return record, copies, version


def receive(
    catalog: Catalog,
    user: User,
    record_id: str,
    library: str,
    copies: int | str,
    version: int,
    donor: str | None = None,
    received_on: date | str | None = None,
) -> int:
    """Copies received by a library (a donation event)."""
    require(user, "holdings.edit", library)
    copies = _copies(copies)
    now = datetime.now(UTC)
    if isinstance(received_on, str):
        received_on = check_date(received_on, now.date()) if received_on else None
    elif received_on is not None and received_on > now.date():
        raise InvalidInput(msg("date is in the future"))

    def work(conn: Connection, touched: Touched) -> int:
        _known(conn, models.records.c.id, record_id)
        _known(conn, models.libraries.c.code, library)
        if donor:
            _known(conn, models.donors.c.code, donor)
        before = expect_version(conn, record_id, library, version)
        after = apply_event(
            conn,
            record_id=record_id,
            library=library,
            kind="donation",
            delta=copies,
            donor=donor,
            event_date=received_on or now.date(),
            now=now,
            actor=user.name,
            note="received",
        )
        record_action(
            conn,
            user.name,
            "holdings.receive",
            f"{record_id} @ {library}",
            library,
            {"copies": before},
            {"copies": after, "donor": donor},
        )
        touched.add(record_id)
        return after

    return catalog.change("holdings.receive", user.name, work, STAFF_WAIT_SECONDS)


def withdraw(
    catalog: Catalog,
    user: User,
    record_id: str,
    library: str,
    copies: int | str,
    reason: str,
    version: int,
) -> int:
    """Copies taken off the shelves for good (lost, damaged, outdated)."""
    require(user, "holdings.edit", library)
    copies = _copies(copies)
    if reason not in WITHDRAWAL_REASONS:
        raise InvalidInput(msg("Choose why the copies are withdrawn."))
    now = datetime.now(UTC)

    def work(conn: Connection, touched: Touched) -> int:
        before = expect_version(conn, record_id, library, version)
        after = apply_event(
            conn,
            record_id=record_id,
            library=library,
            kind="withdrawal",
            delta=-copies,
            event_date=now.date(),
            now=now,
            actor=user.name,
            note=reason,
        )
        record_action(
            conn,
            user.name,
            "holdings.withdraw",
            f"{record_id} @ {library}",
            library,
            {"copies": before},
            {"copies": after, "reason": reason},
        )
        touched.add(record_id)
        return after

    return catalog.change("holdings.withdraw", user.name, work, STAFF_WAIT_SECONDS)


def transfer(
    catalog: Catalog,
    user: User,
    record_id: str,
    source: str,
    target: str,
    copies: int | str,
    version: int,
) -> tuple[int, int]:
    """Move copies from one library to another: two ledger events in one transaction."""
    require(user, "holdings.edit", source)
    copies = _copies(copies)
    if source == target:
        raise InvalidInput(msg("A transfer needs two different libraries."))
    now = datetime.now(UTC)

    def work(conn: Connection, touched: Touched) -> tuple[int, int]:
        _known(conn, models.libraries.c.code, target)
        lock_holdings(conn, record_id, [source, target])
        before = expect_version(conn, record_id, source, version)
        left = apply_event(
            conn,
            record_id=record_id,
            library=source,
            kind="transfer_out",
            delta=-copies,
            event_date=now.date(),
            now=now,
            actor=user.name,
            note=f"to {target}",
        )
        arrived = apply_event(
            conn,
            record_id=record_id,
            library=target,
            kind="transfer_in",
            delta=copies,
            event_date=now.date(),
            now=now,
            actor=user.name,
            note=f"from {source}",
        )
        record_action(
            conn,
            user.name,
            "holdings.transfer",
            f"{record_id} {source} -> {target}",
            source,
            {"copies": before},
            {"copies": left, "to": target, "moved": copies, "target_copies": arrived},
        )
        touched.add(record_id)
        return left, arrived

    return catalog.change("holdings.transfer", user.name, work, STAFF_WAIT_SECONDS)


# --- records and libraries (coordinators) --------------------------------------------------

EDITABLE_RECORD_FIELDS = tuple(f.name for f in records.FIELDS if f.editable)


def record_for_edit(catalog: Catalog, user: User, record_id: str) -> dict:
    require(user, "records.edit")
    found = (
        catalog.records([record_id]).get(record_id) if limits.valid_record_id(record_id) else None
    )
    if found is None:
        raise unknown("records", record_id)
    return found


def update_record(
    catalog: Catalog, user: User, record_id: str, changes: dict[str, str], version: int
) -> None:
    """A coordinator's correction of a record, each value checked as an import checks it."""
    require(user, "records.edit")

    def work(conn: Connection, touched: Touched) -> None:
        row = (
            conn.execute(select(models.records).where(models.records.c.id == record_id))
            .mappings()
            .first()
        )
        if row is None:
            raise unknown("records", record_id)
        current = records.Record.from_row(row)
        edited = records.edit(current, changes)
        values = {k: v for k, v in edited.values().items() if row[k] != v}
        if not values:
            return
        result = conn.execute(  # only if nobody saved another correction since it was shown
            update(models.records)
            .where(models.records.c.id == record_id, models.records.c.version == version)
            .values(**values, version=models.records.c.version + 1, updated_at=datetime.now(UTC))
        )
        if result.rowcount != 1:
            raise Conflict(
                msg("This record changed meanwhile; nothing was saved. Reload and try again.")
            )
        record_action(
            conn,
            user.name,
            "record.update",
            f"record {record_id}",
            None,
            {k: row[k] for k in values},
            values,
        )
        touched.add(record_id)

    catalog.change("record.update", user.name, work, STAFF_WAIT_SECONDS)


def _library_values(fields: dict[str, str]) -> dict:
    """Library settings as typed -> checked values (InvalidInput names the first bad one)."""
    values: dict = {}
    if "kind" in fields:
        if fields["kind"] not in LIBRARY_KINDS:
            raise InvalidInput(
                msg("Kind must be one of %(kinds)s.", kinds=", ".join(LIBRARY_KINDS))
            )
        values["kind"] = fields["kind"]
    if "district" in fields:
        values["district"] = fields["district"].strip().upper()
    if "address" in fields:
        values["address"] = records.clean_text(fields["address"])
        records.check_length(values["address"])
    for key, low, high in (("latitude", -90.0, 90.0), ("longitude", -180.0, 180.0)):
        if key not in fields:
            continue
        raw = str(fields[key]).strip()
        if not raw:
            values[key] = None
            continue
        try:
            number = float(raw)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:  # also refuses nan and infinities
            raise InvalidInput(
                msg(
                    "%(field)s must be a number from %(low)s to %(high)s",
                    field=COORDINATE_LABELS[key],
                    low=low,
                    high=high,
                )
            )
        values[key] = number
    return values


def save_library(
    catalog: Catalog,
    user: User,
    code: str,
    fields: dict[str, str],
    names: dict[str, str],
    adding: bool = False,
) -> bool:
    """Coordinators add a library (`adding`) or edit one (settings and names); True if it
    was new."""
    require(user, "libraries.edit")
    code = code.strip().upper()
    if not limits.LIBRARY_CODE.fullmatch(code):
        raise InvalidInput(msg("A library code is 2-16 capital letters or digits."))
    values = _library_values(fields)
    names = {lang: records.clean_text(n) for lang, n in names.items() if lang in languages.CODES}
    for name in names.values():
        records.check_length(name)

    def work(conn: Connection, touched: Touched):
        if "district" in values:
            _known(conn, models.districts.c.code, values["district"])
        row = (
            conn.execute(select(models.libraries).where(models.libraries.c.code == code))
            .mappings()
            .first()
        )
        if row is not None and adding:
            raise Conflict(msg("A library with this code exists already."))
        if row is None:
            if not values.get("district") or not all(names.get(c) for c in languages.CODES):
                raise InvalidInput(
                    msg("A new library needs a district and a name in every language.")
                )
            conn.execute(
                insert(models.libraries).values(
                    code=code,
                    kind=values.pop("kind", "branch"),
                    address=values.pop("address", ""),
                    **values,
                )
            )
            reference.set_names(conn, "library", code, names)
            record_action(
                conn, user.name, "library.add", f"library {code}", code, None, {**values, **names}
            )
            return row
        before = {k: row[k] for k in values}
        if values:
            conn.execute(
                update(models.libraries).where(models.libraries.c.code == code).values(**values)
            )
        reference.set_names(conn, "library", code, {k: v for k, v in names.items() if v})
        record_action(
            conn,
            user.name,
            "library.update",
            f"library {code}",
            code,
            before,
            {**values, **names},
        )
        if "district" in values and values["district"] != row["district"]:
            # the district facet of the records it holds changed
            held = models.holdings
            touched.update(
                conn.execute(select(held.c.record_id).where(held.c.library == code)).scalars()
            )
        return row

    row = catalog.change("library.save", user.name, work, STAFF_WAIT_SECONDS)
    catalog.forget_reference_data()
    return row is None


# --- imports (coordinators) ----------------------------------------------------------------

UPLOAD_TTL_SECONDS = 3600


@dataclass(frozen=True)
class Preview:
    name: str
    report: object | None  # ImportReport when the file can be imported
    problems: list  # csvformat.Problem when it cannot
    token: str | None  # confirms the import of exactly this file


def preview_import(
    catalog: Catalog, user: User, name: str, data: bytes, library: str | None
) -> Preview:
    """Check an uploaded file and report what importing it would change; nothing is written
    to the catalog. A file that can be imported is kept (in the database, so that any node
    can confirm it) for `confirm_import`."""
    require(user, "imports.run")
    name = Path(name).name[:120]
    try:
        report = catalog.import_files(
            [(name, data)], user.name, True, library, wait_seconds=STAFF_WAIT_SECONDS
        )
    except CatalogFileError as error:
        return Preview(name, None, error.problems, None)
    token = secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    pending = models.pending_imports
    with writing(catalog.engine, STAFF_WAIT_SECONDS) as conn:
        conn.execute(  # uploads never confirmed expire
            delete(pending).where(
                pending.c.created_at < now - timedelta(seconds=UPLOAD_TTL_SECONDS)
            )
        )
        conn.execute(
            insert(pending).values(
                token=token, user_id=user.id, name=name, library=library, data=data, created_at=now
            )
        )
    return Preview(name, report, [], token)


def confirm_import(
    catalog: Catalog,
    user: User,
    token: str,
    progress=None,
    wait_seconds: float | None = STAFF_WAIT_SECONDS,
) -> Preview:
    """Import a previewed file (the same user's, not yet expired), exactly once: the
    upload is claimed in the import's own transaction, so two confirmations of one preview
    (a double click, two nodes) import it once."""
    require(user, "imports.run")
    pending = models.pending_imports
    with catalog.engine.connect() as conn:
        row = conn.execute(select(pending).where(pending.c.token == token[:64])).first()
    _check_pending(row, user)

    def claim(conn: Connection) -> None:
        if not conn.execute(delete(pending).where(pending.c.token == row.token)).rowcount:
            raise Conflict(msg("This file was imported already."))

    try:
        report = catalog.import_files(
            [(row.name, row.data)],
            user.name,
            False,
            row.library,
            claim=claim,
            wait_seconds=wait_seconds,
            progress=progress,
        )
    except CatalogFileError as error:  # the catalog changed since the preview
        with writing(catalog.engine, STAFF_WAIT_SECONDS) as conn:
            conn.execute(delete(pending).where(pending.c.token == row.token))
        return Preview(row.name, None, error.problems, None)
    return Preview(row.name, report, [], None)


class _StartedMeanwhile(Exception):
    """Another request started this upload's job first (the transaction rolls back)."""


def _check_pending(row, user: User) -> None:
    if row is None or datetime.now(UTC) - row.created_at > timedelta(seconds=UPLOAD_TTL_SECONDS):
        raise NotFound(msg("This upload has expired; upload the file again."))
    if row.user_id != user.id:
        raise Forbidden(msg("Your account may not do this."))


def _problem_json(problem) -> dict:
    return {
        "source": problem.source,
        "line": problem.line,
        "column": problem.column,
        "value": problem.value,
        "message": problem.message.to_json(),
    }


def problem_from_json(data: dict):
    from portal.catalog.csvformat import Problem
    from portal.errors import Message

    return Problem(
        data["source"],
        data["line"],
        data["column"],
        data["value"],
        Message.from_json(data["message"]),
    )


def start_import(catalog: Catalog, user: User, token: str) -> int:
    """Confirm a previewed import as a background job (an import of tens of thousands of
    rows and their indexing take a minute: no request waits for it); returns the job's id.
    An upload gets one job: a second confirmation (a double click, another node) answers
    with the same job."""
    require(user, "imports.run")
    pending = models.pending_imports
    token = token[:64]
    try:
        with writing(catalog.engine, STAFF_WAIT_SECONDS) as conn:
            row = conn.execute(
                select(pending.c.user_id, pending.c.created_at, pending.c.job_id).where(
                    pending.c.token == token
                )
            ).first()
            _check_pending(row, user)
            if row.job_id is not None:
                return row.job_id
            job_id = jobs.insert_job(conn, "import", user.id)
            claim = update(pending).where(pending.c.token == token, pending.c.job_id.is_(None))
            if not conn.execute(claim.values(job_id=job_id)).rowcount:
                raise _StartedMeanwhile
    except _StartedMeanwhile:
        with catalog.engine.connect() as conn:
            row = conn.execute(select(pending.c.job_id).where(pending.c.token == token)).first()
        if row is None:
            raise NotFound(msg("This file was imported already.")) from None
        return row.job_id

    def work(progress) -> dict:
        try:
            # A job is nobody's request: it may wait for another import's lock.
            found = confirm_import(catalog, user, token, progress=progress, wait_seconds=None)
        except PortalError as refused:  # imported meanwhile, expired
            return {"refused": refused.message.to_json()}
        return {
            "name": found.name,
            "report": import_counts(found.report) if found.report else None,
            "problems": [_problem_json(p) for p in found.problems],
        }

    jobs.start(catalog.engine, job_id, work)
    return job_id


def import_counts(report) -> dict:
    names = (
        "rows",
        "records_new",
        "records_updated",
        "records_unchanged",
        "records_linked",
        "donations_new",
        "donations_corrected",
        "donations_unchanged",
        "copies_added",
    )
    return {name: getattr(report, name) for name in names}


def job(catalog: Catalog, user: User, job_id: int) -> jobs.Job:
    """A job for its page: the user's own, or any for a coordinator."""
    found = jobs.get(catalog.engine, job_id)
    if found is None or (found.user_id != user.id and user.role != "coordinator"):
        raise NotFound(msg("Page not found"))
    return found


def library_export(catalog: Catalog, user: User, library: str) -> Iterator[str]:
    """What a library holds now, as Catalog CSV (its own staff and coordinators), a piece
    at a time (a large library's file is streamed, not built in memory first)."""
    require(user, "holdings.view", library)  # now, not when the first piece is read
    return _csv_pieces(catalog.holdings_rows(library))


def _csv_pieces(rows: Iterator[dict[str, str]], size: int = 500) -> Iterator[str]:
    stream = io.StringIO()
    write_catalog_csv([], stream)  # the header
    yield stream.getvalue()
    while chunk := list(itertools.islice(rows, size)):
        stream = io.StringIO()
        write_catalog_csv(chunk, stream, header=False)
        yield stream.getvalue()


# --- accounts and the audit log --------------------------------------------------------------


def users(catalog: Catalog, user: User) -> list[User]:
    require(user, "users.manage")
    return accounts.list_users(catalog.engine)


def disable_user(catalog: Catalog, user: User, name: str) -> None:
    require(user, "users.manage")
    if name == user.name:
        raise Conflict(msg("You cannot disable your own account."))
    accounts.disable_user(catalog.engine, name, actor=user.name)


def enable_user(catalog: Catalog, user: User, name: str) -> None:
    require(user, "users.manage")
    accounts.enable_user(catalog.engine, name, actor=user.name)


def audit_entries(
    catalog: Catalog, user: User, library: str | None, actor: str | None, action: str | None
) -> list[audit.AuditEntry]:
    """The audit log, newest first; a librarian reads their own library's entries only."""
    if user.role == "librarian":
        library = user.library
    require(user, "audit.view", library)
    return audit.entries(catalog.engine, library=library, actor=actor, action=action)
