"""Run a reader's search: ranked ids, facets with counts, editions of the same work,
highlights and a "did you mean" suggestion."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from index import facets, layouts
from index.analysis import search_keys, turkic_lower, words
from index.arrays import LENGTH_OF_BYTE, ArrayCache
from index.evaluate import Budget, Evaluator, member, top
from index.facets import FACET_FIELDS
from index.highlight import Segment, highlight
from index.query import TYPO_FIELDS, ParsedQuery, QueryWord
from index.spelling import Lexicon
from index.vocabulary import Vocabulary

SORTS = ("relevance", "title", "year", "newest")
MAX_PER_PAGE = 100
EDITION_SOURCES = 30  # how many top hits bring in the other editions of their work
EDITION_FACTOR = 0.9  # an edition ranks just below the hit that brought it in
MAX_EDITIONS = 200
FEW_RESULTS = 3  # below this, look for a "did you mean"
TIE_WINDOW = 20  # extra hits fetched so that ties at a page's edge sort the same way
DENSE_ORDER = 16  # from 1/16 of a segment matching, a sorted page comes off the stored order
SPELLING_FIELDS = ("title_exact", "authors_exact")  # where "did you mean" finds its words


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
    as_typed: bool = False  # never read the text as typed on another keyboard layout


@dataclass
class Hit:
    id: str
    score: float
    title: str
    language: str
    highlight: list[Segment]
    # From the index alone, so a page can still list a hit when the catalog database is
    # out of reach for a moment.
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    script: str = ""
    work: str = ""


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
    partial: bool = False  # the query reached its work budget: what was found so far
    # The text as typed when it was read as typed on another keyboard layout (`text` is
    # then what was searched: `Ujujkm` -> `Гоголь`), and that layout's pair.
    typed: str | None = None
    layouts: tuple[str, str] | None = None  # (typed on, meant)


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


@dataclass
class _Found:
    """A ranked document; its stored fields are read only when needed."""

    evaluator: Evaluator
    docnum: int
    score: float
    _fields: dict | None = None

    @property
    def fields(self) -> dict:
        if self._fields is None:
            self._fields = self.evaluator.stored(self.docnum)
        return self._fields

    @property
    def record_id(self) -> str:
        if self._fields is not None:
            return self._fields["id"]
        return self.evaluator.term_of("id", self.docnum) or self.fields["id"]

    @property
    def work(self) -> str | None:
        if self._fields is not None:
            return self._fields.get("work")
        return self.evaluator.term_of("work", self.docnum)


def _sort_spec(request: SearchRequest) -> tuple[str, bool] | None:
    """(column, descending) of the requested order; None for relevance."""
    if request.sort == "title":
        return f"sort_title_{request.locale}", False
    if request.sort == "year":
        return "year", True
    if request.sort == "newest":
        return "added", True
    return None


def _sorted_docnums(
    ev: Evaluator, docnums: np.ndarray, column: str, descending: bool, limit: int | None
) -> np.ndarray:
    """Matched document numbers (sorted) ordered by a column (equal values by document
    number): each segment's first `limit`, then those merged."""
    title = column.startswith("sort_title_")
    chosen = []
    for reader, offset, arrays in ev.segments():
        size = reader.doc_count_all()
        lo, hi = np.searchsorted(docnums, [offset, offset + size])
        inside = docnums[lo:hi] - offset
        if limit is not None and len(inside) > limit:
            inside = _segment_first(arrays, column, descending, inside, size, limit)
        chosen.append((reader, offset, arrays, inside))
    if title:
        # Ranks order a segment; across segments the sort keys themselves decide.
        candidates: list[tuple[bytes, int]] = []
        for reader, offset, _, inside in chosen:
            keys = ev.cache.derived(reader, "column reader", column, _column_reader(column))
            candidates += [(keys[int(d)], int(d) + offset) for d in inside]
        candidates.sort()
        return np.array([d for _, d in candidates[:limit]], dtype=np.int64)
    found = [inside + offset for _, offset, _, inside in chosen]
    keys = [arrays.column(column)[inside].astype(np.float64) for _, _, arrays, inside in chosen]
    found = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    keys = np.concatenate(keys) if keys else np.zeros(0)
    order = np.lexsort((found, -keys if descending else keys))
    return found[order][:limit]


