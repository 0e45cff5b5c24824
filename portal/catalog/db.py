"""Opening the catalog database and bringing its schema up to date.

SQLite is the embedded default (WAL mode, foreign keys on, a busy timeout so that several
server processes and a CLI import can share one file); any SQLAlchemy URL can take its place.
Migrations are numbered functions applied in order inside one transaction each, and recorded
in `schema_migrations`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, insert, select

from portal.catalog import models, reference

BUSY_TIMEOUT_MS = 30_000


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


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed if the block ends normally, rolled back otherwise."""
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        yield conn


def open_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


# --- migrations ---------------------------------------------------------------------------


INITIAL_TABLES = (
    "districts",
    "libraries",
    "donors",
    "records",
    "import_batches",
    "holding_events",
    "holdings",
)


def _m001_initial(conn: Connection) -> None:
    # Migration 1 is frozen at the tables it first created; later tables have their own.
    models.metadata.create_all(conn, tables=[models.metadata.tables[n] for n in INITIAL_TABLES])


def _m002_reference_data(conn: Connection) -> None:
    reference.seed(conn)


def _m003_users_and_audit(conn: Connection) -> None:
    models.users.create(conn)
    models.audit_log.create(conn)
    # The audit log is append-only in the database too, not only in the portal's code.
    if conn.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial tables", _m001_initial),
    (2, "reference libraries, districts and donors", _m002_reference_data),
    (3, "users and the audit log", _m003_users_and_audit),
]


def current_version(conn: Connection) -> int:
    models.schema_migrations.create(conn, checkfirst=True)
    versions = conn.execute(select(models.schema_migrations.c.version)).scalars().all()
    return max(versions, default=0)


def migrate(engine: Engine) -> list[int]:
    """Apply every migration not yet applied; returns the versions applied now."""
    applied = []
    for version, name, step in MIGRATIONS:
        with writing(engine) as conn:
            if current_version(conn) >= version:
                continue
            step(conn)
            conn.execute(
                insert(models.schema_migrations).values(
                    version=version, name=name, applied_at=datetime.now(UTC)
                )
            )
            applied.append(version)
    return applied
