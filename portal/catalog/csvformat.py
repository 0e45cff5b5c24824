"""Catalog CSV v1: reading and validating donation files, and writing them back out.

One row says "this library received `copies` copies of this record from this donor on this
date". Every problem in a file is collected with its line, column and value; a file with any
problem yields no rows at all. Record values are checked by portal/catalog/records.py, the
same rules a coordinator's edit on the web follows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from portal import limits
from portal.catalog import records
from portal.catalog.records import Record
from portal.errors import InvalidInput, Message, msg, nmsg

RECORD_FIELDS = records.FIELD_NAMES
DONATION_FIELDS = ("donor", "donated_on", "library", "copies")
COLUMNS = ("record_id", *RECORD_FIELDS, *DONATION_FIELDS)
REQUIRED = (*(f.name for f in records.FIELDS if f.required), "library", "copies")
MAX_FIELD_CHARS = limits.MAX_FIELD_CHARS
MAX_ROWS = limits.MAX_ROWS
MAX_COPIES = limits.MAX_COPIES
BOM = "\ufeff"

# Kept for callers that still speak of record data.
RecordData = Record
detect_script = records.detect_script
isbn10 = records.isbn10


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an import file. `line` is a line of a CSV file or the number
    of a record in a MARC file (whose messages then start with "record N")."""

    source: str
    line: int | None
    column: str | None
    value: str | None
    message: Message

    def translate(self, translator) -> str:
        return self.message.translate(translator)

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        column = f" column {self.column!r}:" if self.column else ""
        value = "" if self.value is None else f" (value {self.value[:80]!r})"
        return f"{where}:{column} {self.message}{value}"


class CatalogFileError(InvalidInput):
    """A file that cannot be imported; `problems` lists every reason."""

    status = 422

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            nmsg(
                "The file has %(n)s problem; nothing was imported.",
                "The file has %(n)s problems; nothing was imported.",
                len(problems),
            )
        )

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class DonationRow:
    line: int
    record: Record
    donor: str  # as written in the file; may be empty
    donated_on: date | None
    library: str
    copies: int


@dataclass
class ParsedFile:
    source: str
    sha256: str
    rows: list[DonationRow] = field(default_factory=list)


def split_list(value: str) -> tuple[str, ...]:
    return records.split_list(value)


def assigned_id(data: dict[str, str]) -> str:
    """A stable id for a row without `record_id` (see records.derived_id)."""
    return records.derived_id(data)


