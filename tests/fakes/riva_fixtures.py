"""Pytest fixtures around ``FakeRivaServer``; a test module enables them with
``pytest_plugins = ["tests.fakes.riva_fixtures"]`` (the repo root must be on ``sys.path``).

- ``riva_server``: a started server with default scripts, stopped after the test; set
  ``riva_server.transcripts`` or call ``riva_server.fail(...)`` to script it.
- ``make_riva_server(*args, **kwargs)``: start more servers (e.g. ``tts_protocol="unary"``,
  ``tls=(key, cert)``); all are stopped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.riva_server import FakeRivaServer, MakeRivaServer


@pytest.fixture
async def riva_server() -> AsyncIterator[FakeRivaServer]:
    async with FakeRivaServer() as server:
        yield server


@pytest.fixture
async def make_riva_server() -> AsyncIterator[MakeRivaServer]:
    servers: list[FakeRivaServer] = []

    async def make(*args: Any, **kwargs: Any) -> FakeRivaServer:
        server = await FakeRivaServer(*args, **kwargs).start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            await server.stop()
