"""Relevance benchmark: judged reader queries over the demo catalog.

Prints success@1, success@5 and MRR per category for the portal's engine and for a plain
Whoosh baseline (StandardAnalyzer over title, authors and subjects) on the same catalog.

    python tests/relevance/evaluate.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import MultifieldParser

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from index import SearchRequest  # noqa: E402
from portal.catalog.catalog import Catalog  # noqa: E402
from portal.demo import load_demo  # noqa: E402

CUTOFF = 10


@dataclass
class Judged:
    category: str
    query: str
    relevant: set[str]


@dataclass
class Scores:
    count: int = 0
    at1: float = 0.0
    at5: float = 0.0
    mrr: float = 0.0

    def add(self, ranked: list[str], relevant: set[str]) -> None:
        """A judged query with relevant records succeeds at the rank of the first one; one
        with none (junk: its content words match nothing) succeeds only with no result."""
        self.count += 1
        if not relevant:
            success = not ranked
            self.at1 += success
            self.at5 += success
            self.mrr += success
            return
        rank = next((i + 1 for i, rid in enumerate(ranked[:CUTOFF]) if rid in relevant), None)
        if rank:
            self.at1 += rank == 1
            self.at5 += rank <= 5
            self.mrr += 1 / rank

    def row(self) -> tuple[float, float, float]:
        n = max(self.count, 1)
        return self.at1 / n, self.at5 / n, self.mrr / n


def load_queries() -> list[Judged]:
    judged = []
    for path in sorted(HERE.glob("queries_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                judged.append(Judged(item["category"], item["query"], set(item["relevant"])))
    return judged


def engine_ranker(catalog: Catalog):
    def rank(text: str) -> list[str]:
        result = catalog.index.search(SearchRequest(text=text, per_page=CUTOFF, facets=False))
        return [hit.id for hit in result.hits]

    return rank


def baseline_ranker(catalog: Catalog, folder: Path):
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=StandardAnalyzer()),
        authors=TEXT(analyzer=StandardAnalyzer()),
        subjects=TEXT(analyzer=StandardAnalyzer()),
    )
    ix = whoosh_index.create_in(str(folder), schema)
    writer = ix.writer()
    for doc in catalog.documents():
        writer.add_document(
            id=doc["id"],
            title=doc["title"],
            authors=" ; ".join(doc["authors"] + doc["translators"]),
            subjects=" ; ".join(doc["subjects"]),
        )
    writer.commit()
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "authors", "subjects"], schema)

    def rank(text: str) -> list[str]:
        try:
            return [hit["id"] for hit in searcher.search(parser.parse(text), limit=CUTOFF)]
        except Exception:  # the plain parser chokes on some input; that counts as a miss
            return []

    return rank


def evaluate(rank, judged: list[Judged]) -> dict[str, Scores]:
    scores: dict[str, Scores] = defaultdict(Scores)
    for item in judged:
        ranked = rank(item.query)
        scores[item.category].add(ranked, item.relevant)
        scores["overall"].add(ranked, item.relevant)
    return scores


def failures(rank, judged: list[Judged], k: int = 5) -> list[tuple[Judged, list[str]]]:
    out = []
    for item in judged:
        ranked = rank(item.query)
        missed = bool(ranked) if not item.relevant else not set(ranked[:k]) & item.relevant
        if missed:
            out.append((item, ranked[:k]))
    return out


def run(data_dir: Path) -> tuple[dict[str, Scores], dict[str, Scores], Catalog]:
    catalog = Catalog.open(data_dir / "data")
    load_demo(catalog)
    judged = load_queries()
    ours = evaluate(engine_ranker(catalog), judged)
    (data_dir / "baseline").mkdir()
    base = evaluate(baseline_ranker(catalog, data_dir / "baseline"), judged)
    return ours, base, catalog


def report(ours: dict[str, Scores], base: dict[str, Scores]) -> str:
    lines = [
        f"{'category':<26}{'n':>4}  {'ours s@1':>8} {'s@5':>6} {'MRR':>6}   "
        f"{'plain s@1':>9} {'s@5':>6} {'MRR':>6}"
    ]
    for category in sorted(ours, key=lambda c: (c == "overall", c)):
        a1, a5, am = ours[category].row()
        b1, b5, bm = base[category].row()
        lines.append(
            f"{category:<26}{ours[category].count:>4}  {a1:>8.3f} {a5:>6.3f} {am:>6.3f}"
            f"   {b1:>9.3f} {b5:>6.3f} {bm:>6.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours, base, catalog = run(Path(tmp))
        print(report(ours, base))
        if "-v" in sys.argv:
            for item, ranked in failures(engine_ranker(catalog), load_queries()):
                print(
                    f"MISS [{item.category}] {item.query!r} want {sorted(item.relevant)} "
                    f"got {ranked}"
                )
        catalog.close()


if __name__ == "__main__":
    main()
