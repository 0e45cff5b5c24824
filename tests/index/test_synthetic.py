"""The benchmark's direct records are what the catalog gives the index for the same rows."""

from __future__ import annotations

from benchmarks.synthetic import synthetic_csv, synthetic_records


def test_synthetic_records_equal_what_the_catalog_yields_after_import(empty_catalog):
    data, rows = synthetic_csv(400, seed=5)
    empty_catalog.import_files([("synthetic.csv", data)])
    imported = list(empty_catalog.documents())
    direct = list(synthetic_records(400, seed=5))
    assert len(direct) == len(rows) == 400
    assert direct == imported


def test_the_catalog_reads_every_record_a_page_at_a_time(empty_catalog, monkeypatch):
    data, _rows = synthetic_csv(400, seed=6)
    empty_catalog.import_files([("synthetic.csv", data)])
    monkeypatch.setattr("portal.catalog.catalog.DOCUMENT_PAGE", 37)
    paged = list(empty_catalog.documents())
    assert [r["id"] for r in paged] == sorted(r["id"] for r in paged)
    assert paged == list(synthetic_records(400, seed=6))
    assert list(empty_catalog.documents(["syn-0000399", "syn-0000007"])) == [
        paged[7],
        paged[399],
    ]
