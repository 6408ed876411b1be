"""Pydantic models of the API's unit record, field by field as the official client declares them.

`shared/reference/tofupilot-units-api.md` tabulates what the official client (`tofupilot`
2.26.1, `tofupilot.v2.models.unit_getop`) requires, allows to be null and allows to be missing.
These models accept everything it accepts, and unknown fields everywhere (the service adds
fields at any time). They are more lenient in three ways, each on purpose:

- `sample` and `created_during.ended_at` may be missing: the API page's own example omits them.
- `sample` and `created_during.outcome` take any text: a new class or outcome is kept as given
  and shown as unknown, rather than making the unit unreadable.
- Descriptive fields the client requires (`id`, `created_at`, a run's times, duration and
  procedure, a reference's `id` and `part`) are typed nullable here, so that
  `genealogy.records.read_unit` can set a malformed one to null with a warning instead of
  failing the unit (tolerance by purpose: only what a genealogy needs must be readable).

A non-finite metadata number (`NaN`, `Infinity`, `1e400`, which Python's JSON reader accepts)
is kept as its text (`"nan"`, `"inf"`), so every export stays valid JSON.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    FiniteFloat,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

MetadataValue = str | bool | int | float


def _finite(metadata: dict[str, MetadataValue]) -> dict[str, MetadataValue]:
    """Non-finite floats have no JSON form (and `nan != nan`): keep them as text."""
    return {
        key: repr(value) if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in metadata.items()
    }


def _empty_if_null(value: Any) -> Any:
    """The client declares these lists and maps `Optional`: null means none."""
    return [] if value is None else value


def _empty_map_if_null(value: Any) -> Any:
    return {} if value is None else value


class ApiModel(BaseModel):
    """Base of every API model: unknown fields are kept, not rejected.

    A field name holding a lone surrogate (Python's JSON reader lets `"\\ud800"` through)
    cannot be an attribute: `genealogy.records.read_unit` escapes such names before these
    models see them. (A validator here did it for every object read, a third of the cost of
    reading a record.)"""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class Revision(ApiModel):
    id: str
    number: str


class Part(ApiModel):
    id: str
    number: str
    name: str
    revision: Revision


class RefPart(ApiModel):
    """A parent's or child's part: the client declares the object and its revision nullable."""

    id: str
    number: str
    name: str
    revision: Revision | None


class UnitRef(ApiModel):
    """A parent or child as embedded in another unit's record."""

    id: str | None  # required by the client; descriptive
    serial_number: str
    part: RefPart | None


class User(ApiModel):
    id: str
    name: str | None


class Station(ApiModel):
    id: str
    name: str


class Batch(ApiModel):
    id: str
    number: str


class Procedure(ApiModel):
    id: str
    name: str


class Run(ApiModel):
    """The test run that created the unit; its id and outcome are what a genealogy needs."""

    id: str
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None = None  # required by the client; the API page's example omits it
    duration: timedelta | None  # ISO 8601 (`PT5M30S`)
    outcome: str
    procedure: Procedure | None


class Attachment(ApiModel):
    id: str
    name: str
    size: float | None
    content_type: str | None
    download_url: str | None


class Unit(ApiModel):
    """One unit, as returned by `GET /v2/units/{serial_number}`."""

    id: str | None
    serial_number: str
    created_at: datetime | None
    sample: str | None = None  # required and nullable; the API page's own example leaves it out
    part: Part
    parent: UnitRef | None
    created_by_user: User | None = None
    created_by_station: Station | None = None
    batch: Batch | None = None
    children: Annotated[list[UnitRef], BeforeValidator(_empty_if_null)] = []
    created_during: Run | None = None
    attachments: Annotated[list[Attachment], BeforeValidator(_empty_if_null)] = []
    metadata: Annotated[
        dict[str, MetadataValue], BeforeValidator(_empty_map_if_null), AfterValidator(_finite)
    ] = {}


class ApiError(ApiModel):
    """The JSON body of an error response."""

    code: str
    message: str
    issues: list[object] = []


# --------------------------------------------------------------------------- list endpoints
#
# Items of `GET /v2/units` and `GET /v2/runs`, checked field by field against the official
# client's `UnitListData` (`tofupilot.v2.models.unit_listop`) and `RunListData` (`run_listop`).
# Presence and nullability follow it, except that, as for `Unit`:
# - what a genealogy needs stays strict: serial numbers, a part's number and revision number,
#   the `children` list (required: a missing one would silently cut a subtree), each parent's and
#   child's serial number, a run's id and outcome and its unit's serial number and part;
# - descriptive fields the client requires are typed nullable and may be missing (ids, times,
#   durations, procedures, `sample`, a run's execution/slot fields), so that a record lacking
#   one is still a usable row, and `genealogy.records.read_record` repairs one that is present
#   but malformed (a bad timestamp), with a warning;
# - `sample` and every `outcome` take any text.


class UnitLink(ApiModel):
    """A parent or child in a list item: its id and serial number only."""

    id: str | None = None  # required by the client; descriptive
    serial_number: str


class LastRun(ApiModel):
    """A listed unit's latest run (not necessarily the one that created it)."""

    id: str
    outcome: str
    started_at: datetime | None = None  # required by the client
    ended_at: datetime | None = None  # required, nullable
    procedure: Procedure | None = None  # required, nullable


class ListedUnit(ApiModel):
    """One item of `GET /v2/units`: a unit with its parent and children as `UnitLink`s."""

    id: str | None = None  # required by the client; descriptive
    serial_number: str
    created_at: datetime | None = None  # required by the client
    sample: str | None = None  # required, nullable
    part: Part
    children: list[UnitLink]
    created_by_user: User | None = None
    created_by_station: Station | None = None
    batch: Batch | None = None
    parent: UnitLink | None = None
    last_run: LastRun | None = None
    metadata: Annotated[
        dict[str, MetadataValue], BeforeValidator(_empty_map_if_null), AfterValidator(_finite)
    ] = {}


# The same item as plain dicts: `ListedUnit`'s fields, types and nullability, without a
# Python object per nested record. Reading a page of 100 items into them takes a third of the
# time, which is most of a 7,000-unit crawl's parsing. An item they do not accept as it stands
# (a malformed descriptive field, a null `metadata`, a non-finite number) is read as a
# `ListedUnit` instead, repaired with a warning, and dumped to this shape.


class _IdNumber(TypedDict):
    id: str
    number: str


class _ListedPart(TypedDict):
    id: str
    number: str
    name: str
    revision: _IdNumber


class _Link(TypedDict):
    id: NotRequired[str | None]
    serial_number: str


class _ListedUser(TypedDict):
    id: str
    name: str | None


class _IdName(TypedDict):
    id: str
    name: str


class _LastRun(TypedDict):
    id: str
    outcome: str
    started_at: NotRequired[datetime | None]
    ended_at: NotRequired[datetime | None]
    procedure: NotRequired[_IdName | None]


class ListedItem(TypedDict):
    """One item of `GET /v2/units`, as `ListedUnit` reads it, in plain dicts."""

    id: NotRequired[str | None]
    serial_number: str
    created_at: NotRequired[datetime | None]
    sample: NotRequired[str | None]
    part: _ListedPart
    children: list[_Link]
    created_by_user: NotRequired[_ListedUser | None]
    created_by_station: NotRequired[_IdName | None]
    batch: NotRequired[_IdNumber | None]
    parent: NotRequired[_Link | None]
    last_run: NotRequired[_LastRun | None]
    metadata: NotRequired[dict[str, str | bool | int | FiniteFloat]]


class _PageMeta(TypedDict):
    has_more: bool
    next_cursor: int | None


class ListedPage(TypedDict):
    """A page of `GET /v2/units` whose every item reads as a `ListedItem` as it stands."""

    data: list[ListedItem]
    meta: _PageMeta


class ProcedureVersion(ApiModel):
    id: str
    tag: str


class RunProcedure(Procedure):
    """A listed run's procedure, with the version it ran (nullable)."""

    version: ProcedureVersion | None = None  # required, nullable


class RunUnit(ApiModel):
    """The unit a listed run tested."""

    id: str | None = None  # required by the client; descriptive
    serial_number: str
    sample: str | None = None  # required, nullable
    part: Part
    batch: Batch | None = None


class RunUser(User):
    email: str | None = None  # required, nullable


class Operator(ApiModel):
    """Who operated a run; the client declares every field nullable."""

    id: str | None = None
    name: str | None = None
    email: str | None = None


class RunSequence(ApiModel):
    """A step of a run (only with `include_sequences`); nothing in it is needed here."""

    id: str | None = None
    path: str | None = None
    key: str | None = None
    parent_path: str | None = None
    name: str | None = None
    source: str | None = None
    outcome: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: str | None = None


class ListedRun(ApiModel):
    """One item of `GET /v2/runs`: one run of a unit's test history."""

    id: str
    created_at: datetime | None = None  # required by the client
    started_at: datetime | None = None  # required by the client
    ended_at: datetime | None = None  # required by the client
    duration: timedelta | None = None  # required by the client; ISO 8601 (`PT5M30S`)
    outcome: str
    execution_id: str | None = None  # required, nullable
    slot_key: str | None = None  # required, nullable
    slot_name: str | None = None  # required, nullable
    procedure: RunProcedure | None = None  # required by the client
    unit: RunUnit
    docstring: str | None = None
    created_by_user: RunUser | None = None
    created_by_station: Station | None = None
    operated_by: Operator | None = None
    metadata: Annotated[
        dict[str, MetadataValue], BeforeValidator(_empty_map_if_null), AfterValidator(_finite)
    ] = {}
    sequences: Annotated[list[RunSequence], BeforeValidator(_empty_if_null)] = []


class PageMeta(ApiModel):
    """Paging of a list response: pass `next_cursor` as `cursor` while `has_more`."""

    has_more: bool
    next_cursor: int | None = None  # required, nullable


class UnitPage(ApiModel):
    """A page of `GET /v2/units`: `{"data": [...], "meta": {"has_more": ..., "next_cursor": ...}}`.

    (Not `Page[ListedUnit]` of a generic `Page`: parametrizing builds the schema at import.)"""

    data: list[ListedUnit]
    meta: PageMeta


class RunPage(ApiModel):
    """A page of `GET /v2/runs`."""

    data: list[ListedRun]
    meta: PageMeta


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A malformed descriptive value is dropped, not the record it is in."""
    try:
        return handler(value)
    except ValidationError:
        return None


Lenient = WrapValidator(_or_none)


class _Digest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class _Name(_Digest):
    name: str | None = None


class _Serial(_Digest):
    serial_number: str


class RunDigest(_Digest):
    """What the crawl keeps of a `GET /v2/runs` item, read fast: every other field is ignored
    rather than kept (reading whole `ListedRun`s cost 0.6 s for a 7,000-unit pack's history).

    As declared here every field must be well-formed: a page of such runs is read in one pass.
    A page with any malformed run is read item by item as `LenientRunDigest`s instead."""

    id: str
    outcome: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: timedelta | None = None
    procedure: _Name | None = None
    created_by_station: _Name | None = None  # where the run ran
    unit: _Serial


class _LenientName(_Name):
    name: Annotated[str | None, Lenient] = None


class LenientRunDigest(RunDigest):
    """A run whose malformed time, duration, procedure or station becomes None instead of
    losing the run (calling back into Python per field: slower, so only where needed)."""

    started_at: Annotated[datetime | None, Lenient] = None
    ended_at: Annotated[datetime | None, Lenient] = None
    duration: Annotated[timedelta | None, Lenient] = None
    procedure: Annotated[_LenientName | None, Lenient] = None
    created_by_station: Annotated[_LenientName | None, Lenient] = None


class _NameItem(TypedDict):
    name: NotRequired[str | None]


class _SerialItem(TypedDict):
    serial_number: str


class RunItem(TypedDict):
    """A run of `GET /v2/runs` as `RunDigest` reads it, in plain dicts (see `ListedItem`)."""

    id: str
    outcome: str
    started_at: NotRequired[datetime | None]
    ended_at: NotRequired[datetime | None]
    duration: NotRequired[timedelta | None]
    procedure: NotRequired[_NameItem | None]
    created_by_station: NotRequired[_NameItem | None]
    unit: _SerialItem
