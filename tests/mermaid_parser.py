"""Mermaid's own parser, run by Node (tests/mermaid/parse.mjs), for the tests of the export."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PARSER = Path(__file__).parent / "mermaid" / "parse.mjs"
NODE = shutil.which("node")
AVAILABLE = NODE is not None and (PARSER.parent / "node_modules" / "mermaid").is_dir()
SKIP_REASON = "needs node and Mermaid: npm ci --prefix tests/mermaid"
needs_mermaid = pytest.mark.skipif(not AVAILABLE, reason=SKIP_REASON)


def mermaid_parse(*sources: str) -> list[dict[str, Any]]:
    """What Mermaid's parser makes of each source, all in one Node run (a run costs seconds)."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(PARSER), "--json"],
        input=json.dumps(list(sources)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(sources)
    return results
