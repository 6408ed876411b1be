"""`genealogy.loop.run_sync`: the crawl on a worker thread, where an event loop already runs."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time

import pytest

from genealogy.loop import _Worker, run_sync


def _waiting_in_a_lock(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    return frame is not None and frame.f_code is threading.Condition.wait.__code__


def test_ctrl_c_received_by_another_thread_still_cancels_the_worker() -> None:
    """The kernel may hand a process's SIGINT to any of its threads; Python then runs the
    handler only once the main thread runs again. A main thread asleep in a lock wait without
    a timeout slept through the Ctrl-C until the crawl had ended by itself (about 1 run in 15
    of the notebook Ctrl-C test, when SIGINT came with the 2nd request)."""
    started = threading.Event()
    ended: list[str] = []
    main = threading.current_thread()

    async def long_job() -> None:
        started.set()
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise
        ended.append("ran to the end")

    def ctrl_c_to_another_thread() -> None:
        started.wait(10)
        give_up = time.monotonic() + 10
        while not _waiting_in_a_lock(main) and time.monotonic() < give_up:
            time.sleep(0.005)
        time.sleep(0.05)  # from the wait's frame into the lock's own wait: a few C calls
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # to this thread, not main

    sender = threading.Thread(target=ctrl_c_to_another_thread)

    async def notebook_cell() -> None:
        sender.start()
        run_sync(long_job)

    loop = asyncio.new_event_loop()
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(notebook_cell())
    finally:
        took = time.monotonic() - began
        sender.join()
        loop.close()
        signal.signal(signal.SIGINT, handler)
    assert ended == ["cancelled"]
    assert took < 3
    assert not [t for t in threading.enumerate() if t.name == "genealogy" and t.is_alive()]


def test_a_cancel_before_the_workers_task_exists_is_not_lost() -> None:
    """A Ctrl-C during `start` (about half a millisecond while the worker's loop starts) found
    no task to cancel, and the coroutine then ran to its end."""
    made: list[str] = []

    async def job() -> str:
        made.append("made")
        await asyncio.sleep(5)
        return "ran to the end"

    worker = _Worker(job)
    worker.cancel()  # as run_sync does when KeyboardInterrupt interrupts `start`
    began = time.monotonic()
    worker.start()
    with pytest.raises(asyncio.CancelledError):
        worker.result()
    assert made == [] and time.monotonic() - began < 3
