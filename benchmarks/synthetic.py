"""A synthetic catalog of realistic multilingual records, for benchmarks and fault tests.

Records are built from the words, names, publishers and subjects of the bundled demo catalog
(Azerbaijani Latin and Cyrillic, Kazakh, Turkish, Russian, English), so the term
distribution and scripts look like the real catalog's.
"""

from __future__ import annotations

import csv
import io
import random

from index.analysis import words
from portal.catalog.csvformat import COLUMNS
from portal.demo import demo_files

LIBRARIES = ["ANL", "SHU", "LAC", "KEL", "AGD", "FUZ", "JAB", "ZAN", "GUB", "KHO", "KHV"]


def demo_rows() -> list[dict[str, str]]:
    rows = []
    for _name, data in demo_files():
        rows.extend(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    return rows


def synthetic_csv(count: int, seed: int = 7) -> tuple[bytes, list[dict[str, str]]]:
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
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    made = []
    for i in range(count):
        lang = rng.choices(languages, weights)[0]
        model = rng.choice(by_language[lang])
        title = " ".join(rng.choice(vocab[lang]) for _ in range(rng.randint(1, 5)))
        row = {
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
        writer.writerow(row)
        made.append(row)
    return out.getvalue().encode("utf-8"), made
