"""Differential test against the official client (`tofupilot` 2.26.1): whatever its models
accept, `genealogy.records.read_unit` accepts too, with the same serial, parent, children,
part, revision and outcome.

Bodies are generated from the official model's own JSON schema (`bodies`, a strategy for the
small part of JSON Schema pydantic emits: hypothesis-jsonschema does not work with current
Hypothesis), and from one full record with each optional field missing and each nullable
field null, in turn, found by walking the official pydantic models, so a field the client
adds is covered too.
"""

from __future__ import annotations

import copy
import json
import os
import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genealogy.records import read_unit

os.environ["DISABLE_TELEMETRY"] = "true"  # the client starts telemetry on import otherwise
from tofupilot.v2.models.unit_getop import UnitGetResponse

Path = tuple[str | int, ...]


def _without_unset(schema: Any) -> Any:
    """The schema with the client's `Unset` sentinel taken out of every `anyOf`: it stands for
    a missing field, which `required` already expresses."""
    if isinstance(schema, dict):
        cleaned = {key: _without_unset(value) for key, value in schema.items()}
        if "anyOf" in cleaned:
            cleaned["anyOf"] = [m for m in cleaned["anyOf"] if m != {"$ref": "#/$defs/Unset"}]
        if cleaned.get("default") == "~?~unset~?~sentinel~?~":
            del cleaned["default"]
        cleaned.get("$defs", {}).pop("Unset", None)
        return cleaned
    if isinstance(schema, list):
        return [_without_unset(item) for item in schema]
    return schema


OFFICIAL_SCHEMA = _without_unset(UnitGetResponse.model_json_schema())

_TEXT = st.text(max_size=12)
_MOMENTS = st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
    lambda moment: moment.isoformat().replace("+00:00", "Z")
)

_DURATIONS = st.builds(
    lambda h, m, s: f"PT{h}H{m}M{s}S", st.integers(0, 99), st.integers(0, 59), st.integers(0, 59)
)


