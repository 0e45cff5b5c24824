"""A librarian signs in, transfers copies, and the reader's page changes (real browser)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from playwright.sync_api import expect

PASSWORD = "correct horse battery staple"


def add_librarian(data_dir, name: str, library: str) -> None:
    env = dict(os.environ, PORTAL_DATA_DIR=str(data_dir))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "portal",
            "user",
            "add",
            name,
            "--role",
            "librarian",
            "--library",
            library,
        ],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )


def copies_in(page, base: str, record: str, library_label: str) -> int:
    page.goto(f"{base}/en/records/{record}")
    item = page.locator("ul.holdings li", has_text=library_label)
    if item.count() == 0:
        return 0
    return int(re.search(r"(\d+) cop", item.first.inner_text()).group(1))


def test_librarian_transfer_shows_on_reader_page(page, server, server_data_dir):
    add_librarian(server_data_dir, "shusha-librarian", "SHU")
    record = "kk-0006"  # Көксерек, held in Shusha
    shusha_before = copies_in(page, server, record, "Shusha")
    lachin_before = copies_in(page, server, record, "Lachin")
    assert shusha_before >= 2

    page.goto(server + "/en/staff/sign-in")
    page.fill("#name", "shusha-librarian")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/en/staff/libraries/SHU"))

    page.goto(f"{server}/en/staff/holdings/{record}/SHU")
    page.fill("#t-copies", "2")
    page.select_option("#t-target", "LAC")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_role("status")).to_be_visible()

    assert copies_in(page, server, record, "Shusha") == shusha_before - 2
    assert copies_in(page, server, record, "Lachin") == lachin_before + 2
    page.goto(f"{server}/en/search?library=LAC&q=Көксерек")
    expect(page.locator("ol.results")).to_contain_text("Көксерек")
