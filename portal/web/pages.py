"""Reader pages: home, search, record, libraries. Server-rendered; JavaScript optional."""

from __future__ import annotations

from datetime import date
from functools import partial

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from index import SearchRequest
from portal import i18n_tools, limits
from portal.catalog.catalog import other_titles
from portal.errors import NotFound, msg
from portal.web import citations, mapviews, structured
from portal.web.charts import bar_chart
from portal.web.exports import FORMATS as EXPORT_FORMATS
from portal.web.i18n import COOKIE, LANGUAGES, format_month, format_number, negotiate
from portal.web.presenters import Presenter
from portal.web.search import holdings_request, pager, search_request
from portal.web.templating import page_translator, path_language, public_base, render, url_path

PER_PAGE = 20
PAGE_NOT_FOUND = msg("Page not found")


def root(request: Request) -> Response:
    """`/` and any page without a language prefix: go to the reader's language."""
    rest = request.path_params.get("rest", "")
    if rest.split("/")[0] in (*LANGUAGES, "api", "static"):
        raise NotFound(PAGE_NOT_FOUND)  # a language page, API path or file that does not exist
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
        {"totals": catalog.totals(), "newest": presenter.results(newest)},
    )


def absolute(request: Request, path: str) -> str:
    return public_base(request) + path


def search_page(request: Request) -> Response:
    lang = path_language(request)
    search = search_request(request.query_params, lang, PER_PAGE)
    catalog = request.app.state.catalog
    result = catalog.index.search(search)
    presenter = Presenter(catalog, lang)
    base = url_path(request, "search", lang=lang)
    titles = {f.value: f.count for f in result.facets.get("library", [])}
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "ui_lang"]
    return render(
        request,
        "search.html",
        lang,
        {
            "search": search,
            "result": result,
            "results": presenter.results(result),
            "facets": presenter.facets(result, request.query_params, base),
            "map": mapviews.results_map(request, presenter, titles),
            "feed_url": url_path(
                request, "search_feed", lang=lang, query=[(k, v) for k, v in query if k != "page"]
            ),
            "as_typed_url": url_path(
                request,
                "search",
                lang=lang,
                query=[
                    *[(k, v) for k, v in query if k not in ("page", "as_typed")],
                    ("as_typed", "1"),
                ],
            ),
            "exports": {
                fmt: url_path(
                    request, "search_export", format=fmt, query=[*query, ("ui_lang", lang)]
                )
                for fmt in citations.FORMATS
            },
            **pager(request.query_params, base, result.total, search.per_page),
        },
    )


def record_page(request: Request) -> Response:
    lang = path_language(request)
    record_id = request.path_params["record_id"]
    catalog = request.app.state.catalog
    record = (
        catalog.records([record_id]).get(record_id) if limits.valid_record_id(record_id) else None
    )
    if record is None:
        raise NotFound(PAGE_NOT_FOUND)
    presenter = Presenter(catalog, lang)
    editions = catalog.editions(record["work"], exclude=record_id)
    held = catalog.holdings([record_id] + [e["id"] for e in editions])
    shown = presenter.record(record, held.get(record_id, []))
    others = [presenter.record(e, held.get(e["id"], [])) for e in editions]

    def page_url(other_id: str) -> str:
        return absolute(request, url_path(request, "record", lang=lang, record_id=other_id))

    def library_url(code: str) -> str:
        return absolute(request, url_path(request, "library", lang=lang, code=code))

    return render(
        request,
        "record.html",
        lang,
        {
            "record": shown,
            "other_titles": other_titles(record),
            "editions": others,
            "citation": citations.formatted(record, lang, page_translator(request, lang)),
            "exports": {
                fmt: url_path(request, "record_export", record_id=record_id, format=fmt)
                for fmt in EXPORT_FORMATS
            },
            "map": mapviews.record_map(request, presenter, held.get(record_id, [])),
            "jsonld": structured.book(shown, others, page_url, library_url),
        },
    )


def libraries_page(request: Request) -> Response:
    lang = path_language(request)
    catalog = request.app.state.catalog
    presenter = Presenter(catalog, lang)
    browse = catalog.index.search(SearchRequest(per_page=1))
    counts = {f.value: f.count for f in browse.facets.get("library", [])}
    copies = catalog.copies_by_library()
    return render(
        request,
        "libraries.html",
        lang,
        {
            "libraries": presenter.libraries(),
            "counts": counts,
            "map": mapviews.libraries_map(request, presenter, copies),
        },
    )


def library_page(request: Request) -> Response:
    lang = path_language(request)
    code = request.path_params["code"].upper()
    catalog = request.app.state.catalog
    if code not in catalog.library_codes():
        raise NotFound(PAGE_NOT_FOUND)
    presenter = Presenter(catalog, lang)
    search = search_request(request.query_params, lang, PER_PAGE)
    listing = holdings_request(request.query_params, search, code, PER_PAGE)
    result = catalog.index.search(listing)
    base = url_path(request, "library", lang=lang, code=code)
    shown = presenter.library(code)
    titles = catalog.index.search(SearchRequest(per_page=1, filters={"library": [code]})).total
    copies = catalog.copies_by_library().get(code, 0)
    return render(
        request,
        "library.html",
        lang,
        {
            "library": shown,
            "jsonld": structured.library(shown, absolute(request, base), titles, copies),
            "result": result,
            "results": presenter.results(result),
            "facets": presenter.facets(
                result, request.query_params, base, names=("language", "donor")
            ),
            "search": search,
            "sort": listing.sort,
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
        return format_month(date(int(year), int(month), 1), lang)

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
    home_path = url_path(request, "home", lang=lang)
    target = request.query_params.get("next", home_path)
    if not target.startswith("/") or target.startswith("//"):
        target = home_path
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


routes = [
    Route("/", root, name="root"),
    Route("/{lang}/", home, name="home"),
    Route("/{lang}/search", search_page, name="search"),
    Route("/{lang}/records/{record_id}", record_page, name="record"),
    Route("/{lang}/libraries", libraries_page, name="libraries"),
    Route("/{lang}/libraries/{code}", library_page, name="library"),
    Route("/{lang}/campaign", campaign_page, name="campaign"),
    Route("/{lang}/translations", translations_page, name="translations"),
    Route("/{lang}/language", set_language, name="language"),
]
