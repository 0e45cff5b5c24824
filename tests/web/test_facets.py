"""Facets: every facet value a page or the API offers filters to exactly its count."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest

from index.facets import FACETS as INDEX_FACETS
from portal.web.facets import FACETS

QUERIES = ["", "Abai", "roman", "Абай жолы", "history", "Chekhov", "şeirlər"]
PER_FACET = 8  # values followed per facet and query (the most frequent ones)


def test_the_portal_defines_exactly_the_facets_the_index_counts():
    assert [f.name for f in FACETS] and {f.name for f in FACETS} == set(INDEX_FACETS)


@pytest.mark.parametrize("query", QUERIES)
def test_every_api_facet_value_filters_to_its_count(client, query):
    body = client.get("/api/v1/search", params={"q": query, "per_page": 1}).json()
    if query == "":
        assert set(body["facets"]) == {f.name for f in FACETS}  # browsing shows every facet
    followed = 0
    for name, values in body["facets"].items():
        for value in values[:PER_FACET]:
            assert value["url"].startswith("/api/v1/search?")
            assert (name, value["value"]) in parse_qsl(urlsplit(value["url"]).query)
            filtered = client.get(value["url"]).json()
            assert filtered["total"] == value["count"], (query, name, value)
            followed += 1
    assert followed > 0


def _page_total(html: str) -> int:
    found = re.search(r'<h1 id="results-heading">([\d,]+) books? found</h1>', html)
    assert found, html[:2000]
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize("query", QUERIES[:4])
def test_every_page_facet_link_filters_to_its_count(client, query):
    page = client.get("/en/search", params={"q": query}).text
    links = re.findall(r'<section class="facet facet-(\w+)">.*?</section>', page, flags=re.S)
    assert links or query
    for section in re.finditer(r'<section class="facet facet-(\w+)">(.*?)</section>', page, re.S):
        for href, count in re.findall(
            r'<a href="([^"]+)"[^>]*>[^<]*</a> <span class="count">([\d,]+)</span>', section[2]
        )[:PER_FACET]:
            filtered = client.get(unescape(href)).text
            assert _page_total(filtered) == int(count.replace(",", "")), (query, href)


def test_the_year_facet_filters(client):
    """`year=2005` used to return the whole catalog: the filters knew only year ranges."""
    everything = client.get("/api/v1/search", params={"per_page": 1}).json()
    years = everything["facets"]["year"]
    chosen = max(years, key=lambda v: v["count"])
    found = client.get("/api/v1/search", params={"year": chosen["value"], "per_page": 100}).json()
    assert 0 < found["total"] == chosen["count"] < everything["total"]
    assert {r["year"] for r in found["results"]} == {int(chosen["value"])}
    page = client.get("/en/search", params={"year": chosen["value"]}).text
    assert _page_total(page) == chosen["count"]


def test_years_are_listed_newest_first_and_selected_values_marked(client):
    body = client.get("/api/v1/search", params={"year": "2005"}).json()
    assert [v["selected"] for v in body["facets"]["year"]] == [True]
    years = [int(v["value"]) for v in client.get("/api/v1/search").json()["facets"]["year"]]
    assert years == sorted(years, reverse=True)


@pytest.mark.parametrize("value", ["20x5", "12345", "²"])
def test_a_bad_year_is_a_clear_400(client, value):
    response = client.get("/api/v1/search", params={"year": value})
    assert response.status_code == 400
    assert "year" in response.json()["error"]["message"]


def test_a_filtered_search_still_brings_in_translations(client):
    """«Абай жолы» filtered to Turkish shows the Turkish translation, brought in by the
    Kazakh original (the edition sources are the unfiltered top hits)."""
    body = client.get("/api/v1/search", params={"q": "Абай жолы", "language": "tr"}).json()
    assert body["total"] >= 1
    assert all(r["language"] == "tr" for r in body["results"])
    assert any(r["work"] == "abai-zholy" for r in body["results"])
