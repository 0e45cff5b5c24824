"""The built wheel serves: templates, static files, gettext catalogs and migrations ship
inside the installed package, found without the source tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from servers import ROOT, serving

from portal.languages import CODES

PAGES = [
    "/{lang}/",
    "/{lang}/search?q=Abai",
    "/{lang}/search?q=&language=kk&year=1989",
    "/{lang}/records/kk-0004",
    "/{lang}/libraries",
    "/{lang}/libraries/SHU",
    "/{lang}/campaign",
    "/{lang}/translations",
    "/{lang}/feed.atom",
    "/{lang}/staff/sign-in",
    "/{lang}/search?sort=nonsense",  # a translated 400 page
]
SHARED = [
    "/static/portal.css",
    "/opensearch.xml",
    "/api/v1/search?q=Chekhov",
    "/api/v1/openapi.json",
]


def run(*command: str, cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_the_wheel_installed_outside_the_checkout_serves_every_page(tmp_path):
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), ".", cwd=ROOT)
    (wheel,) = tmp_path.glob("karabakh_books_portal-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    run(str(venv / "bin" / "pip"), "install", "-q", str(wheel), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the installed package, not this checkout, is what runs
    location = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import portal; print(portal.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    ).stdout
    assert str(venv) in location and str(ROOT) not in location
    with serving(tmp_path / "data", portal=[str(venv / "bin" / "portal")], cwd=elsewhere) as base:
        for lang in CODES:
            for page in PAGES:
                status, body = fetch(base + page.format(lang=lang))
                expected = 400 if "nonsense" in page else 200
                assert status == expected, (lang, page, body[:500])
                if page.endswith((".atom",)):
                    assert f'xml:lang="{lang}"' in body
                else:
                    assert re.search(f'<html lang="{lang}">', body), (lang, page)
        for page in SHARED:
            status, body = fetch(base + page)
            assert status == 200 and body, page