def _decode(data: bytes, source: str) -> tuple[str | None, list[Problem]]:
    if not data.strip():
        return None, [Problem(source, None, None, None, msg("the file is empty"))]
    if data.startswith(b"PK\x03\x04"):
        return None, [
            Problem(
                source,
                None,
                None,
                None,
                msg(
                    "this is a spreadsheet or zip file (.xlsx?); save it as "
                    "'CSV UTF-8 (comma delimited)' and import that"
                ),
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        bad = data[error.start : error.start + 4].hex(" ")
        return None, [
            Problem(
                source,
                line,
                None,
                None,
                msg(
                    "not UTF-8: byte %(column)s of the line is 0x%(byte)s (bytes %(bytes)s); "
                    "save the file as UTF-8",
                    column=column,
                    byte=bad[:2],
                    bytes=bad,
                ),
            )
        ]
    return text.removeprefix(BOM), []


def _check_header(header: list[str], source: str) -> list[Problem]:
    problems = []
    seen = set()
    for name in header:
        if name in seen:
            problems.append(Problem(source, 1, name, None, msg("column appears twice")))
        seen.add(name)
        if name not in COLUMNS:
            problems.append(
                Problem(
                    source,
                    1,
                    name,
                    None,
                    msg(
                        "unknown column; Catalog CSV v1 columns are: %(columns)s",
                        columns=", ".join(COLUMNS),
                    ),
                )
            )
    for name in REQUIRED:
        if name not in seen:
            problems.append(Problem(source, 1, name, None, msg("required column is missing")))
    return problems


class _RowChecker:
    """Validates one row's cells; collects problems instead of stopping at the first."""

    def __init__(self, source: str, line: int, libraries: set[str], today: date):
        self.source, self.line, self.libraries, self.today = source, line, libraries, today
        self.problems: list[Problem] = []

    def fail(self, column: str, value: str, message: Message) -> None:
        self.problems.append(Problem(self.source, self.line, column, value, message))

    def field(self, cells: dict[str, str], name: str):
        """A record field's value checked by its rule (None, and a problem, if broken)."""
        raw = cells.get(name, "")
        if len(raw) > MAX_FIELD_CHARS:
            return None  # already reported
        try:
            return records.check_field(name, raw, self.today)
        except InvalidInput as problem:
            self.fail(name, raw.strip(), problem.message)
            return None

    def check(self, cells: dict[str, str]) -> DonationRow | None:
        for column, value in cells.items():
            if len(value) > MAX_FIELD_CHARS:
                self.fail(column, value, msg("longer than %(n)s characters", n=MAX_FIELD_CHARS))
        for column in REQUIRED:
            if not cells.get(column, "").strip():
                self.fail(column, cells.get(column, ""), msg("required value is empty"))
        record_id = cells.get("record_id", "").strip()
        if record_id:
            try:
                records.check_record_id(record_id)
            except InvalidInput as problem:
                self.fail("record_id", record_id, problem.message)
        values = {
            name: self.field(cells, name)
            for name in RECORD_FIELDS
            if name not in ("title", "language") or cells.get(name, "").strip()
        }
        donated_on = self._date(cells.get("donated_on", "").strip())
        library = cells.get("library", "").strip().upper()
        if library and library not in self.libraries:
            self.fail(
                "library",
                library,
                msg(
                    "unknown library code; known: %(codes)s",
                    codes=", ".join(sorted(self.libraries)),
                ),
            )
        copies = self._copies(cells.get("copies", "").strip())
        if self.problems:
            return None
        derived = record_id or assigned_id(cells)
        record = Record(
            id=derived,
            title=values["title"],
            language=values["language"],
            script=records.detect_script(values["title"]),
            authors=values["authors"],
            translators=values["translators"],
            work=values["work"] or derived.lower(),
            publisher=values["publisher"],
            year=values["year"],
            isbn=values["isbn"],
            subjects=values["subjects"],
            other_titles=values["other_titles"],
        )
        return DonationRow(
            self.line,
            record,
            records.clean_text(cells.get("donor", "")),
            donated_on,
            library,
            copies or 0,
        )

    def _date(self, value: str) -> date | None:
        if not value:
            return None
        try:
            return check_date(value, self.today)
        except InvalidInput as problem:
            self.fail("donated_on", value, problem.message)
            return None

    def _copies(self, value: str) -> int | None:
        if not value:
            return None
        try:
            return check_copies(value)
        except InvalidInput as problem:
            self.fail("copies", value, problem.message)
            return None


def check_date(value: str, today: date | None = None) -> date:
    """A day something was received: an ISO date, not in the future."""
    today = today or date.today()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(msg("not an ISO date (YYYY-MM-DD)")) from None
    if parsed > today:
        raise InvalidInput(msg("date is in the future"))
    return parsed


def check_copies(value: str | int) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_COPIES:
        raise InvalidInput(msg("not a whole number from 1 to %(max)s", max=MAX_COPIES))
    return int(text)


def check_consistency(rows: list[DonationRow], source: str) -> list[Problem]:
    """Rows of one record must describe it alike; a donation row may appear only once."""
    problems = []
    first: dict[str, DonationRow] = {}
    seen_keys: dict[tuple, int] = {}
    for row in rows:
        earlier = first.setdefault(row.record.id, row)
        if earlier is not row and earlier.record != row.record:
            for name in RECORD_FIELDS:
                if getattr(earlier.record, name) != getattr(row.record, name):
                    problems.append(
                        Problem(
                            source,
                            row.line,
                            name,
                            str(getattr(row.record, name) or ""),
                            msg(
                                "record %(id)s is described differently on line %(line)s",
                                id=row.record.id,
                                line=earlier.line,
                            ),
                        )
                    )
                    break
        key = (row.record.id, row.library, row.donor.casefold(), row.donated_on)
        if key in seen_keys:
            problems.append(
                Problem(
                    source,
                    row.line,
                    None,
                    None,
                    msg(
                        "same record, library, donor and date as line %(line)s; put the total "
                        "copies on one row",
                        line=seen_keys[key],
                    ),
                )
            )
        seen_keys.setdefault(key, row.line)
    return problems


def parse_catalog_csv(
    data: bytes, source: str, libraries: set[str], today: date | None = None
) -> ParsedFile:
    """Validate a whole Catalog CSV v1 file; raises CatalogFileError listing every problem."""
    today = today or date.today()
    text, problems = _decode(data, source)
    if text is None:
        raise CatalogFileError(problems)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as error:
        raise CatalogFileError(
            [Problem(source, 1, None, None, msg("no header row (%(reason)s)", reason=str(error)))]
        ) from None
    problems = _check_header(header, source)
    if problems:
        raise CatalogFileError(problems)
    parsed = ParsedFile(source, hashlib.sha256(data).hexdigest())
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(
                Problem(
                    source,
                    start,
                    None,
                    None,
                    msg("broken CSV quoting (%(reason)s)", reason=str(error)),
                )
            )
            break
        line = start
        if not any(c.strip() for c in cells):
            continue  # blank lines are allowed
        if len(parsed.rows) + len(problems) >= MAX_ROWS:
            problems.append(
                Problem(source, line, None, None, msg("more than %(n)s rows", n=MAX_ROWS))
            )
            break
        if len(cells) != len(header):
            problems.append(
                Problem(
                    source,
                    line,
                    None,
                    None,
                    msg(
                        "row has %(found)s fields, the header has %(expected)s",
                        found=len(cells),
                        expected=len(header),
                    ),
                )
            )
            continue
        checker = _RowChecker(source, line, libraries, today)
        row = checker.check(
            {name: from_spreadsheet(cell) for name, cell in zip(header, cells, strict=True)}
        )
        problems.extend(checker.problems)
        if row:
            parsed.rows.append(row)
    if not parsed.rows and not problems:
        problems.append(Problem(source, None, None, None, msg("the file has a header but no rows")))
    problems.extend(check_consistency(parsed.rows, source))
    if problems:
        raise CatalogFileError(problems)
    return parsed


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(value: str) -> bool:
    """Starts like a formula, or is an escaped one (so escaping can be undone exactly)."""
    return value.startswith(FORMULA_STARTS) or (value.startswith("'") and _formula_like(value[1:]))


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one apostrophe before anything formula-like (the
    quote prefix spreadsheets themselves use for text)."""
    return "'" + value if _formula_like(value) else value


def from_spreadsheet(value: str) -> str:
    """The value `spreadsheet_safe` was given: an import of an export carries back exactly
    what the catalog holds."""
    return value[1:] if value.startswith("'") and _formula_like(value[1:]) else value


def write_catalog_csv(
    rows: Iterable[dict[str, str]], stream: io.TextIOBase, header: bool = True
) -> int:
    """Write rows as Catalog CSV v1, every cell safe to open in a spreadsheet; returns how
    many were written."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: spreadsheet_safe(str(value)) for key, value in row.items()})
        count += 1
    return count
