"""The OpenAPI 3.1 description of JSON API v1 (tests validate real responses against it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from index.searcher import SORTS
from portal import limits
from portal.web.facets import FACETS
from portal.web.i18n import LANGUAGES

STRING_LIST = {"type": "array", "items": {"type": "string"}}
NULLABLE_STRING = {"type": ["string", "null"]}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _json(ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


ERRORS = {"400": _json("Error", "bad parameter"), "404": _json("Error", "not found")}
UI_LANG = _query(
    "ui_lang",
    "language of library, district, donor and subject names",
    {"type": "string", "enum": list(LANGUAGES)},
)

COMPONENTS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
            }
        },
    },
    "Library": {
        "type": "object",
        "required": ["code", "name", "label"],
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "label": {"type": "string"},
            "district": {"type": "string"},
            "district_name": {"type": "string"},
            "latitude": {"type": ["number", "null"]},
            "longitude": {"type": ["number", "null"]},
            "address": {"type": "string"},
        },
    },
    "Holding": {
        "type": "object",
        "required": ["library", "copies"],
        "properties": {
            "library": {"$ref": "#/components/schemas/Library"},
            "copies": {"type": "integer", "minimum": 1},
        },
    },
    "Record": {
        "type": "object",
        "required": [
            "id",
            "title",
            "language",
            "script",
            "authors",
            "year",
            "isbn",
            "work",
            "highlight",
            "holdings",
            "total_copies",
        ],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string", "description": "as printed, in its own script"},
            "language": {"type": "string", "description": "ISO 639-1"},
            "language_name": {"type": "string"},
            "script": {"type": "string", "description": "ISO 15924: Latn, Cyrl"},
            "authors": STRING_LIST,
            "translators": STRING_LIST,
            "publisher": {"type": "string"},
            "year": {"type": ["integer", "null"]},
            "isbn": {**NULLABLE_STRING, "description": "ISBN-13, digits only"},
            "work": {"type": "string", "description": "shared by editions of one work"},
            "subjects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "name"],
                    "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                },
            },
            "highlight": {
                "type": "string",
                "description": "HTML-escaped title, matched words in <mark>",
            },
            "holdings": {"type": "array", "items": {"$ref": "#/components/schemas/Holding"}},
            "total_copies": {"type": "integer", "minimum": 0},
            "holdings_unavailable": {
                "type": "boolean",
                "description": "true while the catalog database cannot be reached: the hit "
                "is shown as the search index knows it, without holdings",
            },
        },
    },
    "RecordWithEditions": {
        "allOf": [{"$ref": "#/components/schemas/Record"}],
        "type": "object",
        "required": ["editions"],
        "properties": {
            "editions": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}
        },
    },
    "FacetValue": {
        "type": "object",
        "required": ["value", "count", "label", "selected", "url"],
        "properties": {
            "value": {"type": "string"},
            "count": {"type": "integer", "minimum": 1},
            "label": {"type": "string"},
            "selected": {"type": "boolean"},
            "url": {"type": "string", "description": "this search with the value toggled"},
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["query", "total", "page", "per_page", "results", "facets", "suggestion"],
        "properties": {
            "query": {"type": "string"},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": limits.MAX_PER_PAGE},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
            "facets": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    facet.name: {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/FacetValue"},
                    }
                    for facet in FACETS
                },
            },
            "suggestion": {**NULLABLE_STRING, "description": "did you mean"},
            "relaxed": {
                "type": "boolean",
                "description": "no record had every word; records with some words are shown",
            },
            "retyped": {
                "description": "the query was read as typed on another keyboard layout: "
                "`query` is what was searched, `typed` what arrived (send as_typed=1 to "
                "search it as typed)",
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["typed", "typed_on", "meant"],
                        "properties": {
                            "typed": {"type": "string"},
                            "typed_on": {"type": "string", "description": "layout active"},
                            "meant": {"type": "string", "description": "layout meant"},
                        },
                    },
                ],
            },
            "partial": {
                "type": "boolean",
                "description": "the search reached its work budget: the best matches found "
                "before it stopped are shown, and the total may be low",
            },
        },
    },
    "SuggestResponse": {
        "type": "object",
        "required": ["query", "suggestions"],
        "properties": {
            "query": {"type": "string"},
            "suggestions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "title", "authors", "language"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "authors": STRING_LIST,
                        "language": {"type": "string"},
                    },
                },
            },
        },
    },
    "Status": {
        "type": "object",
        "required": ["node", "index_position", "catalog_position", "behind", "records"],
        "properties": {
            "node": {"type": "string"},
            "index_position": {"type": "integer", "description": "change feed position"},
            "catalog_position": {
                "type": ["integer", "null"],
                "description": "null if the catalog database cannot be reached",
            },
            "behind": {"type": ["integer", "null"]},
            "records": {"type": "integer", "description": "records in this node's index"},
        },
    },
    "LibraryList": {
        "type": "object",
        "required": ["libraries"],
        "properties": {
            "libraries": {"type": "array", "items": {"$ref": "#/components/schemas/Library"}}
        },
    },
}

SEARCH_PARAMETERS = [
    _query(
        "q",
        "what the reader typed: plain text in any script (words beyond 256 characters "
        "are not searched); empty browses everything",
    ),
    *(
        _query(
            facet.name,
            f"filter by {facet.title} (repeatable; values of one facet are OR-ed, facets AND-ed)",
            {"type": "array", "items": facet.schema, "maxItems": limits.MAX_FILTER_VALUES},
        )
        for facet in FACETS
    ),
    _query("year_from", "first year", {"type": "integer", "minimum": 0, "maximum": 9999}),
    _query("year_to", "last year", {"type": "integer", "minimum": 0, "maximum": 9999}),
    _query("sort", "order of results", {"type": "string", "enum": list(SORTS)}),
    _query(
        "as_typed",
        "1: never read q as typed on another keyboard layout",
        {"type": "string", "enum": ["0", "1"]},
    ),
    _query("page", "page number", {"type": "integer", "minimum": 1, "maximum": limits.MAX_PAGE}),
    _query(
        "per_page",
        "results per page",
        {"type": "integer", "minimum": 1, "maximum": limits.MAX_PER_PAGE},
    ),
    UI_LANG,
]

RECORD_FORMATS = {
    "marc": "application/marc",
    "marcxml": "application/marcxml+xml",
    "ris": "application/x-research-info-systems",
    "bibtex": "application/x-bibtex",
    "csl-json": "application/vnd.citationstyles.csl+json",
}


def _files(formats) -> dict:
    return {
        "description": "the records in that format (a file to download)",
        "content": {
            RECORD_FORMATS[f]: {
                "schema": {
                    "type": "array",
                    "description": "CSL-JSON items (https://citeproc-js.readthedocs.io)",
                    "items": {"type": "object", "required": ["id", "type", "title"]},
                }
                if f == "csl-json"
                else {"type": "string", "format": "binary"}
            }
            for f in formats
        },
    }


def _format(formats) -> dict:
    return {
        "name": "format",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(formats)},
    }


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Karabakh library books portal API",
        "version": "1.0.0",
        "description": "Search the books donated to the libraries of Karabakh.",
    },
    "paths": {
        "/api/v1/search": {
            "get": {
                "summary": "Search records, with facets and a did-you-mean suggestion",
                "parameters": SEARCH_PARAMETERS,
                "responses": {"200": _json("SearchResponse", "results"), **ERRORS},
            }
        },
        "/api/v1/records/{id}": {
            "get": {
                "summary": "One record with its holdings and the other editions of its work",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    UI_LANG,
                ],
                "responses": {"200": _json("RecordWithEditions", "the record"), **ERRORS},
            }
        },
        "/api/v1/records/{id}/{format}": {
            "get": {
                "summary": "One record as MARC 21 (ISO 2709 or MARCXML, with an 852 per library "
                "holding copies) or as a citation (RIS, BibTeX, CSL-JSON)",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    _format(RECORD_FORMATS),
                ],
                "responses": {"200": _files(RECORD_FORMATS), "404": ERRORS["404"]},
            }
        },
        "/api/v1/search/{format}": {
            "get": {
                "summary": "The records of one page of a search (the parameters of "
                "/api/v1/search) as MARC 21 or as citations",
                "parameters": [_format(RECORD_FORMATS), *SEARCH_PARAMETERS],
                "responses": {"200": _files(RECORD_FORMATS), **ERRORS},
            }
        },
        "/api/v1/suggest": {
            "get": {
                "summary": "Completions of titles and authors for what is typed so far",
                "parameters": [_query("q", "the text typed so far (first 200 characters)")],
                "responses": {"200": _json("SuggestResponse", "completions")},
            }
        },
        "/api/v1/status": {
            "get": {
                "summary": "This node: how far its search index has followed the catalog's "
                "changes (for load balancers and monitoring)",
                "responses": {"200": _json("Status", "the node")},
            }
        },
        "/api/v1/libraries": {
            "get": {
                "summary": "Every library",
                "parameters": [UI_LANG],
                "responses": {"200": _json("LibraryList", "libraries")},
            }
        },
        "/api/v1/libraries/{code}": {
            "get": {
                "summary": "One library",
                "parameters": [
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                    UI_LANG,
                ],
                "responses": {"200": _json("Library", "the library"), **ERRORS},
            }
        },
    },
    "components": {"schemas": COMPONENTS},
}


def openapi(_request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)


routes = [Route("/api/v1/openapi.json", openapi, name="openapi")]
