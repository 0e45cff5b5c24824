"""Several portal nodes on one catalog database, under load, with racing librarians.

    python benchmarks/nodes.py --database postgresql://postgres@127.0.0.1:55432/postgres \\
        --nodes 3 --readers 32 --rounds 20
    python benchmarks/nodes.py --nodes 3 --readers 16 --rounds 10          # one SQLite file
    python benchmarks/nodes.py ... --kill-node --restart-database "pg_ctl -D DIR restart -m fast"

Each node is a `portal serve` with a data folder of its own (its index) naming the shared
database in `database.url`. Readers search on every node while two librarians, signed in on
different nodes, transfer copies of the same holding at the same moment (each with the
version they saw), a coordinator imports a batch through the first node's command line, and
optionally one node is killed (-9) and restarted and the database server restarted.

Prints: reader requests/s per node and errors; accepted and refused transfers; lost updates
(holdings against the ledger, accepted transfers against the audit log); how long each
change took to reach every node's index (p50/p95/max), and the import's end-to-end
visibility in every node's search.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from portal.catalog import (  # noqa: E402
    feed,
    models,
    staff,  # noqa: E402
)
from portal.catalog.accounts import User, add_user  # noqa: E402
from portal.catalog.catalog import Catalog, DataPaths  # noqa: E402
from portal.catalog.check import check  # noqa: E402
from portal.catalog.db import database_url  # noqa: E402
from portal.catalog.holdings import holding_version  # noqa: E402
from portal.demo import load_demo  # noqa: E402

PASSWORD = "nodes benchmark password"
QUERIES = ["Abai", "oian qazaq", "Chekhov", "Kucuk Prens", "Səməd Vurğun", "роман", "tarix"]
SOURCE = "SHU"  # the librarians' library; RECORD is its biggest holding (set in prepare)
RECORD = ""
START_TIMEOUT = 180.0


# --- nodes ------------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    folder: Path
    port: int = 0
    process: subprocess.Popen | None = None
    down: bool = False  # killed on purpose: readers leave it alone

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int = 1) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = dict(os.environ, PORTAL_DATA_DIR=str(self.folder), PORTAL_NODE_NAME=self.name)
        env.pop("PORTAL_DATABASE_URL", None)
        with open(self.folder.parent / f"{self.name}.log", "ab") as log:  # the child keeps its copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "portal", "serve", "--port", str(self.port)]
                + ["--workers", str(workers)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed with all its workers
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.folder.parent}/{self.name}.log")
            try:
                get(self.base + "/api/v1/status", timeout=2)
                self.down = False
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not start")

    def kill(self) -> None:
        """kill -9 the node and its workers, as a power cut would."""
        self.down = True
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def get(url: str, timeout: float = 30, client: str | None = None) -> tuple[int, bytes]:
    """GET `url`; `client` is the reader's address as a proxy in front would pass it (every
    benchmark client is on loopback, which the portal believes as its proxy)."""
    request = urllib.request.Request(url, headers={"X-Forwarded-For": client} if client else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def status(node: Node) -> dict:
    code, body = get(node.base + "/api/v1/status", timeout=5)
    return json.loads(body) if code == 200 else {}


def prepare(base: Path, database: str | None, count: int) -> tuple[list[Node], str]:
    """The shared catalog (demo catalog and staff accounts) and `count` node folders."""
    first = base / "node-1"
    first.mkdir(parents=True)
    if database:
        url = make_url(database_url(database))
        name = f"portal_nodes_{os.getpid()}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        shared = url.set(database=name).render_as_string(hide_password=False)
    else:
        shared = f"sqlite:///{base / 'shared.sqlite3'}"
    DataPaths(first).database_url_file.write_text(shared + "\n")
    catalog = Catalog.open(first)
    load_demo(catalog)
    add_user(catalog.engine, "coord", PASSWORD, "coordinator", None)
    add_user(catalog.engine, "shu-1", PASSWORD, "librarian", SOURCE)
    add_user(catalog.engine, "shu-2", PASSWORD, "librarian", SOURCE)
    with catalog.engine.connect() as conn:
        held = models.holdings
        row = conn.execute(
            select(held.c.record_id)
            .where(held.c.library == SOURCE)
            .order_by(held.c.copies.desc(), held.c.record_id)
            .limit(1)
        ).scalar_one()
    global RECORD
    RECORD = row
    with catalog.engine.connect() as conn:
        _, version = holding_version(conn, RECORD, SOURCE)
    coordinator = User(0, "coord", "coordinator", None, False)
    staff.receive(catalog, coordinator, RECORD, SOURCE, 10_000, version)  # copies to move
    catalog.close()
    nodes = [Node("node-1", first)]
    for n in range(2, count + 1):
        folder = base / f"node-{n}"
        folder.mkdir()
        DataPaths(folder).database_url_file.write_text(shared + "\n")
        nodes.append(Node(f"node-{n}", folder))
    return nodes, shared


# --- staff ------------------------------------------------------------------------------------


class Staff:
    """A signed-in staff member's browser: cookies and the form token."""

    def __init__(self, node: Node, name: str):
        self.node = node
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )
        page = self.open("/en/staff/sign-in")[1]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        code, _ = self.open(
            "/en/staff/sign-in", {"name": name, "password": PASSWORD, "csrf_token": token}
        )
        if code != 303:
            raise RuntimeError(f"{name} could not sign in on {node.name} ({code})")

    def open(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.node.base + path, data=data, timeout=60) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def holding(self, record: str, library: str) -> tuple[int, str]:
        """(version, csrf token) of a holding as its page shows them."""
        page = self.open(f"/en/staff/holdings/{record}/{library}")[1]
        version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return version, token

    def transfer(self, record: str, source: str, target: str, version: int, token: str) -> int:
        """303 done; 409 changed meanwhile (the version seen is old); other codes as sent
        (a 409 for any other reason is reported as 4090)."""
        form = {"copies": "1", "target": target, "version": str(version), "csrf_token": token}
        code, page = self.open(f"/en/staff/holdings/{record}/{source}/transfer", form)
        if code == 409 and "changed meanwhile" not in page:
            return 4090
        return code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# --- load -------------------------------------------------------------------------------------


