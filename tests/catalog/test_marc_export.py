"""MARC 21 out (pymarc): a MARC export of the catalog imported into an empty catalog gives the
same records and the same copies per library, as ISO 2709 and as MARCXML, through the
`portal export` command and through the importer the librarians use."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymarc import MARCReader, parse_xml_to_array

from portal.catalog import exports, harvest, marcout, staff
from portal.catalog.accounts import User
from portal.catalog.catalog import Catalog

COORDINATOR = User(id=0, name="export-test", role="coordinator", library=None, disabled=False)
FIELDS = ("title", "language", "script", "authors", "translators", "work", "publisher", "year")


def catalog_state(catalog: Catalog) -> tuple[dict, dict]:
    ids = harvest.all_record_ids(catalog.engine)
    records = {
        rid: {k: record[k] for k in (*FIELDS, "isbn", "subjects")}
        for rid, record in catalog.records(ids).items()
    }
    holdings = {
        rid: {h["library"]: h["copies"] for h in held}
        for rid, held in catalog.holdings(ids).items()
    }
    return records, holdings


def exported(catalog: Catalog, fmt: str) -> bytes:
    stream = io.BytesIO()
    exports.export_marc(catalog, stream, fmt)
    return stream.getvalue()


@pytest.mark.parametrize("fmt,name", [("marc", "export.mrc"), ("marcxml", "export.xml")])
def test_round_trip_gives_the_same_records_and_holdings(demo_catalog, empty_catalog, fmt, name):
    data = exported(demo_catalog, fmt)
    report = empty_catalog.import_files([(name, data)])
    assert report.records_new == demo_catalog.record_count()
    assert catalog_state(empty_catalog) == catalog_state(demo_catalog)


def test_records_read_back_with_pymarc(demo_catalog):
    records = list(MARCReader(exported(demo_catalog, "marc"), to_unicode=True))
    xml_records = parse_xml_to_array(io.BytesIO(exported(demo_catalog, "marcxml")))
    assert len(records) == len(xml_records) == demo_catalog.record_count()
    by_id = {r["001"].data: r for r in records}
    abai = by_id["kk-0004"]
    assert abai.leader[9] == "a"  # UTF-8
    assert abai["245"]["a"] == "Абай жолы"
    assert abai["041"]["a"] == "kaz"
    assert abai["100"]["a"] == "Мұхтар Әуезов"
    held = demo_catalog.holdings(["kk-0004"])["kk-0004"]
    assert {f["b"]: int(f["9"]) for f in abai.get_fields("852")} == {
        h["library"]: h["copies"] for h in held
    }
    donors = {f["a"] for f in abai.get_fields("541")}
    assert "Embassy of Kazakhstan in Azerbaijan" in donors
    assert {r["001"].data for r in xml_records} == set(by_id)


def test_translators_and_isbn_are_written_where_the_importer_reads_them(demo_catalog):
    ids = harvest.all_record_ids(demo_catalog.engine)
    records = demo_catalog.records(ids)
    translated = next(r for r in records.values() if r["translators"] and r["isbn"])
    (marc,) = exports.marc_records(demo_catalog, [translated["id"]])
    trl = [f["a"] for f in marc.get_fields("700") if f["4"] == "trl"]
    assert trl == translated["translators"]
    assert marc["020"]["a"] == translated["isbn"]


def test_a_record_without_copies_is_left_out_and_the_rest_round_trips(fresh_demo, tmp_path):
    empty_catalog = Catalog.open(tmp_path / "empty")  # (fresh_demo's folder is tmp_path/data)
    empty_catalog.index.create()
    gone = "tr-0001"
    for entry in fresh_demo.holdings([gone])[gone]:
        _r, copies, version = staff.holding(fresh_demo, COORDINATOR, gone, entry["library"])
        staff.withdraw(fresh_demo, COORDINATOR, gone, entry["library"], copies, "lost", version)
    data = exported(fresh_demo, "marc")
    assert gone.encode() not in data
    empty_catalog.import_files([("export.mrc", data)])
    records, holdings = catalog_state(fresh_demo)
    del records[gone]
    got_records, got_holdings = catalog_state(empty_catalog)
    assert set(got_records) == set(records)
    assert got_records == records
    assert got_holdings == holdings
    empty_catalog.close()
    (marc,) = exports.marc_records(fresh_demo, [gone], include_gone=True)
    assert marc.leader[5] == "d" and not marc.get_fields("852")


def test_language_codes_are_marc_codes():
    assert marcout.marc_language("az") == "aze"
    assert marcout.marc_language("kk") == "kaz"
    assert marcout.marc_language("de") == "ger"
    assert marcout.marc_language("fa") == "per"


def test_export_command_formats(tmp_path, demo_template):
    env = {**os.environ, "PORTAL_DATA_DIR": str(demo_template)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "portal", "export", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    by_suffix = run(str(tmp_path / "all.mrc"))
    assert by_suffix.returncode == 0, by_suffix.stderr
    assert "MARC records (ISO 2709)" in by_suffix.stdout
    chosen = run(str(tmp_path / "all.out"), "--format", "marcxml")
    assert chosen.returncode == 0 and "MARCXML" in chosen.stdout
    assert Path(tmp_path / "all.out").read_bytes().startswith(b"<?xml")
    csv = run(str(tmp_path / "all.csv"))
    assert csv.returncode == 0 and "rows" in csv.stdout
    wrong = run(str(tmp_path / "x"), "--format", "mods")
    assert wrong.returncode == 2
    assert not list(tmp_path.glob(".*.tmp"))
