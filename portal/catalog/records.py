"""A catalog record: its fields, the rule each value follows, and its stable id.

Every path that writes a record (Catalog CSV, MARC 21, a coordinator's edit on the web) checks
values with the functions here, so a value one path accepts another never refuses, and every
path that reads one (the index document, the API, the export) goes through `Record`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import cache

from babel import Locale
from stdnum import isbn as stdnum_isbn

from portal import limits
from portal.errors import InvalidInput, Message, msg


@dataclass(frozen=True)
class RecordField:
    """How one field of a record is written, checked and carried."""

    name: str
    kind: str  # text | list | language | key | year | isbn
    label: Message
    required: bool = False
    editable: bool = True  # coordinators may correct it on the web
    marc: str = ""  # where the MARC importer reads it


FIELDS: tuple[RecordField, ...] = (
    RecordField("title", "text", msg("Title"), required=True, marc="245 $a $b $n $p"),
    RecordField("language", "language", msg("Language"), required=True, marc="041 $a, 008/35-37"),
    RecordField("authors", "list", msg("Authors"), marc="100, 700"),
    RecordField("translators", "list", msg("Translators"), marc="700 with $e translator"),
    RecordField("work", "key", msg("Work"), marc="240, 130"),
    RecordField("publisher", "text", msg("Publisher"), marc="264/260 $b"),
    RecordField("year", "year", msg("Year"), marc="264/260 $c, 008/07-10"),
    RecordField("isbn", "isbn", msg("ISBN"), marc="020 $a"),
    RecordField("subjects", "list", msg("Subjects"), marc="650 $a"),
    # The work's titles in other languages and the forms a reader may know it by: searched
    # like the title (`Doctor Zhivago` finds «Доктор Живаго»). Optional in files.
    RecordField("other_titles", "list", msg("Other titles"), marc="240/130 $a, 246 $a $b, 765 $t"),
)
LIST_FIELDS = tuple(f.name for f in FIELDS if f.kind == "list")
FIELD_NAMES = tuple(f.name for f in FIELDS)
BY_NAME = {f.name: f for f in FIELDS}

# The fields a derived record id (a row without record_id) is computed from, in this order.
# Frozen: adding a field to records must never change the id of a record imported before.
ID_BASIS_V1 = (
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


@dataclass(frozen=True)
class Record:
    """One edition, as a file or an edit describes it."""

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
    other_titles: tuple[str, ...] = ()

    def changed(self, **values) -> Record:
        return replace(self, **values)

    def values(self) -> dict:
        """The record's columns as the database stores them (lists as JSON)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                json.dumps(list(value), ensure_ascii=False) if isinstance(value, tuple) else value
            )
        return out

    @classmethod
    def from_row(cls, row: Mapping) -> Record:
        """A record from a database row (lists stored as JSON)."""
        values = {}
        for f in fields(cls):
            value = row[f.name]
            if f.name in LIST_FIELDS:
                value = tuple(json.loads(value) if value else ())
            values[f.name] = value
        return cls(**values)


def derived_id(cells: Mapping[str, str]) -> str:
    """A stable id for a record described without one: the same book gets the same id on
    every import of the same file, whatever fields records gain later."""
    basis = "|".join(str(cells.get(k) or "").strip().casefold() for k in ID_BASIS_V1)
    return "r-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:12]


# --- one rule per value -------------------------------------------------------------------


@cache
def _language_codes() -> frozenset[str]:
    return frozenset(code for code in Locale("en").languages if len(code) == 2)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def xml_chars(value: str) -> str:
    """A text without the characters XML cannot carry (control characters, lone
    surrogates): what catalogs written before values were cleaned may hold must not make a
    feed or a harvest malformed."""
    return _NOT_XML.sub("", value)


def clean_text(value: str) -> str:
    """Whitespace collapsed and control characters dropped (they break XML feeds and
    spreadsheets and are never part of a title)."""
    kept = "".join(ch for ch in value if ch.isprintable() or ch in " \t\n")
    return " ".join(kept.split())


def split_list(value: str) -> tuple[str, ...]:
    return tuple(part for part in (clean_text(p) for p in value.split(";")) if part)


def check_length(value: str) -> None:
    if len(value) > limits.MAX_FIELD_CHARS:
        raise InvalidInput(msg("longer than %(n)s characters", n=limits.MAX_FIELD_CHARS))


