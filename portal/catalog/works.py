"""The work authority: famous works' titles in each language, so that a reader who knows a
book by its title in their own language finds the editions the libraries hold.

`portal/data/works.csv` holds one row per work (its key, authors, original language and
title, and its published title in az, kk, tr, ru and en, `;` between alternatives). A record
is linked to a work by its `work` key, or, when its key names no work, by its title and an
author: the title folded the way search folds it (any script, marks, the spellings search
already understands) equal to one of the work's titles, and a surname in common (or no
authors on one side). A linked record is searchable by every title of its work.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from index.analysis import fold, name_key, words

TITLE_COLUMNS = ("original", "az", "kk", "tr", "ru", "en")


@dataclass(frozen=True)
class Work:
    key: str
    authors: tuple[str, ...]
    titles: tuple[str, ...]  # every title in every language, original first


def _names(authors: Iterable[str]) -> set[str]:
    """The folded name words of some authors, surname endings folded (`Ауэзов`, `Auezov`
    and `Әуезов` share one), initials left out."""
    return {name_key(key) for a in authors for key in fold(a).split() if len(key) > 2}


class WorkAuthority:
    def __init__(self, works: Iterable[Work]):
        self.by_key: dict[str, Work] = {}
        self._by_title: dict[str, list[Work]] = defaultdict(list)
        for work in works:
            self.by_key[work.key] = work
            for title in work.titles:
                if words(title):
                    self._by_title[fold(title)].append(work)

    def __len__(self) -> int:
        return len(self.by_key)

    def link(self, work_key: str, title: str, authors: Iterable[str]) -> Work | None:
        """The work a record is an edition of, if the authority knows it."""
        if work_key in self.by_key:
            return self.by_key[work_key]
        names = _names(authors)
        for work in self._by_title.get(fold(title), ()):
            theirs = _names(work.authors)
            if not names or not theirs or names & theirs:
                return work
        return None

    def other_titles(self, work_key: str, title: str, authors: Iterable[str]) -> tuple[str, ...]:
        """The titles of the record's work other than its own title."""
        work = self.link(work_key, title, authors)
        if work is None:
            return ()
        return distinct_titles(work.titles, title)


def distinct_titles(titles: Iterable[str], own: str) -> tuple[str, ...]:
    """Titles once each as search folds them (`Abay yolu`, `Abay Yolu`), without `own`."""
    kept = {fold(own): own}
    for title in titles:
        kept.setdefault(fold(title), title)
    return tuple(kept.values())[1:]


def _split(cell: str) -> list[str]:
    return [part.strip() for part in (cell or "").split(";") if part.strip()]


def read_works(text: str) -> list[Work]:
    works = []
    for row in csv.DictReader(text.splitlines()):
        titles = dict.fromkeys(t for column in TITLE_COLUMNS for t in _split(row.get(column, "")))
        works.append(Work(row["key"], tuple(_split(row.get("authors", ""))), tuple(titles)))
    return works


@cache
def authority() -> WorkAuthority:
    """The authority shipped with the portal (portal/data/works.csv)."""
    text = resources.files("portal.data").joinpath("works.csv").read_text(encoding="utf-8")
    return WorkAuthority(read_works(text))