def _segment_first(arrays, column, descending, inside, size, limit) -> np.ndarray:
    """A segment's first `limit` matched documents in the column's order (those tied with
    the last of them may come too): read off the front of the stored order when many
    documents match, else chosen among the matches."""
    order = arrays.order(column)
    if (
        order is not None
        and len(inside) * DENSE_ORDER >= size
        and (column.startswith("sort_title_") or descending)
    ):
        flags = np.zeros(size, dtype=bool)
        flags[inside] = True
        taken, start, step = [], 0, max(4 * limit, 1024)
        while start < size and sum(len(t) for t in taken) < limit:
            part = order[start : start + step]
            taken.append(part[flags[part]])
            start, step = start + step, step * 2
        return np.sort(np.concatenate(taken)[:limit]).astype(np.int64)
    if column.startswith("sort_title_"):
        ranks = arrays.ranks(column)
        return inside[np.argpartition(ranks[inside], limit - 1)[:limit]]
    keys = arrays.column(column)[inside].astype(np.float64)
    if descending:
        keys = -keys
    edge = np.partition(keys, limit - 1)[limit - 1]
    return inside[keys <= edge]  # ties at the edge included: the merge decides


def _column_reader(column: str):
    """A segment's column reader, kept: opening one reads its offsets for every document."""
    return lambda reader: reader.column_reader(column, translate=False)


def _other_editions(
    ev: Evaluator, sources: list[_Found], direct: np.ndarray, within: np.ndarray | None
) -> list[_Found]:
    """Other editions of the top hits' works, each scored just below the hit that brought it
    in: a title in one language also finds its translations. Editions that match the query
    themselves are left where the query put them.

    The sources are the query's top hits before any filter, so a filter only narrows what
    the query found: a facet's count is exactly what choosing it shows (`Абай жолы` filtered
    to Turkish shows «Abay Yolu», brought in by the Kazakh original)."""
    best: dict[str, float] = {}
    for hit in sources[:EDITION_SOURCES]:
        work = hit.work
        if work and work not in best:
            best[work] = hit.score
    if not best:
        return []
    editions = ev.evaluate(
        wq.Or(
            [
                wq.ConstantScoreQuery(wq.Term("work", work), score=score * EDITION_FACTOR)
                for work, score in best.items()
            ]
        )
    )
    eligible = ev.live_docs(editions.docs)
    if within is not None:
        eligible = eligible[member(eligible, within, ev.size)]
    eligible = eligible[~member(eligible, direct, ev.size)]
    chosen = top(editions, eligible, MAX_EDITIONS)
    scores = editions.score_of(chosen)
    return [_Found(ev, int(d), float(s)) for d, s in zip(chosen, scores, strict=True)]


def _by_score_then_id(found: list[_Found], start: int, stop: int) -> list[_Found]:
    """Hits by score; equal scores by record id, not by where a document sits in the index,
    so a rebuilt or restored index ranks exactly like the one it replaces. Ids are read
    only for the ties that reach into [start, stop): a deep page does not read thousands."""
    found = sorted(found, key=lambda h: -round(h.score, 6))
    out: list[_Found] = []
    for _, group in itertools.groupby(found, key=lambda h: round(h.score, 6)):
        tied = list(group)
        if len(tied) > 1 and len(out) < stop and len(out) + len(tied) > start:
            tied.sort(key=lambda h: h.record_id)
        out += tied
    return out


