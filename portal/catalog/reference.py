"""Reference data every catalog starts with: districts, libraries and known donors.

The lists live in `portal/data/*.csv` so that translators and coordinators can read them.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from sqlalchemy import Connection, insert

from portal.catalog import models

LANGUAGES = models.LANGUAGES


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("portal.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _names(row: dict[str, str]) -> dict[str, str]:
    return {f"name_{lang}": row[lang] for lang in LANGUAGES}


def seed(conn: Connection) -> None:
    conn.execute(
        insert(models.districts), [{"code": r["code"], **_names(r)} for r in _rows("districts.csv")]
    )
    conn.execute(
        insert(models.libraries),
        [
            {
                "code": r["code"],
                "kind": r["kind"],
                "district": r["district"],
                **_names(r),
                "address": r["address"],
                "latitude": float(r["latitude"]),
                "longitude": float(r["longitude"]),
            }
            for r in _rows("libraries.csv")
        ],
    )
    conn.execute(
        insert(models.donors), [{"code": r["code"], **_names(r)} for r in _rows("donors.csv")]
    )


@cache
def subjects() -> dict[str, dict[str, str]]:
    """Subject key -> its heading in each portal language."""
    return {r["key"]: {lang: r[lang] for lang in LANGUAGES} for r in _rows("subjects.csv")}
