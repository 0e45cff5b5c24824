"""Signed session cookies, the signed-in user, and CSRF tokens for every form post."""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from portal import limits
from portal.catalog.accounts import User, end_session, session_user, start_session
from portal.errors import Forbidden, InvalidInput, NotSignedIn, TooLarge, msg
from portal.web.middleware import BodyTooLarge

__all__ = ["NotSignedIn", "checked_form", "csrf_token", "current_user", "sign_in", "sign_out"]

MAX_FORM_FIELDS = limits.MAX_FORM_FIELDS
MAX_FIELD_BYTES = limits.MAX_FIELD_BYTES


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


EXPIRED_FORM = msg("The form has expired or did not come from this site. Reload it and try again.")


async def checked_form(request: Request, max_body_bytes: int = 4 * MAX_FIELD_BYTES) -> FormData:
    """The posted form, if its CSRF token matches the session's; Forbidden otherwise.

    Bodies over `max_body_bytes` (by Content-Length) are refused before reading.
    """
    expected = request.session.get("csrf")
    if not expected:  # no form of this site was ever shown to this client: not worth reading
        raise Forbidden(EXPIRED_FORM)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_body_bytes:
        raise TooLarge(msg("The upload is too large."))
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)
    except BodyTooLarge:
        raise TooLarge(msg("The upload is too large.")) from None
    except Exception:  # multipart errors: too many fields, part too large, broken
        raise InvalidInput(msg("The form cannot be read.")) from None
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden(EXPIRED_FORM)
    return form


async def read_upload(form: FormData, name: str, limit: int) -> tuple[str, bytes]:
    """(file name, bytes) of an uploaded file field, at most `limit` bytes."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput(msg("Choose a file to upload."))
    data = await upload.read(limit + 1)
    await form.close()  # the spooled upload file
    if len(data) > limit:
        raise TooLarge(msg("The file is larger than %(mb)s MB.", mb=limit // 2**20))
    return upload.filename, data


def current_user(request: Request) -> User | None:
    """The signed-in user of a live session (reads the database: call it from a worker
    thread). A session ended at sign-out, by a password change or by disabling the account
    is gone, wherever its cookie was copied to."""
    user = session_user(request.app.state.catalog.engine, request.session.get("sid"))
    if user is None and "sid" in request.session:
        request.session.clear()
    return user


def sign_in(request: Request, user: User) -> None:
    request.session.clear()  # a new session id and token at every sign-in
    request.session["sid"] = start_session(request.app.state.catalog.engine, user)
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    end_session(request.app.state.catalog.engine, request.session.get("sid"))
    request.session.clear()


def client_address(request: Request) -> str:
    """The client's address (the proxy's forwarded one when the portal trusts its proxy:
    PORTAL_FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"
