"""Reading a search request from URL parameters (shared by the pages and the API)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from index import SearchRequest
from index.searcher import SORTS
from portal import limits
from portal.errors import InvalidInput, msg
from portal.web import facets


def _int(params: QueryParams, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(
            msg(
                "%(name)s must be a whole number from %(low)s to %(high)s",
                name=name,
                low=low,
                high=high,
            )
        )
    return int(raw)


def search_request(params: QueryParams, lang: str, default_per_page: int = 20) -> SearchRequest:
    """The search a page or API request asks for; InvalidInput names a bad parameter."""
    text = params.get("q", "")
    if len(text) > 10 * limits.MAX_QUERY_CHARS:
        # Far beyond what is searched anyway (MAX_QUERY_CHARS): refuse rather than carry it.
        raise InvalidInput(msg("q is longer than %(n)s characters", n=10 * limits.MAX_QUERY_CHARS))
    sort = params.get("sort", "relevance") or "relevance"
    if sort not in SORTS:
        raise InvalidInput(msg("sort must be one of %(values)s", values=", ".join(SORTS)))
    return SearchRequest(
        text=text,
        filters=facets.filters(params),
        year_from=_int(params, "year_from", None, 0, 9999),
        year_to=_int(params, "year_to", None, 0, 9999),
        sort=sort,
        locale=lang,
        page=_int(params, "page", 1, 1, limits.MAX_PAGE),
        per_page=_int(params, "per_page", default_per_page, 1, limits.MAX_PER_PAGE),
        as_typed=params.get("as_typed", "") not in ("", "0"),
    )


def holdings_request(
    params: QueryParams, search: SearchRequest, library: str | None, per_page: int
) -> SearchRequest:
    """A library's holdings as a list: in title order unless words were typed or an order
    chosen. `library` None lists the whole catalog."""
    filters = dict(search.filters)
    if library is not None:
        filters["library"] = [library]
    return SearchRequest(
        text=search.text,
        filters=filters,
        sort=search.sort if search.text or "sort" in params else "title",
        locale=search.locale,
        page=search.page,
        per_page=per_page,
    )


def pager(params: QueryParams, base: str, total: int, per_page: int) -> dict:
    """`page_url` and `pages` for templates/_pager.html: this URL with another page."""
    kept = [(k, v) for k, v in params.multi_items() if k != "page"]
    return {
        "page_url": lambda page: base + "?" + urlencode([*kept, ("page", str(page))]),
        "pages": max(1, -(-total // per_page)),
    }
