"""Consistent online copies of the catalog, and restoring them.

SQLite: SQLite's backup API, a page-by-page copy of the live database file. PostgreSQL:
`pg_dump` in its custom format (a consistent snapshot while the portal serves) and
`pg_restore` into the same database, in one transaction. Either way the copy is written
beside the target and renamed into place, so a crash never leaves a half-written backup
under the target's name.

After a restore the catalog is older than every node's index: the feed is moved past the
position any node has seen, with a change that asks every node to rebuild.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, update

from portal.catalog import feed, models
from portal.catalog.db import writing

PAGES_PER_STEP = 1024
CATALOG_TABLES = {"records", "holding_events", "holdings"}


class BackupError(ValueError):
    """The file cannot be used as a catalog backup, or a tool it needs is missing."""


def backup(engine: Engine, target: Path) -> int:
    """Copy the live catalog into `target` while the portal keeps serving (and writing);
    returns the size in bytes."""
    target = Path(target)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    if engine.dialect.name == "postgresql":
        _run(["pg_dump", "--format=custom", f"--file={partial}", _libpq_url(engine)])
    else:
        _sqlite_backup(engine, partial)
    os.chmod(partial, 0o600)  # accounts and their password hashes are in it
    partial.replace(target)
    return target.stat().st_size


def restore(engine: Engine, source: Path) -> None:
    """Replace the catalog's contents with a backup (checked first), in one step."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source}: no such file")
    with engine.connect() as conn:
        prior = feed.head(conn)
    if engine.dialect.name == "postgresql":
        _check_dump(source)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(engine)}",
                str(source),
            ]
        )
    else:
        _check_sqlite(source)
        _sqlite_restore(engine, source)
    engine.dispose()  # pooled connections may hold pages or plans of the old database
    _after_restore(engine, prior)


def _after_restore(engine: Engine, prior: int) -> None:
    """Move the feed past every position a node may have applied, with a change that
    rebuilds every node's index (the restored catalog's own feed is older than theirs)."""
    from portal.catalog.db import migrate

    migrate(engine)  # a backup made by an older version
    with writing(engine) as conn:
        head = models.feed_head
        conn.execute(update(head).where(head.c.position < prior).values(position=prior))
        feed.append(conn, "restore", None, "portal restore")


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_backup(engine: Engine, partial: Path) -> None:
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(destination, pages=PAGES_PER_STEP)
        finally:
            destination.close()
    finally:
        raw.close()


def _check_sqlite(source: Path) -> None:
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
    if not tables >= CATALOG_TABLES or not migrations & tables:
        raise BackupError(f"{source}: not a catalog backup (tables missing)")


def _sqlite_restore(engine: Engine, source: Path) -> None:
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        origin.backup(raw.driver_connection)
    finally:
        raw.close()
        origin.close()


# --- PostgreSQL -------------------------------------------------------------------------------


def _libpq_url(engine: Engine) -> str:
    """The database URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} not found: install PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client)"
        )
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(f"{command[0]}: {reason}")


def _check_dump(source: Path) -> None:
    """A pg_dump custom-format archive with the catalog's tables in it."""
    if shutil.which("pg_restore") is None:
        _run(["pg_restore"])  # raises the "not found" error
    listed = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise BackupError(f"{source}: not a PostgreSQL catalog backup (pg_dump custom format)")
    tables = {
        line.split()[-2]
        for line in listed.stdout.splitlines()
        if " TABLE DATA " in line and len(line.split()) >= 2
    }
    if not tables >= CATALOG_TABLES or "alembic_version" not in tables:
        raise BackupError(f"{source}: not a catalog backup (tables missing)")
