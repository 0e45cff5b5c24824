"""The maps the pages show: libraries placed by their coordinates (portal/web/maps.py lays
them out, templates/_map.html draws them), every text translated and every link built from
a route name here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from babel import Locale
from starlette.requests import Request

from portal.errors import Message, msg, nmsg
from portal.web.i18n import format_number
from portal.web.maps import MapPoint, MapView, render_map
from portal.web.presenters import Presenter
from portal.web.templating import page_translator, url_path

# ISO 3166-1 alpha-3 codes of the map's countries -> alpha-2, for their names in CLDR
COUNTRIES = {"AZE": "AZ", "ARM": "AM", "IRN": "IR"}
OFF_MAP = msg(
    "A library outside the map's area (in Baku) is drawn at the edge of the map, with an "
    "arrow pointing towards it."
)


def _country_names(lang: str) -> dict[str, str]:
    territories = Locale.parse(lang).territories
    return {code: territories.get(alpha2, code) for code, alpha2 in COUNTRIES.items()}


def _district_names(presenter: Presenter) -> dict[str, str]:
    return {code: presenter.facet_label("district", code) for code in presenter.catalog.districts()}


def library_map(
    request: Request,
    presenter: Presenter,
    values: dict[str, int],
    *,
    title: Message,
    description: Message,
    tooltip: Callable[[str, int], Message],
    map_id: str,
    highlight: frozenset[str] = frozenset(),
    only_held: bool = False,
) -> MapView | None:
    """A map of the libraries with a value each (copies, titles found); `tooltip(name, n)`
    is the sentence naming a library and its value.
    `only_held`: leave out libraries whose value is 0. None if no library is left."""
    lang = presenter.lang
    translator = page_translator(request, lang)
    points = []
    for library in presenter.libraries():
        value = values.get(library["code"], 0)
        if (only_held and value <= 0) or library["latitude"] is None:
            continue
        points.append(
            MapPoint(
                code=library["code"],
                label=library["label"],
                latitude=library["latitude"],
                longitude=library["longitude"],
                value=value,
                value_text=format_number(value, lang),
                href=url_path(request, "library", lang=lang, code=library["code"]),
                tooltip=tooltip(library["label"], value).translate(translator),
            )
        )
    if not points:
        return None
    view = _laid_out(
        tuple(points),
        title.translate(translator),
        description.translate(translator),
        frozenset(highlight),
        tuple(sorted(_district_names(presenter).items())),
        tuple(sorted(_country_names(lang).items())),
        map_id,
    )
    if any(p.off_map for p in view.points):
        view = replace(view, description=f"{view.description} {OFF_MAP.translate(translator)}")
    return view


@lru_cache(maxsize=512)
def _laid_out(points, title, description, highlight, districts, countries, map_id) -> MapView:
    """A search page's map is laid out once per distinct set of values and language (the
    label placement is the costly part), not on every request."""
    return render_map(
        list(points),
        title=title,
        description=description,
        highlight=highlight,
        district_names=dict(districts),
        country_names=dict(countries),
        map_id=map_id,
    )


def copies_tooltip(name: str, n: int) -> Message:
    return nmsg("%(name)s: %(n)s copy", "%(name)s: %(n)s copies", n, name=name)


def titles_tooltip(name: str, n: int) -> Message:
    return nmsg("%(name)s: %(n)s title", "%(name)s: %(n)s titles", n, name=name)


def libraries_map(request: Request, presenter: Presenter, copies: dict[str, int]) -> MapView | None:
    return library_map(
        request,
        presenter,
        copies,
        title=msg("The libraries and the copies on their shelves"),
        description=msg("Each library is a circle whose area shows the copies it holds."),
        tooltip=copies_tooltip,
        map_id="libraries-map",
    )


def record_map(request: Request, presenter: Presenter, holdings: list[dict]) -> MapView | None:
    copies = {h["library"]: h["copies"] for h in holdings}
    return library_map(
        request,
        presenter,
        copies,
        title=msg("Where this book is"),
        description=msg("The libraries holding this book; each circle's area shows its copies."),
        tooltip=copies_tooltip,
        map_id="record-map",
        highlight=frozenset(copies),
        only_held=True,
    )


def results_map(request: Request, presenter: Presenter, titles: dict[str, int]) -> MapView | None:
    return library_map(
        request,
        presenter,
        titles,
        title=msg("Where the books found are"),
        description=msg("The libraries holding books found; each circle's area shows how many."),
        tooltip=titles_tooltip,
        map_id="results-map",
        only_held=True,
    )
