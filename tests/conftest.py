"""Shared fixtures: a real SQLite catalog and Whoosh index in a temporary data folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portal.catalog.catalog import Catalog
from portal.demo import load_demo


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A data folder with the demo catalog loaded, built once and copied per test."""
    folder = tmp_path_factory.mktemp("demo-template")
    catalog = Catalog.open(folder)
    load_demo(catalog)
    catalog.close()
    return folder


@pytest.fixture(scope="session")
def demo_catalog(demo_template) -> Catalog:
    """The demo catalog, shared read-only by the tests of a session."""
    catalog = Catalog.open(demo_template)
    yield catalog
    catalog.close()


@pytest.fixture
def fresh_demo(demo_template, tmp_path) -> Catalog:
    """A private copy of the demo catalog that a test may change."""
    folder = tmp_path / "data"
    shutil.copytree(demo_template, folder, symlinks=True)
    catalog = Catalog.open(folder)
    yield catalog
    catalog.close()


@pytest.fixture
def empty_catalog(tmp_path) -> Catalog:
    catalog = Catalog.open(tmp_path / "data")
    catalog.index.create()
    yield catalog
    catalog.close()


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
