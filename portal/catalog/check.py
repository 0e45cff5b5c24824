"""`portal check`: the catalog agrees with itself and the index agrees with the catalog.

Checks, and repairs unless told not to:
- the running totals in `holdings` equal the sums of the ledger (`holding_events`);
- the index opens; every record is indexed as it is now (fingerprints), and nothing else is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from index.schema import fingerprint
from portal.catalog import feed, models
from portal.catalog.catalog import Catalog


@dataclass
class CheckReport:
    holdings_drift: list[tuple[str, str, int, int]] = field(default_factory=list)
    index_rebuilt: bool = False
    missing_in_index: set[str] = field(default_factory=set)
    stale_in_index: set[str] = field(default_factory=set)
    extra_in_index: set[str] = field(default_factory=set)
    repaired: bool = False
    head: int = 0  # the change feed's newest position
    nodes: list[tuple[str, int, datetime]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.holdings_drift
            or self.index_rebuilt
            or self.missing_in_index
            or self.stale_in_index
            or self.extra_in_index
        )

    def lines(self) -> list[str]:
        verb = "repaired" if self.repaired else "found"
        out = [
            f"{verb}: {lib} holdings of {rid} said {held}, the ledger says {ledger}"
            for rid, lib, held, ledger in self.holdings_drift
        ]
        if self.index_rebuilt:
            out.append(
                f"{verb}: the index did not open; it was rebuilt from the catalog"
                if self.repaired
                else "found: the index does not open"
            )
        for name, ids in (
            ("missing from", self.missing_in_index),
            ("out of date in", self.stale_in_index),
            ("in the index but not in the catalog:", self.extra_in_index),
        ):
            if ids:
                shown = ", ".join(sorted(ids)[:10]) + (" ..." if len(ids) > 10 else "")
                out.append(f"{verb}: {len(ids)} record(s) {name} the index: {shown}")
        out = out or ["catalog and index agree"]
        now = datetime.now(UTC)
        for name, applied, seen_at in self.nodes:
            ago = int((now - seen_at).total_seconds())
            out.append(
                f"node {name}: index at change {applied} of {self.head} "
                f"({self.head - applied} behind), last seen {ago} s ago"
            )
        return out


def _holdings_drift(catalog: Catalog) -> list[tuple[str, str, int, int]]:
    e, h = models.holding_events, models.holdings
    with catalog.engine.connect() as conn:
        ledger = {
            (r, lib): int(total)
            for r, lib, total in conn.execute(
                select(e.c.record_id, e.c.library, func.sum(e.c.delta)).group_by(
                    e.c.record_id, e.c.library
                )
            )
        }
        held = {
            (r, lib): c
            for r, lib, c in conn.execute(select(h.c.record_id, h.c.library, h.c.copies))
        }
    return sorted(
        (r, lib, held.get((r, lib), 0), ledger.get((r, lib), 0))
        for (r, lib) in set(ledger) | set(held)
        if held.get((r, lib), 0) != ledger.get((r, lib), 0)
    )


def check(catalog: Catalog, repair: bool = True) -> CheckReport:
    report = CheckReport(repaired=repair)
    with catalog.engine.connect() as conn:
        report.head = feed.head(conn)
        report.nodes = feed.node_positions(conn)
    report.holdings_drift = _holdings_drift(catalog)
    if repair and report.holdings_drift:

        def work(conn, touched) -> None:
            for record_id, library, _held, ledger in report.holdings_drift:
                conn.execute(
                    update(models.holdings)
                    .where(
                        models.holdings.c.record_id == record_id,
                        models.holdings.c.library == library,
                    )
                    .values(copies=ledger, version=models.holdings.c.version + 1)
                )
                touched.add(record_id)

        catalog.change("check.repair", "portal check", work)
    if catalog.index.exists() and catalog.index.healthy():
        catalog.catch_up()  # changes still to apply are not drift
    if not catalog.index.exists() or not catalog.index.healthy():
        report.index_rebuilt = True
        if repair:
            catalog.rebuild_index()
        return report
    indexed = catalog.index.fingerprints()
    wanted = {doc["id"]: fingerprint(doc) for doc in catalog.documents()}
    report.missing_in_index = set(wanted) - set(indexed)
    report.extra_in_index = set(indexed) - set(wanted)
    report.stale_in_index = {i for i in set(wanted) & set(indexed) if wanted[i] != indexed[i]}
    changed = report.missing_in_index | report.stale_in_index
    if repair and (changed or report.extra_in_index):
        catalog.index.update(list(catalog.documents(changed)), delete_ids=report.extra_in_index)
    return report
