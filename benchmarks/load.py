"""HTTP load on a real `portal serve`: readers on search, record and library pages, optionally
with a librarian importing a batch and editing holdings at the same time.

    python benchmarks/load.py --clients 16 --seconds 30                 # demo catalog
    python benchmarks/load.py --clients 16 --records 55482 --seconds 30
    python benchmarks/load.py --clients 32 --records 55482 --workers 2 --librarian

Loopback only, bounded by --seconds and --max-requests; it stops by itself. Prints
requests/s and p50/p95/p99 per endpoint, errors, the slowest request, and (with
--librarian) how long each change took to show in readers' searches.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import synthetic_csv  # noqa: E402

QUERIES = [
    "Abai",
    "oian qazaq",
    "Chekhov",
    "Kucuk Prens",
    "İstanbul",
    "Səməd Vurğun",
    "Путь Абая",
    "Dostoevksy",
    "qazaq adebieti",
    "şeirləri",
    "роман",
    "Нурпеисов",
    "tarix",
    "Kürk Mantolu",
    "Qarabağ",
]
LANGS = ["az", "kk", "tr", "ru", "en"]
LIBRARIES = ["SHU", "LAC", "KEL", "AGD", "FUZ", "JAB", "ZAN", "GUB", "KHO", "KHV", "ANL"]
PASSWORD = "load test password 2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def portal(data_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PORTAL_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "portal", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


def start_server(data_dir: Path, workers: int) -> tuple[subprocess.Popen, int]:
    """Start `portal serve` and wait until every worker has finished starting (a client
    connecting earlier would be served by the first worker for its whole keep-alive)."""
    port = free_port()
    env = dict(os.environ, PORTAL_DATA_DIR=str(data_dir))
    log = data_dir.parent / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "portal", "serve",
                "--port", str(port), "--workers", str(workers), "--log-level", "info",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline:
        if log.read_text(errors="replace").count("Application startup complete") >= workers:
            return process, port
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the portal did not start; see {log}")


SLOW_SECONDS = 1.0


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.perf_counter()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.slowest = (0.0, "")
        self.slow: list[float] = []  # when (seconds into the run) each slow request began
        self.events: list[tuple[float, str]] = []  # the librarian's actions, for comparison

    def add(self, endpoint: str, seconds: float, ok: bool, url: str) -> None:
        with self.lock:
            self.times[endpoint].append(seconds)
            if not ok:
                self.errors[endpoint] += 1
            if seconds > self.slowest[0]:
                self.slowest = (seconds, url)
            if seconds > SLOW_SECONDS:
                self.slow.append(time.perf_counter() - seconds - self.started)

    def event(self, what: str) -> None:
        with self.lock:
            self.events.append((time.perf_counter() - self.started, what))


KIND_MIXES = {
    "mixed": ["search page", "search page", "search api", "record page", "library page"],
    "api": ["search api"],
    "pages": ["search page", "record page", "library page"],
}


class DistinctQueries:
    """Every search request of the run a query string no earlier request used (drawn from
    benchmarks/queries.py's mixed set), so that no result cache answers: the cold cost."""

    def __init__(self, rows: list[dict[str, str]], count: int):
        from benchmarks.queries import query_set

        self.lock = threading.Lock()
        self.queries = [_params(request) for _, request in query_set(rows, count)]
        self.next = 0

    def take(self) -> str:
        with self.lock:
            query = self.queries[self.next % len(self.queries)]
            self.next += 1
            return query


def _params(request) -> str:
    pairs = [("q", request.text)]
    pairs += [(name, value) for name, values in request.filters.items() for value in values]
    for name in ("year_from", "year_to"):
        if getattr(request, name) is not None:
            pairs.append((name, str(getattr(request, name))))
    if request.sort != "relevance":
        pairs.append(("sort", request.sort))
    if request.page != 1:
        pairs.append(("page", str(request.page)))
    return urllib.parse.urlencode(pairs)


def reader(
    port: int,
    stop: threading.Event,
    budget: list[int],
    recorder: Recorder,
    record_ids: list[str],
    seed: int,
    kinds: list[str] = KIND_MIXES["mixed"],
    distinct: DistinctQueries | None = None,
) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        with recorder.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        lang = rng.choice(LANGS)
        kind = rng.choice(kinds)
        query = distinct.take() if distinct else f"q={urllib.parse.quote(rng.choice(QUERIES))}"
        if kind == "search page":
            url = f"/{lang}/search?{query}"
        elif kind == "search api":
            url = f"/api/v1/search?{query}&ui_lang={lang}"
        elif kind == "record page":
            url = f"/{lang}/records/{rng.choice(record_ids)}"
        else:
            url = f"/{lang}/libraries/{rng.choice(LIBRARIES)}"
        started = time.perf_counter()
        try:
            # Each reader is its own client, as a proxy in front passes it on.
            connection.request("GET", url, headers={"X-Forwarded-For": f"10.2.0.{seed + 1}"})
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        recorder.add(kind, time.perf_counter() - started, ok, url)


def visible_after(port: int, query: str, predicate, timeout: float = 10.0) -> float:
    """Seconds until a reader's search shows what a librarian just saved."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() - started < timeout:
        connection.request("GET", query)
        body = json.loads(connection.getresponse().read())
        if predicate(body):
            return time.perf_counter() - started
        time.sleep(0.02)
    return float("inf")


def librarian(
    port: int, data_dir: Path, stop: threading.Event, report: dict, recorder: Recorder
) -> None:
    """Import a batch with the CLI, then transfer copies with the CLI-free catalog API,
    timing how long each takes to be visible to readers."""
    _data, rows = synthetic_csv(500, seed=4242)
    for row in rows:  # a word no other record has, so a reader can look for the batch
        row["record_id"] = row["record_id"].replace("syn-", "lib-")
        row["title"] = "Qaraqoyunlu " + row["title"]
    batch = data_dir.parent / "librarian-batch.csv"
    with batch.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    started = time.perf_counter()
    recorder.event("import starts")
    portal(data_dir, "import", str(batch))
    recorder.event("import ends")
    report["import seconds"] = time.perf_counter() - started
    report["import visible after"] = visible_after(
        port, "/api/v1/search?q=Qaraqoyunlu&per_page=1", lambda body: body["total"] >= 500
    )
    edits = []
    script = (
        "import sys\n"
        "from portal.catalog.accounts import User\n"
        "from portal.catalog.catalog import Catalog\n"
        "from portal.catalog.holdings import holding_version\n"
        "from portal.catalog import staff\n"
        "c = Catalog.open(sys.argv[1])\n"
        "u = User(0, 'load-librarian', 'coordinator', None, False)\n"
        "with c.engine.connect() as conn:\n"
        "    copies, version = holding_version(conn, sys.argv[2], sys.argv[3])\n"
        "staff.transfer(c, u, sys.argv[2], sys.argv[3], 'KHV', 1, version)\n"
    )
    for row in rows[1:6]:
        if stop.is_set():
            break
        record_id = row["record_id"].replace("syn-", "lib-")
        if row["library"] == "KHV":
            continue
        env = dict(os.environ, PORTAL_DATA_DIR=str(data_dir))
        recorder.event("transfer")
        subprocess.run(
            [sys.executable, "-c", script, str(data_dir), record_id, row["library"]],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        edits.append(
            visible_after(
                port,
                f"/api/v1/records/{record_id}",
                lambda body: any(h["library"]["code"] == "KHV" for h in body["holdings"]),
            )
        )
    report["edits visible after"] = edits


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=0, help="synthetic records (0: demo)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--librarian", action="store_true")
    parser.add_argument(
        "--only", choices=sorted(KIND_MIXES), default="mixed", help="which requests readers send"
    )
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="every search a query no earlier request used (synthetic catalogs only)",
    )
    parser.add_argument(
        "--copy-of",
        type=Path,
        default=None,
        help="serve a copy of this data folder (e.g. one search_speed.py --data-dir built)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        if args.copy_of:
            shutil.copytree(args.copy_of, data_dir, symlinks=True)
        rows: list[dict[str, str]] = []
        if args.records and not args.copy_of or args.distinct:
            data, rows = synthetic_csv(args.records or 55_482)
        if args.records and not args.copy_of:
            (Path(tmp) / "synthetic.csv").write_bytes(data)
            portal(data_dir, "import", str(Path(tmp) / "synthetic.csv"))
        server, port = start_server(data_dir, args.workers)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/api/v1/search?q=&per_page=100")
            record_ids = [r["id"] for r in json.loads(connection.getresponse().read())["results"]]
            recorder, stop = Recorder(), threading.Event()
            budget = [args.max_requests]
            distinct = DistinctQueries(rows, 50_000) if args.distinct else None
            threads = [
                threading.Thread(
                    target=reader,
                    args=(port, stop, budget, recorder, record_ids, n),
                    kwargs={"kinds": KIND_MIXES[args.only], "distinct": distinct},
                )
                for n in range(args.clients)
            ]
            extra: dict = {}
            if args.librarian:
                threads.append(
                    threading.Thread(target=librarian, args=(port, data_dir, stop, extra, recorder))
                )
            started = recorder.started = time.perf_counter()
            for thread in threads:
                thread.start()
            time.sleep(args.seconds)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    total = sum(len(v) for v in recorder.times.values())
    errors = sum(recorder.errors.values())
    catalog = f"{args.records} synthetic records" if args.records else "demo catalog"
    if args.copy_of:
        catalog = f"copy of {args.copy_of}"
    catalog += f", {args.only} requests" + (", every search distinct" if args.distinct else "")
    print(
        f"{catalog}, {args.clients} clients, {args.workers} worker(s), {elapsed:.0f} s: "
        f"{total} requests, {total / elapsed:.1f} requests/s, {errors} errors"
    )
    for endpoint, values in sorted(recorder.times.items()):
        print(
            f"  {endpoint:<13} n={len(values):<6} p50 {percentile(values, 50) * 1000:7.1f} ms"
            f"  p95 {percentile(values, 95) * 1000:7.1f} ms"
            f"  p99 {percentile(values, 99) * 1000:7.1f} ms  errors {recorder.errors[endpoint]}"
        )
    print(f"  slowest request: {recorder.slowest[0] * 1000:.0f} ms ({recorder.slowest[1]})")
    if recorder.slow:
        print(
            f"  requests over {SLOW_SECONDS:.0f} s: {len(recorder.slow)}, begun at "
            + ", ".join(f"{t:.1f}" for t in sorted(recorder.slow))
            + " s"
        )
    if recorder.events:
        print("  librarian: " + ", ".join(f"{what} {t:.1f} s" for t, what in recorder.events))
    for key, value in extra.items():
        if isinstance(value, list):
            print(f"  {key}: " + ", ".join(f"{v:.2f} s" for v in value))
        else:
            print(f"  {key}: {value:.2f} s")


if __name__ == "__main__":
    main()
