"""Catalog CSV v1 import: every kind of bad input, idempotency, round trip, holdings."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from sqlalchemy import func, select

from portal.catalog import models
from portal.catalog.csvformat import CatalogFileError
from portal.demo import demo_files

HEADER = "record_id,title,language,authors,translators,work,publisher,year,isbn,subjects,donor,donated_on,library,copies\n"
GOOD_ROW = "t-1,Küçük Prens,tr,Antoine de Saint-Exupéry,Kemal Atakay,kucuk-prens,Can,2015,978-975-470-711-3,Novels,ILESAM (Turkey),2021-05-04,SHU,3\n"


def table_counts(catalog):
    with catalog.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in models.metadata.tables.items()
        }


def import_text(catalog, text, name="batch.csv", **kwargs):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return catalog.import_files([(name, data)], **kwargs)


def problems_of(catalog, data):
    before = table_counts(catalog)
    index_before = catalog.index.doc_count()
    with pytest.raises(CatalogFileError) as caught:
        import_text(catalog, data)
    assert table_counts(catalog) == before, "a bad file must write nothing"
    assert catalog.index.doc_count() == index_before
    return caught.value.problems


def test_good_row_imports(empty_catalog):
    report = import_text(empty_catalog, HEADER + GOOD_ROW)
    assert (report.records_new, report.donations_new, report.copies_added) == (1, 1, 3)
    record = empty_catalog.records(["t-1"])["t-1"]
    assert record["isbn"] == "9789754707113"
    assert record["script"] == "Latn"
    assert empty_catalog.holdings(["t-1"])["t-1"] == [{"library": "SHU", "copies": 3}]
    assert empty_catalog.index.doc_count() == 1


def test_bom_and_any_column_order(empty_catalog):
    text = "\ufefflibrary,copies,title,language\nLAC,2,Абай жолы,kk\n"
    report = import_text(empty_catalog, text)
    assert report.records_new == 1
    (record,) = empty_catalog.records(list(report.changed_ids)).values()
    assert record["script"] == "Cyrl" and record["id"].startswith("r-")


def test_missing_required_column(empty_catalog):
    (problem,) = problems_of(empty_catalog, "title,language,library\nA,az,SHU\n")
    assert problem.column == "copies" and "missing" in str(problem.message)


def test_unknown_column_is_named(empty_catalog):
    problems = problems_of(empty_catalog, "title,language,library,copies,colour\nA,az,SHU,1,red\n")
    assert [p.column for p in problems] == ["colour"]


def test_unknown_library(empty_catalog):
    (problem,) = problems_of(empty_catalog, HEADER + GOOD_ROW.replace(",SHU,", ",XYZ,"))
    assert (problem.line, problem.column, problem.value) == (2, "library", "XYZ")


def test_bad_isbn_checksum(empty_catalog):
    (problem,) = problems_of(empty_catalog, HEADER + GOOD_ROW.replace("711-3", "711-4"))
    assert (problem.line, problem.column, problem.value) == (2, "isbn", "978-975-470-711-4")
    assert "ISBN" in str(problem.message)


@pytest.mark.parametrize("value", ["2021-13-01", "04.05.2021", "yesterday", "2999-01-01"])
def test_bad_date(empty_catalog, value):
    (problem,) = problems_of(empty_catalog, HEADER + GOOD_ROW.replace("2021-05-04", value))
    assert (problem.column, problem.value) == ("donated_on", value)


@pytest.mark.parametrize("value", ["0", "-2", "1.5", "three", ""])
def test_bad_copies(empty_catalog, value):
    (problem,) = problems_of(empty_catalog, HEADER + GOOD_ROW.replace(",SHU,3", f",SHU,{value}"))
    assert problem.column == "copies" and problem.line == 2


def test_bad_encoding_names_line_and_byte(empty_catalog):
    data = (HEADER + GOOD_ROW).encode("utf-8") + "t-2,Kürk,tr,,,,,,,,,,SHU,1\n".encode("cp1254")
    (problem,) = problems_of(empty_catalog, data)
    assert problem.line == 3 and "UTF-8" in str(problem.message)


def test_empty_file(empty_catalog):
    (problem,) = problems_of(empty_catalog, b"")
    assert "empty" in str(problem.message)
    (problem,) = problems_of(empty_catalog, HEADER)
    assert "no rows" in str(problem.message)


def test_spreadsheet_is_recognised(empty_catalog):
    (problem,) = problems_of(empty_catalog, b"PK\x03\x04" + b"\x00" * 100)
    assert "xlsx" in str(problem.message)


def test_every_problem_is_reported_at_once(empty_catalog):
    text = (
        HEADER
        + GOOD_ROW
        + GOOD_ROW.replace("t-1", "t-2").replace(",SHU,3", ",NOPE,0")
        + GOOD_ROW.replace("t-1", "t-3").replace(",tr,", ",turkish,")
    )
    problems = problems_of(empty_catalog, text)
    assert {(p.line, p.column) for p in problems} == {
        (3, "library"),
        (3, "copies"),
        (4, "language"),
    }


def test_conflicting_rows_of_one_record(empty_catalog):
    text = (
        HEADER + GOOD_ROW + GOOD_ROW.replace("Küçük Prens", "Kucuk Prens").replace(",SHU,", ",LAC,")
    )
    (problem,) = problems_of(empty_catalog, text)
    assert problem.line == 3 and problem.column == "title"


def test_duplicate_donation_row(empty_catalog):
    (problem,) = problems_of(empty_catalog, HEADER + GOOD_ROW + GOOD_ROW)
    assert problem.line == 3 and "line 2" in str(problem.message)


@pytest.mark.parametrize("record_id", ["../etc", "..", ".x", "-x", "a" * 65, "a b", "kitab/1"])
def test_bad_record_id(empty_catalog, record_id):
    (problem,) = problems_of(empty_catalog, HEADER + GOOD_ROW.replace("t-1,", f"{record_id},"))
    assert problem.column == "record_id" and "starting with a letter or digit" in str(
        problem.message
    )


@pytest.mark.parametrize("record_id", ["v1..2", "A.b_c-9", "x" * 64, "9"])
def test_every_accepted_record_id_opens_on_a_page_and_in_the_api(empty_catalog, record_id):
    """The importer and the router share one id rule (an id like `v1..2` used to import and
    then answer 404)."""
    from starlette.testclient import TestClient

    from portal.web.app import create_app

    import_text(empty_catalog, HEADER + GOOD_ROW.replace("t-1,", f"{record_id},"))
    with TestClient(create_app(catalog=empty_catalog)) as client:
        assert client.get(f"/en/records/{record_id}").status_code == 200
        assert client.get(f"/api/v1/records/{record_id}").json()["id"] == record_id


def test_work_keys_keep_one_case_through_an_export(empty_catalog, tmp_path):
    """A record without a work key takes its id as the work; exported and imported again
    it must stay the same work (`A04` used to come back as `a04`)."""
    import_text(empty_catalog, HEADER + GOOD_ROW.replace("t-1,", "A04,").replace("kucuk-prens", ""))
    work = empty_catalog.records(["A04"])["A04"]["work"]
    export = empty_catalog.export_csv()
    again = import_text(empty_catalog, export)
    assert again.records_updated == 0 and again.records_unchanged == 1
    assert empty_catalog.records(["A04"])["A04"]["work"] == work == "a04"


def test_one_bad_file_stops_all_files(empty_catalog):
    before = table_counts(empty_catalog)
    with pytest.raises(CatalogFileError):
        empty_catalog.import_files(
            [
                ("good.csv", (HEADER + GOOD_ROW).encode()),
                ("bad.csv", (HEADER + GOOD_ROW.replace("SHU", "X")).encode()),
            ]
        )
    assert table_counts(empty_catalog) == before


def test_dry_run_writes_nothing(empty_catalog):
    before = table_counts(empty_catalog)
    report = import_text(empty_catalog, HEADER + GOOD_ROW, dry_run=True)
    assert report.records_new == 1 and report.dry_run
    assert table_counts(empty_catalog) == before
    assert empty_catalog.index.doc_count() == 0


def test_reimport_changes_nothing(fresh_demo):
    before = table_counts(fresh_demo)
    report = fresh_demo.import_files(demo_files())
    assert report.records_new == report.records_updated == report.donations_new == 0
    assert report.donations_unchanged == report.rows
    # only bookkeeping grows: the batches received and one audit entry for the attempt
    assert table_counts(fresh_demo) == {
        **before,
        "import_batches": before["import_batches"] + 2,
        "audit_log": before["audit_log"] + 1,
    }


def test_changed_copy_count_is_a_correction(empty_catalog):
    import_text(empty_catalog, HEADER + GOOD_ROW)
    report = import_text(empty_catalog, HEADER + GOOD_ROW.replace(",SHU,3", ",SHU,5"))
    assert report.donations_corrected == 1 and report.copies_added == 2
    assert empty_catalog.holdings(["t-1"])["t-1"] == [{"library": "SHU", "copies": 5}]
    with empty_catalog.engine.connect() as conn:
        kinds = conn.execute(select(models.holding_events.c.kind)).scalars().all()
    assert sorted(kinds) == ["correction", "donation"]  # history kept


def test_holdings_equal_the_sum_of_the_files_rows(demo_catalog):
    expected = Counter()
    for _name, data in demo_files():
        for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
            expected[(row["record_id"], row["library"])] += int(row["copies"])
    with demo_catalog.engine.connect() as conn:
        held = {
            (r, lib): c
            for r, lib, c in conn.execute(
                select(
                    models.holdings.c.record_id, models.holdings.c.library, models.holdings.c.copies
                )
            )
        }
        ledger = {
            (r, lib): c
            for r, lib, c in conn.execute(
                select(
                    models.holding_events.c.record_id,
                    models.holding_events.c.library,
                    func.sum(models.holding_events.c.delta),
                ).group_by(models.holding_events.c.record_id, models.holding_events.c.library)
            )
        }
    assert held == dict(expected) == ledger


def test_export_then_import_round_trips(fresh_demo, new_folder):
    from portal.catalog.catalog import Catalog

    exported = fresh_demo.export_csv()
    other = Catalog.open(new_folder("other"))
    report = other.import_files([("export.csv", exported.encode("utf-8"))])
    assert report.records_new == fresh_demo.record_count()
    assert other.export_csv() == exported
    every_id = [doc["id"] for doc in fresh_demo.documents()]
    fields = (
        "title",
        "language",
        "script",
        "authors",
        "translators",
        "work",
        "publisher",
        "year",
        "isbn",
        "subjects",
    )
    mine, theirs = fresh_demo.records(every_id), other.records(every_id)
    for record_id in every_id:
        for key in fields:
            assert mine[record_id][key] == theirs[record_id][key], (record_id, key)
    assert fresh_demo.holdings(every_id) == other.holdings(every_id)
    assert other.index.doc_count() == len(every_id)
    other.close()


def test_readme_example_imports(empty_catalog):
    from portal.config import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("```csv\n", 1)[1].split("```", 1)[0]
    report = import_text(empty_catalog, example, name="README.md")
    assert (report.records_new, report.donations_new) == (2, 3)
