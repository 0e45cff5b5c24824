"""Signed session cookies, the signed-in user, and CSRF tokens for every form post."""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from portal.catalog.accounts import User, get_user

MAX_FORM_FIELDS = 100
MAX_FIELD_BYTES = 64 * 1024


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request, max_body_bytes: int = 4 * MAX_FIELD_BYTES) -> FormData:
    """The posted form, if its CSRF token matches the session's; 403 otherwise.

    Bodies over `max_body_bytes` (by Content-Length) are refused with 413 before reading.
    """
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_body_bytes:
        raise HTTPException(413, "the upload is too large")
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)
    except Exception as error:  # multipart errors: too many fields, part too large, broken
        raise HTTPException(400, f"the form cannot be read ({error})") from None
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "the form has expired or did not come from this site")
    return form


def current_user(request: Request) -> User | None:
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
