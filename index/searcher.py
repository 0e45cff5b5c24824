"""Run a reader's search: ranked ids, facets with counts, editions of the same work,
highlights and a "did you mean" suggestion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from whoosh import query as wq
from whoosh import sorting
from whoosh.searching import Searcher

from index.collation import SORT_LOCALES
from index.facets import FacetCounter
from index.highlight import Segment, highlight
from index.query import ParsedQuery, QueryWord
from index.schema import FACET_FIELDS
from index.vocabulary import Vocabulary

SORTS = ("relevance", "title", "year", "newest")
MAX_PER_PAGE = 100
EDITION_SOURCES = 30  # how many top hits bring in the other editions of their work
EDITION_FACTOR = 0.9  # an edition ranks just below the hit that brought it in
MAX_EDITIONS = 200
FEW_RESULTS = 3  # below this, look for a "did you mean"
TIE_WINDOW = 20  # extra hits fetched so that ties at a page's edge sort the same way


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    locale: str = "en"
    page: int = 1
    per_page: int = 20
    facets: bool = True


@dataclass
class Hit:
    id: str
    score: float
    title: str
    language: str
    highlight: list[Segment]


@dataclass
class Facet:
    value: str
    count: int


@dataclass
class SearchResult:
    text: str
    total: int
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, list[Facet]]
    suggestion: str | None = None
    relaxed: bool = False  # no record had every word; records with some words are shown


@dataclass
class Suggestion:
    id: str
    title: str
    authors: list[str]
    language: str


def filter_query(request: SearchRequest) -> wq.Query | None:
    clauses: list[wq.Query] = []
    for name, values in request.filters.items():
        if name not in FACET_FIELDS or name == "year" or not values:
            continue
        fieldname = FACET_FIELDS[name]
        clauses.append(wq.Or([wq.Term(fieldname, str(v)) for v in values]))
    if request.year_from is not None or request.year_to is not None:
        clauses.append(wq.NumericRange("year", request.year_from, request.year_to))
    years = request.filters.get("year")
    if years:
        clauses.append(wq.Or([wq.Term("year", int(y)) for y in years if str(y).isdigit()]))
    if not clauses:
        return None
    return wq.And(clauses) if len(clauses) > 1 else clauses[0]


def _sorted_by(request: SearchRequest):
    if request.sort == "title":
        locale = request.locale if request.locale in SORT_LOCALES else "en"
        return sorting.FieldFacet(f"sort_title_{locale}")
    if request.sort == "year":
        return sorting.FieldFacet("year", reverse=True)
    if request.sort == "newest":
        return sorting.FieldFacet("added", reverse=True)
    return None


def _other_editions(searcher: Searcher, direct_hits, direct: wq.Query, flt: wq.Query | None):
    """Other editions of the top hits' works, each scored just below the hit that brought it
    in: a title in one language also finds its translations. Editions that match the query
    themselves are left where the query put them. Returns (hits, query of those hits)."""
    best: dict[str, float] = {}
    for hit in direct_hits[:EDITION_SOURCES]:
        work = hit.get("work")
        if work and work not in best:
            best[work] = hit.score
    if not best:
        return [], None
    editions = wq.Or(
        [
            wq.ConstantScoreQuery(wq.Term("work", work), score=score * EDITION_FACTOR)
            for work, score in best.items()
        ]
    )
    direct_docs = set(searcher.docs_for_query(wq.And([direct, editions])))
    found = [
        hit
        for hit in searcher.search(editions, filter=flt, limit=MAX_EDITIONS)
        if hit.docnum not in direct_docs
    ]
    if not found:
        return [], None
    return found, wq.Or([wq.Term("id", hit["id"]) for hit in found])


def _run(searcher: Searcher, request: SearchRequest, parsed: ParsedQuery, require_all: bool):
    """Ranked hits (enough for the requested page), the total, and the query whose matches
    the facets count."""
    flt = filter_query(request)
    per_page = max(1, min(request.per_page, MAX_PER_PAGE))
    page = max(1, request.page)
    window = page * per_page + TIE_WINDOW
    if parsed.empty:
        q: wq.Query = wq.Every()
        sortedby = _sorted_by(request) or sorting.FieldFacet("added", reverse=True)
    else:
        q = parsed.to_query(require_all=require_all)
        sortedby = _sorted_by(request)
    results = searcher.search(q, filter=flt, limit=max(window, EDITION_SOURCES), sortedby=sortedby)
    hits, total = list(results), len(results)
    matched = wq.And([q, flt]) if flt is not None else q
    if request.sort == "relevance" and not parsed.empty and hits:
        editions, editions_q = _other_editions(searcher, hits, q, flt)
        if editions:
            hits += editions
            total += len(editions)
            matched = wq.Or([matched, editions_q])
        # Equal scores rank by record id, not by where a document sits in the index, so a
        # rebuilt or restored index ranks exactly like the one it replaces.
        hits.sort(key=lambda h: (-round(h.score or 0.0, 6), h["id"]))
    return hits[:window], total, page, per_page, matched


def _facet_counts(counts) -> dict[str, list[Facet]]:
    out: dict[str, list[Facet]] = {}
    for name, counter in counts.items():
        facets = [Facet(value, count) for value, count in counter.items()]
        facets.sort(key=lambda f: (-f.count, f.value))
        out[name] = facets
    return out


def _suggestion(searcher: Searcher, parsed: ParsedQuery, total: int) -> str | None:
    """A respelling of the query from words in titles and names, if it finds more."""
    changed = False
    respelled = []
    for word in parsed.words:
        candidate = word.exact
        for fieldname in ("title_exact", "authors_exact"):
            found = searcher.suggest(fieldname, word.exact, limit=1, maxdist=2)
            if found and found[0] != word.exact:
                candidate, changed = found[0], True
                break
            if found:
                break
        respelled.append(candidate)
    if not changed:
        return None
    text = " ".join(respelled)
    better = ParsedQuery.parse(text)
    # Counting matches needs no scoring (one pass, not two searches).
    found = sum(1 for _ in searcher.docs_for_query(better.to_query()))
    return text if found > total else None


def search(
    searcher: Searcher,
    request: SearchRequest,
    vocabularies: Sequence[Vocabulary] = (),
    facet_counter: FacetCounter | None = None,
) -> SearchResult:
    parsed = ParsedQuery.parse(request.text, vocabularies)
    for word in parsed.words:
        word.expand_typos(searcher.reader())
    ranked, total, page, per_page, matched = _run(searcher, request, parsed, True)
    relaxed = False
    if not parsed.empty and not total and len(parsed.words) > 1:
        ranked, total, page, per_page, matched = _run(searcher, request, parsed, False)
        relaxed = total > 0
    start = (page - 1) * per_page
    hits = [
        Hit(
            id=h["id"],
            score=h.score if isinstance(h.score, int | float) else 0.0,
            title=h["title"],
            language=h.get("language", ""),
            highlight=highlight(
                h["title"], h.get("language", ""), h.get("script", ""), parsed.words
            ),
        )
        for h in ranked[start : start + per_page]
    ]
    suggestion = None
    if parsed.words and (total < FEW_RESULTS or relaxed):
        suggestion = _suggestion(searcher, parsed, 0 if relaxed else total)
    return SearchResult(
        text=parsed.text,
        total=total,
        page=page,
        per_page=per_page,
        hits=hits,
        facets=_facet_counts((facet_counter or FacetCounter()).count(searcher, matched))
        if request.facets
        else {},
        suggestion=suggestion,
        relaxed=relaxed,
    )


def suggest(searcher: Searcher, text: str, limit: int = 8) -> list[Suggestion]:
    """Records whose title or author starts like what is typed so far."""
    parsed = ParsedQuery.parse(text)
    if not parsed.words:
        return []
    results = searcher.search(parsed.prefix_query(), limit=limit)
    return [
        Suggestion(h["id"], h["title"], list(h.get("authors") or []), h.get("language", ""))
        for h in results
    ]


def hit_words(text: str) -> list[QueryWord]:
    return ParsedQuery.parse(text).words
