"""Pydantic models of `GET /v2/units/{serial_number}`, as the official client defines them.

Every model accepts unknown fields (the service adds fields at any time). A field may be
null or missing exactly where the reference (`shared/reference/`) says so, with one
tolerance: `created_during.ended_at` may be missing, as in the API page's own example.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

OUTCOMES = ("PASS", "FAIL", "ERROR", "TIMEOUT", "ABORTED")
"""Run outcomes the API documents; others are kept as given and shown as unknown."""


class ApiModel(BaseModel):
    """Base of every API model: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Revision(ApiModel):
    id: str
    number: str
    image: str | None = None


class Part(ApiModel):
    id: str
    number: str
    name: str
    revision: Revision


class RefRevision(ApiModel):
    id: str
    number: str


class RefPart(ApiModel):
    id: str
    number: str
    name: str
    revision: RefRevision | None = None


class UnitRef(ApiModel):
    """A parent or child as embedded in another unit's record."""

    id: str
    serial_number: str
    part: RefPart | None = None


class User(ApiModel):
    id: str
    name: str | None = None
    image: str | None = None


class Station(ApiModel):
    id: str
    name: str
    image: str | None = None


class Batch(ApiModel):
    id: str
    number: str


class Procedure(ApiModel):
    id: str
    name: str


class Run(ApiModel):
    """The test run that created the unit."""

    id: str
    created_at: datetime
    started_at: datetime
    ended_at: datetime | None = None
    duration: timedelta
    outcome: str
    procedure: Procedure


class Attachment(ApiModel):
    id: str
    name: str
    size: float
    content_type: str
    download_url: str


class Unit(ApiModel):
    """One unit, as returned by `GET /v2/units/{serial_number}`."""

    id: str
    serial_number: str
    created_at: datetime
    sample: str | None
    part: Part
    parent: UnitRef | None
    created_by_user: User | None = None
    created_by_station: Station | None = None
    batch: Batch | None = None
    children: list[UnitRef] = []
    created_during: Run | None = None
    attachments: list[Attachment] = []
    metadata: dict[str, str | bool | int | float] = {}


class ApiError(ApiModel):
    """The JSON body of an error response."""

    code: str
    message: str
    issues: list[object] = []
