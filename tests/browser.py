"""Debian's chromium, driven by Playwright, for the tests marked ``browser``.

``make test`` and CI run them after ``make browser`` has installed chromium if it was
missing; ``make test-quick`` (``pytest -m "not browser"``) leaves them out. Playwright
drives that system Chromium: it never downloads a browser of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> Path:
    """Debian's chromium; without it a test fails in CI and is skipped elsewhere."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM
