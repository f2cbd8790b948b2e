"""The end of a process that was told to stop: bounded whatever the backends do.

After the drain (``server.drain_calls``) three stages follow, each with a deadline, because one
stuck piece must not keep the process alive (the issue: "drained", then 15 minutes inside
asyncio's final task cancellation against dead mock backends):

1. close: the shared backend clients (Riva gRPC channels) are closed, so no reconnect loop or
   pending RPC outlives the server;
2. cancel: every task still alive is cancelled and waited for; one that does not end (it
   swallowed its cancellation, or awaits something that never completes) is logged with its
   stack instead of being waited on for ever;
3. force: a watchdog thread armed at the signal ends the process with ``os._exit`` if it is
   still there at ``drain_s + FORCE_MARGIN_S`` (a blocked event loop, an executor thread that
   ``shutdown_default_executor`` or the interpreter's exit would join, a gRPC core thread).
   The drain has written every call's records by then, so this exit is still status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import io
import logging
import os
import sys
import threading
from collections.abc import Iterable

log = logging.getLogger("voxline.shutdown")
CLOSE_S = 1.0  # for the backend clients to close
CANCEL_S = 1.0  # for the tasks left after uvicorn's shutdown to end once cancelled
FORCE_MARGIN_S = 4.5  # after the drain time: the process is gone by drain_s + 5 s


async def close_backends(backends: Iterable[object], within: float = CLOSE_S) -> None:
    """Close every backend that has an ``aclose`` (Riva channels), all within ``within``."""
    closing = [
        asyncio.ensure_future(close())
        for backend in backends
        if (close := getattr(backend, "aclose", None)) is not None
    ]
    if not closing:
        return
    done, pending = await asyncio.wait(closing, timeout=within)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("closing a backend failed: %r", exc)
    if pending:
        log.warning("%d backend client(s) did not close within %.1f s", len(pending), within)


async def cancel_tasks(within: float = CANCEL_S) -> list[asyncio.Task]:
    """Cancel every other task and wait up to ``within`` for them; returns the ones that are
    still running (each logged with where it is stuck)."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=within)
    for task in pending:
        where = io.StringIO()
        task.print_stack(limit=8, file=where)
        log.error("task %s did not end when cancelled:\n%s", task.get_name(), where.getvalue())
    return list(pending)


def force_exit(why: str) -> None:
    """End the process now, status 0: the drain is over and its records are written."""
    log.error("forcing the exit: %s", why)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # a broken handler must not stop the exit
            handler.flush()
    sys.stderr.flush()
    os._exit(0)


class ExitWatchdog:
    """A daemon thread that forces the exit if the process outlives its deadline."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def arm(self, after_s: float) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._watch, args=(after_s,), name="exit-watchdog", daemon=True
        )
        self._thread.start()

    def disarm(self) -> None:
        self._done.set()

    def _watch(self, after_s: float) -> None:
        if self._done.wait(after_s):
            return
        log.error("still running %.1f s after the stop signal; threads:", after_s)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        force_exit(f"the process did not end within {after_s:.1f} s of the signal")
