"""The talk page's WebSocket over a real socket, spoken by a script instead of a browser."""

import asyncio
import contextlib
import json
import wave

import numpy as np
import pytest
import websockets

from voxline.recording import recordings_dir

pytestmark = pytest.mark.e2e
WAIT_S = 30.0  # the embedded voice on a busy 2-core machine


async def next_json(ws, kind: str, audio: list[bytes] | None = None) -> dict:
    """Read until a JSON message of ``kind``; echo marks as a page does after playing."""
    async with asyncio.timeout(WAIT_S):
        while True:
            msg = await ws.recv()
            if isinstance(msg, bytes):
                if audio is not None:
                    audio.append(msg)
                continue
            body = json.loads(msg)
            if body["type"] == "mark":
                await ws.send(json.dumps({"type": "mark", "name": body["name"]}))
            if body["type"] == kind:
                return body


async def test_a_call_from_the_talk_socket_greets_and_hangs_up(talk_server):
    async with websockets.connect(talk_server.ws_url) as ws:
        await ws.send(b"\0\0" * 320)  # audio before start: skipped
        await ws.send("{not json")  # skipped
        await ws.send(json.dumps({"type": "start", "parameters": {"page": "test"}}))
        started = await next_json(ws, "started")
        call_id = started["call_id"]
        assert call_id.startswith("BR") and started["bot"] == "Voxline Pizza"
        audio: list[bytes] = []
        said = await next_json(ws, "bot_said", audio)
        assert said["text"].startswith("Thanks for calling Voxline Pizza!")
        turn = await next_json(ws, "turn", audio)  # the greeting, every mark echoed
        assert turn["user"] is None and turn["outcome"] == "spoken"
        assert turn["heard"].startswith("Thanks for calling")
        assert all(len(a) % 2 == 0 for a in audio)
        assert sum(map(len, audio)) > 2 * 16000 * 2  # seconds of 16 kHz PCM
        await ws.send(b"\x01\x02\x03")  # an odd byte count: skipped, the call goes on
        await ws.send(b"\0\0" * 320)
        await ws.send(json.dumps({"type": "stop"}))
        ended = await next_json(ws, "ended")
        assert ended["outcome"] == "hung up"
    record = await asyncio.to_thread(talk_server.ended, call_id)
    assert record["transport"] == "browser" and record["outcome"] == "hung up"
    assert record["parameters"] == {"page": "test"}
    # The recording, written out when the call ended: the greeting on the bot's side.
    sent = sum(map(len, audio)) // 2
    path = recordings_dir(talk_server.settings) / f"{call_id}.wav"
    for _ in range(50):  # the last write is on the recordings thread
        if path.exists() and path.stat().st_size - 44 >= 4 * sent:
            break
        await asyncio.sleep(0.1)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 16000)
        both = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    caller, bot = np.abs(both.astype(np.int32)).sum(axis=0)
    assert caller == 0 and bot > 0  # the caller sent silence; the bot spoke
    assert (both[:, 1] != 0).sum() > 0.8 * sent


async def test_a_call_over_the_limit_is_told_the_lines_are_busy(talk_server):
    assert talk_server.settings.max_calls == 2
    async with contextlib.AsyncExitStack() as stack:
        first, second, third = [
            await stack.enter_async_context(websockets.connect(talk_server.ws_url))
            for _ in range(3)
        ]
        for ws in (first, second):
            await ws.send(json.dumps({"type": "start"}))
            await next_json(ws, "started")
        await third.send(json.dumps({"type": "start"}))
        busy = await next_json(third, "busy")
        assert "busy" in busy["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(third.recv(), WAIT_S)
        assert closed.value.rcvd.code == 1013  # try again later
        for ws in (first, second):
            await ws.send(json.dumps({"type": "stop"}))
            assert (await next_json(ws, "ended"))["reason"] == "caller hung up"


async def test_another_site_cannot_open_the_talk_socket(talk_server):
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(talk_server.ws_url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