@dataclass
class ReaderStats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    degraded: int = 0  # answered from the index alone while the database was away


def readers(nodes: list[Node], clients: int, stop: threading.Event) -> tuple[ReaderStats, list]:
    stats = ReaderStats()
    lock = threading.Lock()

    def loop(n: int) -> None:
        rng = random.Random(n)
        node = nodes[n % len(nodes)]
        while not stop.is_set():
            if node.down:
                time.sleep(0.1)
                continue
            query = urllib.parse.quote(rng.choice(QUERIES))
            started = time.monotonic()
            try:
                code, body = get(
                    f"{node.base}/api/v1/search?q={query}&per_page=10",
                    timeout=30,
                    client=f"10.1.0.{n + 1}",
                )
            except (OSError, http.client.HTTPException) as error:  # a node killed mid-answer
                code, body = 0, str(error).encode()
            spent = time.monotonic() - started
            with lock:
                if node.down:
                    continue
                if code == 200:
                    stats.latencies[node.name].append(spent)
                    if (
                        b'"holdings_unavailable": true' in body
                        or b'"holdings_unavailable":true' in body
                    ):
                        stats.degraded += 1
                else:
                    stats.errors.append(f"{node.name}: {code} {body[:120]!r}")

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    return stats, threads


def wait_until_everywhere(nodes: list[Node], position: int, timeout: float = 30) -> list[float]:
    """Seconds until each node's index has applied `position` (inf if it did not)."""
    started = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < len(nodes) and time.monotonic() - started < timeout:
        for node in nodes:
            if node.name not in seen and status(node).get("index_position", -1) >= position:
                seen[node.name] = time.monotonic() - started
        time.sleep(0.02)
    return [seen.get(node.name, float("inf")) for node in nodes]


