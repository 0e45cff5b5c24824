"""The bundled demo catalog: real books donated to the Karabakh libraries, as Catalog CSV v1."""

from __future__ import annotations

from importlib import resources

from portal.catalog.catalog import Catalog
from portal.catalog.imports import ImportReport

DEMO_PACKAGE = "portal.data.demo"


def demo_files() -> list[tuple[str, bytes]]:
    folder = resources.files(DEMO_PACKAGE)
    return sorted(
        (f"demo/{entry.name}", entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".csv")
    )


def load_demo(catalog: Catalog) -> ImportReport:
    return catalog.import_files(demo_files(), actor="demo")
