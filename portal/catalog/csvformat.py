"""Catalog CSV v1: reading and validating donation files, and writing them back out.

One row says "this library received `copies` copies of this record from this donor on this
date". Every problem in a file is collected with its line, column and value; a file with any
problem yields no rows at all.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date

from babel import Locale
from stdnum import isbn as stdnum_isbn

COLUMNS = (
    "record_id",
    "title",
    "language",
    "authors",
    "translators",
    "work",
    "publisher",
    "year",
    "isbn",
    "subjects",
    "donor",
    "donated_on",
    "library",
    "copies",
)
REQUIRED = ("title", "language", "library", "copies")
RECORD_FIELDS = (
    "title",
    "language",
    "authors",
    "translators",
    "work",
    "publisher",
    "year",
    "isbn",
    "subjects",
)
MAX_FIELD_CHARS = 2000
MAX_ROWS = 200_000
MAX_COPIES = 100_000
RECORD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
BOM = "\ufeff"

_LANGUAGE_CODES = frozenset(code for code in Locale("en").languages if len(code) == 2)


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        column = f" column {self.column!r}:" if self.column else ""
        value = "" if self.value is None else f" (value {self.value[:80]!r})"
        return f"{where}:{column} {self.message}{value}"


class CatalogFileError(ValueError):
    """A file that cannot be imported; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class RecordData:
    """One edition as described by a file (before it meets the catalog)."""

    id: str
    title: str
    language: str
    script: str
    authors: tuple[str, ...] = ()
    translators: tuple[str, ...] = ()
    work: str = ""
    publisher: str = ""
    year: int | None = None
    isbn: str | None = None
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class DonationRow:
    line: int
    record: RecordData
    donor: str  # as written in the file; may be empty
    donated_on: date | None
    library: str
    copies: int


@dataclass
class ParsedFile:
    source: str
    sha256: str
    rows: list[DonationRow] = field(default_factory=list)


def detect_script(text: str) -> str:
    """ISO 15924 code of the dominant script of a title: Latn, Cyrl, or Zyyy if neither."""
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff" or "\u0500" <= ch <= "\u052f")
    latin = sum(1 for ch in text if ch.isalpha() and ch.isascii() or "\u00c0" <= ch <= "\u024f")
    if not cyrillic and not latin:
        return "Zyyy"
    return "Cyrl" if cyrillic > latin else "Latn"


def split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


def normalize_isbn(value: str) -> str:
    """ISBN-10 or -13 (hyphens and spaces allowed) -> ISBN-13 digits; raises ValueError."""
    compact = re.sub(r"[\s\-]", "", value)
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(compact)).replace("-", "")
    except Exception as error:  # stdnum's ValidationError family
        raise ValueError(f"not a valid ISBN ({error})") from None


def isbn10(isbn13: str | None) -> str | None:
    if isbn13 and isbn13.startswith("978"):
        return stdnum_isbn.to_isbn10(isbn13)
    return None


def assigned_id(data: dict[str, str]) -> str:
    """A stable id for a row without `record_id`: the same book gets the same id on every
    import of the same file."""
    basis = "|".join(data.get(k, "").strip().casefold() for k in RECORD_FIELDS)
    return "r-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:12]


def _decode(data: bytes, source: str) -> tuple[str | None, list[Problem]]:
    if not data.strip():
        return None, [Problem(source, None, None, None, "the file is empty")]
    if data.startswith(b"PK\x03\x04"):
        return None, [
            Problem(
                source,
                None,
                None,
                None,
                "this is a spreadsheet or zip file (.xlsx?); save it as "
                "'CSV UTF-8 (comma delimited)' and import that",
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
                f"not UTF-8: byte {column} of the line is 0x{bad[:2]} "
                f"(bytes {bad}); save the file as UTF-8",
            )
        ]
    return text.removeprefix(BOM), []


def _check_header(header: list[str], source: str) -> list[Problem]:
    problems = []
    seen = set()
    for name in header:
        if name in seen:
            problems.append(Problem(source, 1, name, None, "column appears twice"))
        seen.add(name)
        if name not in COLUMNS:
            problems.append(
                Problem(
                    source,
                    1,
                    name,
                    None,
                    f"unknown column; Catalog CSV v1 columns are: {', '.join(COLUMNS)}",
                )
            )
    for name in REQUIRED:
        if name not in seen:
            problems.append(Problem(source, 1, name, None, "required column is missing"))
    return problems


