"""schema.org structured data (JSON-LD) for the record and library pages.

A record page describes the work as a `Book` whose `workExample`s are its editions in the
catalog (this one first), each a `Book` with its language, translators, publisher, ISBN and
one `Offer` per library that lends copies of it (`offeredBy` the `Library`, the copies as its
`inventoryLevel`, GoodRelations' LeaseOut as the business function: lending). A library
page describes the `Library` with its address, coordinates and its holdings in figures.

`to_script` embeds the data safely in a <script type="application/ld+json">: `<`, `>` and `&`
are written as JSON escapes, so no value can close the element (the CSP's script-src 'self'
does not apply to a data block, which browsers never run).
"""

from __future__ import annotations

import json

from markupsafe import Markup

CONTEXT = "https://schema.org"
LEND = "http://purl.org/goodrelations/v1#LeaseOut"


def to_script(data: dict) -> Markup:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _people(names: list[str]) -> list[dict]:
    return [{"@type": "Person", "name": name} for name in names]


def library_node(library: dict, url: str) -> dict:
    node = {"@type": "Library", "@id": url, "name": library["name"], "url": url}
    address = {"@type": "PostalAddress", "addressCountry": "AZ"}
    if library.get("address"):
        address["streetAddress"] = library["address"]
    if library.get("district_name"):
        address["addressRegion"] = library["district_name"]
    node["address"] = address
    if library.get("latitude") is not None:
        node["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": library["latitude"],
            "longitude": library["longitude"],
        }
    return node


def edition(record: dict, url: str, library_url) -> dict:
    """One edition (a presenter record) as a schema.org Book."""
    node: dict = {
        "@type": "Book",
        "@id": url,
        "url": url,
        "name": record["title"],
        "inLanguage": record["language"],
    }
    if record["authors"]:
        node["author"] = _people(record["authors"])
    if record["translators"]:
        node["translator"] = _people(record["translators"])
    if record["publisher"]:
        node["publisher"] = {"@type": "Organization", "name": record["publisher"]}
    if record["year"]:
        node["datePublished"] = str(record["year"])
    if record["isbn"]:
        node["isbn"] = record["isbn"]
    if record["subjects"]:
        node["about"] = [{"@type": "Thing", "name": s["name"]} for s in record["subjects"]]
    node["offers"] = [
        {
            "@type": "Offer",
            "businessFunction": LEND,
            "availability": "https://schema.org/InStock",
            "offeredBy": library_node(h["library"], library_url(h["library"]["code"])),
            "inventoryLevel": {
                "@type": "QuantitativeValue",
                "value": h["copies"],
                "unitText": "copies",
            },
        }
        for h in record["holdings"]
    ]
    return node


def book(record: dict, editions: list[dict], url_for, library_url) -> dict:
    """The work of a record page: this edition and the other editions in the catalog."""
    examples = [edition(r, url_for(r["id"]), library_url) for r in [record, *editions]]
    node: dict = {
        "@context": CONTEXT,
        "@type": "Book",
        "name": record["title"],
        "inLanguage": record["language"],
        "url": url_for(record["id"]),
        "workExample": examples,
    }
    if record["authors"]:
        node["author"] = _people(record["authors"])
    return node


def library(library: dict, url: str, titles: int, copies: int) -> dict:
    node = {"@context": CONTEXT, **library_node(library, url)}
    node["additionalProperty"] = [
        {"@type": "PropertyValue", "name": "titles", "value": titles},
        {"@type": "PropertyValue", "name": "copies", "value": copies},
    ]
    return node
