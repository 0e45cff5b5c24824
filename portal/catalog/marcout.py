"""MARC 21 out: a catalog record with its holdings as a MARC 21 bibliographic record (pymarc),
written as ISO 2709 or MARCXML. The inverse of portal/catalog/marc.py: a file written here
and imported into an empty catalog gives the same records and the same copies per library.

Mapping (each field as portal/catalog/marc.py reads it back):

    Leader    nam a22 ... (UTF-8, language material, monograph); /05 'd' for a gone record
    001       record id                        005  the record's datestamp (harvest.py)
    008       date entered, year, language     020  $a ISBN-13
    041 0_    $a language (MARC code)          100 0_  first author ($e author, $4 aut)
    240 10    $a work key (left out when it is the record id, the importer's default)
    245       $a title                         264 _1  $b publisher $c year
    246 1_    $a each other title
    650 _4    $a subject heading (English)     700 0_  other authors; translators ($4 trl)
    541 __    one per donation: $a donor, $d date (YYYYMMDD), $n copies, $5 library code
    852 __    one per library holding copies: $a library name, $b library code, $9 copies
    856 40    $u the record's page (when a base URL is given)

Names are written as the catalog keeps them (forename first, first indicator 0). The
importer takes the first 541 as the donor of every 852 it reads: a re-import keeps records
and copies per library exactly, and folds the donors of a record into its first one
(Catalog CSV keeps every donation).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from pymarc import Field, Indicators, MARCWriter, Record, Subfield, XMLWriter, record_to_xml

from portal.catalog.marc import MARC_LANGUAGES
from portal.catalog.records import xml_chars

# ISO 639-1 -> MARC (ISO 639-2/B) codes; the first MARC code of each language wins, and the
# bibliographic forms come first in MARC_LANGUAGES.
MARC_CODES: dict[str, str] = {}
for _marc, _iso in MARC_LANGUAGES.items():
    MARC_CODES.setdefault(_iso, _marc)


def marc_language(code: str) -> str:
    """The MARC code of an ISO 639-1 code; a code MARC_LANGUAGES lacks is written as is (the
    importer reads a two-letter code back)."""
    return MARC_CODES.get(code, code)


def _field(tag: str, indicators: str, *pairs: str) -> Field:
    subfields = [Subfield(pairs[i], xml_chars(pairs[i + 1])) for i in range(0, len(pairs), 2)]
    return Field(tag=tag, indicators=Indicators(*indicators), subfields=subfields)


def marc_record(
    record: dict,
    holdings: list[dict],
    *,
    donations: Iterable[dict] = (),
    library_names: dict[str, str] | None = None,
    donor_names: dict[str, str] | None = None,
    subject_names: dict[str, str] | None = None,
    datestamp: datetime | None = None,
    deleted: bool = False,
    url: str | None = None,
) -> Record:
    """One catalog record (as Catalog.records gives it) as a MARC 21 record.

    `holdings`: [{library, copies}] of the libraries holding copies now. `donations`:
    [{library, donor, date, copies}] (harvest.donations). The name mappings give English
    names for codes (a code without a name is written as the code)."""
    library_names = library_names or {}
    donor_names = donor_names or {}
    subject_names = subject_names or {}
    out = Record(force_utf8=True, leader="     nam a22     7c 4500")
    out.leader.record_status = "d" if deleted else "n"
    out.add_field(Field(tag="001", data=record["id"]))
    if datestamp is not None:
        out.add_field(Field(tag="005", data=datestamp.strftime("%Y%m%d%H%M%S.0")))
    created = record.get("created_at") or datestamp or datetime(1970, 1, 1)
    year = record.get("year")
    language = marc_language(record["language"])
    fixed = (
        f"{created:%y%m%d}"
        + ("s" if year else "n")
        + (f"{year:04d}" if year else "uuuu")
        + "    "
        + "xx "
        + "|" * 17
        + f"{language:<3.3}"
        + " d"
    )
    out.add_field(Field(tag="008", data=fixed))
    if record.get("isbn"):
        out.add_field(_field("020", "  ", "a", record["isbn"]))
    out.add_field(_field("041", "0 ", "a", language))
    authors = list(record.get("authors") or [])
    if authors:
        out.add_field(_field("100", "0 ", "a", authors[0], "e", "author", "4", "aut"))
    if record.get("work") and record["work"] != record["id"].lower():
        out.add_field(_field("240", "10", "a", record["work"]))
    out.add_field(_field("245", ("1" if authors else "0") + "0", "a", record["title"]))
    for other in record.get("other_titles") or []:
        out.add_field(_field("246", "1 ", "a", other))
    imprint = []
    if record.get("publisher"):
        imprint += ["b", record["publisher"]]
    if year:
        imprint += ["c", str(year)]
    if imprint:
        out.add_field(_field("264", " 1", *imprint))
    for subject in record.get("subjects") or []:
        out.add_field(_field("650", " 4", "a", subject_names.get(subject, subject)))
    for author in authors[1:]:
        out.add_field(_field("700", "0 ", "a", author, "e", "author", "4", "aut"))
    for translator in record.get("translators") or []:
        out.add_field(_field("700", "0 ", "a", translator, "e", "translator", "4", "trl"))
    for given in donations:
        pairs = []
        if given.get("donor"):
            pairs += ["a", donor_names.get(given["donor"], given["donor"])]
        pairs += ["d", given["date"].strftime("%Y%m%d"), "n", str(given["copies"])]
        pairs += ["o", "copies", "5", given["library"]]
        out.add_field(_field("541", "  ", *pairs))
    for held in holdings:
        if held["copies"] <= 0:
            continue
        code = held["library"]
        out.add_field(
            _field(
                "852", "  ", "a", library_names.get(code, code), "b", code, "9", str(held["copies"])
            )
        )
    if url:
        out.add_field(_field("856", "40", "u", url))
    return out


def to_marcxml(record: Record) -> bytes:
    """One record as a MARCXML document (<record> in the MARC 21 slim namespace)."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + record_to_xml(record, namespace=True)


def to_iso2709(record: Record) -> bytes:
    return record.as_marc()


def write_iso2709(records: Iterator[Record], stream: io.BufferedIOBase) -> int:
    writer = MARCWriter(stream)
    count = 0
    for record in records:
        writer.write(record)
        count += 1
    return count


def write_marcxml(records: Iterator[Record], stream: io.BufferedIOBase) -> int:
    """A <collection> of records, streamed."""
    writer = XMLWriter(stream)
    count = 0
    for record in records:
        writer.write(record)
        count += 1
    writer.close(close_fh=False)
    return count
