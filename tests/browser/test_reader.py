"""The portal as a reader uses it: a real Chromium against a real `portal serve`."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


def facet_links(page, title: str):
    """The links of one facet group (by its heading) in the Refine sidebar."""
    group = page.locator("aside.facets section").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )
    return group.locator("ul li a")


# 1. Search in two languages ------------------------------------------------------------


def test_search_latin_spelling_finds_kazakh_title(page, server):
    page.goto(server + "/en/")
    page.fill("#q", "oian qazaq")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/en/search\?q=oian"))

    first = page.locator("ol.results > li.result").first
    link = first.locator("h2 a")
    expect(link).to_have_attribute("href", "/en/records/kk-0012")
    assert link.inner_text().strip() == "Оян, қазақ!"
    assert link.locator("mark").count() >= 1


def test_search_in_russian_shows_russian_plurals(page, server):
    page.goto(server + "/ru/")
    page.fill("#q", "Чехов")
    page.locator("form.searchbox button[type=submit]").click()
    page.wait_for_url(re.compile(r"/ru/search\?q="))

    expect(page.locator("html")).to_have_attribute("lang", "ru")
    results = page.locator("ol.results > li.result")
    assert results.count() >= 1
    holdings = page.locator("ol.results ul.holdings").first.inner_text()
    assert re.search(r"\d+\s+экземпляр(а|ов)?\b", holdings), holdings
    heading = page.locator("#results-heading").inner_text()
    assert re.search(r"книг|книга", heading), heading


# 2. A record, and switching language on it ---------------------------------------------


def test_record_page_and_language_switch(page, server):
    page.goto(server + "/ru/records/kk-0004")
    expect(page.locator("article.record h1")).to_have_text("Абай жолы")

    holdings = page.locator("section[aria-labelledby=where] ul.holdings > li")
    assert holdings.count() >= 1
    for i, text in enumerate(holdings.all_inner_texts()):
        assert re.search(r"\d+\s+экземпляр", text), text
        assert holdings.nth(i).locator("a[href^='/ru/libraries/']").count() == 1

    editions = page.locator("section[aria-labelledby=editions]")
    expect(editions.locator("h2#editions")).to_be_visible()
    edition_links = editions.locator("li.result h3 a")
    assert edition_links.count() >= 1
    hrefs = edition_links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h.startswith("/ru/records/") and h != "/ru/records/kk-0004" for h in hrefs)

    page.locator("nav.languages").get_by_role("link", name="English", exact=True).click()
    page.wait_for_url(server + "/en/records/kk-0004")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("article.record h1")).to_have_text("Абай жолы")
    expect(page.locator("nav.languages a[aria-current=true]")).to_have_text("English")


# 3. Facets ------------------------------------------------------------------------------


def test_language_facet_filters_and_is_marked(page, server):
    page.goto(server + "/en/search?q=Abai")
    links = facet_links(page, "Language")
    assert links.count() >= 2, "the query should span several languages"
    target = links.nth(1)
    language = target.inner_text().strip()
    target.click()
    page.wait_for_url(re.compile(r"language="))

    metas = page.locator("ol.results > li.result p.meta").all_inner_texts()
    assert metas, "the facet should keep some results"
    for meta in metas:
        assert language in meta, (language, meta)

    active = facet_links(page, "Language").filter(has_text=language)
    expect(active).to_have_attribute("aria-current", "true")
    assert page.locator("aside.facets a[aria-current]").count() == 1


# 4. Without JavaScript ------------------------------------------------------------------


def test_search_works_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server + "/en/")
        page.fill("#q", "Chekhov")
        page.press("#q", "Enter")
        page.wait_for_url(re.compile(r"/en/search\?q=Chekhov"))
        assert page.locator("ol.results > li.result").count() >= 1
        expect(page.locator("#results-heading")).to_contain_text("found")
        # no script ran: suggest.js did not make the box a combobox
        assert page.locator("#q").get_attribute("role") is None
    finally:
        context.close()


# 5. Autocomplete ------------------------------------------------------------------------


def test_autocomplete_suggests_titles(page, server):
    page.goto(server + "/tr/")
    box = page.locator("#q")
    expect(box).to_have_attribute("role", "combobox")
    box.click()
    box.press_sequentially("Kürk Man", delay=40)
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    option = listbox.get_by_role("option").filter(has_text="Kürk Mantolu Madonna")
    expect(option.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", re.compile(r"^q-suggestions-0$"))
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/tr/records/"))


# 6. Small screens -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/az/", "/az/search?q=Abay"])
def test_no_horizontal_scroll_on_a_phone(browser, server, path):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(server + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                     .filter(e => e.getBoundingClientRect().right > 360)
                     .slice(0, 10)
                     .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
            )
            pytest.fail(f"{path}: scrollWidth {width} > 360; too wide: {wide}")
    finally:
        context.close()


# Keyboard ---------------------------------------------------------------------------------


def test_keyboard_skip_link_and_visible_focus(page, server):
    page.goto(server + "/en/search?q=Abai")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, f"skip link off screen when focused: {box}"
    style = skip.evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).boxShadow"
    )
    assert not style.startswith("none"), style
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


# 7. Accessibility (axe-core) --------------------------------------------------------------

AXE_PAGES = [
    "/en/",
    "/ru/search?q=Abai",
    "/kk/records/kk-0004",
    "/az/libraries/SHU",
    "/tr/libraries",
]


def run_axe(page, axe_source: str) -> list[dict]:
    # evaluate() is not subject to the page's CSP (script-src 'self'), unlike a <script> tag
    return page.evaluate(
        axe_source
        + """
;(async () => {
  const result = await axe.run(document, {
    resultTypes: ["violations"],
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
})()
"""
    )


@pytest.mark.parametrize("path", AXE_PAGES)
def test_axe_no_serious_violations(page, server, axe_source, path):
    page.goto(server + path)
    page.wait_for_load_state("load")
    violations = run_axe(page, axe_source)
    if violations:
        print(f"\naxe on {path}:\n" + json.dumps(violations, ensure_ascii=False, indent=2))
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{path}: " + json.dumps(bad, ensure_ascii=False, indent=2)
