"""OpenSearch description and Atom feeds of new arrivals (XML, autoescaped templates)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.errors import NotFound, msg
from portal.web.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.web.presenters import Presenter
from portal.web.templating import environment, path_language, url_builder

ATOM = "application/atom+xml; charset=utf-8"
OPENSEARCH = "application/opensearchdescription+xml; charset=utf-8"


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


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


routes = [
    Route("/opensearch.xml", opensearch, name="opensearch"),
    Route("/{lang}/feed.atom", arrivals_feed, name="feed"),
    Route("/{lang}/libraries/{code}/feed.atom", arrivals_feed, name="library_feed"),
]
