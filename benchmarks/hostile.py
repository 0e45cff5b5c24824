"""Readers' search latency while the portal is attacked: the hardening issue's yardstick.

    python benchmarks/hostile.py --records 55482 --seconds 30
    python benchmarks/hostile.py --copy-of /path/to/data     # a data folder built before

Phase 1 measures 16 readers alone. Phase 2 measures the same readers while 2 clients send the
most expensive searches they can craft (12 words, the widest year range varied on every
request so no cache helps, page after page) and 8 loops flood the sign-in form with an
unknown name. Prints p50/p95 of the readers' searches in both phases, the ratio of the
p95s (the target: under 3), and how the attackers were answered.
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import LANGS, QUERIES, percentile, portal, start_server  # noqa: E402
from benchmarks.synthetic import synthetic_csv  # noqa: E402

EXPENSIVE_WORDS = [
    *("kitab", "tarix", "roman", "şeir", "hekayə", "poema"),
    *("qazaq", "türk", "azərbaycan", "xalq", "ədəbiyyat", "dünya"),
]


class Loop(threading.Thread):
    """A client that repeats `one(connection, n)` until stopped, counting answers."""

    def __init__(self, port: int, stop: threading.Event, one, seed: int):
        super().__init__(daemon=True)
        self.port, self.stop, self.one, self.rng = port, stop, one, random.Random(seed)
        self.address = f"10.3.{seed // 250}.{seed % 250 + 1}"  # its own, passed as a proxy would
        self.times: list[float] = []
        self.codes: Counter = Counter()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.address = self.address
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.perf_counter()
            try:
                self.codes[self.one(connection, self.rng, n)] += 1
            except (OSError, http.client.HTTPException):
                self.codes["error"] += 1
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                connection.address = self.address
            self.times.append(time.perf_counter() - started)


def get(connection: http.client.HTTPConnection, url: str) -> tuple[int, bytes]:
    connection.request("GET", url, headers={"X-Forwarded-For": connection.address})
    response = connection.getresponse()
    return response.status, response.read()


def reader_search(connection, rng: random.Random, n: int) -> int:
    lang = rng.choice(LANGS)
    query = urllib.parse.quote(rng.choice(QUERIES))
    url = rng.choice([f"/{lang}/search?q={query}", f"/api/v1/search?q={query}&ui_lang={lang}"])
    return get(connection, url)[0]


def expensive_search(connection, rng: random.Random, n: int) -> int:
    words = " ".join(rng.sample(EXPENSIVE_WORDS, 12))
    query = urllib.parse.urlencode(
        {"q": words, "year_from": rng.randint(0, 50), "year_to": 9873 - n % 500, "page": 1 + n % 5}
    )
    status, _ = get(connection, f"/api/v1/search?{query}")
    if status == 429:
        time.sleep(0.05)  # an attacker retries at once; a little pause keeps this a loop
    return status


def sign_in_flood(connection, rng: random.Random, n: int) -> int:
    if n % 20 == 1 or not getattr(connection, "form", None):  # a fresh form now and then
        connection.request(
            "GET", "/en/staff/sign-in", headers={"X-Forwarded-For": connection.address}
        )
        response = connection.getresponse()
        page = response.read().decode()
        cookie = (response.getheader("set-cookie") or "").split(";")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        connection.form = (cookie, token.group(1) if token else "")
    cookie, token = connection.form
    body = urllib.parse.urlencode(
        {"name": f"nobody{rng.randint(0, 10**6)}", "password": "guess" * 3, "csrf_token": token}
    )
    connection.request(
        "POST",
        "/en/staff/sign-in",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "X-Forwarded-For": connection.address,
        },
    )
    response = connection.getresponse()
    response.read()
    return response.status


def campaign_times(port: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.address = "10.9.9.9"
    times = []
    for _ in range(5):
        started = time.perf_counter()
        get(connection, "/en/campaign")
        times.append(time.perf_counter() - started)
    return times


def phase(port: int, seconds: float, readers: int, expensive: int, flood: int):
    stop = threading.Event()
    loops = {
        "readers": [Loop(port, stop, reader_search, n) for n in range(readers)],
        "expensive": [Loop(port, stop, expensive_search, 100 + n) for n in range(expensive)],
        "sign-in": [Loop(port, stop, sign_in_flood, 200 + n) for n in range(flood)],
    }
    for group in loops.values():
        for loop in group:
            loop.start()
    time.sleep(seconds)
    stop.set()
    for group in loops.values():
        for loop in group:
            loop.join(timeout=120)
    return {
        name: (
            sum((loop.times for loop in group), []),
            sum((loop.codes for loop in group), Counter()),
        )
        for name, group in loops.items()
    }


def summary(times: list[float]) -> str:
    if not times:
        return "no requests"
    return (
        f"n={len(times):<6} p50 {percentile(times, 50) * 1000:7.1f} ms"
        f"  p95 {percentile(times, 95) * 1000:7.1f} ms  max {max(times) * 1000:7.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=55_482)
    parser.add_argument("--copy-of", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        if args.copy_of:
            shutil.copytree(args.copy_of, data_dir, symlinks=True)
            catalog = f"copy of {args.copy_of}"
        else:
            data, _ = synthetic_csv(args.records)
            (Path(tmp) / "synthetic.csv").write_bytes(data)
            portal(data_dir, "import", str(Path(tmp) / "synthetic.csv"))
            catalog = f"{args.records} synthetic records"
        print(f"{catalog} ready in {time.perf_counter() - started:.0f} s", flush=True)
        server, port = start_server(data_dir, args.workers)
        try:
            phase(port, 3, args.readers, 0, 0)  # warm caches and workers
            quiet = phase(port, args.seconds, args.readers, 0, 0)
            attacked = phase(port, args.seconds, args.readers, 2, 8)
            campaign = campaign_times(port)
        finally:
            server.terminate()
            server.wait(timeout=30)
    calm, loaded = quiet["readers"][0], attacked["readers"][0]
    print(f"{args.readers} readers, {args.workers} worker(s), {args.seconds:.0f} s per phase")
    print(f"  readers alone        {summary(calm)}")
    print(f"  readers under attack {summary(loaded)}")
    print(f"  attack: expensive    {summary(attacked['expensive'][0])}")
    print(f"  attack: sign-in      {summary(attacked['sign-in'][0])}")
    for name in ("readers", "expensive", "sign-in"):
        print(f"  answers to {name}: {dict(attacked[name][1])}")
    print(
        "  campaign page, 5 views in a row: "
        + ", ".join(f"{t * 1000:.0f} ms" for t in campaign)
        + " (the first computes the figures; later views of the same catalog state reuse them)"
    )
    ratio = percentile(loaded, 95) / percentile(calm, 95)
    print(f"  reader p95 under attack / alone: {ratio:.2f} (target < 3)")


if __name__ == "__main__":
    main()
