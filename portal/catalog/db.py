"""Opening the catalog database and bringing its schema up to date.

SQLite is the embedded default (WAL mode, foreign keys on, a busy timeout so that several
server processes and a CLI import can share one file); any SQLAlchemy URL can take its place.
The schema is changed by Alembic migrations (portal/catalog/migrations), run in one
transaction together with the reference data they need.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from portal.catalog import reference
from portal.errors import Busy, msg

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = "portal.catalog:migrations"
RELEASE_0_1 = "0001"  # the revision a database made by release 0.1 is at
MIGRATION_LOCK = 0x6B617261  # PostgreSQL advisory lock: one node migrates at a time


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # A write transaction takes the write lock at BEGIN, so two writers queue up (busy
    # timeout) instead of one failing halfway; readers never block in WAL mode.
    if conn.get_execution_options().get("write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


# How long a staff action waits for another writer (a long import) before answering "busy,
# try again": a person is waiting, and the request holds one of a worker's few threads.
STAFF_WAIT_SECONDS = 5.0


@contextmanager
def writing(engine: Engine, wait_seconds: float | None = None) -> Iterator[Connection]:
    """One write transaction: committed if the block ends normally, rolled back otherwise.

    `wait_seconds` bounds the wait for another writer's lock; past it, Busy is raised and
    nothing was written (without it, the database's own busy timeout applies)."""
    with engine.connect().execution_options(write=True) as conn:
        if wait_seconds is not None and engine.dialect.name == "sqlite":
            _sqlite_busy_timeout(conn, int(wait_seconds * 1000))
        try:
            with conn.begin():
                if wait_seconds is not None and engine.dialect.name == "postgresql":
                    ms = int(wait_seconds * 1000)
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                yield conn
        except OperationalError as error:
            if _is_lock_wait(error):
                raise Busy(
                    msg(
                        "The catalog is busy with another change; nothing was saved. "
                        "Try again in a moment."
                    )
                ) from error
            raise
        finally:
            if wait_seconds is not None and engine.dialect.name == "sqlite":
                _sqlite_busy_timeout(conn, BUSY_TIMEOUT_MS)


def _sqlite_busy_timeout(conn: Connection, milliseconds: int) -> None:
    # On the driver's connection: a statement through SQLAlchemy would begin a transaction.
    conn.connection.driver_connection.execute(f"PRAGMA busy_timeout={milliseconds}")


def _is_lock_wait(error: OperationalError) -> bool:
    """SQLite's busy timeout, or PostgreSQL's lock_timeout (SQLSTATE 55P03)."""
    text_ = str(error.orig).lower()
    return (
        "database is locked" in text_
        or getattr(error.orig, "sqlstate", None) == "55P03"
        or "lock timeout" in text_
    )


def _retryable(error: DBAPIError) -> bool:
    """A transaction that lost a race: a unique key another transaction just took, a
    PostgreSQL serialization failure or deadlock. Running it again decides it."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in ("40001", "40P01")


RETRIES = 4


def retrying(run: Callable[[], T]) -> T:
    """`run()` (one whole transaction) again when it lost a race, a few times."""
    for attempt in range(RETRIES):
        try:
            return run()
        except DBAPIError as error:
            if attempt == RETRIES - 1 or not _retryable(error):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def database_url(url: str) -> str:
    """A URL as SQLAlchemy takes it: `postgresql://` means psycopg 3, the driver the portal
    installs (`pip install -e '.[postgres]'`), not SQLAlchemy's default psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_engine(url: str) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # A server restart drops pooled connections: test each before use, and say UTC.
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"}, pool_size=8
    )


def upsert(conn: Connection, table):
    """An INSERT that can say what to do ON CONFLICT (SQLite and PostgreSQL both speak it)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one state of the catalog throughout (a long rebuild
    reads its records and the feed position at the same moment)."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


# --- migrations ---------------------------------------------------------------------------


def alembic_config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = conn
    return config


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _made_by_release_0_1(conn: Connection) -> bool:
    """Release 0.1 kept its own numbered migrations in `schema_migrations` (1 to 3)."""
    if not inspect(conn).has_table("schema_migrations"):
        return False
    return conn.execute(text("SELECT max(version) FROM schema_migrations")).scalar() == 3


def migrate(engine: Engine, target: str = "head") -> list[str]:
    """Bring the schema to `target` and the reference data up to date, in one transaction;
    returns the revisions applied now. Several processes starting at once take turns (the
    write lock on SQLite, an advisory lock on PostgreSQL)."""
    if target == "head":
        with engine.connect() as conn:  # most starts have nothing to do: no write lock
            if current_revision(conn) == revisions()[-1] and not reference.pending(conn):
                return []
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(conn)
        before = current_revision(conn)
        if before is None and _made_by_release_0_1(conn):
            command.stamp(config, RELEASE_0_1)
            before = RELEASE_0_1
        command.upgrade(config, target)
        after = current_revision(conn)
        if after == revisions()[-1]:
            reference.sync(conn)
    order = revisions()
    start = order.index(before) + 1 if before else 0
    return order[start : order.index(after) + 1] if after else []
