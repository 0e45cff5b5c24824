"""The librarian workspace over HTTP: roles, CSRF, lockout, conflicts, ledger, audit, imports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select, text
from staffing import PASSWORD, RECORD, client_for, holding_form, token_of, version_of
from starlette.testclient import TestClient

from index import SearchRequest
from portal.catalog import accounts, models
from portal.catalog.accounts import add_user
from portal.catalog.audit import entries

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "marc"


def copies(catalog, record=RECORD, library="SHU"):
    return {h["library"]: h["copies"] for h in catalog.holdings([record])[record]}.get(library, 0)


# --- role matrix ------------------------------------------------------------------------------

PAGES = [
    # (url, anonymous, shu librarian, lac librarian, coordinator, admin)
    ("/en/staff/libraries/SHU", 303, 200, 403, 200, 403),
    ("/en/staff/libraries/SHU/export.csv", 303, 200, 403, 200, 403),
    (f"/en/staff/holdings/{RECORD}/SHU", 303, 200, 403, 200, 403),
    ("/en/staff/import", 303, 403, 403, 200, 403),
    (f"/en/staff/records/{RECORD}/edit", 303, 403, 403, 200, 403),
    ("/en/staff/library-settings/SHU", 303, 403, 403, 200, 403),
    ("/en/staff/library-settings/new", 303, 403, 403, 200, 403),
    ("/en/staff/users", 303, 403, 403, 403, 200),
    ("/en/staff/audit", 303, 200, 200, 200, 200),
]
ROLES = [None, "shu", "lac", "coord", "admin"]


@pytest.mark.parametrize("url,expected", [(p[0], p[1:]) for p in PAGES])
def test_role_matrix_for_pages(staff_app, url, expected):
    for name, status in zip(ROLES, expected, strict=True):
        assert client_for(staff_app, name).get(url).status_code == status, (name, url)


ACTIONS = {
    "receive": {"copies": "2"},
    "withdraw": {"copies": "1", "reason": "damaged"},
    "transfer": {"copies": "1", "target": "LAC"},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "name,allowed",
    [("shu", True), ("lac", False), ("coord", True), ("admin", False), (None, False)],
)
def test_role_matrix_for_holdings_actions(staff_app, fresh_demo, action, name, allowed):
    before = copies(fresh_demo)
    client = client_for(staff_app, name)
    response = client.post(
        f"/en/staff/holdings/{RECORD}/SHU/{action}",
        data={**ACTIONS[action], "version": "1", "csrf_token": client.token},
    )
    if allowed:
        assert response.status_code == 303, response.text
        assert copies(fresh_demo) != before
    else:
        assert response.status_code in (303, 403)
        assert copies(fresh_demo) == before


def test_librarian_cannot_act_on_another_library_by_crafting_the_url(staff_app, fresh_demo):
    client = client_for(staff_app, "lac")
    before = copies(fresh_demo)
    for action, data in ACTIONS.items():
        response = client.post(
            f"/en/staff/holdings/{RECORD}/SHU/{action}",
            data={**data, "version": "1", "csrf_token": client.token},
        )
        assert response.status_code == 403
    assert copies(fresh_demo) == before


def test_coordinator_only_actions_refused_to_librarian(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    title = fresh_demo.records([RECORD])[RECORD]["title"]
    response = client.post(
        f"/en/staff/records/{RECORD}/edit",
        data={"title": "Hacked", "version": "1", "csrf_token": client.token},
    )
    assert response.status_code == 403
    response = client.post(
        "/en/staff/library-settings/SHU", data={"name_en": "Hacked", "csrf_token": client.token}
    )
    assert response.status_code == 403
    assert fresh_demo.records([RECORD])[RECORD]["title"] == title
    assert fresh_demo.libraries()[-1]["names"]["en"] != "Hacked"


# --- CSRF, sign-in, lockout -------------------------------------------------------------------


def test_every_form_post_needs_the_csrf_token(staff_app):
    client = client_for(staff_app, "coord")
    posts = [
        route.path.replace("{lang}", "en")
        .replace("{record_id}", RECORD)
        .replace("{code}", "SHU")
        .replace("{action}", "receive")
        .replace("{token}", "x")
        for route in staff_app.routes
        # OAI-PMH takes POST by the protocol: a harvester's read-only request, no session
        if "POST" in (getattr(route, "methods", None) or ()) and route.name != "oai"
    ]
    assert len(posts) >= 8
    for url in posts:
        assert client.post(url, data={"copies": "1", "version": "1"}).status_code == 403, url
        assert client.post(url, data={"csrf_token": "forged"}).status_code == 403, url


def test_sign_in_cookie_is_httponly_and_samesite(staff_app):
    client = TestClient(staff_app, follow_redirects=False)
    response = client.get("/en/staff/sign-in")
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    token = token_of(response.text)
    bad = client.post(
        "/en/staff/sign-in",
        data={"name": "shu", "password": "wrong password!", "csrf_token": token},
    )
    assert bad.status_code == 401 and "Wrong name or password" in bad.text


def sign_in_attempt(app, name, password, address="10.0.0.1"):
    client = TestClient(app, follow_redirects=False, client=(address, 50000))
    token = token_of(client.get("/en/staff/sign-in").text)
    return client.post(
        "/en/staff/sign-in", data={"name": name, "password": password, "csrf_token": token}
    )


def test_repeated_failures_shut_out_that_client_only(staff_app):
    for _ in range(accounts.ATTEMPTS_PER_NAME):
        assert sign_in_attempt(staff_app, "shu", "not the password").status_code == 401
    right = sign_in_attempt(staff_app, "shu", PASSWORD)
    assert right.status_code == 401 and "try again in 15 minutes" in right.text
    # Nothing locks the account itself: a stranger cannot shut its librarian out.
    assert sign_in_attempt(staff_app, "shu", PASSWORD, address="10.0.0.2").status_code == 303


def test_the_throttle_window_passes(fresh_demo):
    add_user(fresh_demo.engine, "shu", PASSWORD, "librarian", "SHU")
    start = accounts.datetime.now(accounts.UTC)
    for _ in range(accounts.ATTEMPTS_PER_NAME):
        with pytest.raises(accounts.SignInRefused):
            accounts.authenticate(fresh_demo.engine, "shu", "wrong", "10.0.0.1", now=start)
    with pytest.raises(accounts.SignInRefused) as refused:
        accounts.authenticate(fresh_demo.engine, "shu", PASSWORD, "10.0.0.1", now=start)
    assert refused.value.message == accounts.TOO_MANY
    later = start + accounts.THROTTLE_WINDOW + accounts.timedelta(seconds=1)
    assert (
        accounts.authenticate(fresh_demo.engine, "shu", PASSWORD, "10.0.0.1", now=later).name
        == "shu"
    )


def test_unknown_names_answer_like_real_ones(staff_app):
    real = sign_in_attempt(staff_app, "shu", "not the password", address="10.0.0.3")
    unknown = sign_in_attempt(staff_app, "nobody-here", "not the password", address="10.0.0.4")
    assert real.status_code == unknown.status_code == 401

    def page(response, name):
        return re.sub(r'value="[^"]{30,}"', "TOKEN", response.text).replace(name, "NAME")

    assert page(real, "shu") == page(unknown, "nobody-here")


def test_successful_sign_ins_do_not_use_up_a_shared_address(staff_app):
    # A library office behind one address signs in all day.
    for _ in range(accounts.ATTEMPTS_PER_CLIENT + 5):
        assert sign_in_attempt(staff_app, "shu", PASSWORD).status_code == 303


def test_a_parallel_burst_hashes_at_most_the_allowed_attempts(fresh_demo, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    add_user(fresh_demo.engine, "shu", PASSWORD, "librarian", "SHU")
    hashed = []
    verify = accounts._verify_quietly
    monkeypatch.setattr(accounts, "_verify_quietly", lambda h, p: hashed.append(p) or verify(h, p))

    def attempt(_):
        try:
            accounts.authenticate(fresh_demo.engine, "shu", "wrong", "10.0.0.9")
        except accounts.SignInRefused as refused:
            return refused.message

    with ThreadPoolExecutor(13) as pool:
        answers = list(pool.map(attempt, range(13)))
    assert len(hashed) <= accounts.ATTEMPTS_PER_NAME
    assert answers.count(accounts.TOO_MANY) >= 13 - accounts.ATTEMPTS_PER_NAME


def test_disabled_user_is_signed_out(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    accounts.disable_user(fresh_demo.engine, "shu")
    assert client.get("/en/staff/libraries/SHU").status_code == 303


# --- holdings work ----------------------------------------------------------------------------


def test_transfer_moves_copies_and_readers_see_it(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    _, (token, version) = holding_form(client)
    before_shu, before_lac = copies(fresh_demo), copies(fresh_demo, library="LAC")
    response = client.post(
        f"/en/staff/holdings/{RECORD}/SHU/transfer",
        data={"copies": "3", "target": "LAC", "version": version, "csrf_token": token},
    )
    assert response.status_code == 303
    assert copies(fresh_demo) == before_shu - 3
    assert copies(fresh_demo, library="LAC") == before_lac + 3
    found = fresh_demo.index.search(SearchRequest(filters={"library": ["LAC"]}, per_page=100))
    assert RECORD in [hit.id for hit in found.hits]
    reader = TestClient(staff_app).get(f"/en/records/{RECORD}").text
    assert "Lachin" in reader


def test_two_editors_cannot_overwrite_each_other(staff_app, fresh_demo):
    first, second = client_for(staff_app, "shu"), client_for(staff_app, "coord")
    _, (token1, version1) = holding_form(first)
    _, (token2, version2) = holding_form(second)
    assert version1 == version2
    ok = first.post(
        f"/en/staff/holdings/{RECORD}/SHU/withdraw",
        data={"copies": "1", "reason": "lost", "version": version1, "csrf_token": token1},
    )
    assert ok.status_code == 303
    after_first = copies(fresh_demo)
    late = second.post(
        f"/en/staff/holdings/{RECORD}/SHU/withdraw",
        data={"copies": "1", "reason": "lost", "version": version2, "csrf_token": token2},
    )
    assert late.status_code == 409 and "changed meanwhile" in late.text
    assert copies(fresh_demo) == after_first


def test_copies_never_go_below_zero(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    _, (token, version) = holding_form(client)
    held = copies(fresh_demo)
    with fresh_demo.engine.connect() as conn:
        events_before = conn.execute(text("select count(*) from holding_events")).scalar()
    response = client.post(
        f"/en/staff/holdings/{RECORD}/SHU/withdraw",
        data={"copies": str(held + 1), "reason": "lost", "version": version, "csrf_token": token},
    )
    assert response.status_code == 409 and "cannot be taken away" in response.text
    response = client.post(
        f"/en/staff/holdings/{RECORD}/SHU/transfer",
        data={"copies": str(held + 1), "target": "LAC", "version": version, "csrf_token": token},
    )
    assert response.status_code == 409
    assert copies(fresh_demo) == held
    with fresh_demo.engine.connect() as conn:
        assert conn.execute(text("select count(*) from holding_events")).scalar() == events_before


def test_bad_withdrawal_reason_and_copies(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    _, (token, version) = holding_form(client)
    for data in (
        {"copies": "1", "reason": "stolen-by-aliens"},
        {"copies": "0", "reason": "lost"},
        {"copies": "many", "reason": "lost"},
    ):
        response = client.post(
            f"/en/staff/holdings/{RECORD}/SHU/withdraw",
            data={**data, "version": version, "csrf_token": token},
        )
        assert response.status_code == 400  # the input is wrong: nothing to retry


# --- audit ------------------------------------------------------------------------------------


def test_each_action_leaves_an_audit_entry_with_before_and_after(staff_app, fresh_demo):
    coord = client_for(staff_app, "coord")
    _, (token, version) = holding_form(coord)
    held = copies(fresh_demo)
    coord.post(
        f"/en/staff/holdings/{RECORD}/SHU/receive",
        data={"copies": "2", "version": version, "csrf_token": token, "donor": "ilesam"},
    )
    _, (token, version) = holding_form(coord)
    coord.post(
        f"/en/staff/holdings/{RECORD}/SHU/withdraw",
        data={"copies": "1", "reason": "damaged", "version": version, "csrf_token": token},
    )
    _, (token, version) = holding_form(coord)
    coord.post(
        f"/en/staff/holdings/{RECORD}/SHU/transfer",
        data={"copies": "1", "target": "KEL", "version": version, "csrf_token": token},
    )
    page = coord.get(f"/en/staff/records/{RECORD}/edit").text
    coord.post(
        f"/en/staff/records/{RECORD}/edit",
        data={
            "title": "Көксерек",
            "publisher": "Жазушы",
            "year": "1990",
            "work": "kokserek",
            "version": version_of(page),
            "csrf_token": token_of(page),
        },
    )
    coord.post(
        "/en/staff/library-settings/SHU",
        data={"address": "Şuşa, Azadlıq meydanı", "csrf_token": coord.token},
    )
    log = {e.action: e for e in entries(fresh_demo.engine)}
    assert log["holdings.receive"].before == {"copies": held}
    assert log["holdings.receive"].after["copies"] == held + 2
    assert log["holdings.withdraw"].after == {"copies": held + 1, "reason": "damaged"}
    assert log["holdings.transfer"].after["to"] == "KEL"
    assert log["record.update"].after["year"] == 1990
    assert log["library.update"].after == {"address": "Şuşa, Azadlıq meydanı"}
    assert all(
        e.actor == "coord"
        for e in log.values()
        if e.action.startswith(("holdings", "record", "library"))
    )
    assert "holdings.transfer" in coord.get("/en/staff/audit?action=holdings").text


def test_librarian_sees_only_own_library_in_audit(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    _, (token, version) = holding_form(client)
    client.post(
        f"/en/staff/holdings/{RECORD}/SHU/receive",
        data={"copies": "1", "version": version, "csrf_token": token},
    )
    other = client_for(staff_app, "lac").get("/en/staff/audit?library=SHU").text
    assert "holdings.receive" not in other


def test_audit_log_cannot_be_changed(fresh_demo):
    with fresh_demo.engine.begin() as conn:
        conn.execute(
            models.audit_log.insert().values(
                at=__import__("datetime").datetime.now(), actor="x", action="t", target="t"
            )
        )
    for statement in ("update audit_log set actor = 'y'", "delete from audit_log"):
        with pytest.raises(Exception, match="append-only"), fresh_demo.engine.begin() as conn:
            conn.execute(text(statement))
    with fresh_demo.engine.connect() as conn:
        assert conn.execute(select(models.audit_log.c.actor)).scalars().all()[-1] == "x"


# --- import with preview ----------------------------------------------------------------------


def test_marc_upload_is_previewed_then_imported_all_or_nothing(staff_app, fresh_demo):
    client = client_for(staff_app, "coord")
    count = fresh_demo.record_count()
    data = (FIXTURES / "books.mrc").read_bytes()
    preview = client.post(
        "/en/staff/import",
        data={"csrf_token": client.token, "library": "SHU"},
        files={"file": ("books.mrc", data, "application/marc")},
    )
    assert preview.status_code == 200, preview.text
    assert "Records: new" in preview.text
    assert fresh_demo.record_count() == count  # nothing written before confirming
    confirm = re.search(r'action="(/en/staff/import/[^"]+/confirm)"', preview.text).group(1)
    started = client.post(confirm, data={"csrf_token": client.token})
    assert started.status_code == 303 and "/en/staff/jobs/" in started.headers["location"]
    done = finished_job(client, started.headers["location"])
    assert "The file was imported." in done
    assert fresh_demo.record_count() > count
    assert client.post(confirm, data={"csrf_token": client.token}).status_code == 404
    other = client_for(staff_app, "shu")  # a job is its importer's (and coordinators') only
    assert other.get(started.headers["location"]).status_code in (403, 404)


def finished_job(client, location: str, seconds: float = 60) -> str:
    """The job page once the background import has finished (it runs in a thread)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = client.get(location)
        assert page.status_code == 200, page.text
        if 'data-running="true"' not in page.text:
            return page.text
        assert "Check again" in page.text
        time.sleep(0.1)
    raise AssertionError("the import job did not finish")


