"""A whole Voxline server on scripted backends, usable from sync and async tests alike.

The Riva-protocol test server (ASR and TTS: tones, so no speech models load) runs on its own
event loop in a thread; the app runs under uvicorn on 127.0.0.1 (``serve_in_thread``) with the
offline form agent. ``with ScriptedStack(bot, tmp, ["a large pizza"], **settings) as stack:``
gives ``stack.server`` (a ``RunningServer``), ``stack.state`` (the app's ``AppState``),
``stack.riva`` and ``stack.on_server(coro)`` to run a coroutine on the server's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from tests.conftest import RunningServer, bound_socket, make_settings, serve_in_thread
from tests.fakes.riva_server import FakeRivaServer
from voxline.app import AppState, create_app
from voxline.bot import Bot
from voxline.services import build_services


class ScriptedStack:
    def __init__(self, bot: Bot, tmp: Path, transcripts: list[str], **settings: Any) -> None:
        self.bot = bot
        self.tmp = tmp
        self.transcripts = transcripts
        self.overrides = settings
        self._riva_loop = asyncio.new_event_loop()
        self._riva_thread = threading.Thread(target=self._riva_loop.run_forever, daemon=True)

    def _on_riva(self, coro: Coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._riva_loop).result(30)

    def on_server(self, coro: Coroutine, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.server.loop).result(timeout)

    def __enter__(self) -> ScriptedStack:
        self._riva_thread.start()
        self.riva = self._on_riva(FakeRivaServer(self.transcripts).start())
        over = {"asr": "riva", "tts": "riva", "agent": "form", **self.overrides}
        sock = bound_socket()  # its port is the server's own address in its settings
        port = sock.getsockname()[1]
        self.settings = make_settings(self.tmp, riva_server=self.riva.target, port=port, **over)
        self.services = build_services(self.settings, self.bot)
        self.app = create_app(self.settings, self.bot, self.services)
        self._servers = serve_in_thread(self.app, self.settings, sock)
        host, loop = next(self._servers)
        self.server = RunningServer(
            f"http://{host}", f"ws://{host}/ws", self.settings, self.services, loop
        )
        return self

    @property
    def state(self) -> AppState:
        return self.app.state.voxline

    def __exit__(self, *exc: object) -> None:
        next(self._servers, None)
        self._on_riva(self.riva.stop())
        self._riva_loop.call_soon_threadsafe(self._riva_loop.stop)
        self._riva_thread.join(10)
        self._riva_loop.close()
