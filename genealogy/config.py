"""Defaults shared by the library and the command line, importable without the heavy modules.

The official clients read the key and the base URL from the same two variables.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_BASE_URL = "https://www.tofupilot.app/api"
API_KEY_ENV = "TOFUPILOT_API_KEY"
BASE_URL_ENV = "TOFUPILOT_URL"
DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_UNITS = 500_000
"""A crawl stops after this many units unless told otherwise: a server whose every unit lists
new children would otherwise grow memory without end."""


def default_cache_path() -> Path:
    """The platform's place for user cache files (`~/.cache/genealogy/` on Linux)."""
    import platformdirs

    return platformdirs.user_cache_path("genealogy") / "units.sqlite3"
