"""Campaign figures: every grouping counts the same donated copies."""

from __future__ import annotations

import re


def test_campaign_figures_agree_with_each_other(demo_catalog):
    figures = demo_catalog.campaign_figures()
    totals = {name: sum(n for _, n in rows) for name, rows in figures.items()}
    assert set(totals) == {"month", "donor", "language", "library"}
    assert len(set(totals.values())) == 1 and totals["month"] > 0
    months = [m for m, _ in figures["month"]]
    assert months == sorted(months) and len(months) == len(set(months)) > 1
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months)
    counts = [n for _, n in figures["library"]]
    assert counts == sorted(counts, reverse=True)
