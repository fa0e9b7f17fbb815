"""The series bible in a real browser: Debian's Chromium driven by Playwright for Python
(its own browser download is not used: executable_path points at the packaged one).

Skipped where Chromium or Playwright is missing, unless MOVIECLI_REQUIRE_BROWSER=1 (CI sets
it, so there a missing browser fails the run). tests/cli/test_bible.py reads the same page
with html.parser, for machines without a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.biblehelp import HOSTILE, build

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    configured = os.environ.get("MOVIECLI_CHROMIUM")
    if configured:
        return configured
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    required = os.environ.get("MOVIECLI_REQUIRE_BROWSER") == "1"
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("Playwright for Python is not installed")
    if executable is None:
        if required:
            pytest.fail("MOVIECLI_REQUIRE_BROWSER=1 but no chromium (apt-get install chromium)")
        pytest.skip("no chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=FLAGS
        )
        yield launched
        launched.close()


class Watch:
    """Everything the page asks the network for, and every console error it reports."""

    def __init__(self, page: Any, allowed: str) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.allowed = allowed
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        if route.request.url == self.allowed:
            route.continue_()
        else:
            route.abort()

    def outside(self) -> list[str]:
        return [u for u in self.requests if u != self.allowed and not u.startswith("data:")]


def test_the_bible_in_chromium(
    browser: Any, cli: Any, admin: Any, database: Any, tmp_path: Path
) -> None:
    build(cli, database, tmp_path, title=HOSTILE)
    out = tmp_path / "bible.html"
    result = cli("project", "bible", HOSTILE, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    url = out.as_uri()

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch = Watch(page, url)
    page.goto(url, wait_until="load")

    # The sections a producer reads, in order, each visible.
    ids = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
    assert ids == [
        "story",
        "progress",
        "characters",
        "mood-board",
        "art",
        "scenes",
        "audio",
        "video",
        "episodes",
        "directions",
    ]
    for section in ids:
        assert page.locator(f"section#{section}").is_visible()
    assert page.locator("#progress .phases > li").count() == 8
    assert page.locator("#episodes tbody tr").count() == 3

    # Every image decodes.
    images = page.eval_on_selector_all(
        "img", "els => els.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(images) == 11
    assert all(complete and width > 0 and height > 0 for complete, width, height in images)

    # The hostile title is text: shown as typed, and no script came of it.
    assert page.locator("h1").inner_text() == HOSTILE
    assert page.title() == f"{HOSTILE} — series bible"
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("typeof window.alert") == "function"  # nothing replaced it

    # The prompt shows as text; the generation details open on a click.
    assert page.locator(".prompt").first.inner_text() == "a cat <b>bold</b> on the moon"
    details = page.locator("details.gen").first
    assert not details.locator("dl").is_visible()
    details.locator("summary").click()
    assert "sdxl-1.0" in details.locator("dl").inner_text()

    assert watch.errors == []
    assert watch.outside() == []
    assert watch.requests == [url]

    # A phone: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    columns = page.eval_on_selector(
        "#characters .gallery", "g => getComputedStyle(g).gridTemplateColumns.split(' ').length"
    )
    assert columns == 2

    # Print: no navigation bar, every section still there, and Chromium makes a PDF of it.
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden()
    assert page.locator("section#scenes").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert watch.errors == [] and watch.outside() == []
    context.close()


def test_an_empty_project_in_chromium(browser: Any, cli: Any, admin: Any, tmp_path: Path) -> None:
    result = cli("project", "create", "Blank", "--genre", "drama", "--episodes", "1")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "blank.html"
    assert cli("project", "bible", "Blank", "-o", str(out)).exit_code == 0
    page = browser.new_page()
    watch = Watch(page, out.as_uri())
    page.goto(out.as_uri(), wait_until="load")
    assert page.locator("h1").inner_text() == "Blank"
    assert page.locator("img").count() == 0
    assert "No characters recorded yet." in page.locator("#characters").inner_text()
    assert watch.errors == [] and watch.outside() == []
    page.close()


def test_pdf_through_the_cli(
    browser: Any, cli: Any, admin: Any, database: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """--pdf prints with the same Chromium (found on PATH, or named by MOVIECLI_CHROMIUM)."""
    monkeypatch.setenv("MOVIECLI_CHROMIUM", chromium_path() or "chromium")
    build(cli, database, tmp_path)
    pdf = tmp_path / "bible.pdf"
    result = cli("project", "bible", "Space Heist", "--pdf", str(pdf), "--json")
    assert result.exit_code == 0, result.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert data.count(b"/Type /Page\n") + data.count(b"/Type/Page") >= 3 or len(data) > 50_000
    assert oct(pdf.stat().st_mode & 0o777) == "0o600"
    report = result.json()
    assert report["output"] is None
    assert (report["pdf"], report["pdfSizeBytes"]) == (str(pdf), len(data))
    # The page and the PDF at once: the HTML to stdout, the PDF's line on stderr.
    result = cli("project", "bible", "Space Heist", "-o", "-", "--pdf", str(pdf), "--force")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert result.stderr.startswith(f"Wrote {pdf}: the series bible of 'Space Heist'")