def bodies(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values `schema` allows; each optional property present or missing, extras sometimes."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: bodies(defs[name], defs))
    if "anyOf" in schema:
        return st.one_of([bodies(member, defs) for member in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        properties = {
            # documented as ISO 8601 (`PT5M30S`), though typed as any text
            name: _DURATIONS if name == "duration" else bodies(sub, defs)
            for name, sub in schema["properties"].items()
        }
        return st.fixed_dictionaries(
            {name: value for name, value in properties.items() if name in required},
            optional={
                **{name: value for name, value in properties.items() if name not in required},
                "added_later": st.one_of(st.none(), _TEXT, st.integers()),
            },
        )
    if kind == "object":
        values = schema.get("additionalProperties", {})
        return st.dictionaries(_TEXT, bodies(values, defs) if values else _TEXT, max_size=3)
    if kind == "array":
        return st.lists(bodies(schema["items"], defs), max_size=3)
    if kind == "string":
        return _MOMENTS if schema.get("format") == "date-time" else _TEXT
    if kind == "number":
        return st.one_of(
            st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False)
        )
    if kind == "integer":
        return st.integers()
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise AssertionError(f"schema construct not covered: {schema}")


def official_facts(body: dict[str, Any]) -> dict[str, Any]:
    unit = UnitGetResponse.model_validate(body)
    run = unit.created_during or None
    return {
        "serial": unit.serial_number,
        "parent": unit.parent.serial_number if unit.parent else None,
        "children": [child.serial_number for child in unit.children or []],
        "part": unit.part.number,
        "revision": unit.part.revision.number,
        "outcome": run.outcome if run else None,
    }


def our_facts(body: dict[str, Any]) -> dict[str, Any]:
    unit = read_unit(body).unit
    run = unit.created_during
    return {
        "serial": unit.serial_number,
        "parent": unit.parent.serial_number if unit.parent else None,
        "children": [child.serial_number for child in unit.children],
        "part": unit.part.number,
        "revision": unit.part.revision.number,
        "outcome": run.outcome if run else None,
    }


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies(OFFICIAL_SCHEMA, OFFICIAL_SCHEMA["$defs"]))
def test_every_body_the_official_schema_allows_reads_the_same(body: dict[str, Any]) -> None:
    body = json.loads(json.dumps(body))  # as it arrives over the wire
    expected = official_facts(body)  # generated from its schema: the client accepts it
    assert our_facts(body) == expected
    assert read_unit(body).warnings == ()


FULL_RECORD: dict[str, Any] = {
    "id": "u-1",
    "serial_number": "SN-0001",
    "created_at": "2026-01-15T10:30:00Z",
    "sample": "golden",
    "part": {
        "id": "p-1",
        "number": "PCB-1",
        "name": "Board",
        "revision": {"id": "r", "number": "B"},
    },
    "parent": {
        "id": "u-0",
        "serial_number": "MOD-0001",
        "part": {
            "id": "p-0",
            "number": "MOD",
            "name": "Module",
            "revision": {"id": "r", "number": "A"},
        },
    },
    "created_by_user": {"id": "user-1", "name": "Ada"},
    "created_by_station": {"id": "st-1", "name": "Station 1"},
    "batch": {"id": "b-1", "number": "LOT-7"},
    "children": [
        {
            "id": "u-2",
            "serial_number": "CELL-0001",
            "part": {
                "id": "p-2",
                "number": "CELL",
                "name": "Cell",
                "revision": {"id": "r", "number": "C"},
            },
        }
    ],
    "created_during": {
        "id": "run-1",
        "created_at": "2026-01-15T10:20:00Z",
        "started_at": "2026-01-15T10:25:00Z",
        "ended_at": "2026-01-15T10:30:00Z",
        "duration": "PT5M",
        "outcome": "FAIL",
        "procedure": {"id": "proc-1", "name": "EOL test"},
    },
    "attachments": [
        {
            "id": "a-1",
            "name": "log.txt",
            "size": 12,
            "content_type": "text/plain",
            "download_url": "x",
        }
    ],
    "metadata": {"fw": "1.2.3", "temp": 21.5, "ok": True},
}


def _model_of(annotation: Any) -> tuple[type[pydantic.BaseModel] | None, bool, bool]:
    """The pydantic model inside `annotation` (through Optional, Nullable, List), whether the
    annotation admits None, and whether it is a list."""
    nullable, is_list = False, False
    pending = [annotation]
    model = None
    while pending:
        current = pending.pop()
        origin = get_origin(current)
        value = getattr(current, "__value__", None)  # TypeAliasType (Nullable, OptionalNullable)
        if value is not None:
            pending.append(value[current.__args__[0]] if hasattr(value, "__getitem__") else value)
            pending.extend(get_args(current))
        elif origin in (Union, types.UnionType):
            pending.extend(get_args(current))
        elif origin is list:
            is_list = True
            pending.extend(get_args(current))
        elif current is type(None):
            nullable = True
        elif (
            isinstance(current, type)
            and issubclass(current, pydantic.BaseModel)
            and current.__name__ != "Unset"
        ):
            model = current
    return model, nullable, is_list


def _variants(model: type[pydantic.BaseModel], path: Path) -> Iterator[tuple[str, Path]]:
    """("missing" | "null", path) for every optional and every nullable field, recursively."""
    for name, field in model.model_fields.items():
        inner, nullable, is_list = _model_of(field.annotation)
        here = (*path, name)
        if not field.is_required():
            yield "missing", here
        if nullable or not field.is_required():
            yield "null", here
        if inner is not None:
            yield from _variants(inner, (*here, 0) if is_list else here)


VARIANTS = sorted(set(_variants(UnitGetResponse, ())))


def _changed(record: dict[str, Any], how: str, path: Path) -> dict[str, Any] | None:
    changed = copy.deepcopy(record)
    target: Any = changed
    for key in path[:-1]:
        if target is None:
            return None
        target = target[key]
    if target is None:
        return None
    if how == "missing":
        target.pop(path[-1], None)
    else:
        target[path[-1]] = None
    return changed


def test_the_walk_finds_the_fields_the_reference_names() -> None:
    names = {".".join(map(str, path)) for _, path in VARIANTS}
    assert {
        "attachments.0.size",
        "attachments.0.content_type",
        "attachments.0.download_url",
        "parent.part",
        "children.0.part",
        "children.0.part.revision",
        "created_by_user.name",
        "created_during",
        "sample",
        "metadata",
    } <= names


@pytest.mark.parametrize(("how", "path"), VARIANTS, ids=lambda v: str(v))
def test_each_field_missing_or_null_in_turn(how: str, path: Path) -> None:
    body = _changed(FULL_RECORD, how, path)
    assert body is not None
    expected = official_facts(body)  # the official client accepts each of these
    assert our_facts(body) == expected
    assert read_unit(body).warnings == ()  # nothing the client allows is worth a warning


# --------------------------------------------------------------------------- list endpoints
#
# The same differential test for the items of `GET /v2/units` and `GET /v2/runs`: whatever the
# official `UnitListData` / `RunListData` accept, `genealogy.models.ListedUnit` / `ListedRun`
# accept, with the same facts a crawl reads from them (no repair loop here: the models alone).

from tofupilot.v2.models.run_listop import RunListData, RunListResponse  # noqa: E402
from tofupilot.v2.models.unit_listop import UnitListData, UnitListResponse  # noqa: E402

from genealogy.models import ListedRun, ListedUnit, RunPage, UnitPage  # noqa: E402

UNIT_ITEM_SCHEMA = _without_unset(UnitListData.model_json_schema())
RUN_ITEM_SCHEMA = _without_unset(RunListData.model_json_schema())
UNIT_PAGE_SCHEMA = _without_unset(UnitListResponse.model_json_schema())
RUN_PAGE_SCHEMA = _without_unset(RunListResponse.model_json_schema())


def official_unit_item_facts(body: dict[str, Any]) -> dict[str, Any]:
    item = UnitListData.model_validate(body)
    parent, last_run = item.parent or None, item.last_run or None
    return {
        "serial": item.serial_number,
        "parent": parent.serial_number if parent else None,
        "children": [child.serial_number for child in item.children],
        "part": item.part.number,
        "revision": item.part.revision.number,
        "last_outcome": last_run.outcome if last_run else None,
    }


def our_unit_item_facts(body: dict[str, Any]) -> dict[str, Any]:
    item = ListedUnit.model_validate(body)
    return {
        "serial": item.serial_number,
        "parent": item.parent.serial_number if item.parent else None,
        "children": [child.serial_number for child in item.children],
        "part": item.part.number,
        "revision": item.part.revision.number,
        "last_outcome": item.last_run.outcome if item.last_run else None,
    }


def official_run_item_facts(body: dict[str, Any]) -> dict[str, Any]:
    run = RunListData.model_validate(body)
    return {
        "id": run.id,
        "outcome": run.outcome,
        "serial": run.unit.serial_number,
        "started_at": run.started_at,
    }


def our_run_item_facts(body: dict[str, Any]) -> dict[str, Any]:
    run = ListedRun.model_validate(body)
    return {
        "id": run.id,
        "outcome": run.outcome,
        "serial": run.unit.serial_number,
        "started_at": run.started_at,
    }


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies(UNIT_ITEM_SCHEMA, UNIT_ITEM_SCHEMA["$defs"]))
@pytest.mark.slow
def test_every_unit_list_item_the_official_schema_allows_reads_the_same(
    body: dict[str, Any],
) -> None:
    body = json.loads(json.dumps(body))
    assert our_unit_item_facts(body) == official_unit_item_facts(body)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies(RUN_ITEM_SCHEMA, RUN_ITEM_SCHEMA["$defs"]))
