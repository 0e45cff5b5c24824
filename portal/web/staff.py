"""The librarian workspace: sign-in, holdings work, imports, libraries, records, audit log.

Handlers only read the request and render: every action and every check of who may do it
is in the service layer (portal/catalog/staff.py, permissions.py). A form post is read, and
its CSRF token checked, on the event loop; the rest of the handler runs in a worker thread,
where a database write may wait for a lock without stalling other readers.
"""

from __future__ import annotations

from collections.abc import Callable

from anyio import CapacityLimiter, to_thread
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from portal import languages, limits
from portal.catalog import accounts, records, staff
from portal.catalog.accounts import User
from portal.catalog.permissions import can, require
from portal.errors import InvalidInput, Message, NotFound, PortalError, msg
from portal.web.presenters import Presenter
from portal.web.search import holdings_request, pager, search_request
from portal.web.sessions import (
    NotSignedIn,
    checked_form,
    client_address,
    csrf_token,
    current_user,
    read_upload,
    sign_in,
    sign_out,
)
from portal.web.templating import path_language, render, url_path

HOLDINGS_PER_PAGE = 50


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise NotSignedIn(msg("Sign in to continue."))
    return user


def _page(
    request: Request, name: str, lang: str, user: User, context: dict, status: int = 200
) -> Response:
    return render(
        request,
        name,
        lang,
        {
            "user": user,
            "csrf_token": csrf_token(request),
            "can": lambda action, library=None: can(user, action, library),
            **context,
        },
        status=status,
    )


def _int(form: FormData, name: str) -> int:
    value = str(form.get(name, "")).strip()
    if not value.lstrip("-").isdigit():
        raise InvalidInput(msg("%(name)s must be a whole number", name=name))
    return int(value)


POOLS = {"sign_in": 1, "staff": 2}  # threads of each pool, per worker process


def pool(request: Request, name: str) -> CapacityLimiter:
    """A pool of threads of its own for sign-in (Argon2) and for staff work (which may wait
    for the write lock): neither holds a thread readers need."""
    limiters = getattr(request.app.state, "limiters", None)
    if limiters is None:
        limiters = request.app.state.limiters = {
            key: CapacityLimiter(size) for key, size in POOLS.items()
        }
    return limiters[name]


def form_post(
    handler: Callable[[Request, FormData], Response] | None = None, *, threads: str = "staff"
):
    """A POST endpoint: the form is read and its CSRF token checked on the event loop, then
    `handler(request, form)` runs in a worker thread of its own pool (`staff`, or `sign_in`
    for Argon2): a write waiting for the database's lock, or a flood of sign-ins, never holds
    the threads readers are served by."""

    def wrap(handler):
        async def endpoint(request: Request) -> Response:
            form = await checked_form(request)
            limiter = pool(request, threads)
            return await to_thread.run_sync(handler, request, form, limiter=limiter)

        return endpoint

    return wrap(handler) if handler is not None else wrap


# --- signing in and out ---------------------------------------------------------------------


def sign_in_page(request: Request) -> Response:
    lang = path_language(request)
    return render(request, "staff/sign_in.html", lang, {"csrf_token": csrf_token(request)})


