"""Real-browser fixtures: a `portal serve` subprocess on a free port and Debian's Chromium.

Nothing here is skipped: a missing Chromium, Playwright or axe-core is a failure with a
message that says what to install (CI installs all three).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


_SERVED: dict[str, Path] = {}


@pytest.fixture(scope="session")
def server_data_dir(server) -> Path:
    """The data folder the test server serves (for `portal user add` and the like)."""
    return _SERVED["data_dir"]


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """`python -m portal serve` on a fresh data folder; yields its base URL."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    port = _free_port()
    log_path = data_dir.parent / "portal-serve.log"
    env = dict(os.environ, PORTAL_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    env.pop("PORTAL_DATABASE_URL", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port), "--host", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(base + "/"):
            if process.poll() is not None:
                pytest.fail(
                    f"`portal serve` exited with status {process.returncode} before answering:\n"
                    + log_path.read_text(errors="replace")
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`portal serve` did not answer GET / within {START_TIMEOUT:.0f} s:\n"
                    + log_path.read_text(errors="replace")
                )
            time.sleep(0.5)
        _SERVED["data_dir"] = data_dir
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a setup problem, reported as a failure
        pytest.fail("Playwright is missing: pip install -e '.[test]' (it is in the test extra)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(
            f"Chromium not found at {CHROMIUM}"
            + (f" (there is one at {found}: set PORTAL_TEST_CHROMIUM)" if found else "")
            + ": apt-get install chromium chromium-driver fonts-dejavu-core"
            " (do not run `playwright install`)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE}): run `npm ci` in tests/browser "
            "(package.json and package-lock.json are there)"
        )
    return AXE.read_text(encoding="utf-8")
