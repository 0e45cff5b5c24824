"""Signed session cookies, the signed-in user, and CSRF tokens for every form post."""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from portal import limits
from portal.catalog.accounts import User, get_user
from portal.errors import Forbidden, InvalidInput, NotSignedIn, TooLarge, msg

__all__ = ["NotSignedIn", "checked_form", "csrf_token", "current_user", "sign_in", "sign_out"]

MAX_FORM_FIELDS = limits.MAX_FORM_FIELDS
MAX_FIELD_BYTES = limits.MAX_FIELD_BYTES


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request, max_body_bytes: int = 4 * MAX_FIELD_BYTES) -> FormData:
    """The posted form, if its CSRF token matches the session's; Forbidden otherwise.

    Bodies over `max_body_bytes` (by Content-Length) are refused before reading.
    """
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_body_bytes:
        raise TooLarge(msg("The upload is too large."))
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)
    except Exception:  # multipart errors: too many fields, part too large, broken
        raise InvalidInput(msg("The form cannot be read.")) from None
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            msg("The form has expired or did not come from this site. Reload it and try again.")
        )
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
    """The signed-in user (reads the database: call it from a worker thread)."""
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = get_user(request.app.state.catalog.engine, user_id)
    if user is None or user.disabled:
        request.session.clear()
        return None
    return user


def sign_in(request: Request, user: User) -> None:
    request.session.clear()  # a new session id and token at every sign-in
    request.session["user_id"] = user.id
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()
