"""Reading the catalog for harvesters and exports: when each record last changed, whether it
is gone, which sets it belongs to, and its holdings and donations. Read-only.

Two definitions live here and nowhere else:

* `last_changed`: a record's datestamp is `records.changed_at`, stamped by the change feed
  (portal/catalog/feed.py) on every record a change touches, its bibliographic data or its
  holdings, in commit order. It moves whenever a record is corrected or copies are
  received, withdrawn or transferred.
* `gone`: a record is gone (an OAI-PMH deleted record) when it has held copies and holds none
  now, in any library: every copy was withdrawn or transferred out of the network. A record
  that comes back (copies received again) is live again, with a new datestamp.

The portal never deletes a record row and never merges records, so nothing else makes a
record disappear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine, and_, exists, func, select, type_coerce
from sqlalchemy.sql import Select

from portal.catalog import models

SET_KINDS = ("library", "language", "donor")
CHUNK = 500


@dataclass(frozen=True)
class RecordState:
    id: str
    datestamp: datetime  # UTC, aware
    deleted: bool


@dataclass(frozen=True)
class SetFilter:
    """A set of records: all records (`value` None) a kind applies to, or one value of it.

    library:CODE  records the library holds or has held (its holdings row exists), so a
                  harvester of that library's set also learns when copies leave it
    language:CODE records in that language (ISO 639-1)
    donor:CODE    records that donor gave copies of
    """

    kind: str
    value: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value: datetime) -> datetime:
    """Timestamps are stored as naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _state_query() -> Select:
    """id, datestamp and total copies of every record (filtered by the callers).

    The one definition of a record's datestamp: `records.changed_at`, which the change feed
    stamps on every record a change touches (its data or its holdings), in commit order, so
    a harvest "from" a moment never misses a change committed later with an earlier time.
    """
    r, h = models.records, models.holdings
    held = (
        select(h.c.record_id, func.sum(h.c.copies).label("copies"), func.count().label("rows"))
        .group_by(h.c.record_id)
        .subquery("held")
    )
    last_changed = type_coerce(
        func.coalesce(r.c.changed_at, r.c.updated_at), models.UtcDateTime
    ).label("datestamp")
    return (
        select(
            r.c.id,
            last_changed,
            func.coalesce(held.c.copies, 0).label("copies"),
            func.coalesce(held.c.rows, 0).label("holding_rows"),
        )
        .select_from(r)
        .outerjoin(held, held.c.record_id == r.c.id)
    )


def _is_gone(copies: int, holding_rows: int) -> bool:
    return holding_rows > 0 and copies == 0


def _state(row) -> RecordState:
    return RecordState(row.id, _utc(row.datestamp), _is_gone(row.copies, row.holding_rows))


def _in_set(query: Select, chosen: SetFilter | None) -> Select:
    r, e, h = models.records, models.holding_events, models.holdings
    if chosen is None:
        return query
    if chosen.kind == "language":
        return query if chosen.value is None else query.where(r.c.language == chosen.value)
    if chosen.kind == "library":
        condition = h.c.record_id == r.c.id
        if chosen.value is not None:
            condition = and_(condition, h.c.library == chosen.value)
        return query.where(exists().where(condition))
    if chosen.kind == "donor":
        condition = and_(e.c.record_id == r.c.id, e.c.donor.is_not(None))
        if chosen.value is not None:
            condition = and_(condition, e.c.donor == chosen.value)
        return query.where(exists().where(condition))
    raise ValueError(f"unknown set kind {chosen.kind!r}")


def changes(
    engine: Engine,
    *,
    since: datetime | None = None,
    before: datetime | None = None,
    in_set: SetFilter | None = None,
    after_id: str | None = None,
    limit: int | None = None,
) -> list[RecordState]:
    """Records whose datestamp is in [since, before), in id order, after `after_id`."""
    query = _in_set(_state_query(), in_set)
    inner = query.subquery("states")
    outer = select(inner)
    if since is not None:
        outer = outer.where(inner.c.datestamp >= _naive(since))
    if before is not None:
        outer = outer.where(inner.c.datestamp < _naive(before))
    if after_id is not None:
        outer = outer.where(inner.c.id > after_id)
    outer = outer.order_by(inner.c.id)
    if limit is not None:
        outer = outer.limit(limit)
    with engine.connect() as conn:
        return [_state(row) for row in conn.execute(outer)]


