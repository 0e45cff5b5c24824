"""The language registry (portal/languages.py) is the one list of portal languages, and a
new language takes one entry, one .po file and its names in the reference data."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import icu
import pytest
from babel import Locale

from portal import languages
from portal.i18n_tools import PLURAL_FORMS
from portal.web.i18n import LANGUAGES, NATIVE_NAMES, po_path

ROOT = Path(__file__).resolve().parent.parent


def test_everything_reads_the_registry():
    codes = tuple(language.code for language in languages.LANGUAGES)
    assert codes == LANGUAGES
    assert set(PLURAL_FORMS) == set(NATIVE_NAMES) == set(codes)
    assert languages.collations() == codes
    for code in codes:
        assert po_path(code).exists(), code


@pytest.mark.parametrize("language", languages.LANGUAGES, ids=lambda lang: lang.code)
def test_each_entry_agrees_with_cldr(language):
    data = icu.LocaleData(language.code)
    quotes = (
        data.getDelimiter(icu.ULocaleDataDelimiterType.QUOTATION_START),
        data.getDelimiter(icu.ULocaleDataDelimiterType.QUOTATION_END),
    )
    assert language.quotes == quotes  # Turkish quotes titles “…”, Russian «…»
    assert Locale.parse(language.code).language == language.code
    assert language.stemmer in ("russian", "turkish", "english", "turkic")


NEW_LANGUAGE = '    Language("uz", "oʻzbekcha", TWO_FORMS, "uz", "turkic", ("“", "”"), ("us",)),\n'
DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from babel.messages.pofile import read_po, write_po
    from starlette.testclient import TestClient
    from portal import languages, i18n_tools
    from portal.catalog.catalog import Catalog
    from portal.web.app import create_app

    assert "uz" in languages.CODES, languages.CODES
    i18n_tools.update()  # the translator's first step: a new, empty uz catalog
    path = i18n_tools.po_path("uz")
    with path.open("rb") as source:
        catalog = read_po(source, locale="uz")
    catalog["Libraries"].string = "Kutubxonalar"
    with path.open("wb") as out:
        write_po(out, catalog)

    data = Path(sys.argv[1])
    catalog = Catalog.open(data)
    catalog.import_files([("batch.csv", Path(sys.argv[2]).read_bytes())])
    with TestClient(create_app(catalog=catalog)) as client:
        home = client.get("/uz/")
        assert home.status_code == 200 and 'lang="uz"' in home.text, home.text[:500]
        assert "Kutubxonalar" in home.text
        shusha = client.get("/uz/libraries/SHU")
        assert "Shusha tumani" in shusha.text, shusha.text[:3000]
        listing = client.get("/uz/libraries/SHU?sort=title").text
        assert listing.index("Alpomish") < listing.index("Oʻtkan kunlar")
        api = client.get("/api/v1/libraries/SHU?ui_lang=uz").json()
        assert api["district_name"] == "Shusha tumani"
        assert client.get("/xx/").status_code == 404
    print("ok")
    """
)
BATCH = (
    "record_id,title,language,library,copies\nuz-1,Oʻtkan kunlar,uz,SHU,2\nuz-2,Alpomish,uz,SHU,1\n"
)


def test_adding_a_language_takes_one_entry_one_catalog_and_reference_rows(tmp_path):
    copy = tmp_path / "portal-copy"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "var", "node_modules", "__pycache__", "tests"
        ),
    )
    # 1. one registry entry
    registry = copy / "portal" / "languages.py"
    text = registry.read_text(encoding="utf-8")
    marker = "    # (a new language goes above this line)\n"
    assert marker in text
    registry.write_text(text.replace(marker, NEW_LANGUAGE + marker), encoding="utf-8")
    # 2. its names in the reference data: a column of districts.csv (others fall back to English)
    districts = copy / "portal" / "data" / "districts.csv"
    rows = list(csv.DictReader(districts.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        row["uz"] = "Shusha tumani" if row["code"] == "SHU" else row["en"]
    with districts.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "batch.csv").write_text(BATCH, encoding="utf-8")
    (copy / "drive.py").write_text(DRIVER, encoding="utf-8")
    # 3. the .po file is created by the translators' tool, inside the driver
    result = subprocess.run(
        [sys.executable, "drive.py", str(tmp_path / "data"), str(tmp_path / "batch.csv")],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy), "PORTAL_OFFER_INCOMPLETE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
    assert (copy / "locales" / "uz" / "LC_MESSAGES" / "messages.po").exists()
    # no migration was needed: the new language's names are rows
    assert not (
        set((copy / "portal/catalog/migrations/versions").glob("*.py"))
        ^ {
            copy / "portal/catalog/migrations/versions" / p.name
            for p in (ROOT / "portal/catalog/migrations/versions").glob("*.py")
        }
    )
