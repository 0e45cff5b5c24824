"""Several nodes on one catalog (benchmarks/nodes.py, smaller): readers on every node, two
librarians on two nodes transferring the same holding at once, an import, a node killed
-9 and restarted, the database server restarted under load."""

from __future__ import annotations

import argparse
import shlex

from databases import SERVER, throwaway_postgres

from benchmarks import nodes


def scenario(**options) -> argparse.Namespace:
    defaults = dict(
        database=SERVER,
        nodes=3,
        workers=1,
        readers=12,
        rounds=6,
        kill_node=False,
        restart_database=None,
    )
    return argparse.Namespace(**{**defaults, **options})


def assert_converged(found: nodes.Measured) -> None:
    assert found.problems == []  # no lost update: holdings equal the ledger, every
    assert found.outcome.accepted >= 1  # accepted transfer is in the audit log
    assert found.outcome.other == []  # only "done" (303) or "changed meanwhile" (409)
    assert found.stats.errors == []
    assert all(seconds < 2.0 for seconds in found.outcome.visible), found.outcome.visible
    assert all(seconds < 2.0 for seconds in found.outcome.import_visible)


def test_three_nodes_race_import_and_a_killed_node():
    found = nodes.measure(scenario(kill_node=True))
    assert_converged(found)
    # of each round's two transfers seen at one version, at most one was accepted
    assert found.outcome.accepted <= 6 + 3 < found.outcome.accepted + found.outcome.refused
    assert found.outcome.killed_caught_up is not None and found.outcome.killed_caught_up < 2.0


def test_nodes_ride_out_a_database_restart():
    with throwaway_postgres() as (url, restart):
        found = nodes.measure(
            scenario(database=url, readers=8, rounds=3, restart_database=shlex.join(restart))
        )
    assert_converged(found)
    answers = set(found.outcome.restart_staff_answers)
    assert answers <= {303, 409, 503}  # done, changed meanwhile, or "try again": never a 500
    # the server really was away meanwhile: staff were told to try again, or readers got
    # answers from the index alone
    assert 503 in answers or found.stats.degraded > 0
    assert found.stats.errors == []  # readers kept being served (from the index if need be)
