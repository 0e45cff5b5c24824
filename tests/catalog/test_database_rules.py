"""Rules the database itself enforces, on SQLite and on PostgreSQL: the audit log is
append-only; times are UTC whatever the server's time zone; the feed's positions are
gap-free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from databases import BACKEND
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.catalog import feed, models
from portal.catalog.accounts import add_user
from portal.catalog.catalog import Catalog, DataPaths
from portal.catalog.db import database_url


def test_the_audit_log_refuses_updates_and_deletes(fresh_demo):
    add_user(fresh_demo.engine, "someone", "a long password 1", "admin", None)
    log = models.audit_log
    for statement in (update(log).values(actor="forger"), delete(log)):
        with pytest.raises(DBAPIError, match="append-only"), fresh_demo.engine.begin() as conn:
            conn.execute(statement)
    with fresh_demo.engine.connect() as conn:
        assert conn.execute(select(log.c.actor).where(log.c.actor == "forger")).first() is None


def test_times_are_utc_whatever_the_servers_time_zone(new_folder):
    folder = new_folder("tz")
    url = DataPaths(folder).named_database()
    if BACKEND == "postgresql":  # a server set to Baku's time (UTC+4)
        engine = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Baku'"))
        engine.dispose()
    catalog = Catalog.open(folder)
    try:
        before = datetime.now(UTC)
        catalog.import_files(
            [("one.csv", b"record_id,title,language,library,copies\nt-1,Test,az,SHU,1\n")]
        )
        with catalog.engine.connect() as conn:
            created = conn.execute(
                select(models.records.c.created_at).where(models.records.c.id == "t-1")
            ).scalar_one()
        assert created.tzinfo is not None
        assert before - timedelta(seconds=5) <= created <= datetime.now(UTC) + timedelta(seconds=5)
    finally:
        catalog.close()


def test_feed_positions_are_gap_free_when_a_change_is_rolled_back(fresh_demo):
    with fresh_demo.engine.connect() as conn:
        start = feed.head(conn)

    def fails(conn, touched):
        touched.add("kk-0004")
        feed.append(conn, "test", ["kk-0004"], "test")  # a position taken, then given back
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        fresh_demo.change("test", "test", fails)
    fresh_demo.change("test", "test", lambda conn, touched: touched.add("kk-0004"))
    with fresh_demo.engine.connect() as conn:
        assert feed.head(conn) == start + 1
        assert [c.position for c in feed.since(conn, start)] == [start + 1]
