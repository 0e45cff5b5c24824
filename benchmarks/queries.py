"""The benchmark's query sets: a mix of distinct reader queries, and crafted worst cases.

Both are built from the synthetic catalog's rows with a fixed seed, so every run (and the
runs before and after a change) times the same requests.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Sequence

import icu

from benchmarks.synthetic import LIBRARIES
from index import SearchRequest
from index.analysis import words

TO_LATIN = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")
KINDS = (
    "exact",
    "folded",
    "author",
    "typo",
    "cross_script",
    "two_words",
    "three_common",
    "filtered",
    "browse",
)
LANGUAGES = ("az", "kk", "tr", "ru", "en")
BROWSE_SORTS = ("newest", "title", "year")
COMMON_WORDS = 300  # "common" words: the most frequent title words of the sample


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word))
    return word[:i] + word[i + 1 :]


def common_words(rows: Sequence[dict[str, str]], limit: int = COMMON_WORDS) -> list[str]:
    counts = Counter(w.lower() for row in rows for w in words(row["title"]) if len(w) > 2)
    return [w for w, _ in counts.most_common(limit)]


def _text(kind: str, row: dict[str, str], common: list[str], rng: random.Random) -> str:
    title_words = words(row["title"])
    if kind == "exact":
        return row["title"]
    if kind == "folded":
        if row["language"] == "ru":
            return row["title"].lower()
        return TO_LATIN.transliterate(row["title"]).lower()
    if kind == "author":
        return (row["authors"].split(";")[0].split() or ["Abai"])[-1]
    if kind == "typo":
        return " ".join(typo(w, rng) for w in title_words[:2])
    if kind == "cross_script":
        return TO_LATIN.transliterate(" ".join(title_words[:2]))
    if kind == "two_words":
        return " ".join(rng.sample(title_words, min(2, len(title_words))))
    if kind == "three_common":
        return " ".join(rng.sample(common, 3))
    return rng.choice(title_words)  # filtered: one title word and filters


def _request(kind: str, row: dict[str, str], common: list[str], rng: random.Random):
    if kind == "browse":  # a library's shelf in some order, on one of its first pages
        return SearchRequest(
            text="",
            filters={"library": [rng.choice(LIBRARIES)]},
            sort=rng.choice(BROWSE_SORTS),
            locale=rng.choice(LANGUAGES),
            page=rng.randint(1, 3),
        )
    text = _text(kind, row, common, rng)
    if kind != "filtered":
        return SearchRequest(text=text)
    start = rng.randint(1950, 2015)
    return SearchRequest(
        text=text,
        filters={
            "library": rng.sample(LIBRARIES, rng.randint(1, 3)),
            "language": rng.sample(LANGUAGES, rng.randint(1, 2)),
        },
        year_from=start,
        year_to=start + rng.randint(0, 30),
    )


def query_set(
    rows: Sequence[dict[str, str]], count: int, seed: int = 11
) -> list[tuple[str, SearchRequest]]:
    """`count` distinct requests, the kinds in turn (a repeated request is drawn again: every
    query is timed cold, and a repeat would only time the same work twice)."""
    rng = random.Random(seed)
    common = common_words(rows[:20_000])
    queries: list[tuple[str, SearchRequest]] = []
    seen: set[str] = set()
    n = 0
    while len(queries) < count:
        kind = KINDS[n % len(KINDS)]
        for _attempt in range(50):
            request = _request(kind, rng.choice(rows), common, rng)
            if repr(request) not in seen:
                break
        n += 1
        if repr(request) in seen:
            continue
        seen.add(repr(request))
        queries.append((kind, request))
    return queries


def _nonsense(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(length))


def worst_queries(
    rows: Sequence[dict[str, str]], seed: int = 13
) -> list[tuple[str, SearchRequest]]:
    """Requests crafted to cost the most: 12 long words (unknown, typo'd, common), wide year
    ranges, every filter value, letters that branch into many search keys."""
    rng = random.Random(seed)
    common = common_words(rows[:20_000])
    long_words = sorted({w for row in rows[:20_000] for w in words(row["title"]) if len(w) >= 9})
    every = {
        "library": list(LIBRARIES),
        "language": list(LANGUAGES),
    }
    wide = {"year_from": 0, "year_to": 9873}
    return [
        ("12 unknown long words", SearchRequest(" ".join(_nonsense(rng, 12) for _ in range(12)))),
        (
            "12 unknown words, years 0-9873",
            SearchRequest(" ".join(_nonsense(rng, 11) for _ in range(12)), **wide),
        ),
        (
            "12 long words with typos, years 1-9999",
            SearchRequest(
                " ".join(typo(w, rng) for w in rng.sample(long_words, 12)),
                year_from=1,
                year_to=9999,
            ),
        ),
        ("12 common words", SearchRequest(" ".join(rng.sample(common, 12)))),
        (
            "12 common words, every filter, years 3-9870",
            SearchRequest(
                " ".join(rng.sample(common, 12)), filters=every, year_from=3, year_to=9870
            ),
        ),
        (
            "12 words of ə/ch/x (8 keys each)",
            SearchRequest(" ".join("xəçəxəchə" + _nonsense(rng, 3) for _ in range(12))),
        ),
        (
            "12 typo'd long words, every filter, years 0-9873",
            SearchRequest(
                " ".join(typo(w, rng) for w in rng.sample(long_words, 12)), filters=every, **wide
            ),
        ),
        ("browse, years 0-9873, every filter", SearchRequest("", filters=every, **wide)),
    ]
