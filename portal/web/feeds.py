"""OpenSearch description and Atom feeds of new arrivals (XML, autoescaped templates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import languages
from portal.catalog import harvest
from portal.errors import NotFound, msg
from portal.web.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.web.presenters import Presenter
from portal.web.search import search_request
from portal.web.templating import environment, path_language, public_base, url_builder, url_path

ATOM = "application/atom+xml; charset=utf-8"
OPENSEARCH = "application/opensearchdescription+xml; charset=utf-8"


def _base_url(request: Request) -> str:
    return public_base(request)


def opensearch(request: Request) -> Response:
    lang = request.query_params.get("lang", DEFAULT_LANGUAGE)
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    xml = (
        environment(lang)
        .get_template("opensearch.xml")
        .render(base=_base_url(request), lang=lang, url=url_builder(request, lang))
    )
    return Response(xml, media_type=OPENSEARCH)


def arrivals_feed(request: Request) -> Response:
    lang = path_language(request)
    catalog = request.app.state.catalog
    code = request.path_params.get("code")
    presenter = Presenter(catalog, lang)
    if code is not None:
        code = code.upper()
        if code not in catalog.library_codes():
            raise NotFound(msg("Page not found"))
    arrivals = catalog.newest_arrivals(code, limit=50)
    records = catalog.records(sorted({a["record_id"] for a in arrivals}))
    entries = []
    for arrival in arrivals:
        record = records.get(arrival["record_id"])
        if record is None:
            continue
        entries.append(
            {
                "record": record,
                "library": presenter.library(arrival["library"]),
                "copies": arrival["delta"],
                "updated": datetime.combine(arrival["event_date"], time(), UTC).isoformat(),
            }
        )
    xml = (
        environment(lang)
        .get_template("arrivals.atom")
        .render(
            base=_base_url(request),
            lang=lang,
            url=url_builder(request, lang),
            library=presenter.library(code)["name"] if code else None,
            self_path=request.url.path,
            entries=entries,
            updated=entries[0]["updated"] if entries else datetime.now(UTC).isoformat(),
        )
    )
    return Response(xml, media_type=ATOM)


FEED_SIZE = 30


def describe_search(search, presenter: Presenter, lang: str) -> str:
    """A search in words: its text (quoted as the language quotes) and each chosen facet
    value's label, e.g. “Abai” · Kazakh · Shusha."""
    parts = [languages.get(lang).quote(search.text.strip())] if search.text.strip() else []
    for name, values in search.filters.items():
        parts += [presenter.facet_label(name, value) for value in values]
    if search.year_from is not None or search.year_to is not None:
        low = "" if search.year_from is None else str(search.year_from)
        high = "" if search.year_to is None else str(search.year_to)
        parts.append(f"{low}–{high}")
    return " · ".join(parts)


def search_feed(request: Request) -> Response:
    """The newest donations matching a search and its facets, newest first: any search page
    can be followed in a feed reader."""
    lang = path_language(request)
    catalog = request.app.state.catalog
    asked = search_request(request.query_params, lang, FEED_SIZE)
    search = replace(asked, sort="newest", page=1, per_page=FEED_SIZE, facets=False)
    result = catalog.index.search(search)
    presenter = Presenter(catalog, lang)
    ids = [hit.id for hit in result.hits]
    records = catalog.records(ids)
    holdings = catalog.holdings(ids)
    chosen = search.filters.get("library")
    arrived = harvest.last_arrivals(catalog.engine, ids, chosen)
    entries = []
    for record_id in ids:
        if record_id not in records or record_id not in arrived:
            continue
        shown = presenter.record(records[record_id], holdings.get(record_id, []))
        if chosen:
            shown["holdings"] = [h for h in shown["holdings"] if h["library"]["code"] in chosen]
        day = arrived[record_id]
        entries.append(
            {
                "record": shown,
                "holdings": shown["holdings"],
                "day": day.isoformat(),
                "updated": datetime.combine(day, time(), UTC).isoformat(),
            }
        )
    entries.sort(key=lambda e: e["day"], reverse=True)
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "sort")]
    xml = (
        environment(lang)
        .get_template("search.atom")
        .render(
            base=_base_url(request),
            lang=lang,
            url=url_builder(request, lang),
            described=describe_search(search, presenter, lang),
            self_path=url_path(request, "search_feed", lang=lang, query=query),
            page_path=url_path(request, "search", lang=lang, query=[*query, ("sort", "newest")]),
            entries=entries,
            updated=entries[0]["updated"] if entries else "1970-01-01T00:00:00+00:00",
        )
    )
    return Response(xml, media_type=ATOM)


routes = [
    Route("/opensearch.xml", opensearch, name="opensearch"),
    Route("/{lang}/feed.atom", arrivals_feed, name="feed"),
    Route("/{lang}/search.atom", search_feed, name="search_feed"),
    Route("/{lang}/libraries/{code}/feed.atom", arrivals_feed, name="library_feed"),
]
