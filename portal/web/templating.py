"""Jinja2 environment: autoescaped, gettext per request language, Babel formatting, and
URLs built from route names."""

from __future__ import annotations

from functools import cache, lru_cache
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import NoMatchFound

from portal import languages
from portal.catalog.records import xml_chars
from portal.errors import Message, NotFound
from portal.resources import TEMPLATES
from portal.web.i18n import (
    LANGUAGES,
    NATIVE_NAMES,
    format_day,
    format_number,
    offered_languages,
    translations,
)
from portal.web.structured import to_script

TEMPLATES_DIR = TEMPLATES


@cache
def environment(lang: str) -> Environment:
    """The environment for a portal language, with its gettext catalog."""
    return make_environment(lang, translations(lang))


def make_environment(lang: str, translator) -> Environment:
    """An environment whose gettext is `translator` (a catalog, or a pseudo-locale).

    Messages built in Python (errors, notices, import reports) reach templates as `Message`
    objects and are shown with the `t` filter, through this same translator."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml", "atom"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are part of the release: no stat() on every render
    )
    env.install_gettext_callables(
        translator.gettext,
        translator.ngettext,
        newstyle=True,
        pgettext=translator.pgettext,
        npgettext=translator.npgettext,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.finalize = _printable
    env.filters["number"] = lambda value: format_number(value, lang)
    env.filters["day"] = lambda value: format_day(value, lang)
    env.filters["jsonld"] = to_script  # JSON-LD, safe in <script type="application/ld+json">
    env.filters["t"] = lambda value: (
        value.translate(translator) if isinstance(value, Message) else value
    )
    env.translator = translator  # for texts a page builds in Python (page_translator)
    env.globals.update(
        languages=offered_languages(),
        native_names=NATIVE_NAMES,
        quote=languages.get(lang).quote,
    )
    return env


def _printable(value):
    """Every value a template writes, without characters HTML and XML cannot carry."""
    if isinstance(value, str):
        cleaned = xml_chars(value)
        return value if cleaned == value else type(value)(cleaned)
    return value


def compile_templates() -> int:
    """Compile every template in every language now: each language's environment compiles
    its own copy, and a new worker's first readers would otherwise wait for them all."""
    count = 0
    for lang in LANGUAGES:
        env = environment(lang)
        for name in env.list_templates():
            env.get_template(name)
            count += 1
    return count


def path_language(request: Request) -> str:
    """The language prefix of a page's URL; 404 for one the portal does not speak."""
    lang = request.path_params["lang"]
    if lang not in LANGUAGES:
        raise NotFound("Page not found")
    return lang


def url_path(request: Request, name: str, query=None, **params) -> str:
    """The path of a named route (`lang` filled in from the page when the route takes it),
    with an optional query (a mapping or a list of pairs)."""
    path = _route_path(request.app, name, tuple(sorted(params.items())))
    if query:
        pairs = list(query.items()) if hasattr(query, "items") else list(query)
        pairs = [(k, v) for k, v in pairs if v is not None and v != ""]
        if pairs:
            path += "?" + urlencode(pairs)
    return path


@lru_cache(maxsize=65_536)
def _route_path(app, name: str, params: tuple) -> str:
    """Starlette tries every route in turn for each URL; a page builds dozens of them, the
    same ones again and again (a fifth of a record page's time before this cache)."""
    return str(app.url_path_for(name, **dict(params)))


_WITHOUT_LANGUAGE: set[str] = set()  # routes found to take no language (static files, API)


def public_base(request: Request) -> str:
    """The portal's address for absolute URLs: PORTAL_PUBLIC_URL when set (never the
    request's Host header, which a client chooses), else the request's own address."""
    configured = getattr(request.app.state.settings, "public_url", None)
    return configured or str(request.base_url).rstrip("/")


def url_builder(request: Request, lang: str):
    """`url(name, **params)` for templates: a named route in the page's language."""

    def url(name: str, query=None, **params) -> str:
        if name not in _WITHOUT_LANGUAGE and "lang" not in params:
            try:
                return url_path(request, name, query, **{"lang": lang, **params})
            except NoMatchFound:  # a route without a language prefix (static files, the API)
                _WITHOUT_LANGUAGE.add(name)
        return url_path(request, name, query, **params)

    return url


def alternates(request: Request) -> dict[str, str]:
    """This page in each language (its path under another language prefix), and the
    prefix-less address that picks the reader's language ("x-default")."""
    path = request.url.path
    rest = path.split("/", 2)[2] if path.count("/") >= 2 else ""
    query = f"?{request.url.query}" if request.url.query else ""
    found = {code: f"/{code}/{rest}{query}" for code in LANGUAGES}
    found["x-default"] = f"/{rest}{query}"
    return found


def page_translator(request: Request, lang: str):
    """The translator of the page's template environment, for texts built in Python before
    rendering (a map's captions): the same one the page's own texts go through."""
    environment_for = getattr(request.app.state, "environment_for", environment)
    return environment_for(lang).translator


def render(
    request: Request, name: str, lang: str, context: dict, status: int = 200
) -> HTMLResponse:
    environment_for = getattr(request.app.state, "environment_for", environment)
    template = environment_for(lang).get_template(name)
    html = template.render(
        lang=lang,
        alternates=alternates(request),
        request=request,
        url=url_builder(request, lang),
        **context,
    )
    return HTMLResponse(html, status_code=status)
