"""The hostile review's findings, one test (or more) each, numbered as in docs/security.md.

Findings about time (slow queries, sign-in floods, writes waiting on an import, heavy pages)
are measured by benchmarks/hostile.py; the tests here pin the behaviour behind them.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import uvicorn
from databases import BACKEND
from servers import ROOT, serving
from sqlalchemy import select, update
from staffing import PASSWORD, RECORD, client_for, holding_form, token_of, version_of
from starlette.testclient import TestClient

from index import SearchRequest
from portal.catalog import accounts, models, staff
from portal.catalog.accounts import add_user
from portal.catalog.backup import BackupError, backup, restore
from portal.catalog.catalog import Catalog
from portal.catalog.check import check
from portal.catalog.db import sqlite_url
from portal.config import Settings
from portal.web import server
from portal.web.app import create_app


def edit_form(client, record=RECORD):
    page = client.get(f"/en/staff/records/{record}/edit")
    assert page.status_code == 200, page.text
    return {"csrf_token": token_of(page.text), "version": version_of(page.text)}


def record_row(catalog, record=RECORD) -> dict:
    with catalog.engine.connect() as conn:
        return dict(
            conn.execute(select(models.records).where(models.records.c.id == record))
            .mappings()
            .one()
        )


def all_ids(catalog) -> list[str]:
    with catalog.engine.connect() as conn:
        return sorted(conn.execute(select(models.records.c.id)).scalars())


def empty_catalog_in(new_folder, name: str) -> Catalog:
    return Catalog.open(new_folder(name))


def contents(records: dict[str, dict]) -> dict[str, dict]:
    """Records without what the catalog keeps about them (times, the edit version)."""
    times = ("created_at", "updated_at", "changed_at", "version")
    return {i: {k: v for k, v in r.items() if k not in times} for i, r in records.items()}


def found(catalog, text_query: str, record=RECORD) -> bool:
    result = catalog.index.search(SearchRequest(text=text_query, per_page=50, facets=False))
    return record in [hit.id for hit in result.hits]


# --- 1. One edit poisons the index ----------------------------------------------------------


@pytest.mark.parametrize("year", ["2147483648", "-5", "99999", "12345678901234567890", "1e3"])
def test_a_web_edit_refuses_a_year_an_import_refuses(staff_app, fresh_demo, year):
    coord = client_for(staff_app, "coord")
    before = record_row(fresh_demo)
    answer = coord.post(f"/en/staff/records/{RECORD}/edit", data={**edit_form(coord), "year": year})
    assert answer.status_code == 400
    assert "not a year between" in answer.text
    assert record_row(fresh_demo) == before


def test_an_index_failure_never_turns_a_saved_change_into_an_error(staff_app, fresh_demo):
    shu = client_for(staff_app, "shu")
    _, (token, version) = holding_form(shu)
    apply = fresh_demo.index.apply

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    fresh_demo.index.apply = full_disk
    try:
        answer = shu.post(
            f"/en/staff/holdings/{RECORD}/SHU/receive",
            data={"copies": "2", "version": version, "csrf_token": token},
        )
    finally:
        fresh_demo.index.apply = apply
    assert answer.status_code == 303  # saved: the librarian is not told otherwise
    assert fresh_demo.index_behind is not None
    assert {h["library"]: h["copies"] for h in fresh_demo.holdings([RECORD])[RECORD]}["SHU"] == 11
    fresh_demo.follow()  # what the node's follower does next
    assert fresh_demo.index_behind is None


def test_impossible_years_from_old_data_do_not_stop_indexing_or_checking(fresh_demo):
    with fresh_demo.engine.begin() as conn:  # as a catalog written before years were checked
        conn.execute(update(models.records).where(models.records.c.id == RECORD).values(year=99999))
        conn.execute(update(models.records).where(models.records.c.id == "kk-0004").values(year=-5))
    assert fresh_demo.rebuild_index() == fresh_demo.record_count()
    assert found(fresh_demo, "Көксерек")
    report = check(fresh_demo)
    assert report.head >= 0
    result = fresh_demo.index.search(SearchRequest(year_from=1400, year_to=2100, per_page=1))
    assert result.total == fresh_demo.record_count() - 2 - _without_year(fresh_demo)


def _without_year(catalog) -> int:
    with catalog.engine.connect() as conn:
        return (
            conn.execute(select(models.records.c.id).where(models.records.c.year.is_(None)))
            .all()
            .__len__()
        )


# --- 4. Sessions survive sign-out and password change --------------------------------------


def copied_session(staff_app, name="shu"):
    client = client_for(staff_app, name)
    copy = TestClient(staff_app, follow_redirects=False, cookies=dict(client.cookies))
    assert copy.get("/en/staff/libraries/SHU").status_code == 200
    return client, copy


def test_a_copied_cookie_stops_working_at_sign_out(staff_app):
    client, copy = copied_session(staff_app)
    assert client.post("/en/staff/sign-out", data={"csrf_token": client.token}).status_code == 303
    assert copy.get("/en/staff/libraries/SHU").status_code == 303  # to the sign-in page


def test_a_password_change_ends_every_session(staff_app, fresh_demo):
    _, copy = copied_session(staff_app)
    accounts.set_password(fresh_demo.engine, "shu", "a wholly different passphrase 42")
    assert copy.get("/en/staff/libraries/SHU").status_code == 303


def test_disabling_ends_every_session(staff_app, fresh_demo):
    _, copy = copied_session(staff_app)
    accounts.disable_user(fresh_demo.engine, "shu")
    assert copy.get("/en/staff/libraries/SHU").status_code == 303


def test_the_cookie_names_no_user(staff_app, fresh_demo):
    import base64

    client = client_for(staff_app, "shu")
    cookie = client.cookies.get("portal_session") or next(iter(client.cookies.values()))
    payload = base64.urlsafe_b64decode(cookie.split(".")[0] + "==")
    user = accounts.authenticate(fresh_demo.engine, "shu", PASSWORD, "elsewhere")
    assert b"user" not in payload and str(user.id).encode() + b"," not in payload


# --- 7. Bodies read before the checks --------------------------------------------------------


def raw_request(base: str, head: str, chunks, read_after: int | None = None) -> bytes:
    """Send a chunked request a piece at a time; return what the server answered (it may
    answer, and close, before every chunk is sent)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head.encode())
        try:
            for number, chunk in enumerate(chunks):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                if read_after is not None and number == read_after:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


