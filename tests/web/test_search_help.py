"""The page and the API say when a query was read as typed on another keyboard layout, and
a record page lists its work's titles in other languages."""

from __future__ import annotations

import html


def test_the_page_says_what_it_searched_for_and_links_the_text_as_typed(client):
    page = client.get("/en/search", params={"q": "Ujujkm"})
    text = html.unescape(page.text)
    assert page.status_code == 200 and "Showing results for «Гоголь»" in text
    assert "Мёртвые души" in text
    assert "as_typed=1" in page.text and "Search for «Ujujkm» as typed" in text
    as_typed = client.get("/en/search", params={"q": "Ujujkm", "as_typed": "1"})
    assert "Showing results for" not in html.unescape(as_typed.text)
    assert "Мёртвые души" not in html.unescape(as_typed.text)


def test_the_notice_is_translated(client):
    page = client.get("/ru/search", params={"q": "Ujujkm"})
    assert "Показаны результаты для «Гоголь»" in html.unescape(page.text)


def test_the_api_reports_the_retyping(client):
    body = client.get("/api/v1/search", params={"q": "Ujujkm"}).json()
    assert body["query"] == "Гоголь" and body["total"] >= 2
    assert body["retyped"] == {"typed": "Ujujkm", "typed_on": "us", "meant": "ru"}
    plain = client.get("/api/v1/search", params={"q": "Гоголь"}).json()
    assert plain["retyped"] is None
    as_typed = client.get("/api/v1/search", params={"q": "Ujujkm", "as_typed": "1"}).json()
    assert as_typed["retyped"] is None and as_typed["total"] == 0


def test_a_record_page_lists_the_works_other_titles(client):
    page = html.unescape(client.get("/en/records/ru-0026").text)
    assert "Also known as" in page and "Doctor Zhivago" in page
