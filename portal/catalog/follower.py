"""A node's indexer: follows the change feed and keeps the node's index up to date.

Every serving process runs one in a background thread. It wakes when PostgreSQL NOTIFYs a
commit (LISTEN portal_changes), or every `POLL_SECONDS` (SQLite, or a lost connection), and
applies the changes its index has not seen. Several processes of one node share one index:
whichever holds the index's write lock applies, the others find nothing left to do. A node
that was down catches up when it starts; one that loses the database keeps serving search
from its index and reconnects by itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from index.store import IndexBusy, IndexUnavailable
from portal.catalog import feed
from portal.catalog.catalog import Catalog
from portal.catalog.db import writing

log = logging.getLogger("portal.follower")

POLL_SECONDS = 0.5
REPORT_SECONDS = 10.0  # how often a node writes its position for `portal check`
RECONNECT_SECONDS = 2.0


def node_name(catalog: Catalog) -> str:
    """This node in `portal check`: PORTAL_NODE_NAME, else host and data folder."""
    return (
        os.environ.get("PORTAL_NODE_NAME") or f"{socket.gethostname()}:{catalog.index.path.parent}"
    )


class Follower(threading.Thread):
    def __init__(self, catalog: Catalog):
        super().__init__(name="index-follower", daemon=True)
        self.catalog = catalog
        self.name_in_check = node_name(catalog)
        self._stop = threading.Event()
        self._reported = (-1, 0.0)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.catalog.engine.dialect.name == "postgresql":
                    self._listen()
                else:
                    self._poll()
            except Exception as error:  # noqa: BLE001 - a follower outlives any one failure
                log.warning("index follower: %s; retrying in %.0f s", error, RECONNECT_SECONDS)
                self._stop.wait(RECONNECT_SECONDS)

    def step(self) -> None:
        """Apply what is new (unless another process of this node is at it) and report."""
        if self.catalog.index.exists() and not self.catalog.index.healthy():
            return  # an older format or a damaged index: web/app.py rebuilds it
        try:
            applied = self.catalog.catch_up(wait=False)
        except IndexBusy:
            return
        except IndexUnavailable:
            return  # being rebuilt in the background (web/app.py)
        self._report(applied)

    def _report(self, applied: int) -> None:
        last, when = self._reported
        now = time.monotonic()
        if applied == last and now - when < REPORT_SECONDS:
            return
        with writing(self.catalog.engine) as conn:
            feed.report_node(conn, self.name_in_check, applied)
        self._reported = (applied, now)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(POLL_SECONDS)

    def _listen(self) -> None:
        """Wait on PostgreSQL notifications (and time out to poll anyway)."""
        raw = self.catalog.engine.raw_connection()
        try:
            connection = raw.driver_connection
            connection.autocommit = True
            connection.execute(f"LISTEN {feed.CHANNEL}")
            self.step()  # what was committed before we listened
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=POLL_SECONDS, stop_after=1):
                    pass
                self.step()
        finally:
            raw.invalidate()  # a LISTENing connection must not go back to the pool
