"""Work kept off the crawl's critical path (genealogy/perf.py)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pydantic

from genealogy.perf import build_ahead


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
