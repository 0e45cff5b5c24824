"""The libraries map and the search feeds in a real Chromium against a real `portal serve`:
the map is visible, labelled, reachable by keyboard and axe-clean; every SVG <text> (the maps'
labels and the campaign charts') lies inside its SVG's viewBox in all five languages, as the
browser measures it; a search page links a feed that parses."""

from __future__ import annotations

import json

import feedparser
import pytest
from playwright.sync_api import expect
from test_reader import run_axe

pytestmark = pytest.mark.slow

LANGUAGES = ["az", "kk", "tr", "ru", "en"]

# Every <text> of every SVG on the page whose bounding box leaves its SVG's viewBox.
TEXTS_OUTSIDE = """
() => {
  const out = [];
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.viewBox.baseVal;
    if (!box || !box.width) continue;
    for (const text of svg.querySelectorAll("text")) {
      const b = text.getBBox();
      if (b.x < box.x - 0.5 || b.y < box.y - 0.5 ||
          b.x + b.width > box.x + box.width + 0.5 || b.y + b.height > box.y + box.height + 0.5) {
        out.push({svg: svg.closest("figure")?.id || svg.getAttribute("aria-labelledby"),
                  text: text.textContent, box: [b.x, b.y, b.width, b.height],
                  view: [box.x, box.y, box.width, box.height]});
      }
    }
  }
  return out;
}
"""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_svg_texts_fit_their_viewbox(page, server, lang):
    for path in (f"/{lang}/libraries", f"/{lang}/campaign", f"/{lang}/records/kk-0004"):
        page.goto(server + path)
        page.wait_for_load_state("load")
        page.evaluate("document.fonts.ready")
        count = page.evaluate("document.querySelectorAll('svg text').length")
        assert count > 0, f"{path}: no SVG text"
        outside = page.evaluate(TEXTS_OUTSIDE)
        assert not outside, f"{path}: " + json.dumps(outside, ensure_ascii=False)


def test_libraries_map_is_visible_labelled_and_reachable_by_keyboard(page, server):
    page.goto(server + "/en/libraries")
    figure = page.locator("figure#libraries-map")
    svg = figure.locator("svg.map-svg")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200, box
    expect(svg).to_have_accessible_name("The libraries and the copies on their shelves")
    links = svg.locator("a.map-link")
    assert links.count() == 11
    name = svg.locator("a.map-link[data-code=SHU]").get_attribute("aria-label")
    assert name.startswith("Shusha: ") and name.endswith(" copies")  # the label it shows
    # the table is the text equivalent: one row per library, each a link
    expect(figure.locator("table.map-table tbody tr")).to_have_count(11)
    # keyboard: Tab reaches the map's links, and Enter follows one
    page.locator("h1").click()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('map-link')"):
            break
    else:
        pytest.fail("Tab never reached a link on the map")
    code = page.evaluate("document.activeElement.dataset.code")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/en/libraries/{code}")


def test_record_map_shows_where_the_book_is(page, server):
    page.goto(server + "/ru/records/kk-0004")
    svg = page.locator("figure#record-map svg")
    expect(svg).to_be_visible()
    holdings = page.locator("section[aria-labelledby=where] ul.holdings > li").count()
    assert svg.locator("a.map-link").count() == holdings
    assert svg.locator("circle.is-current").count() == holdings


def test_search_map_opens_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server + "/tr/search?q=Abai")
        svg = page.locator("details.results-map svg")
        expect(svg).to_be_hidden()
        page.locator("details.results-map summary").click()
        expect(svg).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize(
    "path", ["/en/libraries", "/kk/records/kk-0004", "/az/libraries", "/ru/search?q=Abai"]
)
def test_map_pages_are_axe_clean(page, server, axe_source, path):
    page.goto(server + path)
    page.wait_for_load_state("load")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    violations = run_axe(page, axe_source)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{path}: " + json.dumps(bad, ensure_ascii=False, indent=2)


def test_search_page_feed_link_parses(page, server):
    page.goto(server + "/kk/search?q=Abai&language=kk")
    link = page.locator(
        'head link[rel=alternate][type="application/atom+xml"][href*="search.atom"]'
    )
    expect(link).to_have_count(1)
    href = link.get_attribute("href")
    response = page.request.get(server + href)
    assert response.ok
    feed = feedparser.parse(response.body())
    assert not feed.bozo, feed.bozo_exception
    assert feed.entries and b'xml:lang="kk"' in response.body()
    visible = page.get_by_role("link", name=page.locator("p.follow a").inner_text())
    expect(visible).to_have_attribute("href", href)
