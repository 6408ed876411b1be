"""Work kept off the crawl's critical path (genealogy/perf.py)."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import httpx
import pydantic
import pytest

import genealogy
from genealogy.datasets import synthetic_tree
from genealogy.perf import build_ahead
from tests.conftest import API_KEY, MakeServer


def test_build_ahead_builds_a_deferred_model_once_in_a_worker_thread() -> None:
    built_in: list[str] = []

    class Deferred(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(defer_build=True)
        serial_number: str

        @classmethod
        def model_rebuild(cls, **kwargs: Any) -> bool | None:
            built_in.append(threading.current_thread().name)
            return super().model_rebuild(**kwargs)

    assert not Deferred.__pydantic_complete__

    async def crawl() -> None:
        build_ahead(Deferred)
        build_ahead(Deferred)  # asked again: already on its way

    asyncio.run(crawl())  # waits for the loop's worker threads
    assert Deferred.__pydantic_complete__
    assert len(built_in) == 1 and built_in[0] != threading.main_thread().name
    assert Deferred.model_validate({"serial_number": "A"}).serial_number == "A"
    assert len(built_in) == 1  # reading did not build it again


@pytest.mark.parametrize("via", ["get", "list"])
def test_a_request_leaves_no_reference_cycle_behind(make_server: MakeServer, via: str) -> None:
    """Each request's response is freed as soon as it is read, not left in a reference cycle
    for the garbage collector, which a crawl pauses: 42 objects a request piled up, and took
    60 ms per 1,000 requests to collect when the crawl ended."""
    records = synthetic_tree(60, 3)
    server = make_server(records)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        genealogy.crawl(
            records[0]["serial_number"], base_url=server.url, api_key=API_KEY, via=via
        )
        gc.collect()
        kinds = (httpx.Request, httpx.Response, httpx.AsyncByteStream)
        left = [type(thing).__name__ for thing in gc.garbage if isinstance(thing, kinds)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert server.endpoint_requests["unit" if via == "get" else "units"] > 1
    assert left == []
