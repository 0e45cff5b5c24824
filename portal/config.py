"""Settings from the environment, with the embedded defaults."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = "secret.key"


class ConfigError(ValueError):
    """A setting from the environment that cannot be used; the message names it."""


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high} (got {raw!r})")
    return int(raw)


def _env_url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(f"{name} must be an http(s) address like https://kitab.example.az")
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    secure_cookies: bool = False  # set PORTAL_SECURE_COOKIES=1 behind HTTPS
    max_upload_bytes: int = 20 * 1024 * 1024
    # Requests a worker process runs at once. Pages are CPU work under one GIL: more threads
    # only interleave them (every request finishes later) and convoy on SQLite's GIL releases.
    request_threads: int = 4
    # The contact OAI-PMH harvesters are given (Identify's adminEmail, which the protocol
    # requires): set PORTAL_ADMIN_EMAIL to the library network's address.
    admin_email: str = "portal@localhost"
    # The portal's address as readers reach it (https://kitab.example.az): absolute URLs in
    # feeds, OpenSearch, OAI-PMH and JSON-LD use it rather than the request's Host header,
    # and requests naming another host are refused. Unset: the request's own address.
    public_url: str | None = None
    # Proxy addresses whose X-Forwarded-For/-Proto the portal believes (nginx in front):
    # sign-in throttling and per-client limits then see the real client.
    forwarded_allow_ips: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(os.environ.get("PORTAL_DATA_DIR", "var")).resolve(),
            database_url=os.environ.get("PORTAL_DATABASE_URL") or None,
            secure_cookies=os.environ.get("PORTAL_SECURE_COOKIES") == "1",
            max_upload_bytes=_env_int("PORTAL_MAX_UPLOAD_MB", 20, 1, 1024) * 1024 * 1024,
            request_threads=_env_int("PORTAL_REQUEST_THREADS", 4, 1, 64),
            admin_email=os.environ.get("PORTAL_ADMIN_EMAIL", "").strip() or "portal@localhost",
            public_url=_env_url("PORTAL_PUBLIC_URL"),
            forwarded_allow_ips=os.environ.get("PORTAL_FORWARDED_ALLOW_IPS", "").strip() or None,
        )

    def secret_key(self) -> str:
        """PORTAL_SECRET_KEY, or a key generated once into the data folder (mode 0600)."""
        if os.environ.get("PORTAL_SECRET_KEY"):
            return os.environ["PORTAL_SECRET_KEY"]
        path = self.data_dir / SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # the first of several starting workers wins
            tmp.unlink()
        return path.read_text().strip()
