"""Frozen migrations: an empty database goes through every revision to exactly the tables of
portal/catalog/models.py, and a database made by release 0.1 upgrades with nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from portal.catalog import accounts, models
from portal.catalog.catalog import Catalog
from portal.catalog.db import current_revision, migrate, open_engine, revisions, sqlite_url

RELEASE_0_1 = Path(__file__).resolve().parent.parent / "fixtures" / "release-0.1" / "catalog.sql"


def schema_differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), models.metadata)


def test_every_revision_in_turn_ends_at_the_models(tmp_path):
    engine = open_engine(sqlite_url(tmp_path / "catalog.sqlite3"))
    order = revisions()
    assert order[0] == "0001" and len(order) >= 2
    for revision in order:
        applied = migrate(engine, target=revision)
        assert applied == [revision]
        with engine.connect() as conn:
            assert current_revision(conn) == revision
    assert schema_differences(engine) == []
    assert migrate(engine) == []  # nothing left to do
    engine.dispose()


def test_migrations_do_not_read_the_models(tmp_path):
    """A revision is explicit DDL: it must not create tables from today's models (the bug
    that broke fresh installs as soon as a later revision added a column)."""
    folder = Path(__file__).resolve().parents[2] / "portal" / "catalog" / "migrations" / "versions"
    for path in folder.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "create_all" not in source and "models" not in source, path.name


def test_empty_catalog_has_reference_data_in_every_language(tmp_path):
    catalog = Catalog.open(tmp_path / "data")
    try:
        assert len(catalog.libraries()) == 11
        shusha = next(row for row in catalog.libraries() if row["code"] == "SHU")
        assert set(shusha["names"]) == {"az", "kk", "tr", "ru", "en"}
        assert shusha["names"]["az"] == "Şuşa rayon Mərkəzi Kitabxanası"
    finally:
        catalog.close()


@pytest.fixture
def release_0_1_database(tmp_path) -> Path:
    path = tmp_path / "data" / "catalog.sqlite3"
    path.parent.mkdir()
    connection = sqlite3.connect(path)
    connection.executescript(RELEASE_0_1.read_text(encoding="utf-8"))
    connection.close()
    return path


def test_a_release_0_1_database_upgrades_with_nothing_lost(release_0_1_database):
    before = sqlite3.connect(release_0_1_database)
    old_names = dict(before.execute("SELECT code, name_ru FROM libraries"))
    old_counts = [
        before.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("records", "holding_events", "holdings", "users", "audit_log")
    ]
    before.close()
    catalog = Catalog.open(release_0_1_database.parent)
    try:
        engine = catalog.engine
        with engine.connect() as conn:
            assert current_revision(conn) == revisions()[-1]
            assert not inspect(conn).has_table("schema_migrations")
            counts = [
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (
                    models.records,
                    models.holding_events,
                    models.holdings,
                    models.users,
                    models.audit_log,
                )
            ]
            triggers = set(
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                .scalars()
                .all()
            )
        assert counts == old_counts
        assert {"audit_log_no_update", "audit_log_no_delete"} <= triggers
        assert {row["code"]: row["names"]["ru"] for row in catalog.libraries()} == old_names
        assert schema_differences(engine) == []
        # accounts made by release 0.1 still sign in
        user = accounts.authenticate(engine, "coord", "a long password 1")
        assert user.role == "coordinator"
        # and the upgraded catalog imports and indexes like a new one
        catalog.rebuild_index()
        assert catalog.index.doc_count() == counts[0]
    finally:
        catalog.close()


def test_two_processes_starting_at_once_migrate_once(tmp_path):
    """Several server workers start on an empty data folder together: one migrates, the
    others wait for it and find nothing left to do."""
    import threading

    url = sqlite_url(tmp_path / "catalog.sqlite3")
    results, errors = [], []

    def start() -> None:
        engine = open_engine(url)
        try:
            results.append(migrate(engine))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(applied) for applied in results) == [0, 0, 0, len(revisions())]
