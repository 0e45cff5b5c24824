"""A synthetic catalog of realistic multilingual records, for benchmarks and fault tests.

Records are built from the words, names, publishers and subjects of the bundled demo catalog
(Azerbaijani Latin and Cyrillic, Kazakh, Turkish, Russian, English), so the term
distribution and scripts look like the real catalog's.

`synthetic_csv` gives Catalog CSV rows (for the importer); `synthetic_records` gives the
same catalog as the dicts `Catalog.documents()` yields after importing those rows, so that
catalogs too large to import in reasonable time (1,000,000 records) can be indexed directly.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import date
from functools import cache

from index.analysis import words
from portal.catalog.csvformat import COLUMNS, detect_script, split_list
from portal.catalog.imports import _subject_key
from portal.catalog.reference import _rows
from portal.catalog.works import authority
from portal.demo import demo_files

LIBRARIES = ["ANL", "SHU", "LAC", "KEL", "AGD", "FUZ", "JAB", "ZAN", "GUB", "KHO", "KHV"]
EPOCH = date(1970, 1, 1)


def demo_rows() -> list[dict[str, str]]:
    rows = []
    for _name, data in demo_files():
        rows.extend(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    return rows


def synthetic_rows(count: int, seed: int = 7) -> Iterator[dict[str, str]]:
    """Catalog CSV v1 rows, one per record (the same rows for the same count and seed)."""
    rng = random.Random(seed)
    base = demo_rows()
    by_language: dict[str, list[dict[str, str]]] = {}
    for row in base:
        by_language.setdefault(row["language"], []).append(row)
    vocab = {
        lang: [w for r in rows for w in words(r["title"])] for lang, rows in by_language.items()
    }
    languages = list(by_language)
    weights = [len(by_language[lang]) for lang in languages]
    for i in range(count):
        lang = rng.choices(languages, weights)[0]
        model = rng.choice(by_language[lang])
        title = " ".join(rng.choice(vocab[lang]) for _ in range(rng.randint(1, 5)))
        yield {
            "record_id": f"syn-{i:07d}",
            "title": title,
            "language": lang,
            "authors": rng.choice(by_language[lang])["authors"],
            "translators": "",
            "work": f"syn-work-{i // rng.choice((1, 1, 1, 2, 3)):07d}",
            "publisher": model["publisher"],
            "year": str(rng.randint(1950, 2022)),
            "isbn": "",
            "subjects": model["subjects"],
            "donor": model["donor"],
            "donated_on": f"2021-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "library": rng.choice(LIBRARIES),
            "copies": str(rng.randint(1, 9)),
        }


def synthetic_csv(count: int, seed: int = 7) -> tuple[bytes, list[dict[str, str]]]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    made = []
    for row in synthetic_rows(count, seed):
        writer.writerow(row)
        made.append(row)
    return out.getvalue().encode("utf-8"), made


@cache
def _districts() -> dict[str, str]:
    return {r["code"]: r["district"] for r in _rows("libraries.csv")}


@cache
def _donor_codes() -> dict[str, str]:
    codes = {}
    for row in _rows("donors.csv"):
        codes[row["code"].casefold()] = row["code"]
        for lang in ("az", "kk", "tr", "ru", "en"):
            codes[row[lang].casefold()] = row["code"]
    return codes


@cache
def _subject(subject: str) -> str:
    return _subject_key(subject)


def as_record(row: dict[str, str]) -> dict:
    """A synthetic CSV row as the index record `Catalog.documents()` gives after importing
    it (tests/index/test_synthetic.py holds the two equal). Only what the synthetic rows
    use is handled: one row per record, a known library and donor, no ISBN."""
    title = " ".join(row["title"].split())
    authors = list(split_list(row["authors"]))
    work = row["work"].strip().lower() or row["record_id"]
    library = row["library"]
    donor = _donor_codes().get(" ".join(row["donor"].split()).casefold())
    return {
        "id": row["record_id"],
        "title": title,
        "language": row["language"],
        "script": detect_script(title),
        "authors": authors,
        "translators": list(split_list(row["translators"])),
        "work": work,
        "publisher": " ".join(row["publisher"].split()),
        "year": int(row["year"]) if row["year"] else None,
        "isbn13": None,
        "isbn10": None,
        "subjects": [_subject(s) for s in split_list(row["subjects"])],
        "other_titles": list(authority().other_titles(work, title, authors)),
        "libraries": [library],
        "districts": [_districts()[library]],
        "donors": [donor] if donor else [],
        "added": (date.fromisoformat(row["donated_on"]) - EPOCH).days,
    }


def synthetic_records(count: int, seed: int = 7) -> Iterator[dict]:
    """The index records of `synthetic_csv(count, seed)`, in record id order."""
    for row in synthetic_rows(count, seed):
        yield as_record(row)
