"""Two ways of keeping work off a crawl's critical path.

`paused_gc`: pausing Python's cyclic garbage collector while large, acyclic structures are
built. A crawl, a graph or an export of 100,000 units allocates millions of objects without
cycles; the collector would walk all of them again and again (measured: half the time of a
100k-unit export). Reference counting still frees everything as usual while it is paused.

`build_ahead`: building pydantic validators while a request travels. A model with
`defer_build` is built when first used (20 to 25 ms for the API's records and pages, pydantic's
plugin discovery included), which would hold up the first answer of every crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pydantic

_asked: set[type[pydantic.BaseModel]] = set()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_ahead(*models: type[pydantic.BaseModel]) -> None:
    """Build these models' validators in a worker thread of the running loop, once a process;
    call it as the first request that needs them goes out."""
    wanted = [model for model in models if not model.__pydantic_complete__ and model not in _asked]
    if wanted:
        _asked.update(wanted)
        asyncio.get_running_loop().run_in_executor(None, _build, wanted)


def _build(models: list[type[pydantic.BaseModel]]) -> None:
    """A failure is met again, and reported, where the first answer is read."""
    with contextlib.suppress(Exception):
        for model in models:
            model.model_rebuild()
