"""Running the app under uvicorn: production limits, and draining live calls on SIGTERM.

On SIGTERM uvicorn stops listening and closes every open WebSocket at once (code 1012), which
would cut live phone calls mid-sentence. ``DrainingServer`` first stops taking calls (``/ready``
answers 503, ``/answer`` and new streams get the busy message), lets live calls go on for up to
``VOXLINE_DRAIN_S``, has the bot say goodbye to those still talking near the end, ends them with
their records written, and only then lets uvicorn shut down. A second signal exits at once.
After uvicorn, ``voxline.shutdown`` bounds the rest (close the backends, cancel what is left,
force the exit at ``VOXLINE_DRAIN_S`` + 5 s), so no backend can keep the process alive.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from voxline.app import AppState
from voxline.config import Settings
from voxline.shutdown import FORCE_MARGIN_S, ExitWatchdog, cancel_tasks, close_backends, force_exit

log = logging.getLogger("voxline.server")
GOODBYE = "Sorry, we have to end the call now. Please call back. Goodbye!"
GOODBYE_S = 8.0  # time left for the goodbye before the drain deadline
CLOSE_S = 2.0  # after the deadline, for ended calls to write their records and close
SHUTDOWN_S = 2.0  # for uvicorn to close the connections left after the drain


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The uvicorn settings the server runs with (tests use them too, so limits match)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.ws_max_bytes,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_S,
        **options,
    )


async def drain_calls(
    state: AppState, within: float, clock: Callable[[], float] = time.monotonic
) -> None:
    """Refuse new calls, let live ones finish for ``within`` seconds, then end them."""
    state.draining = True
    deadline = clock() + within
    goodbye_at = deadline - min(GOODBYE_S, within / 2)
    log.warning("draining: %d live call(s), up to %.0f s", len(state.calls), within)
    await _streams_closed(state, goodbye_at, clock)
    for call in list(state.calls.values()):
        call.end("server shutting down", goodbye=GOODBYE)
    await _streams_closed(state, deadline, clock)
    for call in list(state.calls.values()):
        call.end("server shutting down")
    await _streams_closed(state, clock() + CLOSE_S, clock)
    log.warning("drained: %d stream(s) still open", state.streams)


async def _streams_closed(state: AppState, deadline: float, clock: Callable[[], float]) -> None:
    """Until every media stream has closed (records written) or the deadline."""
    while clock() < deadline:
        if not state.streams:
            return
        await asyncio.sleep(0.05)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: AppState, drain_s: float) -> None:
        super().__init__(config)
        self.state = state
        self.drain_s = drain_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task | None = None
        self.watchdog = ExitWatchdog()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)
        services = self.state.services
        if services is not None:
            await close_backends([services.recognizer, services.synthesizer])
        if stuck := await cancel_tasks():
            # asyncio.run would wait on them for ever (its final cancellation has no timeout).
            force_exit(f"{len(stuck)} task(s) did not end when cancelled")

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.watchdog.arm(self.drain_s + FORCE_MARGIN_S)
        if self._loop is None or self._drain is not None or self.should_exit:
            super().handle_exit(sig, frame)  # a second signal: uvicorn's own fast exit
            return
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self._drain is not None:
            return
        self._drain = asyncio.ensure_future(drain_calls(self.state, self.drain_s))
        self._drain.add_done_callback(self._drained)

    def _drained(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception():
            log.error("draining failed: %r", task.exception())
        self.should_exit = True


def run(app: Any, settings: Settings, log_level: str = "info") -> None:
    """Serve until SIGTERM/SIGINT, then drain."""
    config = server_config(app, settings, log_level=log_level, log_config=None)  # voxline.logs
    DrainingServer(config, app.state.voxline, settings.drain_s).run()
