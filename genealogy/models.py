"""Pydantic models of `GET /v2/units/{serial_number}`, as the official client defines them.

Every model accepts unknown fields (the service adds fields at any time). A field may be
null or missing exactly where the reference (`shared/reference/`) says so, with two
tolerances taken from the API page's own example: `sample` and `created_during.ended_at` may be
missing. A non-finite metadata number (`NaN`, `Infinity`, `1e400`, which Python's JSON reader
accepts) is kept as its text (`"nan"`, `"inf"`), so every export stays valid JSON.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

OUTCOMES = ("PASS", "FAIL", "ERROR", "TIMEOUT", "ABORTED")
"""Run outcomes the API documents; others are kept as given and shown as unknown."""


MetadataValue = str | bool | int | float


def _finite(metadata: dict[str, MetadataValue]) -> dict[str, MetadataValue]:
    """Non-finite floats have no JSON form (and `nan != nan`): keep them as text."""
    return {
        key: repr(value) if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in metadata.items()
    }


_SURROGATE = re.compile("[\ud800-\udfff]")


class ApiModel(BaseModel):
    """Base of every API model: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _usable_field_names(cls, data: Any) -> Any:
        """An unknown field named with a lone surrogate (Python's JSON reader lets one through)
        is kept under its `\\udxxx`-escaped name: pydantic cannot take it as a field name."""
        if isinstance(data, dict) and any(
            isinstance(key, str) and _SURROGATE.search(key) for key in data
        ):
            return {_escape_surrogates(key): value for key, value in data.items()}
        return data


def _escape_surrogates(key: object) -> object:
    return key.encode("utf-8", "backslashreplace").decode() if isinstance(key, str) else key


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
    sample: str | None = None  # the API page's own example leaves it out
    part: Part
    parent: UnitRef | None
    created_by_user: User | None = None
    created_by_station: Station | None = None
    batch: Batch | None = None
    children: list[UnitRef] = []
    created_during: Run | None = None
    attachments: list[Attachment] = []
    metadata: Annotated[dict[str, MetadataValue], AfterValidator(_finite)] = {}


class ApiError(ApiModel):
    """The JSON body of an error response."""

    code: str
    message: str
    issues: list[object] = []
