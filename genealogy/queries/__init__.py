"""Questions asked of a crawled assembly graph: pure functions returning frozen dataclasses.

Each result has `to_dict()` (plain JSON values) and its module a `format_text(result, ...)`
for humans; nothing here prints or parses command lines.

- `trace(graph, serial)`, `trace_many(graph, serials)`: every path from a unit up to its
  top-level assemblies, the structural problems on them, and (asked for) the problems inside
  those assemblies (`genealogy.queries.trace`, text in `genealogy.queries.trace_text`).
- `audit(graph)`: a creation timeline and traceability findings with stable codes
  (`genealogy.queries.audit`, whose docstring tabulates the codes); `Audit.grouped()` and
  `Audit.without(codes)`; `Baseline` of accepted findings (`genealogy.queries.baseline`).
- `summarise(graph)`: counts, depth, fan-out, crawl stats (`genealogy.queries.summary`).
- `filter_graph(graph, outcomes=..., parts=...)`: the matching units and the paths above them
  (`genealogy.queries.filters`).
"""

from __future__ import annotations

from genealogy.finding_codes import CODES, SEVERITIES
from genealogy.queries.audit import (
    SELECTORS,
    Audit,
    Finding,
    FindingGroup,
    FindingKey,
    TimelineEntry,
    audit,
    matches,
    validate_codes,
    validate_selectors,
)
from genealogy.queries.audit_text import format_text as format_audit
from genealogy.queries.baseline import Baseline, BaselineError
from genealogy.queries.filters import filter_graph
from genealogy.queries.summary import Summary, summarise
from genealogy.queries.summary import format_text as format_summary
from genealogy.queries.trace import (
    Flag,
    Problem,
    Problems,
    Step,
    Trace,
    TracePath,
    Traces,
    UnknownSerial,
    trace,
    trace_many,
)
from genealogy.queries.trace_text import format_text as format_trace

__all__ = [
    "CODES",
    "SELECTORS",
    "SEVERITIES",
    "Audit",
    "Baseline",
    "BaselineError",
    "Finding",
    "FindingGroup",
    "FindingKey",
    "Flag",
    "Problem",
    "Problems",
    "Step",
    "Summary",
    "TimelineEntry",
    "Trace",
    "TracePath",
    "Traces",
    "UnknownSerial",
    "audit",
    "filter_graph",
    "format_audit",
    "format_summary",
    "format_trace",
    "matches",
    "summarise",
    "trace",
    "trace_many",
    "validate_codes",
    "validate_selectors",
]