@pytest.mark.slow
def test_every_run_list_item_the_official_schema_allows_reads_the_same(
    body: dict[str, Any],
) -> None:
    body = json.loads(json.dumps(body))
    assert our_run_item_facts(body) == official_run_item_facts(body)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    bodies(UNIT_PAGE_SCHEMA, UNIT_PAGE_SCHEMA["$defs"]),
    bodies(RUN_PAGE_SCHEMA, RUN_PAGE_SCHEMA["$defs"]),
)
@pytest.mark.slow
def test_every_page_the_official_schema_allows_reads_the_same(
    units: dict[str, Any], runs: dict[str, Any]
) -> None:
    units, runs = json.loads(json.dumps(units)), json.loads(json.dumps(runs))
    official_units, our_units = (
        UnitListResponse.model_validate(units),
        UnitPage.model_validate(units),
    )
    assert [u.serial_number for u in our_units.data] == [
        u.serial_number for u in official_units.data
    ]
    assert (our_units.meta.has_more, our_units.meta.next_cursor) == (
        official_units.meta.has_more,
        official_units.meta.next_cursor,
    )
    official_runs, our_runs = RunListResponse.model_validate(runs), RunPage.model_validate(runs)
    assert [r.id for r in our_runs.data] == [r.id for r in official_runs.data]
    assert (our_runs.meta.has_more, our_runs.meta.next_cursor) == (
        official_runs.meta.has_more,
        official_runs.meta.next_cursor,
    )


_REVISION = {"id": "r", "number": "B"}
_PART = {"id": "p-1", "number": "PCB-1", "name": "Board", "revision": _REVISION}

