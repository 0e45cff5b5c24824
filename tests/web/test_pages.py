"""Reader pages over HTTP (Starlette's test client against the real app and catalog)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize(
    "header,expected",
    [
        ("ru-RU,ru;q=0.9,en;q=0.8", "/ru/"),
        ("en;q=0.2, kk;q=0.9", "/kk/"),
        ("tr", "/tr/"),
        ("de-DE, fr;q=0.5", "/az/"),
        ("", "/az/"),
        ("garbage;;q=x", "/az/"),
    ],
)
def test_root_redirects_to_the_readers_language(client, header, expected):
    response = client.get("/", headers={"accept-language": header})
    assert response.status_code == 307 and response.headers["location"] == expected


def test_saved_language_wins_over_browser(client):
    response = client.get("/", headers={"accept-language": "ru", "cookie": "lang=tr"})
    assert response.headers["location"] == "/tr/"


def test_page_without_prefix_keeps_its_path(client):
    response = client.get("/search?q=Abai", headers={"accept-language": "kk"})
    assert response.headers["location"] == "/kk/search?q=Abai"


def test_language_switch_stays_on_the_page_and_remembers(client):
    response = client.get("/ru/language?next=/ru/records/kk-0004")
    assert response.status_code == 303
    assert response.headers["location"] == "/ru/records/kk-0004"
    assert "lang=ru" in response.headers["set-cookie"]
    assert client.get("/ru/language?next=https://evil.example/").headers["location"] == "/ru/"


@pytest.mark.parametrize("lang", ["az", "kk", "tr", "ru", "en"])
def test_home_in_every_language(client, lang):
    page = client.get(f"/{lang}/")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for code in ("az", "kk", "tr", "ru", "en", "x-default"):
        assert f'hreflang="{code}"' in page.text


def test_home_is_translated(client):
    assert ">Найти</button>" in client.get("/ru/").text  # "Search" as a button
    assert ">Axtar</button>" in client.get("/az/").text
    assert "<title>Поиск</title>" in client.get("/ru/search").text  # and as a page title
    assert "<title>Axtarış</title>" in client.get("/az/search").text


def test_search_page_shows_highlight_holdings_and_facets(client):
    page = client.get("/en/search", params={"q": "oian qazaq"})
    assert page.status_code == 200
    assert "<mark>Оян</mark>" in page.text and 'lang="kk"' in page.text
    assert re.search(r"\d+ cop(y|ies)", page.text)
    assert 'class="facets"' in page.text


def test_russian_plurals_of_copies(client):
    page = client.get("/ru/search", params={"q": "Чехов"})
    assert re.search(r"\d+ экземпляр(а|ов)?\b", page.text)


def test_record_page_with_editions(client):
    page = client.get("/ru/records/kk-0004")
    assert page.status_code == 200
    assert "Абай жолы" in page.text
    assert "/ru/records/ru-0027" in page.text  # Путь Абая, another edition of the work


def test_unknown_pages_are_404(client):
    assert client.get("/en/records/nope-000").status_code == 404
    assert client.get("/en/libraries/XXX").status_code == 404
    assert client.get("/en/no-such-page").status_code == 404
    assert client.get("/en/records/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_library_page(client):
    page = client.get("/az/libraries/SHU")
    assert page.status_code == 200 and "Şuşa" in page.text


def test_xss_in_query_is_escaped(client):
    page = client.get("/en/search", params={"q": '<script>alert(1)</script>"'})
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


def test_security_headers(client):
    headers = client.get("/en/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_bad_parameters_are_400(client):
    assert client.get("/en/search", params={"page": "-1"}).status_code == 400
    assert client.get("/en/search", params={"sort": "evil"}).status_code == 400
    assert client.get("/en/search", params={"q": "x" * 3000}).status_code == 400
    assert client.get("/en/search", params={"q": "x" * 5000}).status_code == 414


def test_campaign_page_draws_charts_with_accessible_tables(client):
    page = client.get("/ru/campaign")
    assert page.status_code == 200
    assert page.text.count("<svg") == 4 and page.text.count("<table") == 4
    assert "Посольство Казахстана в Азербайджане" in page.text  # donor named in Russian
    assert "апрель 2022" in page.text  # months formatted by Babel


def test_opensearch_description(client):
    response = client.get("/opensearch.xml?lang=tr")
    assert response.headers["content-type"].startswith("application/opensearchdescription+xml")
    assert "/tr/search?q={searchTerms}" in response.text
    assert 'rel="search"' in client.get("/tr/").text


def test_atom_feed_of_new_arrivals_per_library(client):
    response = client.get("/en/libraries/SHU/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert response.text.count("<entry>") > 5
    assert "Shusha" in response.text
    assert client.get("/en/libraries/NOPE/feed.atom").status_code == 404


def test_library_page_is_sortable_filterable_with_figures(client):
    page = client.get("/en/libraries/SHU")
    assert page.status_code == 200
    assert "<h3>Language</h3>" in page.text and "<h3>Donor</h3>" in page.text
    kazakh = client.get("/en/libraries/SHU", params={"language": "kk"}).text
    assert 'lang="kk"' in kazakh and 'lang="tr"' not in kazakh.split('class="results"')[1]
    by_year = client.get("/en/libraries/SHU", params={"sort": "year"})
    years = [int(y) for y in re.findall(r"· (\d{4})\s", by_year.text)]
    assert years == sorted(years, reverse=True) and years


@pytest.mark.parametrize(
    "lang,words",
    [("az", "sort"), ("kk", "sort"), ("tr", "sort"), ("ru", "sort"), ("en", "sort must be one of")],
)
def test_a_refused_request_is_explained_in_the_readers_language(client, lang, words):
    """Messages built in Python (here: a bad parameter) reach every UI through gettext; they
    were English in all five."""
    from portal.web.i18n import translations

    page = client.get(f"/{lang}/search", params={"sort": "nonsense"})
    assert page.status_code == 400
    expected = translations(lang).gettext("sort must be one of %(values)s")
    assert lang == "en" or expected != "sort must be one of %(values)s"
    assert expected.split("%(values)s")[0].strip() in page.text
    api = client.get("/api/v1/search", params={"sort": "nonsense", "ui_lang": lang}).json()
    assert api["error"]["message"].startswith(expected.split("%(values)s")[0].strip())
    assert words in api["error"]["message"]
