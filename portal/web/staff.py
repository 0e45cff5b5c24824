"""The librarian workspace: sign-in, holdings work, imports, libraries, records, audit log.

Every action is checked on the server against the signed-in user's role (see
portal/catalog/staff.py); every form post carries a CSRF token (see sessions.py).
"""

from __future__ import annotations

import io
import json
import secrets
import time
from datetime import UTC, date, datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from portal.catalog import accounts, audit, staff
from portal.catalog.accounts import SignInRefused, User
from portal.catalog.csvformat import CatalogFileError, write_catalog_csv
from portal.catalog.holdings import HoldingsError, holding_version
from portal.web.api import valid_id
from portal.web.i18n import LANGUAGES
from portal.web.presenters import Presenter
from portal.web.search import BadRequest, holdings_request, pager, search_request
from portal.web.sessions import checked_form, csrf_token, current_user, sign_in, sign_out
from portal.web.templating import path_language, render

UPLOAD_TTL_SECONDS = 3600
HOLDINGS_PER_PAGE = 50


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(401)
    return user


def _page(
    request: Request, name: str, lang: str, user: User, context: dict, status: int = 200
) -> Response:
    return render(
        request,
        name,
        lang,
        {"user": user, "csrf_token": csrf_token(request), **context},
        status=status,
    )


def _int(form, name: str) -> int:
    value = str(form.get(name, "")).strip()
    if not value.lstrip("-").isdigit():
        raise HoldingsError(f"{name} must be a whole number")
    return int(value)


# --- signing in and out ---------------------------------------------------------------------


def sign_in_page(request: Request) -> Response:
    lang = path_language(request)
    return render(request, "staff/sign_in.html", lang, {"csrf_token": csrf_token(request)})


async def sign_in_post(request: Request) -> Response:
    lang = path_language(request)
    form = await checked_form(request)
    name = str(form.get("name", ""))[:80]
    password = str(form.get("password", ""))[: accounts.MAX_PASSWORD]
    engine = request.app.state.catalog.engine
    try:
        user = await run_in_threadpool(accounts.authenticate, engine, name, password)
    except SignInRefused as refused:
        return render(
            request,
            "staff/sign_in.html",
            lang,
            {"csrf_token": csrf_token(request), "error": str(refused), "name": name},
            status=401,
        )
    sign_in(request, user)
    return _redirect(f"/{lang}/staff/")


async def sign_out_post(request: Request) -> Response:
    lang = path_language(request)
    await checked_form(request)
    sign_out(request)
    return _redirect(f"/{lang}/")


# --- holdings -------------------------------------------------------------------------------