@pytest.fixture(scope="module")
def served_demo(demo_template, tmp_path_factory):
    from databases import copy_folder

    folder = tmp_path_factory.mktemp("served") / "data"
    copy_folder(demo_template, folder)
    with serving(folder) as base:
        yield base


def test_an_upload_without_a_session_is_refused_before_its_body_is_read(served_demo):
    head = (
        "POST /en/staff/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    started = time.monotonic()
    # Only the first 64 KB of a would-be 2,000 MB body is sent; the answer must not wait for more.
    answer = raw_request(served_demo, head, iter(lambda: b"x" * 65536, None), read_after=0)
    assert answer.split(b" ")[1] in (b"303", b"401", b"403"), answer[:200]
    assert time.monotonic() - started < 10


def test_a_body_without_a_session_is_refused_before_it_is_read(served_demo):
    head = (
        "POST /en/staff/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer = raw_request(served_demo, head, iter(lambda: b"a" * 65536, None), read_after=0)
    assert answer.split(b" ")[1] == b"403", answer[:300]


def session_cookie(base: str) -> str:
    import urllib.request

    with urllib.request.urlopen(base + "/en/staff/sign-in") as page:
        return page.headers["set-cookie"].split(";")[0]


def test_a_chunked_body_over_the_limit_gets_413(served_demo):
    head = (
        "POST /en/staff/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {session_cookie(served_demo)}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    # Fields each within the per-field limit, together over the body limit.
    fields = (b"f%d=%s&" % (n, b"a" * 60_000) for n in range(64))
    answer = raw_request(served_demo, head, fields)
    assert answer.split(b" ")[1] == b"413", answer[:200]


# --- 10. Bad coordinates and kinds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("latitude", "nan"), ("latitude", "1e999"), ("latitude", "1000"), ("longitude", "-inf")],
)
def test_impossible_coordinates_are_refused(staff_app, fresh_demo, field, value):
    coord = client_for(staff_app, "coord")
    page = coord.get("/en/staff/library-settings/SHU")
    answer = coord.post(
        "/en/staff/library-settings/SHU", data={"csrf_token": token_of(page.text), field: value}
    )
    assert answer.status_code == 400 and "must be a number from" in answer.text
    assert TestClient(staff_app).get("/api/v1/libraries").status_code == 200


def test_a_free_text_library_kind_is_refused(staff_app):
    coord = client_for(staff_app, "coord")
    page = coord.get("/en/staff/library-settings/SHU")
    answer = coord.post(
        "/en/staff/library-settings/SHU",
        data={"csrf_token": token_of(page.text), "kind": "<b>casino</b>"},
    )
    assert answer.status_code == 400 and "Kind must be one of" in answer.text


# --- 11. Formula injection in exports --------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1:A2)", "'=already quoted"]


def set_titles(catalog, titles: dict[str, str]) -> None:
    with catalog.engine.begin() as conn:
        for record_id, title in titles.items():
            conn.execute(
                update(models.records).where(models.records.c.id == record_id).values(title=title)
            )


def test_exports_neutralise_formulas_and_an_import_carries_them_back(fresh_demo, new_folder):
    ids = all_ids(fresh_demo)[: len(FORMULAS)]
    titles = dict(zip(ids, FORMULAS, strict=True))
    set_titles(fresh_demo, titles)
    exported = fresh_demo.export_csv()
    cells = [row["title"] for row in csv.DictReader(io.StringIO(exported))]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    empty = empty_catalog_in(new_folder, "reimport")
    empty.import_files([("export.csv", exported.encode())])
    assert {i: r["title"] for i, r in empty.records(ids).items()} == titles
    empty.close()


def test_the_staff_download_neutralises_formulas(staff_app, fresh_demo):
    set_titles(fresh_demo, {RECORD: "=cmd|' /C calc'!A0"})
    shu = client_for(staff_app, "shu")
    download = shu.get("/en/staff/libraries/SHU/export.csv")
    assert download.status_code == 200
    assert "'=cmd|' /C calc'!A0" in download.text


# --- 12. Restore trusts the file -------------------------------------------------------------


@pytest.fixture
def sqlite_backup(tmp_path):
    """A small SQLite catalog and a backup of it (restore checks SQLite files itself;
    PostgreSQL dumps are checked by their table of contents)."""
    folder = tmp_path / "catalog"
    catalog = Catalog.open(folder, sqlite_url(folder / "catalog.sqlite3"))
    add_user(catalog.engine, "coord", PASSWORD, "coordinator", None)
    target = tmp_path / "catalog.backup"
    backup(catalog.engine, target)
    yield catalog, target
    catalog.close()


def edit_backup(path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(";\n".join(statements))
    connection.commit()
    connection.close()


@pytest.mark.parametrize(
    "edit",
    [
        "DROP TRIGGER audit_log_no_update",
        "CREATE TRIGGER spy AFTER INSERT ON users BEGIN DELETE FROM audit_log; END",
        "CREATE TABLE extra (x)",
        "CREATE INDEX ix_extra ON users (role)",
    ],
)
def test_restore_refuses_an_edited_schema(sqlite_backup, edit):
    catalog, target = sqlite_backup
    edit_backup(target, edit)
    with pytest.raises(BackupError, match="not a backup of this catalog's schema"):
        restore(catalog.engine, target)


@pytest.mark.skipif(BACKEND != "postgresql", reason="a pg_dump archive needs the PostgreSQL run")
def test_restore_refuses_a_dump_with_code_it_does_not_expect(fresh_demo, tmp_path):
    good = tmp_path / "good.dump"
    backup(fresh_demo.engine, good)
    with fresh_demo.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION spy() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN DELETE FROM audit_log; RETURN NEW; END'"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER spy AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION spy()"
        )
        conn.exec_driver_sql("CREATE VIEW peek AS SELECT name, password_hash FROM users")
        conn.exec_driver_sql("CREATE RULE hush AS ON DELETE TO audit_log DO INSTEAD NOTHING")
        conn.exec_driver_sql("CREATE POLICY open_all ON users USING (true)")
    edited = tmp_path / "edited.dump"
    backup(fresh_demo.engine, edited)
    with pytest.raises(BackupError, match="unexpected FUNCTION spy"):
        restore(fresh_demo.engine, edited)
    restore(fresh_demo.engine, good)  # the good one restores, and what was planted is gone
    with fresh_demo.engine.connect() as conn:
        for probe in (
            "SELECT count(*) FROM pg_proc WHERE proname = 'spy'",
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'spy'",
            "SELECT count(*) FROM pg_views WHERE viewname = 'peek'",
            "SELECT count(*) FROM pg_rules WHERE rulename = 'hush'",
            "SELECT count(*) FROM pg_policies WHERE policyname = 'open_all'",
        ):
            assert conn.exec_driver_sql(probe).scalar_one() == 0, probe
        kept = "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_log_append_only'"
        assert conn.exec_driver_sql(kept).scalar_one() == 1


def test_restore_reports_the_accounts_it_brings_back(sqlite_backup):
    catalog, target = sqlite_backup
    intruder = accounts._hasher.hash("anything at all, really")
    edit_backup(
        target,
        "INSERT INTO users (name, password_hash, role, library, disabled, created_at) "
        f"VALUES ('mallory', '{intruder}', 'admin', NULL, 0, '2026-01-01 00:00:00')",
    )
    brought = restore(catalog.engine, target)
    assert {"name": "mallory", "role": "admin", "library": None, "disabled": False} in brought
    assert {a["name"] for a in brought} == {"coord", "mallory"}


def test_backups_and_the_catalog_file_are_private(sqlite_backup, tmp_path):
    _, target = sqlite_backup
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "catalog" / "catalog.sqlite3").stat().st_mode) == 0o600


