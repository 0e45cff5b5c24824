"""The Whoosh schema and how a catalog record (a plain dict) becomes an index document."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache

from whoosh import columns
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from index.analysis import (
    analyze,
    exact_analyzer,
    fold,
    key_analyzer,
    name_analyzer,
    stem_analyzer,
    words,
)
from index.collation import SORT_LOCALES, sort_key

STEM_LANGUAGES = ("ru", "tr", "en", "turkic")

# Facet name -> index field holding its values (counted for every search, filtered on).
FACET_FIELDS = {
    "language": "language",
    "library": "libraries",
    "district": "districts",
    "donor": "donors",
    "subject": "subjects",
    "year": "year",
}
# Fields whose words typos and "did you mean" are looked up in.
LEXICON_FIELDS = ("title_exact", "authors_exact", "title_key", "authors_key", "authors_name")
# Numeric fields filtered by ranges, from a value per document rather than term ranges.
RANGE_FIELDS = ("year",)
# One term per document, read per document in searches (ties by record id, editions).
DOC_TERM_FIELDS = ("id", "work")

# Bump when the schema, the analysis or the files change: an index of another format is
# rebuilt. 7: segments written from arrays, with their search arrays file; 8: names keyed
# with their endings folded, titles in other languages.
INDEX_FORMAT = 8
TURKIC_LANGUAGES = {"az", "kk", "tr", "ky", "uz", "tk", "tt", "ba"}


def build_schema(sort_locales: Sequence[str] = SORT_LOCALES) -> Schema:
    # Sort keys live only in per-document columns: indexing them as terms would add one
    # unique term per record and locale to the term dictionary for nothing.
    sort_fields = {f"sort_title_{loc}": COLUMN(columns.VarBytesColumn()) for loc in sort_locales}
    return Schema(
        id=ID(stored=True, unique=True),
        fingerprint=STORED(),
        work=ID(stored=True),
        language=ID(stored=True),
        script=STORED(),
        libraries=KEYWORD(commas=True),
        districts=KEYWORD(commas=True),
        donors=KEYWORD(commas=True),
        subjects=KEYWORD(commas=True),
        # Few precision terms per year (ranges over years are short); "added" is only sorted
        # on, so it lives in a column and adds no postings.
        year=NUMERIC(stored=True, sortable=True, shift_step=16),
        added=COLUMN(columns.NumericColumn("i")),
        isbn=KEYWORD(),
        title=STORED(),
        authors=STORED(),
        title_sig=ID(),
        title_exact=TEXT(analyzer=exact_analyzer(), spelling=True, phrase=False),
        title_key=TEXT(analyzer=key_analyzer(), phrase=False),
        authors_exact=TEXT(analyzer=exact_analyzer(), spelling=True, phrase=False),
        authors_key=TEXT(analyzer=key_analyzer(), phrase=False),
        # The same names with surname and patronymic endings folded (-ұлы = -oğlu = -ov).
        authors_name=TEXT(analyzer=name_analyzer(), phrase=False),
        authors_stem=TEXT(analyzer=stem_analyzer("turkic"), phrase=False),
        # Stems of the title under the stemmers of its language, analyzed here in Python
        # (a field has one analyzer, a record's language picks the stemmers).
        title_stem=TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=False),
        other_key=TEXT(analyzer=key_analyzer(), phrase=False),
        # The work's titles in other languages (`Doctor Zhivago` for «Доктор Живаго»).
        alt_title_key=TEXT(analyzer=key_analyzer(), phrase=False),
        **sort_fields,
    )


def key_text(text: str, language: str | None, script: str | None) -> str:
    """Text prepared for the key fields.

    Azerbaijani Cyrillic writes Latin q as г; knowing the record is Azerbaijani Cyrillic
    settles what a query word cannot, so г is rewritten letter for letter (offsets kept).
    """
    if language == "az" and script == "Cyrl":
        return text.replace("г", "q").replace("Г", "Q")
    return text


_STEMMERS = {lang: stem_analyzer(lang) for lang in STEM_LANGUAGES}


@lru_cache(maxsize=262_144)
def _word_stems(stemmer: str, word: str) -> tuple[str, ...]:
    """A word's stems under one stemmer (its analyzer's filters see one token at a time,
    so a word stems alike in every title: each distinct word is analyzed once)."""
    return tuple(s for group in analyze(_STEMMERS[stemmer], word, "index") for s in group)


def _stems(stemmer: str, text: str) -> set[str]:
    return {s for word in words(text) for s in _word_stems(stemmer, word)}


def title_stems(title: str, language: str, script: str) -> list[str]:
    """The title's stems under its language's stemmers (Snowball, and the Turkic stripper
    for Turkic languages)."""
    stems: set[str] = set()
    if language in ("ru", "tr", "en"):
        stems |= _stems(language, title)
    if language in TURKIC_LANGUAGES:
        stems |= _stems("turkic", key_text(title, language, script))
    return sorted(stems)


def title_signature(title: str) -> str:
    """One canonical key for a whole title, to rank a typed-in full title first."""
    return fold(title)


def fingerprint(record: dict) -> str:
    """A digest of everything indexed about a record: equal digests, equal documents."""
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


YEARS = range(1, 10_000)  # what the year field holds; anything else is no year to search by


def indexable_year(value: object) -> int | None:
    """The year to index, or None: a catalog written before years were checked may hold
    `-5` or `2147483648`; such a record is still indexed and found, only not by year."""
    try:
        year = int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
    return year if year in YEARS else None


def to_document(record: dict, sort_locales: Sequence[str] = SORT_LOCALES) -> dict:
    """A catalog record dict -> the fields Whoosh stores and indexes.

    Expected keys: id, title, language, script, authors, translators, work, publisher, year,
    isbn13, isbn10, subjects, other_titles, libraries, districts, donors, added (int days).
    Missing optional keys are fine.
    """
    language = record.get("language") or ""
    script = record.get("script") or ""
    title = record["title"]
    people = list(record.get("authors") or []) + list(record.get("translators") or [])
    people_text = "; ".join(people)
    subjects = list(record.get("subjects") or [])
    doc = {
        "id": record["id"],
        "fingerprint": fingerprint(record),
        "work": record.get("work") or record["id"],
        "language": language,
        "script": script,
        "libraries": ",".join(record.get("libraries") or []),
        "districts": ",".join(record.get("districts") or []),
        "donors": ",".join(record.get("donors") or []),
        "subjects": ",".join(subjects),
        "isbn": " ".join(v for v in (record.get("isbn13"), record.get("isbn10")) if v),
        "title": title,
        "authors": list(record.get("authors") or []),
        "title_sig": title_signature(key_text(title, language, script)),
        "title_exact": title,
        "title_key": key_text(title, language, script),
        "authors_exact": people_text,
        "authors_key": key_text(people_text, language, script),
        "authors_name": key_text(people_text, language, script),
        "authors_stem": key_text(people_text, language, script),
        "other_key": " ; ".join(v for v in (record.get("publisher") or "", *subjects) if v),
    }
    other_titles = list(record.get("other_titles") or [])
    if other_titles:
        doc["alt_title_key"] = " ; ".join(other_titles)  # in their own languages
    year = indexable_year(record.get("year"))
    if year is not None:
        doc["year"] = year
    # Always a value: a segment where no record has one would have no column to sort by.
    doc["added"] = int(record.get("added") or 0)
    doc["title_stem"] = " ".join(title_stems(title, language, script))
    for loc in sort_locales:
        doc[f"sort_title_{loc}"] = sort_key(title, loc)
    return doc
