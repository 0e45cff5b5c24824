"""Where the portal's files are once installed: templates, static files and the gettext
catalogs ship inside the package (in the repository, `portal/templates`, `portal/static` and
`portal/locales` are links to the top-level folders), found with importlib.resources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_folder(name: str) -> Path:
    """A folder of package data as a file-system path (wheels install unzipped)."""
    return Path(str(resources.files("portal").joinpath(name)))


TEMPLATES = package_folder("templates")
STATIC = package_folder("static")
LOCALES = package_folder("locales")
