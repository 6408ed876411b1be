"""Retake the README's picture of the HTML view: examples/demo/genealogy-html.png.

Opens the bundled page (`genealogy demo --out examples/demo` writes it) in headless Chromium
(Debian's `chromium`, or the executable `GENEALOGY_CHROMIUM` names; `bash tests/run.sh`
installs both it and Playwright), finds the start cell with the search box, as a user would,
and saves a 1280 x 800 screenshot with its details shown.

    .venv/bin/python examples/screenshot.py
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

from genealogy.datasets import DEMO_START

DEMO = Path(__file__).resolve().parent / "demo"
CHROMIUM = os.environ.get("GENEALOGY_CHROMIUM", "/usr/bin/chromium")


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto((DEMO / "genealogy.html").as_uri())
            page.keyboard.press("/")  # the page's own shortcut to the search box
            page.keyboard.type(DEMO_START)
            page.keyboard.press("Enter")
            page.get_by_text(DEMO_START, exact=True).first.wait_for()
            page.screenshot(path=str(DEMO / "genealogy-html.png"))
        finally:
            browser.close()
    print(DEMO / "genealogy-html.png")


if __name__ == "__main__":
    main()
