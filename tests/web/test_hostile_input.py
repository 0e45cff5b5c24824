"""Hostile input: markup shown as text everywhere, SQL as text, traversal refused, limits."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from portal.catalog import staff
from portal.catalog.accounts import User
from portal.web.app import create_app

XSS_TITLE = '<script>alert("t")</script>'
XSS_AUTHOR = '"><img src=x onerror=alert(1)>'
XSS_LIBRARY = "<b onmouseover=alert(2)>Şuşa</b>"
HEADER = "record_id,title,language,authors,library,copies\n"


@pytest.fixture
def hostile(fresh_demo):
    csv = (
        HEADER
        + f'x-1,"{XSS_TITLE.replace(chr(34), chr(34) * 2)}",az,"{XSS_AUTHOR.replace(chr(34), chr(34) * 2)}",SHU,2\n'
    )
    fresh_demo.import_files([("hostile.csv", csv.encode())])
    coordinator = User(0, "coord", "coordinator", None, False)
    staff.save_library(fresh_demo, coordinator, "SHU", {}, {"en": XSS_LIBRARY})
    with TestClient(create_app(catalog=fresh_demo)) as client:
        yield client


RAW = ["<script>alert", "<img src=x", "<b onmouseover"]


@pytest.mark.parametrize(
    "url",
    [
        "/en/search?q=script",
        "/en/records/x-1",
        "/en/libraries/SHU",
        "/en/libraries",
        "/en/",
        "/en/search?q=alert",
    ],
)
def test_markup_is_text_in_pages(hostile, url):
    page = hostile.get(url)
    assert page.status_code == 200
    for raw in RAW:
        assert raw not in page.text, (url, raw)


def test_markup_is_text_in_atom_and_opensearch(hostile):
    feed = hostile.get("/en/libraries/SHU/feed.atom").text
    assert "&lt;script&gt;" in feed and not any(raw in feed for raw in RAW)
    opensearch = hostile.get('/opensearch.xml?lang="><x>').text
    assert '"><x>' not in opensearch


def test_markup_stays_data_in_json(hostile):
    body = hostile.get("/api/v1/search", params={"q": "script alert"}).json()
    first = next(r for r in body["results"] if r["id"] == "x-1")
    assert first["title"] == XSS_TITLE  # JSON carries the data as it is
    unmarked = first["highlight"].replace("<mark>", "").replace("</mark>", "")
    assert unmarked == "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;"
    response = hostile.get("/api/v1/records/x-1")
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "query",
    ["'; DROP TABLE records; --", "1 OR 1=1", '" OR ""="', "%' UNION SELECT * FROM users --"],
)
def test_sql_looking_input_is_just_text(hostile, fresh_demo, query):
    count = fresh_demo.record_count()
    assert hostile.get("/en/search", params={"q": query}).status_code == 200
    assert hostile.get("/api/v1/search", params={"q": query}).status_code == 200
    assert fresh_demo.record_count() == count


@pytest.mark.parametrize(
    "url",
    [
        "/en/records/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/records/..%2F..%2Fcatalog.sqlite3",
        "/api/v1/libraries/..%2F..",
        "/en/libraries/..%2Fsecret.key",
        "/static/../portal/config.py",
        "/static/..%2Fportal%2Fconfig.py",
        "/en/records/%00",
        "/en/staff/holdings/..%2F..%2Fx/SHU",
    ],
)
def test_path_traversal_is_refused(hostile, url):
    response = hostile.get(url, follow_redirects=True)
    assert response.status_code in (400, 404) or response.url.path.endswith("/sign-in")
    assert "PORTAL_SECRET_KEY" not in response.text and "SQLite format" not in response.text


def test_oversized_requests_are_refused(hostile):
    assert hostile.get("/en/search", params={"q": "a" * 3000}).status_code == 400
    assert hostile.get("/api/v1/search", params={"q": "a" * 3000}).status_code == 400
    assert hostile.get("/en/search", params={"q": "a" * 6000}).status_code == 414
    token_page = hostile.get("/en/staff/sign-in")
    big = hostile.post(
        "/en/staff/sign-in",
        content=b"x" * 600_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413 and token_page.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/en/",
        "/en/search?q=x",
        "/api/v1/search?q=x",
        "/en/nope",
        "/static/portal.css",
        "/en/staff/sign-in",
        "/opensearch.xml",
    ],
)
def test_security_headers_everywhere(hostile, url):
    headers = hostile.get(url).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_scripts(hostile):
    for url in ("/en/", "/en/search?q=Abai", "/en/records/kk-0004", "/en/campaign"):
        html = hostile.get(url).text
        assert "<script>" not in html and " onclick=" not in html and "javascript:" not in html
