"""Consistent online copies of the catalog with SQLite's backup API, and restoring them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine

PAGES_PER_STEP = 1024


class BackupError(ValueError):
    """The file cannot be used as a catalog backup."""


def backup(engine: Engine, target: Path) -> int:
    """Copy the live catalog into `target` while the portal keeps serving (and writing).

    Returns the size in bytes. The copy is written next to the target and renamed into
    place, so a crash never leaves a half-written backup under the target's name.
    """
    if engine.dialect.name != "sqlite":
        raise BackupError("portal backup copies the embedded SQLite catalog only")
    target = Path(target)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(destination, pages=PAGES_PER_STEP)
        finally:
            destination.close()
    finally:
        raw.close()
    partial.replace(target)
    return target.stat().st_size


def _check_backup(source: Path) -> None:
    if not source.exists():
        raise BackupError(f"{source}: no such file")
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source}: the database is damaged")
            tables = {r[0] for r in connection.execute("select name from sqlite_master")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source}: not an SQLite database ({error})") from None
    # alembic_version: made by this release; schema_migrations: by release 0.1 (migrated on
    # restore).
    migrations = {"alembic_version", "schema_migrations"}
    if not {"records", "holding_events", "holdings"} <= tables or not migrations & tables:
        raise BackupError(f"{source}: not a catalog backup (tables missing)")


def restore(engine: Engine, source: Path) -> None:
    """Replace the catalog's contents with a backup (checked first), in one step."""
    if engine.dialect.name != "sqlite":
        raise BackupError("portal restore writes the embedded SQLite catalog only")
    source = Path(source)
    _check_backup(source)
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        origin.backup(raw.driver_connection)
    finally:
        raw.close()
        origin.close()
    engine.dispose()  # pooled connections may hold pages of the old database
