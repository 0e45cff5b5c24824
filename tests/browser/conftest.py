"""Real-browser fixtures: a `portal serve` subprocess on a free port and Debian's Chromium.

Nothing here is skipped: a missing Chromium, Playwright or axe-core is a failure with a
message that says what to install (CI installs all three).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from servers import ServerFailed, serving

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


_SERVED: dict[str, Path] = {}


@pytest.fixture(scope="session")
def server_data_dir(server) -> Path:
    """The data folder the test server serves (for `portal user add` and the like)."""
    return _SERVED["data_dir"]


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """`python -m portal serve` on a fresh data folder; yields its base URL."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    try:
        with serving(data_dir, "--host", "127.0.0.1") as base:
            _SERVED["data_dir"] = data_dir
            yield base
    except ServerFailed as failure:
        pytest.fail(str(failure))


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
