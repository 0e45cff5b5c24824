"""The database the tests run against: SQLite files (the default), or databases on a
PostgreSQL server when PORTAL_TEST_DATABASE_URL names one (`postgresql://user@host:port/db`;
the database in it is only used to create the tests' own).

A test's data folder names its database in `database.url`, as a node of a shared catalog
does, so the portal's own commands (run as subprocesses) find it too.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.catalog.catalog import DataPaths
from portal.catalog.db import database_url

SERVER = os.environ.get("PORTAL_TEST_DATABASE_URL") or None
BACKEND = "postgresql" if SERVER else "sqlite"
_names = itertools.count()


def _admin():
    return create_engine(database_url(SERVER), isolation_level="AUTOCOMMIT")


def _url_of(name: str) -> str:
    return make_url(database_url(SERVER)).set(database=name).render_as_string(hide_password=False)


def attach(folder: Path, template: str | None = None) -> None:
    """Give a data folder a database of its own (a copy of `template`'s, if named)."""
    folder.mkdir(parents=True, exist_ok=True)
    if SERVER is None:
        return  # SQLite: the file in the folder (copied with it) is its database
    name = f"portal_test_{os.getpid()}_{next(_names)}"
    engine = _admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    engine.dispose()
    DataPaths(folder).database_url_file.write_text(_url_of(name) + "\n")


def database_name(folder: Path) -> str | None:
    url = DataPaths(folder).named_database()
    return make_url(url).database if url else None


def copy_folder(source: Path, target: Path) -> Path:
    """A data folder's copy with a copy of its database."""
    shutil.copytree(source, target, symlinks=True)
    template = database_name(source)
    if template is not None:
        attach(target, template=template)
    return target


def drop_all_test_databases() -> None:
    if SERVER is None:
        return
    engine = _admin()
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
            {"p": f"portal_test_{os.getpid()}_%"},
        ).scalars()
        for name in list(names):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def write_lock_held(folder: Path) -> Iterator[None]:
    """Another process holds the catalog's write lock (as a long import does) until the
    block ends: SQLite's database lock, or PostgreSQL's locks on the tables writes take."""
    url = DataPaths(folder).named_database()
    if url is None:
        holder = sqlite3.connect(DataPaths(folder).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(database_url(url))
    with engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE feed_head, users IN EXCLUSIVE MODE"))
        yield
    engine.dispose()


@contextmanager
def throwaway_postgres() -> Iterator[tuple[str, list[str]]]:
    """A PostgreSQL server of the test's own (Debian's postgresql package, run as the
    `postgres` user when the tests run as root), for a test that restarts its server.
    Yields its URL and the command that restarts it."""
    import socket
    import subprocess
    import tempfile

    bin_dir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="portal-pg-"))  # /tmp: the postgres user reaches it
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "cluster"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        + ["-E", "UTF8", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-w"]
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(folder / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", [*pg_ctl, "-m", "fast", "restart"]
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
