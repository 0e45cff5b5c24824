"""JSON API v1: search, records, suggestions and libraries."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from portal import limits
from portal.catalog import feed
from portal.catalog.follower import node_name
from portal.catalog.records import ID_RULE
from portal.catalog.staff import unknown
from portal.errors import NotFound, PortalError, msg
from portal.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations
from portal.web.presenters import Presenter
from portal.web.search import search_request
from portal.web.templating import url_path


def ui_language(request: Request) -> str:
    """The language of names and messages in an API answer (`ui_lang`, default az)."""
    lang = request.query_params.get("ui_lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def error(request: Request, problem: PortalError) -> JSONResponse:
    """A domain error as JSON, its message in the request's `ui_lang`."""
    message = problem.translate(translations(ui_language(request)))
    return JSONResponse(
        {"error": {"status": problem.status, "message": message}}, status_code=problem.status
    )


def _presenter(request: Request) -> Presenter:
    return Presenter(request.app.state.catalog, ui_language(request))


def api_search(request: Request) -> JSONResponse:
    search = search_request(request.query_params, ui_language(request))
    result = request.app.state.catalog.index.search(search)
    presenter = _presenter(request)
    base = url_path(request, "api_search")
    return JSONResponse(
        {
            "query": result.text,
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "results": presenter.results(result),
            "facets": {
                facet.name: [
                    {
                        "value": v.value,
                        "count": v.count,
                        "label": v.label,
                        "selected": v.selected,
                        "url": v.toggle_url,
                    }
                    for v in values
                ]
                for facet, values in presenter.facets(result, request.query_params, base)
            },
            "suggestion": result.suggestion,
            "relaxed": result.relaxed,
            "partial": result.partial,
            "retyped": (
                {"typed": result.typed, "typed_on": result.layouts[0], "meant": result.layouts[1]}
                if result.typed is not None
                else None
            ),
        }
    )


def api_record(request: Request) -> JSONResponse:
    record_id = request.path_params["record_id"]
    if not limits.valid_record_id(record_id):  # such an id cannot exist
        raise NotFound(msg("No record has that id: %(rule)s.", rule=ID_RULE))
    catalog = request.app.state.catalog
    record = catalog.records([record_id]).get(record_id)
    if record is None:
        raise unknown("records", record_id)
    presenter = _presenter(request)
    body = presenter.record(record, catalog.holdings([record_id]).get(record_id, []))
    editions = catalog.editions(record["work"], exclude=record_id)
    held = catalog.holdings([e["id"] for e in editions])
    body["editions"] = [presenter.record(e, held.get(e["id"], [])) for e in editions]
    return JSONResponse(body)


def api_suggest(request: Request) -> JSONResponse:
    text = request.query_params.get("q", "")[:200]
    suggestions = request.app.state.catalog.index.suggest(text, limit=8)
    return JSONResponse(
        {
            "query": text,
            "suggestions": [
                {"id": s.id, "title": s.title, "authors": s.authors, "language": s.language}
                for s in suggestions
            ],
        }
    )


def api_status(request: Request) -> JSONResponse:
    """How far this node's index has followed the change feed."""
    catalog = request.app.state.catalog
    applied = catalog.index.applied()
    try:
        with catalog.engine.connect() as conn:
            head = feed.head(conn)
    except OperationalError:
        head = None
    return JSONResponse(
        {
            "node": node_name(catalog),
            "index_position": applied,
            "catalog_position": head,
            "behind": None if head is None else max(0, head - applied),
            "records": catalog.index.doc_count(),
        }
    )


def api_libraries(request: Request) -> JSONResponse:
    return JSONResponse({"libraries": _presenter(request).libraries()})


def api_library(request: Request) -> JSONResponse:
    code = request.path_params["code"].upper()
    catalog = request.app.state.catalog
    if code not in catalog.library_codes():
        raise unknown("libraries", code[:16])
    return JSONResponse(_presenter(request).library(code))


routes = [
    Route("/api/v1/search", api_search, name="api_search"),
    Route("/api/v1/records/{record_id}", api_record, name="api_record"),
    Route("/api/v1/suggest", api_suggest, name="api_suggest"),
    Route("/api/v1/status", api_status, name="api_status"),
    Route("/api/v1/libraries", api_libraries, name="api_libraries"),
    Route("/api/v1/libraries/{code}", api_library, name="api_library"),
]
