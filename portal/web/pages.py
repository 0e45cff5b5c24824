"""Reader pages: home, search, record, libraries. Server-rendered; JavaScript optional."""

from __future__ import annotations

from datetime import date
from functools import partial
from urllib.parse import urlencode

from babel.dates import format_date
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from index import SearchRequest
from portal import i18n_tools
from portal.web.api import valid_id
from portal.web.charts import bar_chart
from portal.web.i18n import COOKIE, LANGUAGES, format_number, negotiate
from portal.web.presenters import Presenter
from portal.web.search import FILTERS, BadRequest, holdings_request, pager, search_request
from portal.web.templating import path_language, render

PER_PAGE = 20


def root(request: Request) -> Response:
    """`/` and any page without a language prefix: go to the reader's language."""
    rest = request.path_params.get("rest", "")
    if rest.split("/")[0] in (*LANGUAGES, "api", "static"):
        raise HTTPException(404)  # a language page, API path or file that does not exist
    lang = negotiate(request.cookies.get(COOKIE), request.headers.get("accept-language"))
    target = f"/{lang}/{rest}"
    if request.url.query:
        target += f"?{request.url.query}"
    return RedirectResponse(target, status_code=307, headers={"Vary": "Accept-Language, Cookie"})


def home(request: Request) -> Response:
    lang = path_language(request)
    catalog = request.app.state.catalog
    presenter = Presenter(catalog, lang)
    newest = catalog.index.search(SearchRequest(sort="newest", per_page=8, facets=False))
    return render(
        request,
        "home.html",
        lang,
        {
            "totals": catalog.totals(),
            "newest": presenter.results(newest),
        },
    )


def search_page(request: Request) -> Response:
    lang = path_language(request)
    try:
        search = search_request(request.query_params, lang, PER_PAGE)
    except BadRequest as problem:
        return render(request, "error.html", lang, {"message": str(problem)}, status=400)
    catalog = request.app.state.catalog
    result = catalog.index.search(search)
    presenter = Presenter(catalog, lang)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

    def toggle_url(name: str, value: str) -> str:
        pairs = [(k, v) for k, v in params if not (k == name and v == value)]
        if (name, value) not in params:
            pairs.append((name, value))
        return f"/{lang}/search?" + urlencode(pairs)

    active = {(name, v) for name in FILTERS for v in search.filters.get(name, [])}
    return render(
        request,
        "search.html",
        lang,
        {
            "search": search,
            "result": result,
            "results": presenter.results(result),
            "facets": presenter.facets(result),
            "active": active,
            "toggle_url": toggle_url,
            **pager(request.query_params, f"/{lang}/search?", result.total, search.per_page),
        },
    )


def record_page(request: Request) -> Response:
    lang = path_language(request)
    record_id = request.path_params["record_id"]
    if not valid_id(record_id):
        raise HTTPException(404)
    catalog = request.app.state.catalog
    record = catalog.records([record_id]).get(record_id)
    if record is None:
        raise HTTPException(404)
    presenter = Presenter(catalog, lang)
    editions = catalog.editions(record["work"], exclude=record_id)
    held = catalog.holdings([record_id] + [e["id"] for e in editions])
    return render(
        request,
        "record.html",
        lang,
        {
            "record": presenter.record(record, held.get(record_id, [])),
            "editions": [presenter.record(e, held.get(e["id"], [])) for e in editions],
        },
    )


def libraries_page(request: Request) -> Response:
    lang = path_language(request)
    catalog = request.app.state.catalog
    presenter = Presenter(catalog, lang)
    browse = catalog.index.search(SearchRequest(per_page=1))
    counts = {f.value: f.count for f in browse.facets.get("library", [])}
    libraries = [presenter.library(row["code"]) for row in catalog.libraries()]
    return render(request, "libraries.html", lang, {"libraries": libraries, "counts": counts})


def library_page(request: Request) -> Response:
    lang = path_language(request)
    code = request.path_params["code"].upper()
    catalog = request.app.state.catalog
    if code not in catalog.library_codes():
        raise HTTPException(404)
    presenter = Presenter(catalog, lang)
    try:
        search = search_request(request.query_params, lang, PER_PAGE)
    except BadRequest as problem:
        return render(request, "error.html", lang, {"message": str(problem)}, status=400)
    listing = holdings_request(request.query_params, search, code, PER_PAGE)
    result = catalog.index.search(listing)
    base = f"/{lang}/libraries/{code}?"
    return render(
        request,
        "library.html",
        lang,
        {
            "library": presenter.library(code),
            "result": result,
            "results": presenter.results(result),
            "facets": presenter.facets(result),
            "search": search,
            "sort": listing.sort,
            "filter_url": lambda name, value: base + urlencode([(name, value)]),
            **pager(request.query_params, base, result.total, PER_PAGE),
        },
    )


def campaign_page(request: Request) -> Response:
    lang = path_language(request)
    catalog = request.app.state.catalog
    presenter = Presenter(catalog, lang)
    figures = catalog.campaign_figures()
    number = partial(format_number, lang=lang)

    def month_label(value: str) -> str:
        year, month = value.split("-")
        return format_date(date(int(year), int(month), 1), "LLLL y", locale=lang)

    rows = {
        "month": [(month_label(m), n) for m, n in figures["month"]],
        "donor": [(presenter.facet_label("donor", d), n) for d, n in figures["donor"]],
        "language": [(presenter.facet_label("language", c), n) for c, n in figures["language"]],
        "library": [(presenter.library(c)["label"], n) for c, n in figures["library"]],
    }
    charts = {name: bar_chart(values, number) for name, values in rows.items()}
    return render(request, "campaign.html", lang, {"totals": catalog.totals(), "charts": charts})


def translations_page(request: Request) -> Response:
    """For translators: coverage per language and the strings still missing, with where
    each is used."""
    lang = path_language(request)
    languages = []
    for code in LANGUAGES:
        stats = i18n_tools.stats(code)
        languages.append({"code": code, "stats": stats, "missing": i18n_tools.missing(code)})
    return render(request, "translations.html", lang, {"catalogs": languages})


def set_language(request: Request) -> Response:
    """Switch language, remember it, and stay on the same page."""
    lang = path_language(request)
    target = request.query_params.get("next", f"/{lang}/")
    if not target.startswith("/") or target.startswith("//"):
        target = f"/{lang}/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


routes = [
    Route("/", root),
    Route("/{lang}/", home),
    Route("/{lang}/search", search_page),
    Route("/{lang}/records/{record_id}", record_page),
    Route("/{lang}/libraries", libraries_page),
    Route("/{lang}/libraries/{code}", library_page),
    Route("/{lang}/campaign", campaign_page),
    Route("/{lang}/translations", translations_page),
    Route("/{lang}/language", set_language),
]
