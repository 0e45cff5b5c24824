"""Background jobs: long work a staff page starts (importing tens of thousands of rows and
indexing them) runs in a thread of the node that took the request, so the request answers at
once; the job's page reads its state from the database and refreshes until it is done.

A job goes queued -> running (with its stage and counts) -> done or failed. Its work is one
catalog transaction as always: a node that dies mid-way leaves nothing half-written, and the
job is shown as interrupted (no progress for STALE_SECONDS).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from portal.catalog import models
from portal.catalog.db import writing

log = logging.getLogger("portal.jobs")
STALE_SECONDS = 600  # a running job silent this long died with its node
_runner: ThreadPoolExecutor | None = None
_runner_lock = threading.Lock()


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: str  # queued | running | done | failed
    user_id: int | None
    done: int
    total: int
    result: dict
    updated_at: datetime

    @property
    def interrupted(self) -> bool:
        return self.state == "running" and datetime.now(UTC) - self.updated_at > timedelta(
            seconds=STALE_SECONDS
        )

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed") or self.interrupted


def create(engine: Engine, kind: str, user_id: int | None, total: int = 0) -> int:
    with writing(engine) as conn:
        return insert_job(conn, kind, user_id, total)


def insert_job(conn: Connection, kind: str, user_id: int | None, total: int = 0) -> int:
    """A queued job, in the caller's transaction (so a job is made together with what
    it is for)."""
    now = datetime.now(UTC)
    return conn.execute(
        insert(models.jobs).values(
            kind=kind,
            state="queued",
            user_id=user_id,
            done=0,
            total=total,
            result=json.dumps({}),
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key[0]


def report(engine: Engine, job_id: int, **values) -> None:
    """Move a job on: its state, counts or result (a dict, stored as JSON)."""
    if "result" in values:
        values["result"] = json.dumps(values["result"], ensure_ascii=False, default=str)
    with writing(engine) as conn:
        conn.execute(
            update(models.jobs)
            .where(models.jobs.c.id == job_id)
            .values(**values, updated_at=datetime.now(UTC))
        )


def get(engine: Engine, job_id: int) -> Job | None:
    with engine.connect() as conn:
        row = conn.execute(select(models.jobs).where(models.jobs.c.id == job_id)).first()
    if row is None:
        return None
    return Job(
        row.id,
        row.kind,
        row.state,
        row.user_id,
        row.done,
        row.total,
        json.loads(row.result or "{}"),
        row.updated_at,
    )


def start(engine: Engine, job_id: int, work: Callable[[Callable[..., None]], dict]) -> None:
    """Run `work(progress)` in this node's job thread; `progress(**values)` reports on the
    way, and the dict it returns is the job's result. One job at a time per node: jobs are
    bulk work, and readers come first."""
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-job")

    def progress(stage: str | None = None, **counts: int) -> None:
        values: dict = dict(counts)
        if stage is not None:
            values["result"] = {"stage": stage}
        report(engine, job_id, **values)

    def run() -> None:
        report(engine, job_id, state="running")
        try:
            result = work(progress)
        except Exception as error:  # noqa: BLE001 - the job's page says what went wrong
            log.exception("job %s failed", job_id)
            report(engine, job_id, state="failed", result={"error": str(error)})
            return
        report(engine, job_id, state="done", result=result)

    _runner.submit(run)
