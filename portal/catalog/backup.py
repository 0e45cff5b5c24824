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


def restore(engine: Engine, source: Path) -> list[dict]:
    """Replace the catalog's contents with a backup (checked first), in one step; returns
    the staff accounts it brought back (name, role, library, disabled), to be reported."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source}: no such file")
    with engine.connect() as conn:
        prior = feed.head(conn)
    if engine.dialect.name == "postgresql":
        accounts = _check_dump(source)
        _drop_unexpected_code(engine)
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
        accounts = _check_sqlite(source)
        _sqlite_restore(engine, source)
    engine.dispose()  # pooled connections may hold pages or plans of the old database
    _after_restore(engine, prior)
    return accounts


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


def _check_sqlite(source: Path) -> list[dict]:
    """A catalog backup made by this portal: readable, undamaged, and with exactly the
    schema its migration revision gives (no table, column, index or trigger added, dropped
    or changed: an edited backup could carry an audit log without its append-only triggers,
    or a trigger of its own). Returns the accounts it holds."""
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source}: the database is damaged")
            found = _sqlite_schema(connection)
            revision = _revision(connection, found)
            accounts = _accounts(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source}: not an SQLite database ({error})") from None
    expected = _expected_schema(revision)
    differences = sorted(
        [f"unexpected {what}" for what in found - expected]
        + [f"missing {what}" for what in expected - found]
    )
    if differences:
        shown = "; ".join(differences[:8]) + (" ..." if len(differences) > 8 else "")
        raise BackupError(f"{source}: not a backup of this catalog's schema ({shown})")
    return accounts


def _sqlite_schema(connection: sqlite3.Connection) -> set[str]:
    """Every table with its columns, every index and every trigger with its SQL."""
    found: set[str] = set()
    objects = connection.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for kind, name, table, sql in objects:
        if kind == "table":
            for column in connection.execute(f'PRAGMA table_info("{name}")'):
                _, col, col_type, notnull, _, pk = column
                found.add(f"column {name}.{col} {col_type.upper()} notnull={notnull} pk={pk}")
            found.add(f"table {name}")
        elif kind == "index":
            found.add(f"index {name} on {table}")
        elif kind == "trigger":
            found.add(f"trigger {name} on {table}: {' '.join((sql or '').split())}")
        else:
            found.add(f"{kind} {name}")
    return found


def _revision(connection: sqlite3.Connection, found: set[str]) -> str:
    if "table alembic_version" in found:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if row:
            return row[0]
    if "table schema_migrations" in found:
        return "release-0.1"
    raise BackupError("not a catalog backup (no migration revision)")


def _accounts(connection: sqlite3.Connection) -> list[dict]:
    rows = connection.execute("SELECT name, role, library, disabled FROM users ORDER BY name")
    return [
        {"name": name, "role": role, "library": library, "disabled": bool(disabled)}
        for name, role, library, disabled in rows
    ]


def _expected_schema(revision: str) -> set[str]:
    """The schema a new SQLite catalog has at a revision (release 0.1's from its dump)."""
    import tempfile

    from portal.catalog.db import open_engine, revisions, sqlite_url

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "expected.sqlite3"
        if revision == "release-0.1":
            connection = sqlite3.connect(path)
            connection.executescript(_release_0_1_schema())
        else:
            if revision not in revisions():
                raise BackupError(f"made by an unknown version (schema revision {revision})")
            engine = open_engine(sqlite_url(path))
            with engine.begin() as conn:
                from alembic import command

                from portal.catalog.db import alembic_config

                command.upgrade(alembic_config(conn), revision)
            engine.dispose()
            connection = sqlite3.connect(path)
        try:
            return _sqlite_schema(connection)
        finally:
            connection.close()


def _release_0_1_schema() -> str:
    from importlib import resources

    return resources.files("portal.catalog.migrations").joinpath("release-0.1.sql").read_text()


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


# What a catalog's dump holds besides its tables (portal/catalog/migrations): the audit log's
# append-only trigger and its function. Anything else of these kinds is refused.
PG_EXTRAS = {
    ("FUNCTION", "audit_log_append_only()"),
    ("TRIGGER", "audit_log audit_log_append_only"),
    ("TRIGGER", "audit_log audit_log_no_truncate"),
}
PG_CHECKED_KINDS = (
    *("TABLE", "FUNCTION", "TRIGGER", "EVENT TRIGGER", "VIEW", "MATERIALIZED VIEW", "RULE"),
    *("POLICY", "PROCEDURE"),
)
PG_DATA_ENTRIES = ("TABLE DATA", "SEQUENCE SET", "BLOB", "BLOBS")  # rows, not schema objects


def _check_dump(source: Path) -> list[dict]:
    """A pg_dump custom-format archive of this catalog: its tables and nothing else of the
    kinds that run code (functions, triggers, rules, views), and the audit log's append-only
    trigger in it. Returns the accounts it holds."""
    if shutil.which("pg_restore") is None:
        _run(["pg_restore"])  # raises the "not found" error
    listed = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise BackupError(f"{source}: not a PostgreSQL catalog backup (pg_dump custom format)")
    found = set()
    for line in listed.stdout.splitlines():
        if line.startswith(";") or not line.strip():
            continue
        # "215; 1259 16390 TABLE public records postgres"
        words = line.split(";", 1)[1].split()
        kind_and_rest = words[2:]
        if any(" ".join(kind_and_rest).startswith(data + " ") for data in PG_DATA_ENTRIES):
            continue
        for kind in PG_CHECKED_KINDS:
            if " ".join(kind_and_rest).startswith(kind + " "):
                rest = kind_and_rest[len(kind.split()) :]
                name = " ".join(rest[1:-1])  # after the schema, before the owner
                found.add((kind, name))
    tables = {("TABLE", name) for name in models.metadata.tables} | {("TABLE", "alembic_version")}
    expected = tables | PG_EXTRAS
    unexpected = sorted(found - expected)
    missing = sorted((expected - found) & (PG_EXTRAS | {("TABLE", t) for t in CATALOG_TABLES}))
    if unexpected or missing:
        shown = "; ".join(
            [f"unexpected {k} {n}" for k, n in unexpected]
            + [f"missing {k} {n}" for k, n in missing]
        )
        raise BackupError(f"{source}: not a backup of this catalog's schema ({shown})")
    return _dump_accounts(source)


# The live database's code objects, as (kind, table or "", name, arguments) rows: a restore
# (`pg_restore --clean`) replaces only what the dump holds, so a trigger planted in the
# database would outlive it.
_LIVE_CODE = """
SELECT 'ROUTINE', '', p.proname, pg_get_function_identity_arguments(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'TRIGGER', c.relname, t.tgname, ''
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND NOT t.tgisinternal
UNION ALL
SELECT CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, '', c.relname, ''
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'RULE', tablename, rulename, '' FROM pg_rules WHERE schemaname = 'public'
UNION ALL
SELECT 'POLICY', tablename, policyname, '' FROM pg_policies WHERE schemaname = 'public'
"""
_EXPECTED_CODE = {
    ("ROUTINE", "", "audit_log_append_only", ""),
    ("TRIGGER", "audit_log", "audit_log_append_only", ""),
    ("TRIGGER", "audit_log", "audit_log_no_truncate", ""),
}


def _drop_unexpected_code(engine: Engine) -> list[str]:
    """Drop every function, trigger, view, rule and policy of the live catalog that no
    migration made (in one transaction); returns what was dropped."""
    dropped = []
    with engine.begin() as conn:
        for kind, table, name, arguments in conn.exec_driver_sql(_LIVE_CODE).all():
            if (kind, table, name, arguments) in _EXPECTED_CODE:
                continue
            target = f"public.{_quoted(name)}"
            if kind == "ROUTINE":
                target += f"({arguments})"  # as pg_get_function_identity_arguments wrote it
            elif table:
                target = f"{_quoted(name)} ON public.{_quoted(table)}"
            conn.exec_driver_sql(f"DROP {kind} IF EXISTS {target} CASCADE")
            dropped.append(f"{kind.lower()} {name}")
    return dropped


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _dump_accounts(source: Path) -> list[dict]:
    data = subprocess.run(
        ["pg_restore", "--data-only", "--table=users", "--file=-", str(source)],
        capture_output=True,
        text=True,
    ).stdout
    accounts, columns, copying = [], [], False
    for line in data.splitlines():
        if line.startswith("COPY ") and " users " in f" {line} ".replace("public.", " "):
            columns = line.split("(", 1)[1].split(")", 1)[0].replace('"', "").split(", ")
            copying = True
        elif copying and line == "\\.":
            break
        elif copying:
            row = dict(zip(columns, line.split("\t"), strict=False))
            accounts.append(
                {
                    "name": row.get("name"),
                    "role": row.get("role"),
                    "library": None if row.get("library") in (None, "\\N") else row["library"],
                    "disabled": row.get("disabled") == "1",
                }
            )
    return sorted(accounts, key=lambda a: a["name"] or "")
