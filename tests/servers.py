"""`python -m portal serve` as a real server process on a free port, for the tests that need
one (a browser, concurrent clients, several nodes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


class ServerFailed(RuntimeError):
    """The server exited or did not answer; the message holds its log."""


@contextmanager
def serving(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    log_name: str = "serve.log",
    portal: list[str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[str]:
    """Serve `data_dir` until the block ends; yields the base URL. `portal` is the command
    that runs the portal (default: this checkout's, with this Python)."""
    port = free_port()
    log_path = data_dir.parent / f"{data_dir.name}-{log_name}"
    environment = dict(os.environ, PORTAL_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    environment.pop("PORTAL_DATABASE_URL", None)
    environment.update(env or {})
    portal = portal or [sys.executable, "-m", "portal"]
    command = [*portal, "serve", "--port", str(port), *args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(base + "/"):
            if process.poll() is not None:
                raise ServerFailed(
                    f"`portal serve` exited with status {process.returncode} before "
                    f"answering:\n{log_path.read_text(errors='replace')}"
                )
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"`portal serve` did not answer within {START_TIMEOUT:.0f} s:\n"
                    + log_path.read_text(errors="replace")
                )
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def serving_app(app) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread of this process on a free port (for clients
    that speak real HTTP, like an OAI-PMH harvester); yields the base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServerFailed("the test server did not start")
            time.sleep(0.05)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