def test_the_restore_command_prints_the_accounts(sqlite_backup, tmp_path):
    catalog, target = sqlite_backup
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(tmp_path / "catalog"),
        "PORTAL_DATABASE_URL": sqlite_url(tmp_path / "catalog" / "catalog.sqlite3"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "portal", "restore", str(target)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "account from the backup: coord (coordinator, active)" in done.stdout


# --- 13. Dates and control characters --------------------------------------------------------


def test_a_future_receipt_date_is_refused_from_the_web(staff_app, fresh_demo):
    shu = client_for(staff_app, "shu")
    _, (token, version) = holding_form(shu)
    before = fresh_demo.holdings([RECORD])[RECORD]
    for day in ("9999-12-31", (date.today() + timedelta(days=2)).isoformat()):
        answer = shu.post(
            f"/en/staff/holdings/{RECORD}/SHU/receive",
            data={"copies": "1", "received_on": day, "version": version, "csrf_token": token},
        )
        assert answer.status_code == 400 and "future" in answer.text
    assert fresh_demo.holdings([RECORD])[RECORD] == before


def test_control_characters_never_reach_a_record_or_a_feed(staff_app, fresh_demo):
    coord = client_for(staff_app, "coord")
    answer = coord.post(
        f"/en/staff/records/{RECORD}/edit",
        data={**edit_form(coord), "title": "Kök\x00ser\x01ek\x1b"},
    )
    assert answer.status_code == 303
    assert record_row(fresh_demo)["title"] == "Kökserek"
    # Written long ago (PostgreSQL cannot store NUL at all; SQLite can).
    old = "Old\x00data\x0b from before" if BACKEND == "sqlite" else "Old\x01data\x0b from before"
    set_titles(fresh_demo, {"kk-0004": old})
    reader = TestClient(staff_app)
    for url in ("/en/feed.atom", "/en/libraries/SHU/feed.atom", "/en/search.atom?q=data"):
        answer = reader.get(url)
        assert answer.status_code == 200
        ET.fromstring(answer.content)  # well-formed


# --- 14. Per-library export after a transfer -------------------------------------------------


def test_a_library_export_lists_what_it_holds_now(staff_app, fresh_demo):
    shu = client_for(staff_app, "shu")
    _, (token, version) = holding_form(shu)
    shu.post(
        f"/en/staff/holdings/{RECORD}/SHU/transfer",
        data={"copies": "2", "target": "LAC", "version": version, "csrf_token": token},
    )
    coord = client_for(staff_app, "coord")

    def copies_in(library):
        rows = csv.DictReader(
            io.StringIO(coord.get(f"/en/staff/libraries/{library}/export.csv").text)
        )
        return sum(int(r["copies"]) for r in rows if r["record_id"] == RECORD)

    assert copies_in("SHU") == 7
    assert (
        copies_in("LAC")
        == {h["library"]: h["copies"] for h in fresh_demo.holdings([RECORD])[RECORD]}["LAC"]
    )
    assert copies_in("LAC") >= 2


# --- 15. Healing without `portal check` ------------------------------------------------------


def commit_behind_the_index(catalog, record_id: str, title: str) -> None:
    """A change committed by a process killed before it updated the index."""
    from portal.catalog import feed

    with catalog.engine.begin() as conn:
        conn.execute(
            update(models.records).where(models.records.c.id == record_id).values(title=title)
        )
        feed.append(conn, "record.update", {record_id}, "killed")


def test_a_serving_node_catches_up_by_itself(demo_folder, monkeypatch):
    monkeypatch.setenv("PORTAL_DATA_DIR", str(demo_folder))
    writer = Catalog.open(demo_folder)  # another process's connection to the catalog
    commit_behind_the_index(writer, RECORD, "Qwertyzz Before Start")

    def shown(reader, word: str, record: str) -> None:
        deadline = time.monotonic() + 15
        while record not in reader.get("/api/v1/search", params={"q": word}).text:
            assert time.monotonic() < deadline, f"{record} not caught up"
            time.sleep(0.2)

    with TestClient(create_app()) as reader:
        shown(reader, "Qwertyzz", RECORD)  # on start
        commit_behind_the_index(writer, "kk-0004", "Zxcvbnn While Serving")
        shown(reader, "Zxcvbnn", "kk-0004")  # while serving
    writer.close()


# --- 17. Accounts ----------------------------------------------------------------------------


@pytest.mark.parametrize("password", [" " * 10, "password123", "shu-shu-shu", "karabakh2021"])
def test_weak_passwords_are_refused(fresh_demo, password):
    with pytest.raises(accounts.AccountError):
        add_user(fresh_demo.engine, "shu", password, "librarian", "SHU")


def test_an_account_is_enabled_again_from_the_web_and_the_command(staff_app, fresh_demo, tmp_path):
    admin = client_for(staff_app, "admin")
    page = admin.get("/en/staff/users")
    token = token_of(page.text)
    assert (
        admin.post("/en/staff/users/disable", data={"csrf_token": token, "name": "shu"}).status_code
        == 303
    )
    assert "Enable" in admin.get("/en/staff/users").text
    with pytest.raises(accounts.SignInRefused):
        accounts.authenticate(fresh_demo.engine, "shu", PASSWORD, "10.1.1.1")
    assert (
        admin.post("/en/staff/users/enable", data={"csrf_token": token, "name": "shu"}).status_code
        == 303
    )
    assert accounts.authenticate(fresh_demo.engine, "shu", PASSWORD, "10.1.1.1").name == "shu"
    shu = client_for(staff_app, "shu")  # a librarian may not
    assert (
        shu.post(
            "/en/staff/users/enable", data={"csrf_token": shu.token, "name": "lac"}
        ).status_code
        == 403
    )


def test_the_user_command_enables_an_account(demo_folder):
    env = {**os.environ, "PORTAL_DATA_DIR": str(demo_folder)}

    def portal(*args, stdin=""):
        return subprocess.run(
            [sys.executable, "-m", "portal", "user", *args],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert portal("add", "guli", "--role", "coordinator", stdin=PASSWORD + "\n").returncode == 0
    assert portal("disable", "guli").returncode == 0
    again = portal("add", "guli", "--role", "coordinator", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "portal user enable guli" in again.stderr
    assert portal("enable", "guli").stdout.strip() == "enabled guli"
    assert "guli\tcoordinator\t-\tactive" in portal("list").stdout


# --- 18. Heavy pages -------------------------------------------------------------------------


def test_campaign_figures_are_computed_once_per_catalog_change(fresh_demo, monkeypatch):
    computed = []
    compute = fresh_demo._campaign_figures
    monkeypatch.setattr(fresh_demo, "_campaign_figures", lambda: computed.append(1) or compute())
    first = fresh_demo.campaign_figures()
    assert fresh_demo.campaign_figures() == first and len(computed) == 1
    add_user(fresh_demo.engine, "coord2", PASSWORD, "coordinator", None)
    user = accounts.authenticate(fresh_demo.engine, "coord2", PASSWORD)
    _, _, version = staff.holding(fresh_demo, user, RECORD, "SHU")
    staff.receive(fresh_demo, user, RECORD, "SHU", 5, version)
    after = fresh_demo.campaign_figures()
    assert len(computed) == 2
    assert sum(n for _, n in after["library"]) == sum(n for _, n in first["library"]) + 5


# --- 19. Small leaks -------------------------------------------------------------------------


def test_a_414_carries_the_security_headers(staff_app):
    answer = TestClient(staff_app).get("/en/search?q=" + "a" * 20_000)
    assert answer.status_code == 414
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_staff_pages_and_downloads_are_not_cached(staff_app):
    shu = client_for(staff_app, "shu")
    for url in ("/en/staff/", "/en/staff/libraries/SHU", "/en/staff/libraries/SHU/export.csv"):
        assert shu.get(url).headers["cache-control"] == "no-store", url


def test_a_forged_host_never_reaches_absolute_urls(fresh_demo):
    settings = Settings(
        data_dir=fresh_demo.index.path.parent,
        database_url=None,
        public_url="https://kitab.example.az",
    )
    app = create_app(settings=settings, catalog=fresh_demo)
    reader = TestClient(app, base_url="http://localhost:8000")  # behind a proxy
    for url in ("/opensearch.xml", "/en/feed.atom", "/en/search.atom?q=abai"):
        body = reader.get(url).text
        assert "https://kitab.example.az/" in body and "localhost" not in body, url
    forged = TestClient(app, base_url="http://evil.example")
    assert forged.get("/opensearch.xml").status_code == 400


def test_the_served_portal_does_not_name_its_server(served_demo):
    import urllib.request

    with urllib.request.urlopen(served_demo + "/en/") as answer:
        assert answer.headers.get("server") is None


def test_a_socket_that_sends_no_request_is_closed(monkeypatch):
    monkeypatch.setattr(server, "HEADER_SECONDS", 0.5)

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=server.HeaderDeadlineProtocol, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not running.started:
            time.sleep(0.05)
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as idle:
            started = time.monotonic()
            idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            assert idle.recv(100) == b""  # closed by the server
            assert time.monotonic() - started < 3
        with socket.create_connection(("127.0.0.1", port), timeout=5) as prompt:
            prompt.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert prompt.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        running.should_exit = True
        thread.join(10)
        sock.close()


# --- 20. Round trips -------------------------------------------------------------------------


def test_an_export_after_edits_imports_into_an_empty_catalog_unchanged(
    staff_app, fresh_demo, new_folder
):
    coord = client_for(staff_app, "coord")
    edits = {
        "title": "Көксерек — " + "ұ" * 1900,
        "year": "1961",
        "work": "A04-Koxerek",
        "subjects": "Hikaye; =SUM(1)",
    }
    answer = coord.post(f"/en/staff/records/{RECORD}/edit", data={**edit_form(coord), **edits})
    assert answer.status_code == 303, answer.text
    assert record_row(fresh_demo)["work"] == "a04-koxerek"
    exported = fresh_demo.export_csv()
    copy = empty_catalog_in(new_folder, "roundtrip")
    copy.import_files([("export.csv", exported.encode())])
    ids = all_ids(fresh_demo)
    kept, carried = contents(fresh_demo.records(ids)), contents(copy.records(ids))
    assert {i: {k: v for k, v in r.items() if carried[i].get(k) != v} for i, r in kept.items()} == {
        i: {} for i in ids
    }
    assert copy.export_csv() == exported
    copy.close()


# --- 2. One client cannot starve the others --------------------------------------------------


def test_one_client_runs_only_a_few_searches_at_once():
    import asyncio

    from portal.web.middleware import SEARCHES_PER_CLIENT, ClientSearchLimit

    release = asyncio.Event()

    async def slow_search(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    limited = ClientSearchLimit(slow_search)

    async def request(client: str, path: str = "/api/v1/search") -> int:
        answer = {}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]

        scope = {"type": "http", "path": path, "client": (client, 1), "headers": []}
        await limited(scope, None, send)
        return answer["status"]

    async def scenario():
        hog = [asyncio.create_task(request("10.0.0.66")) for _ in range(SEARCHES_PER_CLIENT)]
        await asyncio.sleep(0.05)
        refused = await request("10.0.0.66", "/en/search")  # one more from the same client
        other = asyncio.create_task(request("10.0.0.7"))  # another reader is let in
        await asyncio.sleep(0.05)
        release.set()
        return refused, await other, await asyncio.gather(*hog)

    # A loop of its own in a thread of its own: an earlier test's server may have left this
    # thread marked as running a loop.
    with ThreadPoolExecutor(1) as own_thread:
        refused, other, hog = own_thread.submit(asyncio.run, scenario()).result()
    assert refused == 429
    assert other == 200 and hog == [200] * SEARCHES_PER_CLIENT
    assert not limited.running  # every slot given back


def test_a_search_cut_by_its_work_budget_says_so(fresh_demo, monkeypatch):
    from index import searcher
    from index.evaluate import Budget

    text = "Abai zholy roman Qazaq adebieti kitab şeirlər Chekhov Prens Vurğun poema tarix"
    client = TestClient(create_app(catalog=fresh_demo))
    whole = client.get("/api/v1/search", params={"q": text}).json()
    assert whole["partial"] is False
    monkeypatch.setattr(searcher, "Budget", lambda: Budget(terms=10, postings=200, words=100))
    fresh_demo.index.clear_result_cache()
    cut = client.get("/api/v1/search", params={"q": text}).json()
    assert cut["partial"] is True and cut["total"] < whole["total"]
    page = client.get("/en/search", params={"q": text})
    assert page.status_code == 200 and "matches too much to finish" in page.text
