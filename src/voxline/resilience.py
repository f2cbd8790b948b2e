"""Where a backend failure that a fallback absorbed is reported: the call it happened in.

Providers are shared by every call of a process, so a synthesizer that quietly switched to its
backup voice cannot hold a reference to the call. The call registers its observer in a context
variable when it starts; the tasks it creates inherit it, and ``report`` finds it there. Every
failure is logged once, in one line, without a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from voxline.events import BackendFailed

log = logging.getLogger("voxline.resilience")

_sink: ContextVar[Callable[[BackendFailed], None] | None] = ContextVar(
    "voxline_backend_failures", default=None
)


@contextmanager
def reporting_to(sink: Callable[[BackendFailed], None]) -> Iterator[None]:
    """Failures reported in this context (and the tasks it starts) go to ``sink``."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


def report(stage: str, error: str) -> None:
    """One log line, and a ``BackendFailed`` note for the current call (if any)."""
    log.warning("%s failed: %s", stage, error)
    sink = _sink.get()
    if sink is not None:
        sink(BackendFailed(stage, error))


def describe(exc: BaseException) -> str:
    """A short, single-line account of an exception (no traceback)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
