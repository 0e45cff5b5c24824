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
