"""Shared fixtures: a real catalog (SQLite, or PostgreSQL when PORTAL_TEST_DATABASE_URL is
set: see tests/databases.py) and Whoosh index in a temporary data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from databases import BACKEND, attach, copy_folder, drop_all_test_databases

from portal.catalog.catalog import Catalog
from portal.demo import load_demo


def pytest_report_header(config) -> str:
    return f"catalog database: {BACKEND}"


@pytest.fixture(scope="session", autouse=True)
def _test_databases():
    yield
    drop_all_test_databases()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A data folder with the demo catalog loaded, built once and copied per test (never
    opened after it is built: its database is the template of the copies)."""
    folder = tmp_path_factory.mktemp("demo-template") / "data"
    attach(folder)
    catalog = Catalog.open(folder)
    load_demo(catalog)
    catalog.close()
    return folder


@pytest.fixture
def demo_folder(demo_template, tmp_path) -> Path:
    """A private copy of the demo catalog's data folder (and database)."""
    return copy_folder(demo_template, tmp_path / "data")


@pytest.fixture(scope="session")
def demo_catalog(demo_template, tmp_path_factory) -> Catalog:
    """The demo catalog, shared read-only by the tests of a session."""
    catalog = Catalog.open(copy_folder(demo_template, tmp_path_factory.mktemp("demo") / "data"))
    yield catalog
    catalog.close()


@pytest.fixture
def fresh_demo(demo_folder) -> Catalog:
    """A private copy of the demo catalog that a test may change."""
    catalog = Catalog.open(demo_folder)
    yield catalog
    catalog.close()


@pytest.fixture
def empty_catalog(tmp_path) -> Catalog:
    folder = tmp_path / "data"
    attach(folder)
    catalog = Catalog.open(folder)
    catalog.index.create()
    yield catalog
    catalog.close()


@pytest.fixture
def new_folder(tmp_path):
    """A data folder for a new, empty catalog: `new_folder("name")`."""

    def make(name: str = "data") -> Path:
        folder = tmp_path / name
        attach(folder)
        return folder

    return make


@pytest.fixture
def merged_demo(fresh_demo) -> Catalog:
    """The demo index after small commits (adding synthetic records, deleting some) until
    Whoosh merged small segments into one it wrote itself. `expected_records` lists the
    records it should hold."""
    from benchmarks.synthetic import synthetic_records

    extra = list(synthetic_records(120, seed=3))
    for record in extra[5::40]:
        record["year"] = None  # the demo catalog has a year for every record
    deleted = {"kk-0010"}
    for n in range(0, 120, 15):
        gone = [f"syn-{n - 12:07d}"] if n else []
        fresh_demo.index.update(extra[n : n + 15], delete_ids=gone)
        deleted.update(gone)
    fresh_demo.index.update([], delete_ids=["kk-0010"])
    fresh_demo.expected_records = [
        r for r in [*fresh_demo.documents(), *extra] if r["id"] not in deleted
    ]
    return fresh_demo