def _run(ev: Evaluator, request: SearchRequest, parsed: ParsedQuery, require_all: bool):
    """Ranked hits (enough for the requested page), the total, and the documents whose
    values the facets count."""
    flt = filter_query(request)
    within = ev.matches(flt) if flt is not None else None  # None: every live document
    per_page = max(1, min(request.per_page, MAX_PER_PAGE))
    page = max(1, request.page)
    window = page * per_page + TIE_WINDOW
    limit = max(window, EDITION_SOURCES)
    spec = _sort_spec(request)
    if spec is not None and spec[0] not in ev.searcher.schema:
        spec = ("sort_title_en", False)  # a locale the index keeps no title order for
    if parsed.empty:
        scored = ev.evaluate(wq.Every())
        spec = spec or ("added", True)
    else:
        scored = ev.evaluate(parsed.to_query(require_all=require_all))
    matched = ev.live_docs(scored.docs)
    if within is not None:
        matched = matched[member(matched, within, ev.size)]
    if spec is None:
        docnums = top(scored, matched, limit)
    else:
        docnums = _sorted_docnums(ev, matched, *spec, limit)
    found = [
        _Found(ev, int(d), float(s)) for d, s in zip(docnums, scored.score_of(docnums), strict=True)
    ]
    total = len(matched)
    if request.sort == "relevance" and not parsed.empty and len(scored.docs):
        unfiltered = top(scored, ev.live_docs(scored.docs), EDITION_SOURCES)
        sources = [
            _Found(ev, int(d), float(s))
            for d, s in zip(unfiltered, scored.score_of(unfiltered), strict=True)
        ]
        editions = _other_editions(ev, sources, scored.docs, within)
        if editions:
            found += editions
            total += len(editions)
            # Editions never match the query themselves: insert them in order.
            added = np.sort([e.docnum for e in editions])
            matched = np.insert(matched, np.searchsorted(matched, added), added)
        found = _by_score_then_id(found, (page - 1) * per_page, page * per_page)
    return found[:window], total, page, per_page, matched


def _facet_counts(counts) -> dict[str, list[Facet]]:
    out: dict[str, list[Facet]] = {}
    for name, counter in counts.items():
        facets = [Facet(value, count) for value, count in counter.items()]
        facets.sort(key=lambda f: (-f.count, f.value))
        out[name] = facets
    return out


def _suggestion(ev: Evaluator, lexicon: Lexicon, parsed: ParsedQuery, total: int) -> str | None:
    """A respelling of the query from words in titles and names, if it finds more. Words
    the index has are kept as typed."""
    changed = False
    respelled = []
    for word in parsed.words:
        candidate = word.exact
        if not any((f, word.exact) in lexicon for f in SPELLING_FIELDS):
            for fieldname in SPELLING_FIELDS:
                found = lexicon.nearest(fieldname, word.exact, maxdist=2)
                if found:
                    candidate, changed = found, True
                    break
        respelled.append(candidate)
    if not changed:
        return None
    text = " ".join(respelled)
    better = ParsedQuery.parse(text)
    found = len(ev.matches(better.to_query()))
    return text if found > total else None