@form_post(threads="sign_in")
def sign_in_post(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    name = str(form.get("name", ""))[:80]
    password = str(form.get("password", ""))[: accounts.MAX_PASSWORD]
    try:
        user = accounts.authenticate(
            request.app.state.catalog.engine, name, password, client_address(request)
        )
    except accounts.SignInRefused as refused:
        context = {"csrf_token": csrf_token(request), "error": refused.message, "name": name}
        return render(request, "staff/sign_in.html", lang, context, status=refused.status)
    sign_in(request, user)
    return _redirect(url_path(request, "staff_home", lang=lang))


@form_post
def sign_out_post(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    sign_out(request)
    return _redirect(url_path(request, "home", lang=lang))


# --- holdings -------------------------------------------------------------------------------


def home(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    if user.role == "librarian":
        return _redirect(url_path(request, "staff_library", lang=lang, code=user.library))
    if user.role == "admin":
        return _redirect(url_path(request, "users", lang=lang))
    presenter = Presenter(request.app.state.catalog, lang)
    return _page(request, "staff/home.html", lang, user, {"libraries": presenter.libraries()})


def _library_code(request: Request) -> str:
    code = request.path_params["code"].upper()
    if code not in request.app.state.catalog.library_codes():
        raise NotFound(msg("Page not found"))
    return code


def library_holdings(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    code = _library_code(request)
    catalog = request.app.state.catalog
    search = search_request(request.query_params, lang, HOLDINGS_PER_PAGE)
    everywhere = request.query_params.get("scope") == "all"
    listing = holdings_request(
        request.query_params, search, None if everywhere else code, HOLDINGS_PER_PAGE
    )
    result = catalog.index.search(listing)
    rows = staff.holdings_page(catalog, user, code, [hit.id for hit in result.hits])
    base = url_path(request, "staff_library", lang=lang, code=code)
    return _page(
        request,
        "staff/library.html",
        lang,
        user,
        {
            "library": Presenter(catalog, lang).library(code),
            "rows": rows,
            "result": result,
            "search": search,
            "sort": listing.sort,
            "everywhere": everywhere,
            **pager(request.query_params, base, result.total, HOLDINGS_PER_PAGE),
        },
    )


def export_holdings(request: Request) -> Response:
    path_language(request)
    user = _require_user(request)
    code = _library_code(request)
    rows = staff.library_export(request.app.state.catalog, user, code)
    return StreamingResponse(
        iterate_in_threadpool(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{code}-holdings.csv"'},
    )


def holding_page(
    request: Request, error: PortalError | None = None, status: int | None = None
) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    code = _library_code(request)
    record_id = request.path_params["record_id"]
    catalog = request.app.state.catalog
    record, copies, version = staff.holding(catalog, user, record_id, code)
    presenter = Presenter(catalog, lang)
    return _page(
        request,
        "staff/holding.html",
        lang,
        user,
        {
            "library": presenter.library(code),
            "record": presenter.record(record, catalog.holdings([record_id]).get(record_id, [])),
            "copies": copies,
            "version": version,
            "error": error.message if error else None,
            "libraries": presenter.libraries(),
            "donors": presenter.donors(),
            "reasons": staff.WITHDRAWAL_REASONS,
            "max_copies": limits.MAX_COPIES,
        },
        status=status or (error.status if error else 200),
    )


@form_post
def holding_action(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    code = _library_code(request)
    record_id = request.path_params["record_id"]
    action = request.path_params["action"]
    catalog = request.app.state.catalog
    try:
        copies, version = str(form.get("copies", "")), _int(form, "version")
        if action == "receive":
            staff.receive(
                catalog,
                user,
                record_id,
                code,
                copies,
                version,
                str(form.get("donor") or "") or None,
                str(form.get("received_on") or "") or None,
            )
        elif action == "withdraw":
            staff.withdraw(
                catalog, user, record_id, code, copies, str(form.get("reason", "")), version
            )
        elif action == "transfer":
            target = str(form.get("target", "")).upper()
            staff.transfer(catalog, user, record_id, code, target, copies, version)
        else:
            raise NotFound(msg("Page not found"))
    except PortalError as problem:
        if problem.status in (401, 403, 404):
            raise
        return holding_page(request, problem)
    return _redirect(
        url_path(
            request, "staff_holding", {"done": action}, lang=lang, record_id=record_id, code=code
        )
    )


# --- coordinators: records and libraries ----------------------------------------------------


def record_edit_page(
    request: Request, error: PortalError | None = None, form: FormData | None = None
) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    record = staff.record_for_edit(
        request.app.state.catalog, user, request.path_params["record_id"]
    )
    if form is not None:  # show what was typed, with the problem
        record = {
            **record,
            **{k: form.get(k, "") for k in staff.EDITABLE_RECORD_FIELDS if k in form},
        }
    return _page(
        request,
        "staff/record_edit.html",
        lang,
        user,
        {
            "record": record,
            "fields": [f for f in records.FIELDS if f.editable],
            "max_chars": limits.MAX_FIELD_CHARS,
            "error": error.message if error else None,
        },
        status=error.status if error else 200,
    )


@form_post
def record_edit_post(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    record_id = request.path_params["record_id"]
    changes = {k: str(form.get(k, "")) for k in staff.EDITABLE_RECORD_FIELDS if k in form}
    try:
        staff.update_record(
            request.app.state.catalog, user, record_id, changes, _int(form, "version")
        )
    except PortalError as problem:
        if problem.status in (401, 403, 404):
            raise
        return record_edit_page(request, problem, form)
    return _redirect(url_path(request, "record", lang=lang, record_id=record_id))


def library_edit_page(
    request: Request, error: PortalError | None = None, form: FormData | None = None
) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    require(user, "libraries.edit")
    code = request.path_params.get("code", "").upper()
    catalog = request.app.state.catalog
    library = next((row for row in catalog.libraries() if row["code"] == code), None)
    if code and library is None:
        raise NotFound(msg("Page not found"))
    library = dict(library or {})
    if form is not None:
        library.update({k: form.get(k) for k in staff.LIBRARY_FIELDS if k in form})
        library["names"] = {c: form.get(f"name_{c}", "") for c in languages.CODES}
    return _page(
        request,
        "staff/library_edit.html",
        lang,
        user,
        {
            "library": library,
            "districts": sorted(catalog.districts()),
            "kinds": list(staff.LIBRARY_KINDS.items()),
            "name_languages": languages.CODES,
            "error": error.message if error else None,
        },
        status=error.status if error else 200,
    )


@form_post
def library_edit_post(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    adding = "code" not in request.path_params
    code = (request.path_params.get("code") or str(form.get("code", ""))).upper().strip()
    fields = {key: str(form.get(key, "")) for key in staff.LIBRARY_FIELDS if key in form}
    names = {c: str(form.get(f"name_{c}", "")) for c in languages.CODES if f"name_{c}" in form}
    try:
        staff.save_library(request.app.state.catalog, user, code, fields, names, adding)
    except PortalError as problem:
        if problem.status in (401, 403, 404):
            raise
        return library_edit_page(request, problem, form)
    return _redirect(url_path(request, "library", lang=lang, code=code))


# --- imports --------------------------------------------------------------------------------


def import_page(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    require(user, "imports.run")
    presenter = Presenter(request.app.state.catalog, lang)
    return _page(
        request,
        "staff/import.html",
        lang,
        user,
        {
            "libraries": presenter.libraries(),
            "max_mb": request.app.state.settings.max_upload_bytes // 2**20,
        },
    )


def _preview_page(request: Request, user: User, preview: staff.Preview, done: bool) -> Response:
    lang = path_language(request)
    if done and preview.report is not None:
        return _page(request, "staff/import_done.html", lang, user, {"report": preview.report})
    return _page(
        request,
        "staff/import_preview.html",
        lang,
        user,
        {"preview": preview},
        status=200 if preview.report else 422,
    )


async def import_preview(request: Request) -> Response:
    """Check an uploaded file and show what it would change; nothing is written yet. Who
    asks is checked before the body is read: only a coordinator's upload is read at all."""
    limiter = pool(request, "staff")
    user = await to_thread.run_sync(_require_user, request, limiter=limiter)
    require(user, "imports.run")
    limit = request.app.state.settings.max_upload_bytes
    form = await checked_form(request, max_body_bytes=limit + 64 * 1024)
    name, data = await read_upload(form, "file", limit)
    library = str(form.get("library") or "").upper() or None

    def preview() -> Response:
        found = staff.preview_import(request.app.state.catalog, user, name, data, library)
        return _preview_page(request, user, found, done=False)

    return await to_thread.run_sync(preview, limiter=limiter)


@form_post
def import_confirm(request: Request, form: FormData) -> Response:
    """Start the import as a background job and go to its page."""
    lang = path_language(request)
    user = _require_user(request)
    job_id = staff.start_import(request.app.state.catalog, user, request.path_params["token"])
    return _redirect(url_path(request, "job", lang=lang, job_id=job_id))


def job_page(request: Request) -> Response:
    """A background job's progress (the page checks again every few seconds while it runs)
    and, once done, what it did."""
    lang = path_language(request)
    user = _require_user(request)
    job_id = request.path_params["job_id"]
    found = staff.job(request.app.state.catalog, user, job_id)
    result = found.result
    context = {
        "job": found,
        "report": result.get("report"),
        "problems": [staff.problem_from_json(p) for p in result.get("problems", [])],
        "refused": Message.from_json(result["refused"]) if result.get("refused") else None,
        "name": result.get("name", ""),
    }
    return _page(request, "staff/job.html", lang, user, context)


# --- audit log and users --------------------------------------------------------------------


def audit_page(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    params = request.query_params
    entries = staff.audit_entries(
        request.app.state.catalog,
        user,
        params.get("library", "").upper() or None,
        params.get("actor") or None,
        params.get("action") or None,
    )
    return _page(
        request,
        "staff/audit.html",
        lang,
        user,
        {
            "entries": entries,
            "library": params.get("library", ""),
            "actor": params.get("actor", ""),
            "action": params.get("action", ""),
        },
    )


def users_page(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    listed = staff.users(request.app.state.catalog, user)
    return _page(request, "staff/users.html", lang, user, {"users": listed})


@form_post
def user_disable(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    staff.disable_user(request.app.state.catalog, user, str(form.get("name", "")))
    return _redirect(url_path(request, "users", lang=lang))


@form_post
def user_enable(request: Request, form: FormData) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    staff.enable_user(request.app.state.catalog, user, str(form.get("name", "")))
    return _redirect(url_path(request, "users", lang=lang))


routes = [
    Route("/{lang}/staff/sign-in", sign_in_page, methods=["GET"], name="sign_in"),
    Route("/{lang}/staff/sign-in", sign_in_post, methods=["POST"], name="sign_in_post"),
    Route("/{lang}/staff/sign-out", sign_out_post, methods=["POST"], name="sign_out"),
    Route("/{lang}/staff/", home, name="staff_home"),
    Route("/{lang}/staff/libraries/{code}", library_holdings, name="staff_library"),
    Route(
        "/{lang}/staff/libraries/{code}/export.csv", export_holdings, name="staff_library_export"
    ),
    Route(
        "/{lang}/staff/holdings/{record_id}/{code}",
        holding_page,
        methods=["GET"],
        name="staff_holding",
    ),
    Route(
        "/{lang}/staff/holdings/{record_id}/{code}/{action}",
        holding_action,
        methods=["POST"],
        name="staff_holding_action",
    ),
    Route(
        "/{lang}/staff/records/{record_id}/edit",
        record_edit_page,
        methods=["GET"],
        name="record_edit",
    ),
    Route(
        "/{lang}/staff/records/{record_id}/edit",
        record_edit_post,
        methods=["POST"],
        name="record_edit_post",
    ),
    Route(
        "/{lang}/staff/library-settings/new",
        library_edit_page,
        methods=["GET"],
        name="library_new",
    ),
    Route(
        "/{lang}/staff/library-settings/new",
        library_edit_post,
        methods=["POST"],
        name="library_new_post",
    ),
    Route(
        "/{lang}/staff/library-settings/{code}",
        library_edit_page,
        methods=["GET"],
        name="library_edit",
    ),
    Route(
        "/{lang}/staff/library-settings/{code}",
        library_edit_post,
        methods=["POST"],
        name="library_edit_post",
    ),
    Route("/{lang}/staff/import", import_page, methods=["GET"], name="import"),
    Route("/{lang}/staff/import", import_preview, methods=["POST"], name="import_preview"),
    Route(
        "/{lang}/staff/import/{token}/confirm",
        import_confirm,
        methods=["POST"],
        name="import_confirm",
    ),
    Route("/{lang}/staff/jobs/{job_id:int}", job_page, name="job"),
    Route("/{lang}/staff/audit", audit_page, name="audit"),
    Route("/{lang}/staff/users", users_page, methods=["GET"], name="users"),
    Route("/{lang}/staff/users/disable", user_disable, methods=["POST"], name="user_disable"),
    Route("/{lang}/staff/users/enable", user_enable, methods=["POST"], name="user_enable"),
]