def test_broken_uploads_get_clear_messages(staff_app, fresh_demo):
    client = client_for(staff_app, "coord")
    count = fresh_demo.record_count()
    cases = [
        ("broken.mrc", (FIXTURES / "broken.mrc").read_bytes(), "truncated"),
        ("donations.xlsx", b"PK\x03\x04" + b"\0" * 64, "spreadsheet"),
        ("latin1.csv", "title,language,library,copies\nKürk,tr,SHU,1\n".encode("cp1254"), "UTF-8"),
    ]
    for name, data, expected in cases:
        response = client.post(
            "/en/staff/import",
            data={"csrf_token": client.token},
            files={"file": (name, data, "application/octet-stream")},
        )
        assert response.status_code == 422 and expected in response.text, name
    assert fresh_demo.record_count() == count


def test_upload_size_limit(staff_app, fresh_demo):
    staff_app.state.settings = type(staff_app.state.settings)(
        data_dir=staff_app.state.settings.data_dir, database_url=None, max_upload_bytes=1000
    )
    client = client_for(staff_app, "coord")
    response = client.post(
        "/en/staff/import",
        data={"csrf_token": client.token},
        files={"file": ("big.csv", b"x" * 5000, "text/csv")},
    )
    assert response.status_code == 413


def test_a_librarian_pages_and_sorts_the_whole_holdings_list(staff_app, fresh_demo):
    client = client_for(staff_app, "shu")
    held = fresh_demo.index.search(SearchRequest(filters={"library": ["SHU"]}, per_page=1)).total
    assert held > 50  # more than one page in the demo catalog

    def titles(url: str) -> list[str]:
        page = client.get(url)
        assert page.status_code == 200
        return re.findall(r'<th scope="row"><span lang="[a-z]+">([^<]+)</span>', page.text)

    first = client.get("/en/staff/libraries/SHU").text
    pages = -(-held // 50)
    assert f"Page 1 of {pages}" in first and 'rel="next"' in first
    page1, page2 = titles("/en/staff/libraries/SHU"), titles("/en/staff/libraries/SHU?page=2")
    assert len(page1) == 50 and page2 and not set(page1) & set(page2)
    shown = sum(len(titles(f"/en/staff/libraries/SHU?page={n}")) for n in range(1, pages + 1))
    assert shown == held
    newest = titles("/en/staff/libraries/SHU?sort=newest")
    assert len(newest) == 50 and newest != page1
    assert 'value="newest" selected' in client.get("/en/staff/libraries/SHU?sort=newest").text