def head(url: str) -> int:
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            return feed.head(conn)
    finally:
        engine.dispose()


@dataclass
class Outcome:
    accepted: int = 0
    refused: int = 0
    other: list[int] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)  # seconds, every node, every change
    import_visible: list[float] = field(default_factory=list)
    killed_caught_up: float | None = None
    restart_staff_answers: list[int] = field(default_factory=list)


def race(nodes: list[Node], shared: str, rounds: int, outcome: Outcome) -> None:
    """Two librarians on two nodes transfer one copy of the same holding at once, each
    with the version they saw: at most one may win each round."""
    first, second = Staff(nodes[0], "shu-1"), Staff(nodes[1 % len(nodes)], "shu-2")
    targets = ["LAC", "KEL"]
    for _ in range(rounds):
        seen = [first.holding(RECORD, SOURCE), second.holding(RECORD, SOURCE)]
        barrier = threading.Barrier(2)
        codes = [0, 0]

        def post(i: int, staff: Staff, seen=seen, barrier=barrier, codes=codes) -> None:
            version, token = seen[i]
            barrier.wait()
            codes[i] = staff.transfer(RECORD, SOURCE, targets[i], version, token)

        threads = [
            threading.Thread(target=post, args=(i, s)) for i, s in enumerate((first, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        outcome.accepted += codes.count(303)
        outcome.refused += codes.count(409)
        outcome.other += [c for c in codes if c not in (303, 409)]
        if 303 in codes:
            outcome.visible += wait_until_everywhere(nodes, head(shared))


def import_batch(nodes: list[Node], outcome: Outcome, word: str) -> None:
    """A coordinator imports a batch on the first node; every node's search must find it."""
    batch = nodes[0].folder.parent / "batch.csv"
    batch.write_text(
        "record_id,title,language,authors,library,copies\n"
        + "".join(f"nb-{i},{word} {i},az,Benchmark Author,LAC,2\n" for i in range(50)),
        encoding="utf-8",
    )
    env = dict(os.environ, PORTAL_DATA_DIR=str(nodes[0].folder))
    env.pop("PORTAL_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "portal", "import", str(batch)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    returned = time.monotonic()
    found: dict[str, float] = {}
    while len(found) < len(nodes) and time.monotonic() - returned < 30:
        for node in nodes:
            if node.name in found:
                continue
            code, body = get(f"{node.base}/api/v1/search?q={word}&per_page=1", timeout=10)
            if code == 200 and json.loads(body)["total"] == 50:
                found[node.name] = time.monotonic() - returned
        time.sleep(0.02)
    outcome.import_visible = [found.get(n.name, float("inf")) for n in nodes]


def verify(shared: str, since: int, outcome: Outcome, folder: Path) -> list[str]:
    """Lost updates: holdings against the ledger, accepted transfers against the audit log."""
    problems = []
    catalog = Catalog.open(folder)
    try:
        report = check(catalog, repair=False)
        if report.holdings_drift:
            problems.append(f"holdings differ from the ledger: {report.holdings_drift[:5]}")
        with catalog.engine.connect() as conn:
            transfers = conn.execute(
                select(func.count())
                .select_from(models.audit_log)
                .where(
                    models.audit_log.c.action == "holdings.transfer", models.audit_log.c.id > since
                )
            ).scalar_one()
        if transfers != outcome.accepted:
            problems.append(f"{outcome.accepted} transfers accepted, {transfers} in the log")
    finally:
        catalog.close()
    return problems


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
        if ordered
        else float("nan")
    )


@dataclass
class Measured:
    nodes: list[Node]
    stats: ReaderStats
    outcome: Outcome
    elapsed: float
    problems: list[str]


def measure(args: argparse.Namespace) -> Measured:
    """Run the whole scenario once; the nodes are stopped before it returns."""
    base = Path(tempfile.mkdtemp(prefix="portal-nodes-"))
    nodes, shared = prepare(base, args.database, args.nodes)
    outcome = Outcome()
    stop = threading.Event()
    try:
        for node in nodes:
            node.start(args.workers)
        engine = create_engine(database_url(shared))
        with engine.connect() as conn:
            since = conn.execute(
                select(func.coalesce(func.max(models.audit_log.c.id), 0))
            ).scalar_one()
        engine.dispose()
        started = time.monotonic()
        stats, threads = readers(nodes, args.readers, stop)
        race(nodes, shared, args.rounds, outcome)
        import_batch(nodes, outcome, "Zzyzxbench")
        if args.kill_node:
            victim = nodes[-1]
            victim.kill()
            race(nodes[:-1], shared, 3, outcome)  # changes while it is down
            position = head(shared)
            victim.start(args.workers)  # answers once it has caught up from its position
            outcome.killed_caught_up = max(wait_until_everywhere([victim], position))
        if args.restart_database:
            staff = Staff(nodes[0], "shu-1")
            version, token = staff.holding(RECORD, SOURCE)
            restart = subprocess.Popen(args.restart_database, shell=True)
            for _ in range(20):  # staff actions while the server restarts
                answer = staff.transfer(RECORD, SOURCE, "KEL", version, token)
                outcome.restart_staff_answers.append(answer)
                outcome.accepted += answer == 303
                time.sleep(0.1)
            restart.wait(60)
            time.sleep(2)
            race(nodes, shared, 2, outcome)  # after it: nodes reconnected by themselves
        elapsed = time.monotonic() - started
        stop.set()
        for thread in threads:
            thread.join(30)
        problems = verify(shared, since, outcome, nodes[0].folder)
        return Measured(nodes, stats, outcome, elapsed, problems)
    finally:
        stop.set()
        for node in nodes:
            node.stop()


def run(args: argparse.Namespace) -> int:
    found = measure(args)
    report(args, found.nodes, found.stats, found.outcome, found.elapsed, found.problems)
    bad = found.problems or found.stats.errors or found.outcome.other
    return 1 if bad else 0


def report(args, nodes, stats: ReaderStats, outcome: Outcome, elapsed: float, problems) -> None:
    backend = "PostgreSQL" if args.database else "SQLite (one file)"
    print(f"{len(nodes)} nodes on {backend}, {args.readers} readers, {elapsed:.0f} s")
    for node in nodes:
        values = stats.latencies[node.name]
        print(
            f"  {node.name}: {len(values) / elapsed:6.1f} searches/s  "
            f"p50 {percentile(values, 50) * 1000:6.1f} ms  "
            f"p95 {percentile(values, 95) * 1000:6.1f} ms"
        )
    print(
        f"  reader errors: {len(stats.errors)}"
        + (f" (first: {stats.errors[0]})" if stats.errors else "")
    )
    print(f"  answered from the index alone (database away): {stats.degraded}")
    print(
        f"transfers: {outcome.accepted} accepted, {outcome.refused} refused as changed meanwhile"
        + (f", other answers {outcome.other}" if outcome.other else "")
    )
    print(f"lost updates: {len(problems)}" + "".join(f"\n  {p}" for p in problems))
    v = outcome.visible
    print(
        f"a transfer in every node's index after: p50 {percentile(v, 50):.2f} s  "
        f"p95 {percentile(v, 95):.2f} s  max {max(v) if v else float('nan'):.2f} s  "
        f"({len(v)} node-changes)"
    )
    print(
        "the import in every node's search after: "
        + ", ".join(f"{s:.2f} s" for s in outcome.import_visible)
    )
    if outcome.killed_caught_up is not None:
        print(
            "a node killed (-9), changes made, restarted: its index was at the newest change "
            f"{outcome.killed_caught_up:.2f} s after it answered again"
        )
    if outcome.restart_staff_answers:
        counts = {
            code: outcome.restart_staff_answers.count(code)
            for code in set(outcome.restart_staff_answers)
        }
        print(f"staff answers while the database restarted: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL (default: one SQLite file)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--readers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--kill-node", action="store_true")
    parser.add_argument("--restart-database", metavar="COMMAND")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
