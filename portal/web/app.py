"""The Starlette application."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from anyio import to_thread
from jinja2 import Environment
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from index.store import IndexUnavailable
from portal.catalog.catalog import Catalog
from portal.catalog.follower import Follower
from portal.config import Settings
from portal.errors import NotSignedIn, PortalError, TooLarge, msg
from portal.resources import STATIC
from portal.web import api, exports, feeds, oai, openapi, pages, staff
from portal.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, load_locale_data
from portal.web.middleware import (
    BodyLimit,
    BodyTooLarge,
    ClientSearchLimit,
    OneHost,
    SecurityHeaders,
)
from portal.web.templating import compile_templates, render, url_path

log = logging.getLogger("portal")

SESSION_SECONDS = 8 * 3600


def _lang_of(request: Request) -> str:
    first = request.url.path.strip("/").split("/")[0]
    return first if first in LANGUAGES else DEFAULT_LANGUAGE


# Starlette's own answers (no such route, a method a route does not take), in our words.
HTTP_MESSAGES = {
    404: msg("Page not found"),
    405: msg("This address does not take that kind of request."),
}


def error_page(request: Request, problem: PortalError) -> Response:
    """A domain error as a page in the reader's language, or as JSON under /api/."""
    if request.url.path.startswith("/api/"):
        return api.error(request, problem)
    lang = _lang_of(request)
    if isinstance(problem, NotSignedIn):
        return RedirectResponse(url_path(request, "sign_in", lang=lang), status_code=303)
    context = {"status": problem.status, "message": problem.message}
    return render(request, "error.html", lang, context, status=problem.status)


async def portal_error(request: Request, exc: PortalError) -> Response:
    return error_page(request, exc)


async def http_error(request: Request, exc: HTTPException) -> Response:
    problem = PortalError(
        HTTP_MESSAGES.get(exc.status_code, msg("This request cannot be answered."))
    )
    problem.status = exc.status_code
    return error_page(request, problem)


class IndexRebuilding(PortalError):
    status = 503


async def index_unavailable(request: Request, exc: IndexUnavailable) -> Response:
    """While the index is rebuilt, readers get a clear notice (503), never a stack trace."""
    problem = IndexRebuilding(
        msg("The search index is being rebuilt from the catalog; please try again shortly.")
    )
    response = error_page(request, problem)
    response.headers["retry-after"] = "30"
    return response


def repair_index_in_background(catalog: Catalog, data_dir: Path) -> threading.Thread | None:
    """If the index is missing or damaged, rebuild it from the catalog in a thread while the
    portal serves. Of several server processes, the one holding the lock rebuilds; the others
    pick up the new index when its symlink is swapped in."""
    if catalog.index.healthy():
        return None

    def rebuild() -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(data_dir / "rebuild.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another process is rebuilding
            if not catalog.index.healthy():
                log.warning("search index missing or damaged: rebuilding from the catalog")
                catalog.rebuild_index()
                log.warning("search index rebuilt")

    thread = threading.Thread(target=rebuild, name="index-rebuild", daemon=True)
    thread.start()
    return thread


class DatabaseUnreachable(PortalError):
    status = 503


async def database_error(request: Request, exc: OperationalError) -> Response:
    """The database went away (a restart, a network cut): readers and staff are told to try
    again; the connection pool reconnects by itself."""
    log.warning("database error: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
    problem = DatabaseUnreachable(
        msg("The catalog database cannot be reached right now; try again in a moment.")
    )
    response = error_page(request, problem)
    response.headers["retry-after"] = "5"
    return response


async def body_too_large(request: Request, exc: BodyTooLarge) -> Response:
    return error_page(request, TooLarge(msg("The upload is too large.")))


async def server_error(request: Request, exc: Exception) -> Response:
    problem = PortalError(msg("Something went wrong on our side; please try again."))
    problem.status = 500
    return error_page(request, problem)


def create_app(
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    environment_for: Callable[[str], Environment] | None = None,
) -> Starlette:
    """The portal. `environment_for` replaces the template environments (the pseudo-locale
    test renders every page through a pseudo-translation)."""
    if settings is None and catalog is not None:
        settings = Settings(data_dir=catalog.index.path.parent, database_url=None)
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette):
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        app.state.catalog = catalog or Catalog.open(settings.data_dir, settings.database_url)
        # Before the first request: the first readers of a new worker would wait for these.
        await to_thread.run_sync(compile_templates)
        await to_thread.run_sync(load_locale_data)
        if repair_index_in_background(app.state.catalog, settings.data_dir) is None:
            with contextlib.suppress(IndexUnavailable):
                await to_thread.run_sync(app.state.catalog.index.warm)
        follower = None
        if catalog is None:  # a served catalog follows the change feed (tests drive their own)
            follower = Follower(app.state.catalog)
            follower.start()
        yield
        if follower is not None:
            follower.stop()
        if catalog is None:
            app.state.catalog.close()

    routes = [
        *api.routes,
        *exports.routes,
        *openapi.routes,
        *feeds.routes,
        *oai.routes,
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        *staff.routes,
        *pages.routes,
        Route("/{rest:path}", pages.root, name="elsewhere"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                OneHost,
                host=urlsplit(settings.public_url).hostname if settings.public_url else None,
            ),
            Middleware(BodyLimit, upload_bytes=settings.max_upload_bytes),
            Middleware(ClientSearchLimit),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key(),
                session_cookie="portal_session",
                max_age=SESSION_SECONDS,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={
            PortalError: portal_error,
            HTTPException: http_error,
            IndexUnavailable: index_unavailable,
            OperationalError: database_error,
            BodyTooLarge: body_too_large,
            500: server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    if catalog is not None:
        app.state.catalog = catalog
    if environment_for is not None:
        app.state.environment_for = environment_for
    return app