ID_RULE = msg(
    "use only letters, digits, '.', '_' and '-', starting with a letter or digit (at most %(n)s)",
    n=limits.MAX_RECORD_ID,
)


def check_record_id(value: str) -> str:
    if not limits.valid_record_id(value):
        raise InvalidInput(ID_RULE)
    return value


def check_title(value: str) -> str:
    title = clean_text(value)
    if not title:
        raise InvalidInput(msg("a record needs a title"))
    check_length(title)
    return title


def check_language(value: str) -> str:
    code = value.strip().lower()
    if code not in _language_codes():
        raise InvalidInput(msg("not an ISO 639-1 language code (like az, kk, tr, ru, en)"))
    return code


def check_year(value: str | int | None, today: date | None = None) -> int | None:
    """A year of publication: empty, or a whole number from 1400 to next year."""
    today = today or date.today()
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not text.isdigit() or not limits.EARLIEST_YEAR <= int(text) <= today.year + 1:
        raise InvalidInput(
            msg(
                "not a year between %(low)s and %(high)s",
                low=limits.EARLIEST_YEAR,
                high=today.year + 1,
            )
        )
    return int(text)


def check_isbn(value: str) -> str | None:
    """ISBN-10 or -13 (hyphens and spaces allowed) -> ISBN-13 digits; empty -> None."""
    compact = re.sub(r"[\s\-]", "", value)
    if not compact:
        return None
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(compact)).replace("-", "")
    except Exception as error:  # stdnum's ValidationError family
        raise InvalidInput(msg("not a valid ISBN (%(reason)s)", reason=str(error))) from None


def check_work(value: str) -> str:
    """A work key, in lower case (so `Abai-Zholy` and `abai-zholy` are one work, and an
    export carries back exactly what was stored)."""
    work = clean_text(value).lower()
    check_length(work)
    return work


def check_list(value: str) -> tuple[str, ...]:
    items = split_list(value)
    for item in items:
        check_length(item)
    if len(items) > limits.MAX_LIST_ITEMS:
        raise InvalidInput(msg("more than %(n)s items", n=limits.MAX_LIST_ITEMS))
    return items


def check_publisher(value: str) -> str:
    publisher = clean_text(value)
    check_length(publisher)
    return publisher


def detect_script(text: str) -> str:
    """ISO 15924 code of the dominant script of a title: Latn, Cyrl, or Zyyy if neither."""
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff" or "\u0500" <= ch <= "\u052f")
    latin = sum(1 for ch in text if ch.isalpha() and ch.isascii() or "\u00c0" <= ch <= "\u024f")
    if not cyrillic and not latin:
        return "Zyyy"
    return "Cyrl" if cyrillic > latin else "Latn"


def isbn10(isbn13: str | None) -> str | None:
    if isbn13 and isbn13.startswith("978"):
        return stdnum_isbn.to_isbn10(isbn13)
    return None


CHECKS = {
    "title": check_title,
    "language": check_language,
    "authors": check_list,
    "translators": check_list,
    "work": check_work,
    "publisher": check_publisher,
    "isbn": check_isbn,
    "subjects": check_list,
    "other_titles": check_list,
}


def check_field(name: str, value: str, today: date | None = None):
    """The value of a field as written, checked by its rule; raises InvalidInput."""
    if name == "year":
        return check_year(value, today)
    return CHECKS[name](value)


def edit(record: Record, changes: Mapping[str, str], today: date | None = None) -> Record:
    """A coordinator's correction: every changed value checked by the same rules as an
    import (a value refused there is refused here too)."""
    values = {}
    problems: list[tuple[str, InvalidInput]] = []
    for name, raw in changes.items():
        field = BY_NAME.get(name)
        if field is None or not field.editable:
            continue
        try:
            values[name] = check_field(name, raw if raw is not None else "", today)
        except InvalidInput as problem:
            problems.append((name, problem))
    if problems:
        name, problem = problems[0]
        raise InvalidInput(
            msg("%(field)s: %(reason)s", field=BY_NAME[name].label, reason=problem.message)
        )
    if "title" in values:
        values["script"] = detect_script(values["title"])
    return record.changed(**values)