def search(
    searcher: Searcher,
    request: SearchRequest,
    vocabularies: Sequence[Vocabulary] = (),
    arrays: ArrayCache | None = None,
) -> SearchResult:
    ev = Evaluator(searcher, arrays if arrays is not None else ArrayCache(), Budget())
    lexicon = Lexicon(ev)
    parsed = ParsedQuery.parse(request.text, vocabularies)
    for word in parsed.words:
        word.expand_typos(lexicon)
    ranked, total, page, per_page, matched = _run(ev, request, parsed, True)
    retyping = None
    # Not only when nothing was found: a word typed on the wrong layout may be a typo away
    # from some real word. `choose` reads the text anew only if no word of it is known.
    if parsed.words and not request.as_typed and not ev.budget.exhausted:
        retyping = layouts.choose(parsed.text, lambda w: _known(lexicon, w), words)
        if retyping is not None:
            retyped = ParsedQuery.parse(retyping.text, vocabularies)
            for word in retyped.words:
                word.expand_typos(lexicon)
            found = _run(ev, request, retyped, True)
            if found[1]:
                parsed, (ranked, total, page, per_page, matched) = retyped, found
            else:
                retyping = None
    relaxed = False
    if not total and len(parsed.content_words()) > 1 and not ev.budget.exhausted:
        ranked, total, page, per_page, matched = _run(ev, request, parsed, False)
        relaxed = total > 0
    start = (page - 1) * per_page
    hits = []
    for found in ranked[start : start + per_page]:
        fields = found.fields
        title, language, script = (
            fields["title"],
            fields.get("language", ""),
            fields.get("script", ""),
        )
        hits.append(
            Hit(
                id=fields["id"],
                score=found.score,
                title=title,
                language=language,
                highlight=highlight(title, language, script, parsed.words),
                authors=list(fields.get("authors") or []),
                year=fields.get("year"),
                script=script,
                work=fields.get("work", ""),
            )
        )
    suggestion = None
    if parsed.words and (total < FEW_RESULTS or relaxed) and not ev.budget.exhausted:
        suggestion = _suggestion(ev, lexicon, parsed, 0 if relaxed else total)
    return SearchResult(
        text=parsed.text,
        total=total,
        page=page,
        per_page=per_page,
        hits=hits,
        facets=_facet_counts(facets.count(ev, matched)) if request.facets else {},
        suggestion=suggestion,
        relaxed=relaxed,
        partial=ev.budget.exhausted,
        typed=request.text if retyping else None,
        layouts=(retyping.typed_on, retyping.meant) if retyping else None,
    )


def _known(lexicon: Lexicon, word: str) -> bool:
    """Whether the index has the word in a title or a name (as any of its keys)."""
    keys = search_keys(turkic_lower(word), query=True)
    return any((fieldname, key) in lexicon for fieldname in TYPO_FIELDS for key in keys)


def warm(searcher: Searcher, arrays: ArrayCache) -> None:
    """Map every live segment's arrays file (writing it first for a segment that has none),
    ask the kernel to read the files ahead, and open the stored fields, before the first
    reader asks."""
    ev = Evaluator(searcher, arrays)
    for reader, _, segment_arrays in ev.segments():
        segment_arrays.advise_willneed()
        if reader.doc_count_all():
            reader.stored_fields(0)


def suggest(
    searcher: Searcher, text: str, limit: int = 8, arrays: ArrayCache | None = None
) -> list[Suggestion]:
    """Records whose title or author starts like what is typed so far: the most matching
    words first, then the shortest titles (the closest to what is typed)."""
    parsed = ParsedQuery.parse(text)
    if not parsed.words:
        return []
    ev = Evaluator(searcher, arrays if arrays is not None else ArrayCache())
    scored = ev.evaluate(parsed.prefix_query())
    docnums = ev.live_docs(scored.docs)
    lengths = _title_lengths(ev, docnums)
    order = np.lexsort((docnums, lengths, -np.round(scored.score_of(docnums), 6)))
    found = [ev.stored(d) for d in docnums[order][:limit]]
    return [
        Suggestion(f["id"], f["title"], list(f.get("authors") or []), f.get("language", ""))
        for f in found
    ]


def _title_lengths(ev: Evaluator, docnums: np.ndarray) -> np.ndarray:
    """The title length of each of the sorted documents (1 where a segment has none)."""
    lengths = np.ones(len(docnums))
    for reader, offset, arrays in ev.segments():
        found = arrays.lengths("title_key")
        lo, hi = np.searchsorted(docnums, [offset, offset + reader.doc_count_all()])
        if found is not None:
            lengths[lo:hi] = LENGTH_OF_BYTE[found[docnums[lo:hi] - offset]]
    return lengths


def hit_words(text: str) -> list[QueryWord]:
    return ParsedQuery.parse(text).words
