"""Citations of records: RIS (Zotero, EndNote, Mendeley), BibTeX (biblatex fields), CSL-JSON
(the input of every CSL processor: Zotero, Pandoc, citeproc-js, citeproc-py), and a citation
formatted for the record page in the reader's language.

The formatted citation is the portal's own small formatter, not a CSL processor: the CSL
locales (and so citeproc-py) cover English, Russian and Turkish but not Azerbaijani or
Kazakh. It follows ISO 690 for a book (authors as the catalog writes them, title, "translated
by", publisher, year, ISBN) with its few words translated through the portal's catalogs and
lists joined by each language's CLDR pattern ("A, B və C", "A, B и C").

Names are kept as the catalog writes them (forename first); for RIS, BibTeX and CSL-JSON a
name of two or more words is split at its last word into given and family name (so
"Мұхтар Әуезов" -> Әуезов, Мұхтар), a one-word name is left whole.
"""

from __future__ import annotations

import json
import re

from babel.lists import format_list

from portal.catalog.reference import subjects
from portal.errors import msg, pmsg
from portal.web.i18n import translations

FORMATS = {
    # format: (media type, file suffix)
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "csl-json": ("application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}


def split_name(name: str) -> dict[str, str]:
    """A name as the catalog writes it -> CSL name parts."""
    words = name.split()
    if len(words) < 2:
        return {"literal": name}
    return {"family": words[-1], "given": " ".join(words[:-1])}


def _inverted(name: str) -> str:
    parts = split_name(name)
    return parts.get("literal") or f"{parts['family']}, {parts['given']}"


def _subject_names(record: dict) -> list[str]:
    headings = subjects()
    return [headings.get(s, {}).get("en", s) for s in record["subjects"]]


# --- CSL-JSON -----------------------------------------------------------------------------------


def csl_item(record: dict, url: str) -> dict:
    """One record as a CSL-JSON item (https://citeproc-js.readthedocs.io/en/latest/csl-json/)."""
    item: dict = {"id": record["id"], "type": "book", "title": record["title"]}
    if record["authors"]:
        item["author"] = [split_name(n) for n in record["authors"]]
    if record["translators"]:
        item["translator"] = [split_name(n) for n in record["translators"]]
    if record["publisher"]:
        item["publisher"] = record["publisher"]
    if record["year"]:
        item["issued"] = {"date-parts": [[record["year"]]]}
    if record["isbn"]:
        item["ISBN"] = record["isbn"]
    item["language"] = record["language"]
    item["URL"] = url
    if record["subjects"]:
        item["keyword"] = ", ".join(_subject_names(record))
    return item


def csl_json(records: list[dict], url_for) -> str:
    return json.dumps(
        [csl_item(r, url_for(r["id"])) for r in records], ensure_ascii=False, indent=2
    )


# --- RIS ------------------------------------------------------------------------------------------


def _ris_value(value: object) -> str:
    return " ".join(str(value).split())  # one line per tag


def ris_entry(record: dict, url: str) -> str:
    lines = [("TY", "BOOK"), ("ID", record["id"]), ("TI", record["title"])]
    lines += [("AU", _inverted(n)) for n in record["authors"]]
    lines += [("A4", _inverted(n)) for n in record["translators"]]  # RIS: translator
    if record["publisher"]:
        lines.append(("PB", record["publisher"]))
    if record["year"]:
        lines.append(("PY", record["year"]))
    if record["isbn"]:
        lines.append(("SN", record["isbn"]))
    lines.append(("LA", record["language"]))
    lines += [("KW", s) for s in _subject_names(record)]
    lines.append(("UR", url))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {_ris_value(value)}".rstrip() + "\r\n" for tag, value in lines)


def ris(records: list[dict], url_for) -> str:
    return "".join(ris_entry(r, url_for(r["id"])) for r in records)


# --- BibTeX ---------------------------------------------------------------------------------------

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def tex_escape(value: object) -> str:
    """A value safe inside braces: TeX's special characters escaped, UTF-8 kept (biber and
    Zotero read it; bibtex8 users convert)."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in " ".join(str(value).split()))


def bibtex_key(record_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", record_id)


def _names(names: list[str]) -> str:
    return " and ".join(
        "{" + tex_escape(n) + "}" if " " not in n else tex_escape(_inverted(n)) for n in names
    )


def bibtex_entry(record: dict, url: str) -> str:
    fields = [("title", "{" + tex_escape(record["title"]) + "}")]
    if record["authors"]:
        fields.append(("author", _names(record["authors"])))
    if record["translators"]:
        fields.append(("translator", _names(record["translators"])))
    if record["publisher"]:
        fields.append(("publisher", tex_escape(record["publisher"])))
    if record["year"]:
        fields.append(("year", str(record["year"])))
    if record["isbn"]:
        fields.append(("isbn", record["isbn"]))
    fields.append(("language", record["language"]))
    if record["subjects"]:
        fields.append(("keywords", tex_escape(", ".join(_subject_names(record)))))
    fields.append(("url", tex_escape(url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@book{{{bibtex_key(record['id'])},\n{body}\n}}\n"


def bibtex(records: list[dict], url_for) -> str:
    return "\n".join(bibtex_entry(r, url_for(r["id"])) for r in records)


def render(fmt: str, records: list[dict], url_for) -> str:
    return {"ris": ris, "bibtex": bibtex, "csl-json": csl_json}[fmt](records, url_for)


# --- the record page's citation -----------------------------------------------------------------


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def formatted(record: dict, lang: str, translator=None) -> str:
    """The record cited in the style of ISO 690, its words in the reader's language (through
    `translator`, default the language's catalog):
    `Authors. Title. Translated by T. Publisher, Year. ISBN N.`"""
    translator = translator or translations(lang)
    parts = []
    if record["authors"]:
        parts.append(_sentence(format_list(record["authors"], locale=lang)))
    parts.append(_sentence(record["title"]))
    if record["translators"]:
        names = format_list(record["translators"], locale=lang)
        parts.append(
            pmsg("citation", "Translated by %(names)s.", names=names).translate(translator)
        )
    imprint = ", ".join(str(v) for v in (record["publisher"], record["year"]) if v)
    if imprint:
        parts.append(_sentence(imprint))
    if record["isbn"]:
        parts.append(msg("ISBN %(isbn)s.", isbn=record["isbn"]).translate(translator))
    return " ".join(parts)
