"""JSON API v1: search, records, suggestions and libraries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from portal.web.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.web.presenters import Presenter
from portal.web.search import BadRequest, search_request

RECORD_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def _lang(request: Request) -> str:
    lang = request.query_params.get("ui_lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _presenter(request: Request) -> Presenter:
    return Presenter(request.app.state.catalog, _lang(request))


def api_search(request: Request) -> JSONResponse:
    try:
        search = search_request(request.query_params, _lang(request))
    except BadRequest as problem:
        return error(400, str(problem))
    result = request.app.state.catalog.index.search(search)
    presenter = _presenter(request)
    return JSONResponse(
        {
            "query": result.text,
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "results": presenter.results(result),
            "facets": {
                name: [
                    {"value": f["value"], "count": f["count"], "label": f["label"]} for f in facets
                ]
                for name, facets in presenter.facets(result).items()
            },
            "suggestion": result.suggestion,
        }
    )


def valid_id(value: str) -> bool:
    return 0 < len(value) <= 64 and set(value) <= RECORD_ID_CHARS and ".." not in value


def api_record(request: Request) -> JSONResponse:
    record_id = request.path_params["record_id"]
    if not valid_id(record_id):  # such an id cannot exist
        return error(404, "no record with that id (ids are letters, digits, '-', '_', '.')")
    catalog = request.app.state.catalog
    record = catalog.records([record_id]).get(record_id)
    if record is None:
        return error(404, f"no record with id {record_id!r}")
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


def api_libraries(request: Request) -> JSONResponse:
    presenter = _presenter(request)
    codes = [row["code"] for row in request.app.state.catalog.libraries()]
    return JSONResponse({"libraries": [presenter.library(code) for code in codes]})


def api_library(request: Request) -> JSONResponse:
    code = request.path_params["code"].upper()
    catalog = request.app.state.catalog
    if code not in catalog.library_codes():
        return error(404, f"no library with code {code[:16]!r}")
    return JSONResponse(_presenter(request).library(code))


routes = [
    Route("/api/v1/search", api_search),
    Route("/api/v1/records/{record_id}", api_record),
    Route("/api/v1/suggest", api_suggest),
    Route("/api/v1/libraries", api_libraries),
    Route("/api/v1/libraries/{code}", api_library),
]
