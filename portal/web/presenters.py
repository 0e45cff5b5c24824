"""Search results and records joined with the catalog's holdings, for pages and the API."""

from __future__ import annotations

from html import escape

from sqlalchemy.exc import OperationalError
from starlette.datastructures import QueryParams

from index import SearchResult
from portal.catalog.catalog import Catalog, localized
from portal.catalog.reference import subjects
from portal.web import facets
from portal.web.i18n import language_name


def highlight_html(segments: list[tuple[str, bool]]) -> str:
    """Segments -> HTML with <mark> around matched words; all text escaped."""
    return "".join(f"<mark>{escape(t)}</mark>" if hit else escape(t) for t, hit in segments)


class Presenter:
    def __init__(self, catalog: Catalog, lang: str):
        self.catalog = catalog
        self.lang = lang
        self._libraries = {row["code"]: row for row in catalog.libraries()}
        self._districts = catalog.districts()
        self._donors = catalog.donors()

    def library(self, code: str) -> dict:
        row = self._libraries.get(code)
        if row is None:
            return {"code": code, "name": code, "label": code}
        district = self._districts.get(row["district"], {})
        name = localized(row, self.lang)
        district_name = localized(district, self.lang) if district else row["district"]
        return {
            "code": code,
            "name": name,
            # "Shusha · 3 copies": a district's central library goes by its district's name
            "label": district_name if row["kind"] == "district-central" else name,
            "district": row["district"],
            "district_name": district_name,
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "address": row["address"],
        }

    def libraries(self) -> list[dict]:
        return [self.library(code) for code in sorted(self._libraries)]

    def facet_label(self, facet: str, value: str) -> str:
        """How a facet's value is shown to a reader of this language."""
        if facet == "library":
            return self.library(value)["name"]
        if facet == "district":
            row = self._districts.get(value)
            return localized(row, self.lang) if row else value
        if facet == "donor":
            row = self._donors.get(value)
            return localized(row, self.lang) if row else value
        if facet == "language":
            return language_name(value, self.lang)
        if facet == "subject":
            return subjects().get(value, {}).get(self.lang, value)
        return value

    def donors(self) -> list[dict]:
        return [{"code": code, "name": self.facet_label("donor", code)} for code in self._donors]

    def holdings(self, entries: list[dict]) -> list[dict]:
        return [{"library": self.library(e["library"]), "copies": e["copies"]} for e in entries]

    def record(self, record: dict, holdings: list[dict], highlight: str | None = None) -> dict:
        shown = self.holdings(holdings)
        return {
            "id": record["id"],
            "title": record["title"],
            "language": record["language"],
            "language_name": language_name(record["language"], self.lang),
            "script": record["script"],
            "authors": record["authors"],
            "translators": record["translators"],
            "publisher": record["publisher"],
            "year": record["year"],
            "isbn": record["isbn"],
            "work": record["work"],
            "subjects": [
                {"key": s, "name": self.facet_label("subject", s)} for s in record["subjects"]
            ],
            "highlight": highlight if highlight is not None else escape(record["title"]),
            "holdings": shown,
            "total_copies": sum(h["copies"] for h in shown),
        }

    def results(self, result: SearchResult) -> list[dict]:
        """The hits with their records and holdings from the catalog; if the catalog
        database is out of reach for a moment, the hits as the index knows them, marked
        `holdings_unavailable` (search keeps working on its own index)."""
        ids = [hit.id for hit in result.hits]
        try:
            records = self.catalog.records(ids)
            holdings = self.catalog.holdings(ids)
        except OperationalError:
            return [self.hit_only(hit) for hit in result.hits]
        return [
            self.record(records[hit.id], holdings.get(hit.id, []), highlight_html(hit.highlight))
            for hit in result.hits
            if hit.id in records
        ]

    def hit_only(self, hit) -> dict:
        record = {
            "id": hit.id,
            "title": hit.title,
            "language": hit.language,
            "script": hit.script,
            "authors": hit.authors,
            "translators": [],
            "publisher": "",
            "year": hit.year,
            "isbn": None,
            "work": hit.work,
            "subjects": [],
        }
        return {
            **self.record(record, [], highlight_html(hit.highlight)),
            "holdings_unavailable": True,
        }

    def facets(
        self, result: SearchResult, params: QueryParams, base: str, names=None
    ) -> list[tuple[facets.Facet, list[facets.FacetValue]]]:
        """Each facet (or those `names`) with its values in this result, labelled, each with
        the URL that toggles it on `base` (this page's path)."""
        chosen = facets.FACETS if names is None else [facets.BY_NAME[n] for n in names]
        out = []
        for facet in chosen:
            values = facet.present(result, params, base, self.facet_label)
            if values:
                out.append((facet, values))
        return out
