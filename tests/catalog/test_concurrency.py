"""Races: every check-then-write is atomic on both databases. Two transfers of one holding
seen at one version cannot both be accepted; two imports of one file cannot both add its
copies; holdings always equal the ledger."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from index import SearchRequest
from index.store import REFRESH_SECONDS
from portal.catalog import models, staff
from portal.catalog.accounts import User
from portal.catalog.catalog import Catalog, DataPaths
from portal.catalog.check import check
from portal.catalog.holdings import holding_version
from portal.errors import Busy, Conflict

COORDINATOR = User(0, "coord", "coordinator", None, False)
RECORD = "kk-0004"


def run_together(jobs) -> list:
    """Start every job at the same moment; their results or exceptions, in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as error:  # noqa: BLE001 - returned for the assertions
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def ledger_total(catalog: Catalog, record_id: str, library: str) -> int:
    e = models.holding_events
    with catalog.engine.connect() as conn:
        return conn.execute(
            select(func.coalesce(func.sum(e.c.delta), 0)).where(
                e.c.record_id == record_id, e.c.library == library
            )
        ).scalar_one()


@pytest.fixture
def two_nodes(demo_folder, tmp_path) -> tuple[Catalog, Catalog]:
    """Two nodes of one catalog: one database, an index and a connection pool each."""
    first = Catalog.open(demo_folder)
    other = tmp_path / "node-2"
    other.mkdir()
    DataPaths(other).database_url_file.write_text(DataPaths(demo_folder).database_url() + "\n")
    second = Catalog.open(other)
    second.catch_up()  # a new node: its index from a snapshot and the feed
    yield first, second
    first.close()
    second.close()


def holding_with_copies(catalog: Catalog) -> tuple[str, int, int]:
    for held in catalog.holdings([RECORD])[RECORD]:
        if held["copies"] >= 4:
            with catalog.engine.connect() as conn:
                copies, version = holding_version(conn, RECORD, held["library"])
            return held["library"], copies, version
    raise AssertionError("the demo record has no library with 4 copies")


def test_two_transfers_of_one_holding_at_one_version_one_wins(two_nodes):
    first, second = two_nodes
    library, copies, version = holding_with_copies(first)
    targets = [code for code in ("SHU", "LAC", "KEL", "AGD") if code != library]
    results = run_together(
        [
            lambda: staff.transfer(first, COORDINATOR, RECORD, library, targets[0], 1, version),
            lambda: staff.transfer(second, COORDINATOR, RECORD, library, targets[1], 1, version),
        ]
    )
    accepted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(accepted) == 1 and len(refused) == 1, results
    with first.engine.connect() as conn:
        now, _ = holding_version(conn, RECORD, library)
    assert now == copies - 1 == ledger_total(first, RECORD, library)
    assert check(first, repair=False).holdings_drift == []


def test_many_receipts_at_one_version_only_one_lands(two_nodes):
    first, second = two_nodes
    library, copies, version = holding_with_copies(first)
    jobs = [
        (lambda c=c: staff.receive(c, COORDINATOR, RECORD, library, 2, version))
        for c in (first, second, first, second)
    ]
    results = run_together(jobs)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, int | Conflict | Busy) for r in results), results
    assert ledger_total(first, RECORD, library) == copies + 2


def test_opposite_transfers_at_once_neither_deadlocks_nor_loses_copies(two_nodes):
    first, second = two_nodes
    with first.engine.connect() as conn:
        _, shu = holding_version(conn, RECORD, "SHU")
        _, lac = holding_version(conn, RECORD, "LAC")
    staff.receive(first, COORDINATOR, RECORD, "SHU", 5, shu)
    staff.receive(first, COORDINATOR, RECORD, "LAC", 5, lac)
    with first.engine.connect() as conn:
        before = {lib: holding_version(conn, RECORD, lib) for lib in ("SHU", "LAC")}
    results = run_together(
        [
            lambda: staff.transfer(first, COORDINATOR, RECORD, "SHU", "LAC", 2, before["SHU"][1]),
            lambda: staff.transfer(second, COORDINATOR, RECORD, "LAC", "SHU", 3, before["LAC"][1]),
        ]
    )
    assert all(isinstance(r, tuple | Conflict) for r in results), results
    for lib in ("SHU", "LAC"):
        with first.engine.connect() as conn:
            copies, _ = holding_version(conn, RECORD, lib)
        assert copies == ledger_total(first, RECORD, lib)
    total = sum(holding_version(first.engine.connect(), RECORD, lib)[0] for lib in ("SHU", "LAC"))
    assert total == before["SHU"][0] + before["LAC"][0]


BATCH = (
    "record_id,title,language,authors,work,donor,donated_on,library,copies\n"
    "race-1,Қан мен тер,kk,Әбдіжәміл Нұрпейісов,qan-men-ter,Race donor,2022-04-11,SHU,7\n"
    "race-2,Ақ кеме,kk,Шыңғыс Айтматов,,Race donor,2022-04-11,LAC,3\n"
    "kk-0004,Абай жолы,kk,Мұхтар Әуезов,abai-zholy,Race donor,2022-04-11,JAB,5\n"
)


def test_the_same_file_imported_twice_at_once_adds_its_copies_once(two_nodes, tmp_path: Path):
    first, second = two_nodes
    # kk-0004 must describe the record as the catalog has it, or the file changes it
    record = first.records(["kk-0004"])["kk-0004"]
    batch = BATCH.replace(
        "Абай жолы,kk,Мұхтар Әуезов,abai-zholy",
        f"{record['title']},kk,{';'.join(record['authors'])},{record['work']}",
    )
    before = first.totals()["copies"]
    results = run_together(
        [
            lambda: first.import_files([("same.csv", batch.encode())], actor="a"),
            lambda: second.import_files([("same.csv", batch.encode())], actor="b"),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.copies_added for r in results) == [0, 15]
    assert first.totals()["copies"] == before + 15
    donors = [
        code for code, row in first.donors().items() if row["names"].get("en") == "Race donor"
    ]
    assert len(donors) == 1  # one new donor, not two
    assert check(first, repair=False).holdings_drift == []


def titles_held(catalog: Catalog, library: str) -> int:
    found = catalog.index.search(SearchRequest(filters={"library": [library]}, per_page=1))
    return found.total


def test_every_change_reaches_the_other_nodes_index(two_nodes):
    """A change through one node is in the other's search once it follows the feed, and
    the two indexes then hold the same position."""
    first, second = two_nodes
    library, copies, version = holding_with_copies(first)
    held = titles_held(second, library)
    staff.withdraw(first, COORDINATOR, RECORD, library, copies, "lost", version)
    assert titles_held(first, library) == held - 1
    time.sleep(REFRESH_SECONDS)
    assert titles_held(second, library) == held  # not followed yet
    second.catch_up()
    time.sleep(REFRESH_SECONDS)
    assert titles_held(second, library) == held - 1
    assert first.index.applied() == second.index.applied() > 0
