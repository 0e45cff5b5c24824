"""A staff write waiting for the database's write lock never stalls a worker's readers: the
wait happens in a worker thread, not on the event loop, and ends in "busy, try again"."""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager

import httpx2 as httpx
import pytest
from databases import write_lock_held
from servers import serving

from portal.catalog.accounts import add_user
from portal.catalog.catalog import Catalog

PASSWORD = "a long enough password"


@pytest.fixture
def served(demo_folder):
    folder = demo_folder
    catalog = Catalog.open(folder)
    add_user(catalog.engine, "admin", PASSWORD, "admin", None)
    add_user(catalog.engine, "shu", PASSWORD, "librarian", "SHU")
    add_user(catalog.engine, "victim", PASSWORD, "librarian", "LAC")
    catalog.close()
    with serving(folder) as base:
        yield base, folder


@contextmanager
def staff_client(base: str, name: str):
    client = httpx.Client(base_url=base, timeout=60)
    try:
        yield client, signed_in(client, name)
    finally:
        client.close()


def signed_in(client: httpx.Client, name: str) -> str:
    page = client.get("/en/staff/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/en/staff/sign-in", data={"name": name, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    staff_page = client.get("/en/staff/", follow_redirects=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', staff_page.text).group(1)


def slowest_read(base: str, seconds: float) -> float:
    """The slowest of a reader's searches over `seconds`."""
    slowest = 0.0
    with httpx.Client(base_url=base, timeout=60) as reader:
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = reader.get("/en/search", params={"q": f"roman {n}"})
            assert response.status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            n += 1
    return slowest


@pytest.mark.parametrize("action", ["disable an account", "receive copies"])
def test_readers_are_served_while_a_staff_write_waits_for_the_lock(served, action):
    base, folder = served
    with staff_client(base, "admin" if action == "disable an account" else "shu") as (
        client,
        token,
    ):
        readers_go_on(client, token, folder, base, action)


def readers_go_on(client, token, folder, base, action) -> None:
    if action == "disable an account":
        post = ("/en/staff/users/disable", {"name": "victim", "csrf_token": token})
    else:
        page = client.get("/en/staff/holdings/az-0001/SHU")
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
        post = (
            "/en/staff/holdings/az-0001/SHU/receive",
            {"copies": "2", "version": version, "csrf_token": token},
        )
    answers = []
    writer = threading.Thread(target=lambda: answers.append(client.post(post[0], data=post[1])))
    with write_lock_held(folder):  # another process holds the write lock (a long import)
        writer.start()
        time.sleep(0.3)
        assert slowest_read(base, 2.0) < 1.0  # readers of the same worker go on
    writer.join(30)
    # the lock was released within the staff wait: the write went through
    assert answers and answers[0].status_code == 303, answers[0].text if answers else None


def test_a_staff_write_that_cannot_get_the_lock_answers_busy(served):
    base, folder = served
    with staff_client(base, "admin") as (client, token):
        busy_then_nothing_changed(client, token, folder)


def busy_then_nothing_changed(client, token, folder) -> None:
    with write_lock_held(folder):
        started = time.monotonic()
        response = client.post(
            "/en/staff/users/disable", data={"name": "victim", "csrf_token": token}
        )
        waited = time.monotonic() - started
    assert response.status_code == 503 and "busy" in response.text
    assert waited < 15  # the staff wait, not the 30 s busy timeout of batch work
    users = client.get("/en/staff/users").text
    assert re.search(r"victim</td><td>librarian</td><td>LAC</td>\s*<td>\s*<form", users)
