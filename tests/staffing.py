"""Staff accounts and signed-in test clients for the tests of the staff workspace."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from portal.catalog.accounts import add_user

PASSWORD = "correct horse battery staple"
RECORD = "kk-0006"  # Көксерек: 9 copies in Shusha in the demo catalog


def add_staff(catalog) -> None:
    """Two librarians (Shusha, Lachin), a coordinator and an admin, all with PASSWORD."""
    add_user(catalog.engine, "shu", PASSWORD, "librarian", "SHU")
    add_user(catalog.engine, "lac", PASSWORD, "librarian", "LAC")
    add_user(catalog.engine, "coord", PASSWORD, "coordinator", None)
    add_user(catalog.engine, "admin", PASSWORD, "admin", None)


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def version_of(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def client_for(app, name: str | None, **options) -> TestClient:
    """A test client signed in as `name` (or not signed in), with `.token` its CSRF token."""
    client = TestClient(app, follow_redirects=False, **options)
    client.__enter__()
    token = token_of(client.get("/en/staff/sign-in").text)
    if name:
        response = client.post(
            "/en/staff/sign-in", data={"name": name, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        token = token_of(client.get("/en/staff/sign-in").text)
    client.token = token
    return client


def holding_form(client, record=RECORD, library="SHU"):
    page = client.get(f"/en/staff/holdings/{record}/{library}")
    return page, (token_of(page.text), version_of(page.text)) if page.status_code == 200 else None
