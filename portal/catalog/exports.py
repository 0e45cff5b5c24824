"""Whole-catalog and per-record exports as MARC 21 (ISO 2709 or MARCXML). Read-only.

Catalog CSV export stays in Catalog.export_csv. A MARC export describes the catalog as it is
now: one record per catalog record that holds copies somewhere, with an 852 per library; a
record whose copies were all withdrawn (an OAI-PMH deleted record) is left out, since the
importer takes no record without holdings.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pymarc import Record

from portal.catalog import harvest, marcout
from portal.catalog.catalog import Catalog, localized
from portal.catalog.reference import subjects

FORMATS = ("csv", "marc", "marcxml")
BATCH = 500


@dataclass(frozen=True)
class MarcNames:
    """English names for the codes a MARC record spells out."""

    libraries: dict[str, str]
    donors: dict[str, str]
    subjects: dict[str, str]

    @classmethod
    def of(cls, catalog: Catalog) -> MarcNames:
        return cls(
            libraries={row["code"]: localized(row, "en") for row in catalog.libraries()},
            donors={code: localized(row, "en") for code, row in catalog.donors().items()},
            subjects={key: names.get("en", key) for key, names in subjects().items()},
        )


def marc_records(
    catalog: Catalog,
    ids: Iterable[str] | None = None,
    *,
    include_gone: bool = False,
    url_for: Callable[[str], str] | None = None,
) -> Iterator[Record]:
    """MARC records of `ids` (default: every record), in id order. Gone records are skipped
    unless `include_gone` (then they come with leader/05 'd' and no 852)."""
    names = MarcNames.of(catalog)
    id_list = harvest.all_record_ids(catalog.engine) if ids is None else sorted(set(ids))
    for start in range(0, len(id_list), BATCH):
        chunk = id_list[start : start + BATCH]
        records = catalog.records(chunk)
        holdings = catalog.holdings(chunk)
        states = harvest.record_states(catalog.engine, chunk)
        given = harvest.donations(catalog.engine, chunk)
        for record_id in chunk:
            record, state = records.get(record_id), states.get(record_id)
            if record is None or state is None or (state.deleted and not include_gone):
                continue
            yield marcout.marc_record(
                record,
                holdings.get(record_id, []),
                donations=given.get(record_id, []),
                library_names=names.libraries,
                donor_names=names.donors,
                subject_names=names.subjects,
                datestamp=state.datestamp,
                deleted=state.deleted,
                url=url_for(record_id) if url_for else None,
            )


def export_marc(catalog: Catalog, stream: io.BufferedIOBase, fmt: str) -> int:
    """The catalog as ISO 2709 (`marc`) or MARCXML (`marcxml`) into a binary stream; returns
    the number of records written."""
    records = marc_records(catalog)
    if fmt == "marc":
        return marcout.write_iso2709(records, stream)
    if fmt == "marcxml":
        return marcout.write_marcxml(records, stream)
    raise ValueError(f"not a MARC export format: {fmt!r}")