def count_changes(
    engine: Engine,
    *,
    since: datetime | None = None,
    before: datetime | None = None,
    in_set: SetFilter | None = None,
) -> int:
    inner = _in_set(_state_query(), in_set).subquery("states")
    query = select(func.count()).select_from(inner)
    if since is not None:
        query = query.where(inner.c.datestamp >= _naive(since))
    if before is not None:
        query = query.where(inner.c.datestamp < _naive(before))
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def record_states(engine: Engine, ids: Iterable[str]) -> dict[str, RecordState]:
    ids = sorted(set(ids))
    found: dict[str, RecordState] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            query = _state_query().where(models.records.c.id.in_(chunk))
            found.update({row.id: _state(row) for row in conn.execute(query)})
    return found


def earliest_datestamp(engine: Engine) -> datetime | None:
    inner = _state_query().subquery("states")
    with engine.connect() as conn:
        return _utc(conn.execute(select(func.min(inner.c.datestamp))).scalar())


def record_sets(engine: Engine, ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Record id -> the (kind, value) sets it belongs to, in SET_KINDS order."""
    ids = sorted(set(ids))
    r, e, h = models.records, models.holding_events, models.holdings
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for record_id, library in conn.execute(
                select(h.c.record_id, h.c.library).where(h.c.record_id.in_(chunk))
            ):
                found[record_id]["library"].add(library)
            for record_id, language in conn.execute(
                select(r.c.id, r.c.language).where(r.c.id.in_(chunk))
            ):
                found[record_id]["language"].add(language)
            for record_id, donor in conn.execute(
                select(e.c.record_id, e.c.donor)
                .where(e.c.record_id.in_(chunk), e.c.donor.is_not(None))
                .distinct()
            ):
                found[record_id]["donor"].add(donor)
    return {
        record_id: [(kind, value) for kind in SET_KINDS for value in sorted(kinds[kind])]
        for record_id, kinds in found.items()
    }


def set_values(engine: Engine) -> dict[str, list[str]]:
    """Every value of each set kind that has at least one record."""
    r, e, h = models.records, models.holding_events, models.holdings
    with engine.connect() as conn:
        return {
            "library": sorted(conn.execute(select(h.c.library).distinct()).scalars()),
            "language": sorted(conn.execute(select(r.c.language).distinct()).scalars()),
            "donor": sorted(
                conn.execute(select(e.c.donor).where(e.c.donor.is_not(None)).distinct()).scalars()
            ),
        }


def donations(engine: Engine, ids: Iterable[str]) -> dict[str, list[dict]]:
    """Record id -> its donations (library, donor, first date, copies with corrections
    folded in), oldest first: where the copies came from (MARC 541)."""
    ids = sorted(set(ids))
    e = models.holding_events
    found: dict[str, list[dict]] = defaultdict(list)
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            query = (
                select(
                    e.c.record_id,
                    e.c.library,
                    e.c.donor,
                    func.min(e.c.event_date).label("day"),
                    func.sum(e.c.delta).label("copies"),
                )
                .where(e.c.record_id.in_(chunk), e.c.kind.in_(("donation", "correction")))
                .group_by(e.c.record_id, e.c.library, e.c.donor, e.c.source_key)
                .order_by(e.c.record_id, func.min(e.c.event_date), e.c.library)
            )
            for row in conn.execute(query):
                if row.copies > 0:
                    found[row.record_id].append(
                        {
                            "library": row.library,
                            "donor": row.donor,
                            "date": row.day,
                            "copies": int(row.copies),
                        }
                    )
    return found


def copies_by_library(engine: Engine) -> dict[str, int]:
    """Library code -> copies on its shelves now (every library, 0 if none)."""
    h, lib = models.holdings, models.libraries
    with engine.connect() as conn:
        codes = conn.execute(select(lib.c.code)).scalars().all()
        totals = dict(
            conn.execute(select(h.c.library, func.sum(h.c.copies)).group_by(h.c.library)).all()
        )
    return {code: int(totals.get(code) or 0) for code in codes}


def all_record_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(models.records.c.id).order_by(models.records.c.id)).scalars()
        )


def last_arrivals(
    engine: Engine, ids: Iterable[str], libraries: Iterable[str] | None = None
) -> dict[str, date]:
    """Record id -> the day copies last arrived (in any of `libraries`, default any library)
    among the libraries holding copies now."""
    ids = sorted(set(ids))
    h = models.holdings
    found: dict[str, date] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            query = (
                select(h.c.record_id, func.max(h.c.last_added))
                .where(h.c.record_id.in_(ids[start : start + CHUNK]), h.c.copies > 0)
                .group_by(h.c.record_id)
            )
            if libraries is not None:
                query = query.where(h.c.library.in_(list(libraries)))
            found.update(dict(conn.execute(query).all()))
    return found
