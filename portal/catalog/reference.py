"""Reference data every catalog starts with: districts, libraries, known donors, subject
headings, and their names in each portal language.

The lists live in `portal/data/*.csv` (one row per thing, one column per language) so that
translators and coordinators can read them. In the database names are rows of `names`, one
per language; `sync` adds what a catalog lacks (a new library, a new language's names) and
never changes what is there, so coordinators' corrections stay.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from sqlalchemy import Connection, insert, select

from portal import languages
from portal.catalog import models

LANGUAGES = languages.CODES


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("portal.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def names_of(row: dict[str, str]) -> dict[str, str]:
    """A reference row's names by language (languages without a column are left out)."""
    return {lang: row[lang] for lang in LANGUAGES if row.get(lang)}


def _missing(conn: Connection, table, rows: list[dict]) -> list[dict]:
    present = set(conn.execute(select(table.c.code)).scalars())
    return [row for row in rows if row["code"] not in present]


def _library(row: dict[str, str]) -> dict:
    return {
        "code": row["code"],
        "kind": row["kind"],
        "district": row["district"],
        "address": row["address"],
        "latitude": float(row["latitude"]),
        "longitude": float(row["longitude"]),
    }


def pending(conn: Connection) -> list[tuple[object, list[dict]]]:
    """(table, rows) the catalog lacks: reference things and their names (read only)."""
    lists = {
        "district": _rows("districts.csv"),
        "library": _rows("libraries.csv"),
        "donor": _rows("donors.csv"),
    }
    tables = {"district": models.districts, "library": models.libraries, "donor": models.donors}
    found: list[tuple[object, list[dict]]] = []
    for kind, rows in lists.items():
        new = _missing(conn, tables[kind], rows)
        if new:
            found.append(
                (
                    tables[kind],
                    [_library(r) if kind == "library" else {"code": r["code"]} for r in new],
                )
            )
    names = models.names
    have = set(conn.execute(select(names.c.kind, names.c.code, names.c.lang)))
    wanted = [
        {"kind": kind, "code": row["code"], "lang": lang, "name": name}
        for kind, rows in lists.items()
        for row in rows
        for lang, name in names_of(row).items()
        if (kind, row["code"], lang) not in have
    ]
    if wanted:
        found.append((names, wanted))
    return found


def sync(conn: Connection) -> None:
    """Add the reference rows and names the catalog does not have yet."""
    for table, rows in pending(conn):
        conn.execute(insert(table), rows)


def set_names(conn: Connection, kind: str, code: str, names: dict[str, str]) -> None:
    """Write a thing's names (every language given), replacing the ones it had."""
    table = models.names
    conn.execute(
        table.delete().where(
            table.c.kind == kind, table.c.code == code, table.c.lang.in_(list(names))
        )
    )
    rows = [{"kind": kind, "code": code, "lang": lang, "name": n} for lang, n in names.items() if n]
    if rows:
        conn.execute(insert(table), rows)


@cache
def subject_variants() -> dict[str, tuple[str, ...]]:
    """Subject key -> other names readers and cataloguers write it as (`Apsheron`,
    `Абшерон`), besides its headings."""
    return {
        r["key"]: tuple(v.strip() for v in (r.get("variants") or "").split(";") if v.strip())
        for r in _rows("subjects.csv")
    }


@cache
def subjects() -> dict[str, dict[str, str]]:
    """Subject key -> its heading in each portal language (English where a language has
    no column)."""
    return {
        r["key"]: {lang: r.get(lang) or r["en"] for lang in LANGUAGES}
        for r in _rows("subjects.csv")
    }
