"""What a node of the assembly graph means: its attributes, its status and outcome words, and
the text shown for them. Every renderer and query reads a node's state through this module.

A node's *status* says whether its record was read (`ok`) or why not. Its *outcome* is the
unit's present state: the outcome of its latest run when the run history is known
(`latest_outcome`), else the outcome of the run that created it (`run_outcome`). Its *class*
is what a diagram colours it by: the outcome in lower case, `unknown` (no run, or an outcome
the API does not document), or `not_fetched` (no record).

This module imports nothing heavy: the command line reads its words before parsing options.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict


class Status(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    ERROR = "error"
    UNEXPLORED = "unexplored"  # referenced, but not fetched because of a limit or an interruption


OUTCOMES = ("PASS", "FAIL", "ERROR", "TIMEOUT", "ABORTED")
"""Run outcomes the API documents; others are kept as given and shown as unknown."""
FAILED_OUTCOMES = frozenset({"FAIL"})
ERRORED_OUTCOMES = frozenset({"ERROR", "TIMEOUT", "ABORTED"})
BAD_OUTCOMES = FAILED_OUTCOMES | ERRORED_OUTCOMES
"""Run outcomes that leave a unit unproven: no verdict of PASS."""

UNKNOWN = "unknown"
NOT_FETCHED = "not_fetched"
CLASSES = (*(o.lower() for o in OUTCOMES), UNKNOWN, NOT_FETCHED)
"""Every outcome class, in legend order."""

OUTCOME_FILTERS = (*CLASSES[:-1], Status.NOT_FOUND.value, Status.UNEXPLORED.value, NOT_FETCHED)
"""Every value an outcome filter accepts (`error` covers ERROR runs and fetch errors alike)."""

STATUS_WORDS: dict[str, str] = {
    Status.NOT_FOUND: "not found",
    Status.ERROR: "error",
    Status.UNEXPLORED: "unexplored",
}
"""How a status other than `ok` is shown."""
NO_RUN = "no run"

ProblemKind = Literal["failed", "errored", "not_found", "fetch_error"]
PROBLEM_KINDS: tuple[ProblemKind, ...] = ("failed", "errored", "not_found", "fetch_error")


class RunRecord(TypedDict):
    """One run of a unit's history (`NodeAttrs.runs`)."""

    id: str
    outcome: str
    procedure: str | None
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    station: NotRequired[str | None]  # the station that ran it, when the run list says


class NodeAttrs(TypedDict, total=False):
    """Every attribute a node may carry; all are plain JSON values, so exports keep them."""

    status: str  # a `Status`
    reason: str | None  # why the status is not `ok`
    start: bool  # the unit the crawl started from
    depth: int  # links from the start unit
    cached: bool  # its record came from the cache
    reported_serial: str  # only when the record answered for another serial
    unit_id: str | None
    part_number: str | None
    part_name: str | None
    revision: str | None
    batch: str | None
    sample: str | None
    created_at: str | None
    created_by_user: str | None
    created_by_station: str | None
    parent_serial: str | None  # the links as the unit's own record states them
    children_serials: list[str]
    run_id: str | None  # the run that created the unit
    run_outcome: str | None
    run_procedure: str | None
    run_started_at: str | None
    run_ended_at: str | None
    run_duration_s: float | None
    runs: list[RunRecord]  # the whole history, oldest first, when it was fetched
    run_count: int
    latest_outcome: str | None
    metadata: dict[str, Any]
    warnings: list[str]  # malformed descriptive fields that were repaired
    history_error: str  # why the run history could not be fetched, when it could not


def outcome(attrs: NodeAttrs | dict[str, Any]) -> str | None:
    """The unit's present outcome: its latest run's when the history is known, else its
    creating run's; None for a unit without a run or without a record."""
    if attrs.get("status") != Status.OK:
        return None
    if "latest_outcome" in attrs:
        latest: str | None = attrs["latest_outcome"]
        return latest
    created: str | None = attrs.get("run_outcome")
    return created


def outcome_class(attrs: NodeAttrs | dict[str, Any]) -> str:
    """What a diagram colours the unit by: one of `CLASSES`."""
    if attrs.get("status") != Status.OK:
        return NOT_FETCHED
    present = outcome(attrs)
    return present.lower() if present in OUTCOMES else UNKNOWN


def state_text(attrs: NodeAttrs | dict[str, Any], *, reason: bool = False) -> str:
    """The outcome of a unit with a record (`no run` without one), else its status in words;
    with `reason`, why it has no record (`error: HTTP 500`; a unit not found needs no more
    words). Not escaped: callers escape."""
    status = str(attrs.get("status", Status.UNEXPLORED))
    if status == Status.OK:
        return outcome(attrs) or NO_RUN
    words = STATUS_WORDS.get(status, status.replace("_", " "))
    why = attrs.get("reason")
    return f"{words}: {why}" if reason and why and status != Status.NOT_FOUND else words


def problem_kind(attrs: NodeAttrs | dict[str, Any]) -> ProblemKind | None:
    """What is wrong with a unit; None when nothing is known to be.

    `failed`: its present outcome is FAIL. `errored`: ERROR, TIMEOUT or ABORTED, no verdict.
    `not_found`: referenced, but the API does not know it. `fetch_error`: its record could not
    be read. A unit without a run, or left unexplored by a limit, is not a problem here.
    """
    status = attrs.get("status")
    if status == Status.NOT_FOUND:
        return "not_found"
    if status == Status.ERROR:
        return "fetch_error"
    present = outcome(attrs)
    if present in FAILED_OUTCOMES:
        return "failed"
    if present in ERRORED_OUTCOMES:
        return "errored"
    return None


def filter_keys(attrs: NodeAttrs | dict[str, Any]) -> set[str]:
    """Every value of `OUTCOME_FILTERS` the unit matches (lower case)."""
    status = str(attrs.get("status"))
    if status != Status.OK:
        return {status, NOT_FETCHED}
    present = outcome(attrs)
    keys = {present.lower()} if isinstance(present, str) else set()
    if present not in OUTCOMES:
        keys.add(UNKNOWN)
    return keys
