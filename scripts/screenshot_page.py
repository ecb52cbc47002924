"""The README's screenshot of the page (docs/images/page.png), on the model you serve.

Start the page first (`make app`), then:

    .venv/bin/python scripts/screenshot_page.py [--url http://127.0.0.1:7860] [--output docs/images/page.png]

It draws a 7 on the pad, chooses the shipped photos (data/01_raw/custom_digits), then a
text file, and saves what headless Chromium (Debian's, `make browser`) shows.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

PROJECT = Path(__file__).resolve().parents[1]
SEVEN = [(80, 65), (200, 62), (125, 235)]  # on the 280x280 pad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--output", type=Path, default=PROJECT / "docs/images/page.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    photos = sorted(
        str(path)
        for path in (PROJECT / "data/01_raw/custom_digits").rglob("*")
        if path.is_file()
    )
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(
            executable_path=args.chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1160})
        page.goto(args.url)
        expect(page.locator("#model")).to_contain_text("models:/")
        box = page.locator("#pad").bounding_box()
        page.mouse.move(box["x"] + SEVEN[0][0], box["y"] + SEVEN[0][1])
        page.mouse.down()
        for x, y in SEVEN[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=15)
        page.mouse.up()
        expect(page.locator("#drawn")).to_have_attribute("data-status", "ok")
        notes = Path(tmp) / "notes.txt"
        notes.write_text("Shopping list: milk, eggs, 7 apples.\n")
        answered = page.locator("#results .reading[data-status]")
        for files in [photos, [str(notes)]]:
            before = answered.count()
            page.set_input_files("#picker", files)
            expect(answered).to_have_count(before + len(files))
        page.screenshot(path=args.output)
        browser.close()


if __name__ == "__main__":
    main()
