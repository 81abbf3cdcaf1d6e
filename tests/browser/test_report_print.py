"""The demo incident's HTML report in a real Chromium: times in the reader's time zone with UTC
on hover, the timeline picture, and printed on A4: at most two pages, no heading left at the
foot of a page without its section."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bridgekeeper.demo import run_demo
from tests.browser.conftest import IN_SESSION_LOOP, screenshot

pytestmark = IN_SESSION_LOOP

A4_BOTTOM_MARGIN_PT = 14 / 25.4 * 72  # the report's @page margin
PT_TO_PX = 96 / 72
# Each h2 and h3 becomes a link, and so does the first text after it: in the PDF every link is
# an annotation on the page it was printed on, so a heading's page and its section's are known.
MARK_HEADINGS = """() => {
  const firstText = (element) => document.createTreeWalker(element, NodeFilter.SHOW_TEXT,
      {acceptNode: (t) => t.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP}
    ).nextNode();
  const link = (node, href) => {
    const a = document.createElement("a");
    a.href = href;
    node.replaceWith(a);
    a.append(node);
  };
  const headings = [...document.querySelectorAll("h2, h3")];
  headings.forEach((h, n) => {
    link(firstText(h), `https://heading.invalid/${n}`);
    link(firstText(h.nextElementSibling), `https://after.invalid/${n}`);
  });
  return headings.map((h) => h.textContent);
}"""
PUSH_DOWN = """([n, px]) => {
  const h = document.querySelectorAll("h2, h3")[n];
  if (h.previousElementSibling.id !== "spacer") {
    h.insertAdjacentHTML("beforebegin", '<div id="spacer"></div>');
  }
  h.previousElementSibling.style.height = `${px}px`;
}"""


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's incident, run start to end, and the HTML report it wrote (once for the test
    process: the tests only read it)."""
    folder = tmp_path_factory.mktemp("demo")
    assert asyncio.run(run_demo(output_dir=str(folder), out=io.StringIO())) == 0
    return folder / "incident-1-report-v1.html"


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def links(pdf: bytes) -> dict[str, tuple[int, float]]:
    """Each link's address: the first page it is on (from 1; a table's header row repeats on
    every page) and the bottom of its box there (pt from the page's foot)."""
    objects = dict(re.findall(rb"(\d+) 0 obj\s*(.*?)endobj", pdf, re.DOTALL))
    [kids] = re.findall(rb"/Type /Pages\s*/Count \d+\s*/Kids \[([^\]]*)\]", pdf)
    found: dict[str, tuple[int, float]] = {}
    for number, page in enumerate(re.findall(rb"(\d+) 0 R", kids), 1):
        annots = re.search(rb"/Annots \[([^\]]*)\]", objects[page])
        for ref in re.findall(rb"(\d+) 0 R", annots.group(1) if annots else b""):
            uri = re.search(rb"/URI \(([^)]*)\)", objects[ref])
            rect = re.search(rb"/Rect \[\s*[\d.]+\s+([\d.]+)", objects[ref])
            if uri and rect:
                found.setdefault(uri.group(1).decode(), (number, float(rect.group(1))))
    return found


def stranded(found: dict[str, tuple[int, float]], headings: list[str]) -> list[str]:
    """The headings printed on another page than the first line of their section."""
    return [
        title
        for n, title in enumerate(headings)
        if found[f"https://heading.invalid/{n}"][0] != found[f"https://after.invalid/{n}"][0]
    ]


async def test_times_read_in_the_reader_s_time_zone(browser: Browser, demo_report: Path) -> None:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo", locale="en-US"
    )
    page = await context.new_page()
    await page.goto(demo_report.as_uri())
    first_seen = page.locator("li").filter(has_text=re.compile("^First seen:")).locator("time")
    await expect(first_seen).to_have_text("2025-11-14 19:01:12 GMT+9")
    await expect(first_seen).to_have_attribute("title", "2025-11-14 10:01:12 UTC")
    picture = page.get_by_role("img", name="Timeline of incident 1: Suspicious process detected")
    await expect(picture).to_be_visible()
    await expect(page.locator("dl.glance")).to_contain_text("SEV1 (from SEV2)")
    await screenshot(page, "report-demo-incident")
    await context.close()


async def test_the_report_reads_in_a_phone_sized_window(
    browser: Browser, demo_report: Path
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(demo_report.as_uri())
    wide = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0  # a wide table scrolls on its own; the page does not
    await context.close()


async def test_the_report_prints_on_two_pages_with_no_heading_stranded(
    page: Page, demo_report: Path
) -> None:
    await page.goto(demo_report.as_uri())
    headings: list[str] = await page.evaluate(MARK_HEADINGS)
    pdf = await page.pdf(format="A4")
    (await screenshot(page, "report-demo-incident-printed")).with_suffix(".pdf").write_bytes(pdf)
    assert pages(pdf) <= 2
    found = links(pdf)
    assert not stranded(found, headings)

    # The lowest heading on page 1, pushed down step by step to the page's foot: wherever it
    # lands, it never stays behind alone while its section starts on page 2.
    lowest = min(
        (n for n in range(len(headings)) if found[f"https://heading.invalid/{n}"][0] == 1),
        key=lambda n: found[f"https://heading.invalid/{n}"][1],
    )
    room = found[f"https://heading.invalid/{lowest}"][1] - A4_BOTTOM_MARGIN_PT
    for short_of_foot in range(0, 40, 3):  # pt
        await page.evaluate(PUSH_DOWN, [lowest, (room - short_of_foot) * PT_TO_PX])
        pushed = links(await page.pdf(format="A4"))
        assert not stranded(pushed, headings), (headings[lowest], short_of_foot)
