"""The bounded stages after the drain: a task that will not end is reported, not waited on."""

from __future__ import annotations

import asyncio
import contextlib
import time

from voxline.shutdown import cancel_tasks, close_backends


async def test_a_task_that_swallows_its_cancellation_is_left_behind_in_time():
    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():  # the kind of loop: a retry eating CancelledError
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    async def polite() -> None:
        await asyncio.sleep(60)

    bad = asyncio.create_task(stubborn(), name="stubborn")
    good = asyncio.create_task(polite(), name="polite")
    await asyncio.sleep(0.05)  # both running
    started = time.monotonic()
    stuck = await cancel_tasks(within=0.3)
    assert time.monotonic() - started < 1.0
    assert stuck == [bad] and good.cancelled()
    released.set()  # (only so this test's own loop can close)
    await bad


async def test_backends_are_closed_and_a_hanging_close_is_given_up_on():
    class Client:
        def __init__(self, hang: bool) -> None:
            self.hang, self.closed = hang, False

        async def aclose(self) -> None:
            if self.hang:
                await asyncio.Event().wait()
            self.closed = True

    quick, hung = Client(False), Client(True)
    started = time.monotonic()
    await close_backends([quick, object(), hung], within=0.3)
    assert quick.closed and not hung.closed and time.monotonic() - started < 1.0
