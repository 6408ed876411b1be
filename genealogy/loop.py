"""Running the async crawl from synchronous code, wherever it is called from."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")

WAKE_SECONDS = 0.1
"""How often the caller's thread wakes while it waits for the worker: see `_Worker.result`."""


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, also where this thread already
    runs an event loop (Jupyter, IPython, an async framework): there `asyncio.run` refuses,
    so the coroutine runs on a loop of its own in a worker thread.

    Ctrl-C works the same in both: in the worker's case the interrupt reaches this thread,
    which cancels the coroutine on the worker's loop, waits for it to stop (so nothing it
    opened outlives the call) and raises `KeyboardInterrupt`, as `asyncio.run` does."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(make))
    worker = _Worker(make)
    try:
        worker.start()
        return worker.result()
    except KeyboardInterrupt:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt, Exception):
            worker.result()  # wait until the cancelled coroutine has let go of everything
        raise


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


class _Worker(Generic[T]):
    """The coroutine on a loop of its own in a thread, its outcome in a future."""

    def __init__(self, make: Callable[[], Awaitable[T]]) -> None:
        self._make = make
        self._outcome: Future[T] = Future()
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cancelled = False
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genealogy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._running.wait()

    def result(self) -> T:
        """The coroutine's value (or its exception); Ctrl-C interrupts the wait.

        Waits in short steps: Python runs a signal handler only in the main thread, and a
        lock wait there is cut short only by a signal delivered to that very thread. The
        kernel may deliver a process's SIGINT to any of its threads (this worker, an HTTP
        server's, a notebook's own), and a wait without a timeout then sleeps through the
        Ctrl-C until the coroutine ends by itself."""
        while True:
            try:
                self._outcome.exception(timeout=WAKE_SECONDS)  # raises TimeoutError, not its own
            except TimeoutError:
                continue  # woken: a Ctrl-C received by another thread is raised about here
            return self._outcome.result()

    def cancel(self) -> None:
        """Cancel the coroutine, also when asked before its task exists (a Ctrl-C while the
        worker's loop starts): `_main` then cancels it before it begins."""
        self._cancelled = True  # before reading the task: `_main` sets it, then reads this
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile: it is over
                loop.call_soon_threadsafe(task.cancel)

    def _run(self) -> None:
        try:
            self._outcome.set_result(asyncio.run(self._main()))
        except BaseException as error:  # handed to the caller's thread, whatever it is
            self._outcome.set_exception(error)
        finally:
            self._running.set()  # also when the loop never started

    async def _main(self) -> T:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._running.set()
        if self._cancelled:  # `cancel` came before the task existed, so it could not cancel it
            raise asyncio.CancelledError
        return await self._make()
