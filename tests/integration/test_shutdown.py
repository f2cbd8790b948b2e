"""SIGTERM on a real ``voxline serve`` process whatever its backends do: killed at the same
moment as the signal, or stalled (accepting connections and never answering). Live calls are
mid-reply on the LLM agent (Riva ASR and TTS, an OpenAI-compatible LLM); the process must exit
0 within ``VOXLINE_DRAIN_S`` + 5 s. The issue's hang: it logged "drained" and then sat in
asyncio's final task cancellation for good."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import pytest

from tests.fakes.openai_server import FakeOpenAI, paced
from tests.fakes.riva_server import FakeRivaServer
from tests.integration.test_drain import active_calls, serve_process, until
from voxline.caller import Line, SimulatedCaller

pytestmark = pytest.mark.e2e
DRAIN_S = 3.0
BOUND_S = DRAIN_S + 5.0  # the promise
CALLS = 6
ORDER = "a large pepperoni pizza"
LONG_REPLY = "Sure, a large pepperoni pizza. " + "We also have mushrooms, onions and olives. " * 20


class SilentServer:
    """Accepts TCP connections, reads whatever comes and never answers: a hung backend."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._conns: list[asyncio.StreamWriter] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._conns:
            writer.close()
        await self._server.wait_closed()


def serving(tmp_path, riva_target: str, llm_url: str):
    """``voxline serve`` on the LLM agent, ready once it answers the calls count (its health
    check would ask the backends, which some tests stall)."""
    return serve_process(tmp_path, riva_target, DRAIN_S, llm_url, ready=_up)


async def _up(url: str) -> bool:
    try:
        await active_calls(url)
        return True
    except Exception:
        return False


def long_call(url: str, speak) -> asyncio.Task:
    """A caller who orders after the greeting, then listens to the long reply."""
    lines = [Line(ORDER, speak(f"I'd like {ORDER}"))]
    caller = SimulatedCaller(url.replace("http", "ws") + "/ws", lines, idle_s=1.5, max_s=60)
    return asyncio.create_task(caller.run())


async def stopped_within(proc, signalled: float) -> tuple[int, float]:
    try:
        code = await asyncio.wait_for(proc.wait(), BOUND_S + 10)
    except TimeoutError:
        pytest.fail(f"voxline serve still running {BOUND_S + 10:.0f} s after SIGTERM")
    return code, time.monotonic() - signalled


async def test_sigterm_while_the_backends_die_mid_reply(speak, tmp_path):
    """Several calls live, the LLM streaming their replies, when the backends die with the
    signal (the load bench does the same with 100 calls: ``bench/load.py --stop-calls``)."""
    llm = await asyncio.to_thread(FakeOpenAI(lambda body: paced(LONG_REPLY, 0.3, 50)).start)
    riva = await FakeRivaServer([ORDER]).start()
    try:
        async with serving(tmp_path, riva.target, llm.base_url) as (proc, url):
            callers = [long_call(url, speak) for _ in range(CALLS)]
            await until(lambda: _calls(url, CALLS))
            await until(lambda: _replying(llm, CALLS), within=30)  # every reply streaming
            await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await asyncio.gather(riva.stop(), asyncio.to_thread(llm.stop))
            code, took = await stopped_within(proc, signalled)
            for caller in callers:
                caller.cancel()
            await asyncio.gather(*callers, return_exceptions=True)
    finally:
        await riva.stop()
        await asyncio.to_thread(llm.stop)
    assert code == 0 and took < BOUND_S, (code, took)


async def _calls(url: str, n: int) -> bool:
    return await active_calls(url) >= n


async def _replying(llm: FakeOpenAI, n: int) -> bool:
    return sum(bool(r.chunks_sent) for r in llm.requests) >= n


async def test_sigterm_with_stalled_backends(speak, tmp_path):
    """Riva and the LLM accept connections and never answer: the call is live, nothing it
    waits on will ever come, and the process still exits in time."""
    async with SilentServer() as riva, SilentServer() as llm:
        llm_url = f"http://127.0.0.1:{llm.port}/v1"
        async with serving(tmp_path, f"127.0.0.1:{riva.port}", llm_url) as (proc, url):
            caller = long_call(url, speak)
            await until(lambda: active_calls(url))
            await asyncio.sleep(4)  # the greeting times out, the caller speaks into a dead ASR
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code, took = await stopped_within(proc, signalled)
            caller.cancel()
            await asyncio.gather(caller, return_exceptions=True)
    assert code == 0 and took < BOUND_S, (code, took)
