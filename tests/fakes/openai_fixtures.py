"""Pytest fixtures around ``FakeOpenAI``, for any test that needs an LLM endpoint.

Use from a test module (there is no shared conftest)::

    pytest_plugins = ["tests.fakes.openai_fixtures"]

    async def test_x(openai_server, openai_client):
        openai_server.push(text("Hello!"))

- ``openai_server``: a started ``FakeOpenAI`` with an empty script, stopped after the test.
- ``openai_client``: an ``AsyncOpenAI`` for it (key "test-key", no SDK retries), closed after.
- ``openai_env``: sets ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``VOXLINE_LLM_MODEL`` to the
  server for code that configures itself from the environment; yields the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_server import MODEL, FakeOpenAI

API_KEY = "test-key"


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def openai_client(openai_server: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    client = AsyncOpenAI(base_url=openai_server.base_url, api_key=API_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
def openai_env(openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("VOXLINE_LLM_MODEL", MODEL)
    return openai_server