def home(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    if user.role == "librarian":
        return _redirect(f"/{lang}/staff/libraries/{user.library}")
    if user.is_admin:
        return _redirect(f"/{lang}/staff/users")
    presenter = Presenter(request.app.state.catalog, lang)
    libraries = [presenter.library(row["code"]) for row in request.app.state.catalog.libraries()]
    return _page(request, "staff/home.html", lang, user, {"libraries": libraries})


def _library_code(request: Request, user: User) -> str:
    code = request.path_params["code"].upper()
    if code not in request.app.state.catalog.library_codes():
        raise HTTPException(404)
    if not user.can_edit_holdings(code):
        raise HTTPException(403, "this library's holdings are not yours to see here")
    return code


def library_holdings(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    code = _library_code(request, user)
    catalog = request.app.state.catalog
    try:
        search = search_request(request.query_params, lang, HOLDINGS_PER_PAGE)
    except BadRequest as problem:
        raise HTTPException(400, str(problem)) from None
    everywhere = request.query_params.get("scope") == "all"
    listing = holdings_request(
        request.query_params, search, None if everywhere else code, HOLDINGS_PER_PAGE
    )
    result = catalog.index.search(listing)
    ids = [hit.id for hit in result.hits]
    records = catalog.records(ids)
    held = catalog.holdings(ids)
    rows = []
    with catalog.engine.connect() as conn:
        for hit in result.hits:
            copies, version = holding_version(conn, hit.id, code)
            rows.append(
                {
                    "record": records.get(hit.id),
                    "copies": copies,
                    "version": version,
                    "elsewhere": sum(h["copies"] for h in held.get(hit.id, [])) - copies,
                }
            )
    presenter = Presenter(catalog, lang)
    return _page(
        request,
        "staff/library.html",
        lang,
        user,
        {
            "library": presenter.library(code),
            "rows": rows,
            "result": result,
            "search": search,
            "sort": listing.sort,
            "everywhere": everywhere,
            **pager(
                request.query_params,
                f"/{lang}/staff/libraries/{code}?",
                result.total,
                HOLDINGS_PER_PAGE,
            ),
        },
    )


def export_holdings(request: Request) -> Response:
    path_language(request)
    user = _require_user(request)
    code = _library_code(request, user)
    rows = [row for row in request.app.state.catalog.export_rows() if row["library"] == code]
    stream = io.StringIO()
    write_catalog_csv(rows, stream)
    return Response(
        stream.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{code}-holdings.csv"'},
    )


def holding_page(
    request: Request, message: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    code = _library_code(request, user)
    record_id = request.path_params["record_id"]
    catalog = request.app.state.catalog
    record = catalog.records([record_id]).get(record_id) if valid_id(record_id) else None
    if record is None:
        raise HTTPException(404)
    with catalog.engine.connect() as conn:
        copies, version = holding_version(conn, record_id, code)
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
            "message": message,
            "error": error,
            "libraries": [presenter.library(r["code"]) for r in catalog.libraries()],
            "donors": [
                {"code": c, "name": presenter.facet_label("donor", c)} for c in catalog.donors()
            ],
            "reasons": staff.WITHDRAWAL_REASONS,
        },
        status=status,
    )


async def holding_action(request: Request) -> Response:
    lang = path_language(request)
    form = await checked_form(request)
    user = _require_user(request)
    code = request.path_params["code"].upper()
    record_id = request.path_params["record_id"]
    action = request.path_params["action"]
    catalog = request.app.state.catalog
    if not valid_id(record_id):
        raise HTTPException(404)
    try:
        copies = _int(form, "copies")
        version = _int(form, "version")
        if action == "receive":
            received_on = str(form.get("received_on") or "") or None
            await run_in_threadpool(
                staff.receive,
                catalog,
                user,
                record_id,
                code,
                copies,
                version,
                str(form.get("donor") or "") or None,
                date.fromisoformat(received_on) if received_on else None,
            )
        elif action == "withdraw":
            await run_in_threadpool(
                staff.withdraw,
                catalog,
                user,
                record_id,
                code,
                copies,
                str(form.get("reason", "")),
                version,
            )
        elif action == "transfer":
            await run_in_threadpool(
                staff.transfer,
                catalog,
                user,
                record_id,
                code,
                str(form.get("target", "")).upper(),
                copies,
                version,
            )
        else:
            raise HTTPException(404)
    except staff.PermissionDenied as denied:
        raise HTTPException(403, str(denied)) from None
    except (HoldingsError, ValueError) as problem:
        return holding_page(request, error=str(problem), status=409)
    return _redirect(f"/{lang}/staff/holdings/{record_id}/{code}?done={action}")


# --- coordinators: records and libraries ----------------------------------------------------


def _require_coordinator(request: Request) -> User:
    user = _require_user(request)
    if not user.is_coordinator:
        raise HTTPException(403, "coordinators only")
    return user


def record_edit_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    lang = path_language(request)
    user = _require_coordinator(request)
    record_id = request.path_params["record_id"]
    record = request.app.state.catalog.records([record_id]).get(record_id)
    if record is None or not valid_id(record_id):
        raise HTTPException(404)
    return _page(
        request,
        "staff/record_edit.html",
        lang,
        user,
        {"record": record, "error": error},
        status=status,
    )


async def record_edit_post(request: Request) -> Response:
    lang = path_language(request)
    form = await checked_form(request)
    user = _require_coordinator(request)
    record_id = request.path_params["record_id"]
    try:
        year = str(form.get("year", "")).strip()
        changes = {
            "title": " ".join(str(form.get("title", "")).split()),
            "publisher": " ".join(str(form.get("publisher", "")).split()),
            "work": str(form.get("work", "")).strip().lower(),
            "year": int(year) if year else None,
        }
        await run_in_threadpool(
            staff.update_record,
            request.app.state.catalog,
            user,
            record_id,
            changes,
            _int(form, "version"),
        )
    except (HoldingsError, ValueError) as problem:
        return record_edit_page(request, error=str(problem), status=409)
    return _redirect(f"/{lang}/records/{record_id}")


def library_edit_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    lang = path_language(request)
    user = _require_coordinator(request)
    code = request.path_params.get("code", "").upper()
    catalog = request.app.state.catalog
    library = next((row for row in catalog.libraries() if row["code"] == code), None)
    if code and library is None:
        raise HTTPException(404)
    return _page(
        request,
        "staff/library_edit.html",
        lang,
        user,
        {
            "library": library or {},
            "districts": sorted(catalog.districts()),
            "languages": LANGUAGES,
            "error": error,
        },
        status=status,
    )


async def library_edit_post(request: Request) -> Response:
    lang = path_language(request)
    form = await checked_form(request)
    user = _require_coordinator(request)
    code = (request.path_params.get("code") or str(form.get("code", ""))).upper().strip()
    fields = {key: str(form.get(key, "")).strip() for key in staff.LIBRARY_FIELDS if key in form}
    try:
        for key in ("latitude", "longitude"):
            if key in fields:
                fields[key] = float(fields[key]) if fields[key] else None
        await run_in_threadpool(staff.save_library, request.app.state.catalog, user, code, fields)
    except (HoldingsError, ValueError) as problem:
        return library_edit_page(request, error=str(problem), status=409)
    return _redirect(f"/{lang}/libraries/{code}")


# --- imports --------------------------------------------------------------------------------


def _uploads(request: Request) -> Path:
    folder = request.app.state.settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():  # uploads never confirmed expire
        if now - old.stat().st_mtime > UPLOAD_TTL_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def import_page(request: Request) -> Response:
    lang = path_language(request)
    user = _require_coordinator(request)
    presenter = Presenter(request.app.state.catalog, lang)
    libraries = [presenter.library(r["code"]) for r in request.app.state.catalog.libraries()]
    return _page(
        request,
        "staff/import.html",
        lang,
        user,
        {"libraries": libraries, "max_mb": request.app.state.settings.max_upload_bytes // 2**20},
    )


async def import_preview(request: Request) -> Response:
    """Check an uploaded file and show what it would change; nothing is written yet."""
    lang = path_language(request)
    limit = request.app.state.settings.max_upload_bytes
    form = await checked_form(request, max_body_bytes=limit + 64 * 1024)
    user = _require_coordinator(request)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise HTTPException(400, "choose a file to upload")
    data = await upload.read(limit + 1)
    await form.close()  # the spooled upload file
    if len(data) > limit:
        raise HTTPException(413, f"the file is larger than {limit // 2**20} MB")
    library = str(form.get("library") or "").upper() or None
    name = Path(upload.filename).name[:120]
    catalog = request.app.state.catalog
    report, problems = None, []
    try:
        report = await run_in_threadpool(
            catalog.import_files, [(name, data)], user.name, True, library
        )
    except CatalogFileError as error:
        problems = [str(p) for p in error.problems]
    token = None
    if report is not None:
        token = secrets.token_urlsafe(24)
        folder = _uploads(request)
        (folder / f"{token}.data").write_bytes(data)
        (folder / f"{token}.json").write_text(
            json.dumps(
                {
                    "name": name,
                    "library": library,
                    "user": user.id,
                    "at": datetime.now(UTC).isoformat(),
                }
            )
        )
    return _page(
        request,
        "staff/import_preview.html",
        lang,
        user,
        {"name": name, "report": report, "problems": problems, "token": token},
        status=200 if report else 422,
    )


async def import_confirm(request: Request) -> Response:
    lang = path_language(request)
    await checked_form(request)
    user = _require_coordinator(request)
    token = request.path_params["token"]
    if not token.replace("-", "").replace("_", "").isalnum():
        raise HTTPException(404)
    folder = _uploads(request)
    meta_path, data_path = folder / f"{token}.json", folder / f"{token}.data"
    if not meta_path.exists() or not data_path.exists():
        raise HTTPException(404, "this upload has expired; upload the file again")
    meta = json.loads(meta_path.read_text())
    if meta["user"] != user.id:
        raise HTTPException(403)
    catalog = request.app.state.catalog
    try:
        report = await run_in_threadpool(
            catalog.import_files,
            [(meta["name"], data_path.read_bytes())],
            user.name,
            False,
            meta["library"],
        )
    except CatalogFileError as error:
        return _page(
            request,
            "staff/import_preview.html",
            lang,
            user,
            {
                "name": meta["name"],
                "report": None,
                "token": None,
                "problems": [str(p) for p in error.problems],
            },
            status=422,
        )
    finally:
        meta_path.unlink(missing_ok=True)
        data_path.unlink(missing_ok=True)
    return _page(request, "staff/import_done.html", lang, user, {"report": report})


# --- audit log and users --------------------------------------------------------------------


def audit_page(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    params = request.query_params
    library = params.get("library", "").upper() or None
    if user.role == "librarian":
        library = user.library  # a librarian sees their own library's entries
    entries = audit.entries(
        request.app.state.catalog.engine,
        library=library,
        actor=params.get("actor") or None,
        action=params.get("action") or None,
    )
    return _page(
        request,
        "staff/audit.html",
        lang,
        user,
        {
            "entries": entries,
            "library": library or "",
            "actor": params.get("actor", ""),
            "action": params.get("action", ""),
        },
    )


def users_page(request: Request) -> Response:
    lang = path_language(request)
    user = _require_user(request)
    if not user.is_admin:
        raise HTTPException(403, "administrators only")
    return _page(
        request,
        "staff/users.html",
        lang,
        user,
        {"users": accounts.list_users(request.app.state.catalog.engine)},
    )


async def user_disable(request: Request) -> Response:
    lang = path_language(request)
    form = await checked_form(request)
    user = _require_user(request)
    if not user.is_admin:
        raise HTTPException(403, "administrators only")
    name = str(form.get("name", ""))
    if name == user.name:
        raise HTTPException(409, "you cannot disable yourself")
    try:
        accounts.disable_user(request.app.state.catalog.engine, name, actor=user.name)
    except accounts.AccountError as problem:
        raise HTTPException(404, str(problem)) from None
    return _redirect(f"/{lang}/staff/users")


routes = [
    Route("/{lang}/staff/sign-in", sign_in_page, methods=["GET"]),
    Route("/{lang}/staff/sign-in", sign_in_post, methods=["POST"]),
    Route("/{lang}/staff/sign-out", sign_out_post, methods=["POST"]),
    Route("/{lang}/staff/", home),
    Route("/{lang}/staff/libraries/{code}", library_holdings),
    Route("/{lang}/staff/libraries/{code}/export.csv", export_holdings),
    Route("/{lang}/staff/holdings/{record_id}/{code}", holding_page, methods=["GET"]),
    Route("/{lang}/staff/holdings/{record_id}/{code}/{action}", holding_action, methods=["POST"]),
    Route("/{lang}/staff/records/{record_id}/edit", record_edit_page, methods=["GET"]),
    Route("/{lang}/staff/records/{record_id}/edit", record_edit_post, methods=["POST"]),
    Route("/{lang}/staff/library-settings/new", library_edit_page, methods=["GET"]),
    Route("/{lang}/staff/library-settings/new", library_edit_post, methods=["POST"]),
    Route("/{lang}/staff/library-settings/{code}", library_edit_page, methods=["GET"]),
    Route("/{lang}/staff/library-settings/{code}", library_edit_post, methods=["POST"]),
    Route("/{lang}/staff/import", import_page, methods=["GET"]),
    Route("/{lang}/staff/import", import_preview, methods=["POST"]),
    Route("/{lang}/staff/import/{token}/confirm", import_confirm, methods=["POST"]),
    Route("/{lang}/staff/audit", audit_page),
    Route("/{lang}/staff/users", users_page, methods=["GET"]),
    Route("/{lang}/staff/users/disable", user_disable, methods=["POST"]),
]
