"""What every request goes through before a handler: security headers on every answer,
limits on the size of URLs and bodies (counted as the bytes arrive, chunked or not), a
bound on the searches one client runs at once, and the one host name the portal answers to.

ASGI middleware, so that they act before anything reads a body or takes a worker thread.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import limits

SECURITY_HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
# Staff pages and exports hold what only staff may see: no cache keeps a copy.
PRIVATE = re.compile(r"^/[a-z]{2}/staff/")
# Requests that run a search: one client may run only a few at once (the rest wait their turn
# elsewhere, or get "too many requests").
SEARCHES = re.compile(r"^(/api/v1/search|/[a-z]{2}/search|/[a-z]{2}/libraries/[^/]+)")
SEARCHES_PER_CLIENT = 2
SMALL_BODY = 4 * limits.MAX_FIELD_BYTES  # any form but an upload


async def _answer(send: Send, status: int, message: str, extra: dict | None = None) -> None:
    """A short answer straight from the middleware (JSON: it serves the API and the pages)."""
    body = json.dumps({"error": {"status": status, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in (extra or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Security headers on every response (also the middleware's own refusals); CORS open
    for GET on the API; `Cache-Control: no-store` on staff pages; long URLs refused."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers += list(SECURITY_HEADERS.items())
                if path.startswith("/api/"):
                    headers.append((b"access-control-allow-origin", b"*"))
                if PRIVATE.match(path):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) > (
            limits.MAX_URL_BYTES
        ):
            await _answer(send_with_headers, 414, "URL too long")
            return
        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    """Raised from `receive` when a body passes its limit (the app answers 413)."""


class BodyLimit:
    """Bodies are counted as they arrive, whatever the client declares: a chunked upload
    cannot pass the limit by leaving out Content-Length. Only a coordinator's import takes a
    file; every other form is small."""

    def __init__(self, app: ASGIApp, upload_bytes: int):
        self.app = app
        self.upload_bytes = upload_bytes

    def limit_for(self, path: str) -> int:
        if path.endswith("/staff/import"):
            return self.upload_bytes + SMALL_BODY
        return SMALL_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, "The request body is too large.")
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        await self.app(scope, counted, send)


class ClientSearchLimit:
    """At most SEARCHES_PER_CLIENT searches of one client run at once in a worker; more get
    429 at once, without taking a thread: one client cannot starve the others."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.running: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not SEARCHES.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        with self.lock:
            if self.running[client] >= SEARCHES_PER_CLIENT:
                busy = True
            else:
                busy = False
                self.running[client] += 1
        if busy:
            await _answer(
                send,
                429,
                "Too many searches at once from one address; try again in a moment.",
                {"retry-after": "1"},
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.running[client] -= 1
                if not self.running[client]:
                    del self.running[client]


class OneHost:
    """With PORTAL_PUBLIC_URL set, requests for another host name are refused (a forged
    Host header must not reach absolute URLs, caches or logs)."""

    def __init__(self, app: ASGIApp, host: str | None):
        self.app = app
        self.allowed = None if host is None else {host.lower(), "localhost", "127.0.0.1"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
        if name not in self.allowed:
            await _answer(send, 400, "Unknown host.")
            return
        await self.app(scope, receive, send)