FULL_UNIT_ITEM: dict[str, Any] = {
    "id": "u-1",
    "serial_number": "SN-0001",
    "created_at": "2026-01-15T10:30:00Z",
    "sample": "golden",
    "part": _PART,
    "children": [{"id": "u-2", "serial_number": "CELL-0001"}],
    "created_by_user": {"id": "user-1", "name": "Ada"},
    "created_by_station": {"id": "st-1", "name": "Station 1"},
    "batch": {"id": "b-1", "number": "LOT-7"},
    "parent": {"id": "u-0", "serial_number": "MOD-0001"},
    "last_run": {
        "id": "run-9",
        "outcome": "FAIL",
        "started_at": "2026-02-01T08:00:00Z",
        "ended_at": "2026-02-01T08:05:00Z",
        "procedure": {"id": "proc-1", "name": "EOL test"},
    },
    "metadata": {"fw": "1.2.3", "temp": 21.5, "ok": True},
}

FULL_RUN_ITEM: dict[str, Any] = {
    "id": "run-1",
    "created_at": "2026-01-15T10:20:00Z",
    "started_at": "2026-01-15T10:25:00Z",
    "ended_at": "2026-01-15T10:30:00Z",
    "duration": "PT5M",
    "outcome": "PASS",
    "execution_id": "exec-1",
    "slot_key": "slot-a",
    "slot_name": "Slot A",
    "procedure": {"id": "proc-1", "name": "EOL test", "version": {"id": "v-1", "tag": "1.4.0"}},
    "unit": {
        "id": "u-1",
        "serial_number": "SN-0001",
        "sample": None,
        "part": _PART,
        "batch": {"id": "b-1", "number": "LOT-7"},
    },
    "docstring": "End-of-line test",
    "created_by_user": {"id": "user-1", "name": "Ada", "email": "ada@example.com"},
    "created_by_station": {"id": "st-1", "name": "Station 1"},
    "operated_by": {"id": "op-1", "name": "Bo", "email": "bo@example.com"},
    "metadata": {"fixture": "F-12"},
    "sequences": [
        {
            "id": "seq-1",
            "path": "main/voltage",
            "key": "voltage",
            "parent_path": "main",
            "name": "Voltage",
            "source": "script",
            "outcome": "PASS",
            "started_at": "2026-01-15T10:25:00Z",
            "ended_at": "2026-01-15T10:26:00Z",
            "duration": "PT1M",
        }
    ],
}

UNIT_ITEM_VARIANTS = sorted(set(_variants(UnitListData, ())))
RUN_ITEM_VARIANTS = sorted(set(_variants(RunListData, ())))


def test_the_walk_finds_the_list_fields_the_reference_names() -> None:
    unit_names = {".".join(map(str, path)) for _, path in UNIT_ITEM_VARIANTS}
    assert {
        "sample",
        "parent",
        "batch",
        "created_by_user",
        "created_by_user.name",
        "created_by_station",
        "last_run",
        "last_run.ended_at",
        "last_run.procedure",
        "metadata",
    } <= unit_names
    run_names = {".".join(map(str, path)) for _, path in RUN_ITEM_VARIANTS}
    assert {
        "execution_id",
        "slot_key",
        "slot_name",
        "procedure.version",
        "unit.sample",
        "unit.batch",
        "docstring",
        "created_by_user.email",
        "operated_by.id",
        "metadata",
        "sequences",
        "sequences.0.parent_path",
    } <= run_names


def test_the_full_list_items_are_what_the_official_client_reads() -> None:
    assert our_unit_item_facts(FULL_UNIT_ITEM) == official_unit_item_facts(FULL_UNIT_ITEM)
    assert our_run_item_facts(FULL_RUN_ITEM) == official_run_item_facts(FULL_RUN_ITEM)
    # every field the official models declare is in the full items, so each variant bites
    for model, full in ((UnitListData, FULL_UNIT_ITEM), (RunListData, FULL_RUN_ITEM)):
        assert set(model.model_fields) == set(full)


@pytest.mark.parametrize(("how", "path"), UNIT_ITEM_VARIANTS, ids=lambda v: str(v))
def test_each_unit_list_field_missing_or_null_in_turn(how: str, path: Path) -> None:
    body = _changed(FULL_UNIT_ITEM, how, path)
    assert body is not None
    assert our_unit_item_facts(body) == official_unit_item_facts(body)


@pytest.mark.parametrize(("how", "path"), RUN_ITEM_VARIANTS, ids=lambda v: str(v))
def test_each_run_list_field_missing_or_null_in_turn(how: str, path: Path) -> None:
    body = _changed(FULL_RUN_ITEM, how, path)
    assert body is not None
    assert our_run_item_facts(body) == official_run_item_facts(body)