class _RowChecker:
    """Validates one row's cells; collects problems instead of stopping at the first."""

    def __init__(self, source: str, line: int, libraries: set[str], today: date):
        self.source, self.line, self.libraries, self.today = source, line, libraries, today
        self.problems: list[Problem] = []

    def fail(self, column: str, value: str, message: str) -> None:
        self.problems.append(Problem(self.source, self.line, column, value, message))

    def check(self, cells: dict[str, str]) -> DonationRow | None:
        for column, value in cells.items():
            if len(value) > MAX_FIELD_CHARS:
                self.fail(column, value, f"longer than {MAX_FIELD_CHARS} characters")
        for column in REQUIRED:
            if not cells.get(column, "").strip():
                self.fail(column, cells.get(column, ""), "required value is empty")
        record_id = cells.get("record_id", "").strip()
        if record_id and not RECORD_ID.fullmatch(record_id):
            self.fail(
                "record_id", record_id, "use only letters, digits, '-', '_' and '.' (at most 64)"
            )
        language = cells.get("language", "").strip().lower()
        if language and language not in _LANGUAGE_CODES:
            self.fail(
                "language", language, "not an ISO 639-1 language code (like az, kk, tr, ru, en)"
            )
        year = self._year(cells.get("year", "").strip())
        isbn = self._isbn(cells.get("isbn", "").strip())
        donated_on = self._date(cells.get("donated_on", "").strip())
        library = cells.get("library", "").strip().upper()
        if library and library not in self.libraries:
            self.fail(
                "library",
                library,
                "unknown library code; known: " + ", ".join(sorted(self.libraries)),
            )
        copies = self._copies(cells.get("copies", "").strip())
        if self.problems:
            return None
        title = " ".join(cells["title"].split())
        record = RecordData(
            id=record_id or assigned_id(cells),
            title=title,
            language=language,
            script=detect_script(title),
            authors=split_list(cells.get("authors", "")),
            translators=split_list(cells.get("translators", "")),
            work=(cells.get("work", "").strip().lower() or record_id or assigned_id(cells)),
            publisher=" ".join(cells.get("publisher", "").split()),
            year=year,
            isbn=isbn,
            subjects=split_list(cells.get("subjects", "")),
        )
        return DonationRow(
            self.line,
            record,
            " ".join(cells.get("donor", "").split()),
            donated_on,
            library,
            copies or 0,
        )

    def _year(self, value: str) -> int | None:
        if not value:
            return None
        if not value.isdigit() or not 1400 <= int(value) <= self.today.year + 1:
            self.fail("year", value, f"not a year between 1400 and {self.today.year + 1}")
            return None
        return int(value)

    def _isbn(self, value: str) -> str | None:
        if not value:
            return None
        try:
            return normalize_isbn(value)
        except ValueError as error:
            self.fail("isbn", value, str(error))
            return None

    def _date(self, value: str) -> date | None:
        if not value:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            parsed = date.fromisoformat(value)
        except ValueError:
            self.fail("donated_on", value, "not an ISO date (YYYY-MM-DD)")
            return None
        if parsed > self.today:
            self.fail("donated_on", value, "date is in the future")
        return parsed

    def _copies(self, value: str) -> int | None:
        if not value:
            return None
        if not value.isdigit() or not 1 <= int(value) <= MAX_COPIES:
            self.fail("copies", value, f"not a whole number from 1 to {MAX_COPIES}")
            return None
        return int(value)


def _check_consistency(rows: list[DonationRow], source: str) -> list[Problem]:
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
                            f"record {row.record.id} is described differently "
                            f"on line {earlier.line}",
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
                    f"same record, library, donor and date as line "
                    f"{seen_keys[key]}; put the total copies on one row",
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
            [Problem(source, 1, None, None, f"no header row ({error})")]
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
            problems.append(Problem(source, start, None, None, f"broken CSV quoting ({error})"))
            break
        line = start
        if not any(c.strip() for c in cells):
            continue  # blank lines are allowed
        if len(parsed.rows) + len(problems) >= MAX_ROWS:
            problems.append(Problem(source, line, None, None, f"more than {MAX_ROWS} rows"))
            break
        if len(cells) != len(header):
            problems.append(
                Problem(
                    source,
                    line,
                    None,
                    None,
                    f"row has {len(cells)} fields, the header has {len(header)}",
                )
            )
            continue
        checker = _RowChecker(source, line, libraries, today)
        row = checker.check(dict(zip(header, cells, strict=True)))
        problems.extend(checker.problems)
        if row:
            parsed.rows.append(row)
    if not parsed.rows and not problems:
        problems.append(Problem(source, None, None, None, "the file has a header but no rows"))
    problems.extend(_check_consistency(parsed.rows, source))
    if problems:
        raise CatalogFileError(problems)
    return parsed


def write_catalog_csv(rows: list[dict[str, str]], stream: io.TextIOBase) -> None:
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
