"""SIGTERM on a real ``voxline serve`` process (scripted Riva backends, the form agent): it stops
taking calls at once, lets the live call go on, and exits 0 once it is over, or, when the call
outlasts ``VOXLINE_DRAIN_S``, says goodbye, ends it with its records written and exits."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import sys
import time

import httpx
import orjson
import pytest
import websockets

from tests.conftest import PIZZA
from tests.fakes.riva_server import FakeRivaServer
from voxline.caller import Line, SimulatedCaller
from voxline.records_sqlite import SqliteRecords
from voxline.server import GOODBYE

pytestmark = pytest.mark.e2e
ORDER = "a large pepperoni pizza on thin crust"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serve_process(tmp_path, riva_target: str, drain_s: float, llm_url: str = "", ready=None):
    """A ready ``voxline serve`` process (the form agent, or the LLM one at ``llm_url``) and its
    URL; killed on the way out if still running. ``ready(url)``: healthy by default."""
    port = free_port()
    env = {
        **os.environ,
        "VOXLINE_BOT": str(PIZZA),
        "VOXLINE_PORT": str(port),
        "VOXLINE_DATA_DIR": str(tmp_path),
        "VOXLINE_ASR": "riva",
        "VOXLINE_TTS": "riva",
        "VOXLINE_RIVA_SERVER": riva_target,
        "VOXLINE_AGENT": "llm" if llm_url else "form",
        "VOXLINE_DRAIN_S": str(drain_s),
    }
    for name in ("OPENAI_BASE_URL", "VOXLINE_LLM_BASE_URL", "TWILIO_AUTH_TOKEN", "VOXLINE_API_KEY"):
        env.pop(name, None)
    if llm_url:
        env["OPENAI_BASE_URL"] = llm_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voxline", "serve", "--log-level", "warning", env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await until(lambda: (ready or _healthy)(url), within=60)
        yield proc, url
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def serving(riva: FakeRivaServer, tmp_path, drain_s: float):
    """A healthy ``voxline serve`` process on the form agent."""
    return serve_process(tmp_path, riva.target, drain_s)


async def _healthy(url: str) -> bool:
    async with httpx.AsyncClient() as http:
        try:
            return (await http.get(f"{url}/health")).status_code == 200
        except httpx.TransportError:
            return False


async def active_calls(url: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/health")).json()["active_calls"]


async def until(probe, within: float = 20.0) -> None:
    for _ in range(int(within / 0.1)):
        if await probe():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def refused_stream(url: str) -> bytes:
    """A new stream while draining: the busy message plays, then the server closes it."""
    ws_url = url.replace("http://", "ws://") + "/ws"
    start = {"streamSid": "MZ-late", "callSid": "CA-late", "accountSid": "AC0", "tracks": []}
    audio = bytearray()
    async with websockets.connect(ws_url, max_queue=None) as ws:
        await ws.send(
            orjson.dumps({"event": "start", "streamSid": "MZ-late", "start": start}).decode()
        )
        try:
            while True:
                msg = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
                if msg["event"] == "media":
                    audio += base64.b64decode(msg["media"]["payload"])
                elif msg["event"] == "mark":
                    echo = {"event": "mark", "streamSid": "MZ-late", "mark": msg["mark"]}
                    await ws.send(orjson.dumps(echo).decode())
        except websockets.ConnectionClosed:
            pass
    return bytes(audio)


async def stored_call(tmp_path, call_sid: str) -> tuple[dict, list[dict]]:
    store = SqliteRecords(tmp_path / "voxline.sqlite3")
    try:
        return await store.call(call_sid), await store.turns(call_sid)
    finally:
        await store.close()


async def test_sigterm_refuses_new_calls_and_waits_for_the_live_one(speak, tmp_path):
    async with (
        FakeRivaServer([ORDER, "yes", "no thanks"]) as riva,
        serving(riva, tmp_path, drain_s=60) as (proc, url),
    ):
        lines = [Line(ORDER, speak(f"I'd like {ORDER}")), Line("yes", speak("yes"))]
        lines.append(Line("no", speak("no thanks")))
        ws_url = url.replace("http", "ws") + "/ws"
        caller = asyncio.create_task(SimulatedCaller(ws_url, lines, idle_s=2.0).run())
        await until(lambda: active_calls(url))
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        async with httpx.AsyncClient() as http:
            await until(lambda: _status(http, f"{url}/ready", 503), within=5)
            busy = await http.post(f"{url}/answer", data={"CallSid": "CA-new"})
        assert "<Say>" in busy.text and "<Hangup />" in busy.text
        assert len(await refused_stream(url)) > 8000  # over a second of the busy message
        assert proc.returncode is None and not caller.done()  # the live call goes on
        result = await asyncio.wait_for(caller, 90)
        code = await asyncio.wait_for(proc.wait(), 15)
        exited_after = time.monotonic() - signalled
    assert code == 0 and exited_after < 60
    call, turns = await stored_call(tmp_path, result.call_sid)
    assert call["ended_at"] and call["outcome"] == "order placed"
    heard = [t["text"] for t in turns if t["role"] == "assistant"]
    assert any("placed your order" in h for h in heard) and "Goodbye" in heard[-1]


async def _status(http: httpx.AsyncClient, url: str, status: int) -> bool:
    return (await http.get(url)).status_code == status


async def test_a_call_outlasting_the_drain_time_hears_goodbye_and_is_ended(speak, tmp_path):
    async with (
        FakeRivaServer(["a large pizza"]) as riva,
        serving(riva, tmp_path, drain_s=8) as (proc, url),
    ):
        lines = [Line("a large pizza", speak("a large pizza"))]
        # A caller who stays on the line, silent, for as long as the server lets them.
        caller = SimulatedCaller(f"{url.replace('http', 'ws')}/ws", lines, idle_s=120, max_s=60)
        talking = asyncio.create_task(caller.run())
        await until(lambda: active_calls(url))
        await asyncio.sleep(3)  # the greeting, the line, the reply
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        result = await asyncio.wait_for(talking, 30)
        code = await asyncio.wait_for(proc.wait(), 20)
        exited_after = time.monotonic() - signalled
    assert code == 0 and 4 < exited_after < 8 + 6, exited_after
    assert result.closed_by_server
    assert GOODBYE in " ".join(r.text for c in riva.tts_calls for r in c.requests)
    call, turns = await stored_call(tmp_path, result.call_sid)
    assert call["ended_at"]
    assert [t["text"] for t in turns if t["role"] == "assistant"][-1] == GOODBYE
