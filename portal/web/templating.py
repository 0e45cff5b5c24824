"""Jinja2 environment: autoescaped, gettext per request language, Babel formatting."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from portal.config import REPO_ROOT
from portal.web.i18n import (
    LANGUAGES,
    NATIVE_NAMES,
    format_day,
    format_number,
    offered_languages,
    translations,
)

TEMPLATES_DIR = REPO_ROOT / "templates"


@cache
def environment(lang: str) -> Environment:
    """The environment for a portal language, with its gettext catalog."""
    return make_environment(lang, translations(lang))


def make_environment(lang: str, translator) -> Environment:
    """An environment whose gettext is `translator` (a catalog, or a pseudo-locale)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml", "atom"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are part of the release: no stat() on every render
    )
    env.install_gettext_callables(translator.gettext, translator.ngettext, newstyle=True)
    env.policies["ext.i18n.trimmed"] = True
    env.filters["number"] = lambda value: format_number(value, lang)
    env.filters["day"] = lambda value: format_day(value, lang)
    env.globals.update(languages=offered_languages(), native_names=NATIVE_NAMES)
    return env


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
        raise HTTPException(404)
    return lang


def render(
    request: Request, name: str, lang: str, context: dict, status: int = 200
) -> HTMLResponse:
    path = request.url.path
    rest = path.split("/", 2)[2] if path.count("/") >= 2 else ""
    query = f"?{request.url.query}" if request.url.query else ""
    environment_for = getattr(request.app.state, "environment_for", environment)
    template = environment_for(lang).get_template(name)
    html = template.render(lang=lang, path_rest=rest, query=query, request=request, **context)
    return HTMLResponse(html, status_code=status)
