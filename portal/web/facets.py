"""Facets: one definition each, used by the search page, the library page, the JSON API and
the OpenAPI document.

A facet knows its URL parameter (the index's facet of the same name), its heading, how a
value typed in a URL is checked, how a value is shown to a reader, whether it is selected,
and the URL that toggles it. The index counts them all (index/facets.py); the set of facets
is the index's, so the two lists cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from index.facets import FACETS as INDEX_FACETS
from index.searcher import SearchResult
from portal import limits
from portal.errors import InvalidInput, Message, msg, pmsg

MAX_VALUE_CHARS = 80
CODE_SCHEMA = {"type": "string", "maxLength": MAX_VALUE_CHARS}
YEAR_SCHEMA = {"type": "string", "pattern": "^\\s*[0-9]{1,4}\\s*$|^\\s*$"}


def _code(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidInput(msg("not a value of this facet"))
    return value


def _year(value: str) -> str:
    value = value.strip()
    if not re.fullmatch("[0-9]{1,4}", value):
        raise InvalidInput(msg("a year is a whole number of up to four digits"))
    return str(int(value))


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    label: str
    selected: bool
    toggle_url: str


@dataclass(frozen=True)
class Facet:
    name: str  # URL parameter, API key, and the index's facet
    title: Message  # the heading over its values
    check: Callable[[str], str] = _code  # a value from a URL -> the value the index holds
    schema: dict = field(default_factory=lambda: CODE_SCHEMA)  # a value, for OpenAPI
    shown: int = 12  # values listed on a page (the API gives all)
    by_value: bool = False  # listed by value (newest year first) rather than by count

    def values(self, params: QueryParams) -> list[str]:
        """The values of this facet a request filters by; InvalidInput for a bad one."""
        raw = [v for v in params.getlist(self.name) if v.strip()]
        if len(raw) > limits.MAX_FILTER_VALUES:
            raise InvalidInput(
                msg(
                    "%(name)s: at most %(n)s values",
                    name=self.name,
                    n=limits.MAX_FILTER_VALUES,
                )
            )
        checked = []
        for value in raw:
            try:
                checked.append(self.check(value))
            except InvalidInput as problem:
                raise InvalidInput(
                    msg("%(name)s: %(reason)s", name=self.name, reason=problem.message)
                ) from None
        return list(dict.fromkeys(checked))

    def toggle_url(self, base: str, params: QueryParams, value: str) -> str:
        """This page's URL with the value added (or removed, if it is selected), from the
        first page of results."""
        pairs = [(k, v) for k, v in params.multi_items() if k != "page"]
        if (self.name, value) in pairs:
            pairs = [(k, v) for k, v in pairs if (k, v) != (self.name, value)]
        else:
            pairs.append((self.name, value))
        return base + ("?" + urlencode(pairs) if pairs else "")

    def present(
        self,
        result: SearchResult,
        params: QueryParams,
        base: str,
        label: Callable[[str, str], str],
    ) -> list[FacetValue]:
        """The counted values of this facet in a result, labelled, each with its toggle."""
        counted = result.facets.get(self.name, [])
        if self.by_value:
            counted = sorted(counted, key=lambda f: f.value, reverse=True)
        selected = set(params.getlist(self.name))
        return [
            FacetValue(
                f.value,
                f.count,
                label(self.name, f.value),
                f.value in selected,
                self.toggle_url(base, params, f.value),
            )
            for f in counted
        ]


FACETS: tuple[Facet, ...] = (
    Facet("language", pmsg("facet", "Language")),
    Facet("district", pmsg("facet", "District")),
    Facet("library", pmsg("facet", "Library")),
    Facet("donor", pmsg("facet", "Donor")),
    Facet("subject", pmsg("facet", "Subject")),
    Facet("year", pmsg("facet", "Year"), check=_year, schema=YEAR_SCHEMA, by_value=True),
)
BY_NAME = {facet.name: facet for facet in FACETS}
if set(BY_NAME) != set(INDEX_FACETS):
    raise RuntimeError(f"facets the index counts and the portal defines differ: {INDEX_FACETS}")


def filters(params: QueryParams) -> dict[str, list[str]]:
    """Every facet's selected values in a request (InvalidInput names a bad one)."""
    return {facet.name: values for facet in FACETS if (values := facet.values(params))}
