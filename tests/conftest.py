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
