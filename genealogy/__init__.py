"""genealogy: crawl a TofuPilot unit's assembly tree into a networkx graph and export it.

>>> import genealogy
>>> graph = genealogy.crawl("SN-0001")  # doctest: +SKIP

`crawl` / `acrawl` fetch from the API (key and base URL from `TOFUPILOT_API_KEY` and
`TOFUPILOT_URL` unless given); `from_records` builds the same graph from records in memory;
`trace`, `trace_many`, `audit` and `summary` ask it questions; `diff` compares a unit with its
golden sample (`compare` two graphs you already have); `render`, `write` and `load` turn it
into files and back. Every error is a `GenealogyError`. Names are imported on first use, so
`import genealogy` costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOMES = {
    "crawl": "genealogy.api",
    "acrawl": "genealogy.api",
    "from_records": "genealogy.api",
    "trace": "genealogy.api",
    "trace_many": "genealogy.api",
    "audit": "genealogy.api",
    "summary": "genealogy.api",
    "render": "genealogy.api",
    "write": "genealogy.api",
    "load": "genealogy.api",
    "demo_records": "genealogy.api",
    "where_used": "genealogy.recall",
    "awhere_used": "genealogy.recall",
    "WhereUsed": "genealogy.queries.where_used",
    "diff": "genealogy.golden",
    "adiff": "genealogy.golden",
    "compare": "genealogy.queries.diff",
    "Diff": "genealogy.queries.diff",
    "Difference": "genealogy.queries.diff",
    "NoGoldenSample": "genealogy.errors",
    "local_server": "genealogy.api",
    "FORMATS": "genealogy.formats",
    "Format": "genealogy.formats",
    "NodeAttrs": "genealogy.nodes",
    "Status": "genealogy.nodes",
    "Audit": "genealogy.queries",
    "Finding": "genealogy.queries",
    "Baseline": "genealogy.queries",
    "Summary": "genealogy.queries",
    "Trace": "genealogy.queries",
    "Traces": "genealogy.queries",
    "GenealogyError": "genealogy.errors",
    "UsageError": "genealogy.errors",
    "AuthError": "genealogy.errors",
    "MissingApiKey": "genealogy.errors",
    "KeyRejected": "genealogy.errors",
    "Forbidden": "genealogy.errors",
    "StartNotFound": "genealogy.errors",
    "StartUnreachable": "genealogy.errors",
    "OutputError": "genealogy.errors",
    "DiagramTooLarge": "genealogy.errors",
    "UnknownSerial": "genealogy.queries",
    "UnknownFormat": "genealogy.formats",
}

__all__ = [
    "FORMATS",
    "Audit",
    "AuthError",
    "Baseline",
    "DiagramTooLarge",
    "Diff",
    "Difference",
    "Finding",
    "Forbidden",
    "Format",
    "GenealogyError",
    "KeyRejected",
    "MissingApiKey",
    "NoGoldenSample",
    "NodeAttrs",
    "OutputError",
    "StartNotFound",
    "StartUnreachable",
    "Status",
    "Summary",
    "Trace",
    "Traces",
    "UnknownFormat",
    "UnknownSerial",
    "UsageError",
    "WhereUsed",
    "__version__",
    "acrawl",
    "adiff",
    "audit",
    "awhere_used",
    "compare",
    "crawl",
    "demo_records",
    "diff",
    "from_records",
    "load",
    "local_server",
    "render",
    "summary",
    "trace",
    "trace_many",
    "where_used",
    "write",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'genealogy' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from genealogy.api import (
        acrawl,
        audit,
        crawl,
        demo_records,
        from_records,
        load,
        local_server,
        render,
        summary,
        trace,
        trace_many,
        write,
    )
    from genealogy.errors import (
        AuthError,
        DiagramTooLarge,
        Forbidden,
        GenealogyError,
        KeyRejected,
        MissingApiKey,
        NoGoldenSample,
        OutputError,
        StartNotFound,
        StartUnreachable,
        UsageError,
    )
    from genealogy.formats import FORMATS, Format, UnknownFormat
    from genealogy.golden import adiff, diff
    from genealogy.nodes import NodeAttrs, Status
    from genealogy.queries import Audit, Baseline, Finding, Summary, Trace, Traces, UnknownSerial
    from genealogy.queries.diff import Diff, Difference, compare
    from genealogy.queries.where_used import WhereUsed
    from genealogy.recall import awhere_used, where_used
