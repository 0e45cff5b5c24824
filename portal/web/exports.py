"""A record, or a page of search results, as MARC 21 (ISO 2709, MARCXML) or as a citation
(RIS, BibTeX, CSL-JSON): the links on the record and search pages, and part of API v1."""

from __future__ import annotations

import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import limits
from portal.catalog import harvest, marcout
from portal.catalog.exports import marc_records
from portal.catalog.records import ID_RULE
from portal.catalog.staff import unknown
from portal.errors import NotFound, msg
from portal.web import citations
from portal.web.api import ui_language
from portal.web.search import search_request
from portal.web.templating import public_base, url_path

MARC_FORMATS = {
    "marc": ("application/marc", "mrc"),
    "marcxml": ("application/marcxml+xml; charset=utf-8", "xml"),
}
FORMATS = {**MARC_FORMATS, **citations.FORMATS}


def permalink(request: Request, record_id: str) -> str:
    """A record's page without a language prefix: it opens in the reader's language."""
    base = public_base(request)
    return base + url_path(request, "elsewhere", rest=f"records/{record_id}")


def _format(request: Request) -> str:
    fmt = request.path_params["format"]
    if fmt not in FORMATS:
        raise NotFound(msg("Formats: %(formats)s.", formats=", ".join(FORMATS)))
    return fmt


def _answer(request: Request, fmt: str, ids: list[str], name: str) -> Response:
    catalog = request.app.state.catalog
    media_type, suffix = FORMATS[fmt]

    def url_for(record_id: str) -> str:
        return permalink(request, record_id)

    if fmt in MARC_FORMATS:
        records = list(marc_records(catalog, ids, include_gone=True, url_for=url_for))
        if fmt == "marc":
            body: bytes | str = b"".join(marcout.to_iso2709(r) for r in records)
        else:
            stream = io.BytesIO()
            marcout.write_marcxml(iter(records), stream)
            body = stream.getvalue()
    else:
        found = catalog.records(ids)
        body = citations.render(fmt, [found[i] for i in ids if i in found], url_for)
    headers = {"content-disposition": f'attachment; filename="{name}.{suffix}"'}
    return Response(body, media_type=media_type, headers=headers)


def record_export(request: Request) -> Response:
    record_id = request.path_params["record_id"]
    if not limits.valid_record_id(record_id):
        raise NotFound(msg("No record has that id: %(rule)s.", rule=ID_RULE))
    fmt = _format(request)
    if not harvest.record_states(request.app.state.catalog.engine, [record_id]):
        raise unknown("records", record_id)
    return _answer(request, fmt, [record_id], record_id)


def search_export(request: Request) -> Response:
    """The records of one page of a search (the same parameters as /api/v1/search)."""
    fmt = _format(request)
    search = search_request(request.query_params, ui_language(request))
    result = request.app.state.catalog.index.search(search)
    return _answer(request, fmt, [hit.id for hit in result.hits], f"results-{result.page}")


routes = [
    Route("/api/v1/records/{record_id}/{format}", record_export, name="record_export"),
    Route("/api/v1/search/{format}", search_export, name="search_export"),
]
