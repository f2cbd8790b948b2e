"""Shared fixtures: the embedded models (loaded once), a real server on 127.0.0.1, speech."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.fakes.openai_server import MODEL
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from voxline.app import create_app
from voxline.bot import Bot, load_bot
from voxline.call_services import CallServices
from voxline.config import Settings, load_settings
from voxline.records_sqlite import SqliteRecords
from voxline.server import server_config

ROOT = Path(__file__).resolve().parents[1]
PIZZA = ROOT / "bots" / "pizza"


@pytest.fixture(scope="session")
def pizza_bot() -> Bot:
    return load_bot(PIZZA)


@pytest.fixture(scope="session")
def whisper_engine():
    """The embedded recognizer's engine alone, one worker: what it hears of a line."""
    from voxline.speech.whisper import WhisperEngine

    return WhisperEngine(workers=1)


@pytest.fixture(scope="session")
def pizza_hints(pizza_bot):
    """What the pizza bot's calls tell the recognizer: its vocabulary and example."""
    from voxline.speech.base import RecognizerHints

    return RecognizerHints(
        phrases=pizza_bot.vocabulary, example=pizza_bot.example, places=pizza_bot.places
    )


@pytest.fixture(scope="session")
def piper():
    from voxline.speech.piper import PiperEngine

    return PiperEngine(threads=1)


@pytest.fixture(scope="session")
def speak(piper):
    """Text -> 16-bit PCM at the rate asked for, spoken by the embedded voice."""
    from voxline.audio import resample

    cache: dict[tuple[str, int], bytes] = {}

    def _speak(text: str, rate: int = 8000) -> bytes:
        if (text, rate) not in cache:
            cache[text, rate] = resample(b"".join(piper.render(text)), piper.rate, rate)
        return cache[text, rate]

    return _speak


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    ws_url: str
    settings: Settings
    services: CallServices
    loop: asyncio.AbstractEventLoop

    def records(self, coro):
        """Run a records query on the server's own loop (its store lives there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def ended(self, call_sid: str, within: float = 10.0) -> dict:
        """The call's record once the server has finished it (turns are written by then)."""
        for _ in range(int(within / 0.1)):
            calls = self.records(self.services.records.calls())
            done = [c for c in calls if c["id"] == call_sid and c["ended_at"]]
            if done:
                return done[0]
            threading.Event().wait(0.1)
        raise AssertionError(f"call {call_sid} did not end")


def bound_socket() -> socket.socket:
    """A socket on a free 127.0.0.1 port, for an app that must know its address up front."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def serve_in_thread(
    app, settings: Settings, sock: socket.socket | None = None
) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    config = server_config(app, settings, log_level="warning")  # production's limits
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name="voxline-test-server", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "test server did not start"
    for _ in range(600):  # models and the knowledge base load in the background
        if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
            break
        threading.Event().wait(0.1)
    try:
        yield f"127.0.0.1:{port}", loop
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def running_server(
    settings: Settings, bot: Bot, services: CallServices, ws_path: str = "/ws"
) -> Iterator[RunningServer]:
    """The app on these services, as ``serve_in_thread`` runs it: a fixture yields from it."""
    app = create_app(settings, bot, services)
    for host, loop in serve_in_thread(app, settings):
        yield RunningServer(f"http://{host}", f"ws://{host}{ws_path}", settings, services, loop)


@asynccontextmanager
async def served(
    settings: Settings, bot: Bot, services: CallServices
) -> AsyncIterator[RunningServer]:
    """``running_server`` for async tests: started and stopped off the test's event loop."""
    servers = running_server(settings, bot, services)
    server = await asyncio.to_thread(next, servers)
    try:
        yield server
    finally:
        await asyncio.to_thread(next, servers, None)


def make_settings(tmp: Path, **over) -> Settings:
    return load_settings(env={}, data_dir=str(tmp), **over)


def nim_settings(tmp: Path, riva_target: str, llm_base_url: str, **over) -> Settings:
    """The NIM deployment's shape: Riva ASR/TTS and the LLM agent, on the test servers."""
    return make_settings(
        tmp,
        asr="riva",
        tts="riva",
        riva_server=riva_target,
        agent="llm",
        llm_base_url=llm_base_url,
        llm_model=MODEL,
        llm_api_key="test-key",
        **over,
    )


@pytest.fixture(scope="session")
def embedded_services(pizza_bot, tmp_path_factory) -> CallServices:
    """The embedded stack, loaded once for the whole session."""
    from voxline.services import build_services

    tmp = tmp_path_factory.mktemp("records")
    return build_services(make_settings(tmp), pizza_bot)


@pytest.fixture(scope="session")
def pizza_server(pizza_bot, embedded_services, tmp_path_factory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("server")
    settings = make_settings(tmp)
    # The session's models; its own records, no observers.
    records = SqliteRecords(tmp / "records.sqlite3")
    services = replace(embedded_services, records=records, observers=[])
    yield from running_server(settings, pizza_bot, services)
