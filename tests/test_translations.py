"""The translators' workflow checks: catalogs complete and consistent, rendering right."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date

import pytest
from babel.messages.catalog import Catalog as MessageCatalog
from babel.support import Translations

from portal import i18n_tools
from portal.errors import msg
from portal.web.i18n import LANGUAGES, SafeTranslations, format_day, format_number, translations


def _ids(catalog):
    return {(m.id if isinstance(m.id, str) else tuple(m.id), m.context) for m in catalog if m.id}


def test_pot_is_up_to_date_with_code_and_templates():
    fresh = _ids(i18n_tools.extract())
    committed = _ids(i18n_tools.read_catalog(i18n_tools.POT_PATH))
    assert fresh == committed, "run `portal i18n update` and translate the new strings"
    assert any(loc[0].startswith("templates/") for m in i18n_tools.extract() for loc in m.locations)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_msgfmt_check_passes(lang):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is required (apt-get install gettext)"
    result = subprocess.run(
        [msgfmt, "--check", "-o", "/dev/null", str(i18n_tools.po_path(lang))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_complete_with_matching_placeholders_and_plural_forms(lang):
    assert i18n_tools.check(lang) == []
    assert i18n_tools.stats(lang).percent == 100.0


def test_plural_forms_headers():
    assert "nplurals=3;" in i18n_tools.po_path("ru").read_text(encoding="utf-8")
    for lang in ("az", "kk", "tr", "en"):
        assert "nplurals=2; plural=(n != 1);" in i18n_tools.po_path(lang).read_text(
            encoding="utf-8"
        )


@pytest.mark.parametrize(
    "n,word",
    [
        (1, "экземпляр"),
        (2, "экземпляра"),
        (5, "экземпляров"),
        (11, "экземпляров"),
        (21, "экземпляр"),
        (22, "экземпляра"),
        (111, "экземпляров"),
    ],
)
def test_russian_plurals_of_copies(n, word):
    text = translations("ru").ngettext("%(n)s copy", "%(n)s copies", n) % {"n": n}
    assert text == f"{n} {word}"


@pytest.mark.parametrize(
    "lang,number,day",
    [
        ("az", "55.482", "11 aprel 2022"),
        ("tr", "55.482", "11 Nisan 2022"),
        ("ru", "55\u00a0482", "11 апреля 2022"),
        ("kk", "55\u00a0482", "2022"),
        ("en", "55,482", "April 11, 2022"),
    ],
)
def test_numbers_and_dates_per_language(lang, number, day):
    assert format_number(55482, lang) == number
    assert day in format_day(date(2022, 4, 11), lang)


def test_broken_translation_falls_back_to_the_source():
    catalog = MessageCatalog(locale="ru")
    catalog.add("Page %(page)s of %(pages)s", "Страница %(стр)s")
    catalog.add(
        ("%(n)s copy", "%(n)s copies"), ("%(m)s экземпляр", "%(m)s экземпляра", "%(m)s экз.")
    )
    import io

    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    safe = SafeTranslations(Translations(fp=buffer))
    assert safe.gettext("Page %(page)s of %(pages)s") == "Page %(page)s of %(pages)s"
    assert safe.ngettext("%(n)s copy", "%(n)s copies", 5) == "%(n)s copies"
    assert safe.translate(msg("Page %(page)s of %(pages)s", page=1, pages=2)) == "Page 1 of 2"


PSEUDO_PAGES = [
    "/en/",
    "/en/search?q=zzqqxx",
    "/en/search?q=Abai",
    "/en/libraries",
    "/en/libraries/SHU",
    "/en/campaign",
    "/en/translations",
    "/en/no-such-page",
    # messages built in Python (domain errors) must reach the page through gettext too
    "/en/search?sort=bogus",
    "/en/search?year=20x5",
    "/en/search?page=0",
    "/en/staff/sign-in",
]


@pytest.mark.parametrize("url", PSEUDO_PAGES)
def test_pseudo_locale_shows_every_string_passed_through_gettext(demo_catalog, url):
    """Render pages through a pseudo-translation: visible text without its marks, other than
    data (titles, names, numbers, language names), was never passed through gettext."""
    from starlette.testclient import TestClient

    from portal.web.app import create_app
    from portal.web.templating import make_environment

    pseudo = i18n_tools.PseudoTranslations.from_pot()
    app = create_app(
        catalog=demo_catalog, environment_for=lambda lang: make_environment(lang, pseudo)
    )
    with TestClient(app) as client:
        html = client.get(url).text
    assert_every_text_translated(html)


def test_pseudo_locale_covers_a_refused_sign_in(demo_catalog):
    from starlette.testclient import TestClient

    from portal.web.app import create_app
    from portal.web.templating import make_environment

    pseudo = i18n_tools.PseudoTranslations.from_pot()
    app = create_app(
        catalog=demo_catalog, environment_for=lambda lang: make_environment(lang, pseudo)
    )
    with TestClient(app) as client:
        form = client.get("/en/staff/sign-in").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        html = client.post(
            "/en/staff/sign-in", data={"name": "nobody", "password": "x" * 12, "csrf_token": token}
        ).text
    assert "⟦" in html.split('class="error"', 1)[1].split("</p>", 1)[0]
    assert_every_text_translated(html)


def _reference_names() -> set[str]:
    """Names that are data, not interface: libraries, districts, donors (from the reference
    lists), languages (from CLDR)."""
    from babel import Locale

    from portal.catalog.reference import _rows

    names = {
        row["en"] for table in ("libraries", "districts", "donors") for row in _rows(f"{table}.csv")
    }
    return names | set(Locale("en").languages.values())


def assert_every_text_translated(html: str) -> None:
    body = html.split("<body>", 1)[1]
    body = re.sub(r"<(svg|table|ol|dd)[^>]*>.*?</\1>", "", body, flags=re.S)
    # lists of data: libraries, facet values with their counts, strings on /translations
    body = re.sub(r'<ul class="libraries">.*?</ul>', "", body, flags=re.S)
    body = re.sub(
        r'(<section class="facet[^"]*">\s*<h\d>[^<]*</h\d>).*?</section>', r"\1", body, flags=re.S
    )
    body = re.sub(r"<q [^>]*>.*?</q>", "", body, flags=re.S)
    body = re.sub(r'<span class="hint">[^<]*</span>', "", body)
    texts = [t.strip() for t in re.sub(r"<[^>]+>", "\n", body).split("\n") if t.strip()]
    data = {"zzqqxx", "·", "azərbaycan", "қазақ тілі", "Türkçe", "русский", "English"}
    data |= {"RIS", "BibTeX", "CSL-JSON", "MARCXML"}  # names of file formats
    data |= _reference_names()
    untranslated = [t for t in texts if "⟦" not in t and t not in data]
    assert untranslated == [], untranslated
