"""The far end plays like Twilio, checked against a scripted server on a real WebSocket:
audio is heard at real-time pace, marks come back only once what was before them has played,
``clear`` drops the buffer and echoes every pending mark, and the caller's frames keep coming."""

import asyncio
import contextlib

import orjson
import pybase64
import pytest
import websockets

from voxline.audio import pcm_to_ulaw
from voxline.testbench.far_end import FRAME, FarEnd, line_hiss

TONE = pcm_to_ulaw((b"\x00\x40") * FRAME)  # one 20 ms frame of a loud constant


class ScriptedServer:
    """A Media Streams server that runs ``script(ws, start_frame)`` and records what came in."""

    def __init__(self, script):
        self.script = script
        self.frames: list[dict] = []
        self.url = ""

    async def __aenter__(self):
        async def handler(ws):
            async def read():
                async for text in ws:
                    self.frames.append(orjson.loads(text))

            connected = orjson.loads(await ws.recv())
            start = orjson.loads(await ws.recv())
            self.frames += [connected, start]
            reader = asyncio.create_task(read())
            try:
                await self.script(ws, start["start"]["streamSid"])
            finally:
                reader.cancel()

        self.server = await websockets.serve(handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/ws"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    def events(self, kind):
        return [f for f in self.frames if f["event"] == kind]


def media(sid: str, frames: int) -> str:
    payload = pybase64.b64encode(TONE * frames).decode()
    return orjson.dumps(
        {"event": "media", "streamSid": sid, "media": {"payload": payload}}
    ).decode()


def mark(sid: str, name: str) -> str:
    return orjson.dumps({"event": "mark", "streamSid": sid, "mark": {"name": name}}).decode()


async def test_audio_is_heard_at_real_time_pace_and_marks_wait_for_it():
    async def script(ws, sid):
        await ws.send(media(sid, 25))  # 0.5 s of audio, sent at once
        await ws.send(mark(sid, "m1"))
        await asyncio.sleep(1.5)

    async with ScriptedServer(script) as server, FarEnd(server.url, hiss_dbfs=-60) as far:
        while far.tick < 60 and not far.closed:
            await far.next_tick()
        tl = far.timeline
    assert tl.heard_between(0, tl.ticks) == 25  # every frame heard once, one per tick
    first = tl.first_heard(0)
    assert first is not None and all(tl.heard[first : first + 25])
    ((echoed_at, name),) = tl.marks
    assert name == "m1" and echoed_at >= first + 24  # echoed once its audio had played
    echoes = server.events("mark")
    assert [e["mark"]["name"] for e in echoes] == ["m1"]
    sent = server.events("media")
    assert len(sent) >= 60 and all(
        len(pybase64.b64decode(m["media"]["payload"])) == FRAME for m in sent
    )
    assert [int(m["sequenceNumber"]) for m in server.frames[1:]] == list(
        range(1, len(server.frames))
    )


async def test_clear_drops_what_is_buffered_and_echoes_pending_marks():
    async def script(ws, sid):
        await ws.send(media(sid, 100))  # 2 s
        await ws.send(mark(sid, "a"))
        await ws.send(media(sid, 100))
        await ws.send(mark(sid, "b"))
        await asyncio.sleep(0.3)
        await ws.send(orjson.dumps({"event": "clear", "streamSid": sid}).decode())
        await asyncio.sleep(0.5)

    async with ScriptedServer(script) as server, FarEnd(server.url) as far:
        while far.tick < 50 and not far.closed:
            await far.next_tick()
        tl = far.timeline
        assert not far.playing
    (cleared,) = tl.clears
    assert 10 <= tl.heard_between(0, tl.ticks) <= cleared + 1  # only what played before
    assert not any(tl.heard[cleared + 1 :])
    assert [n for _, n in tl.marks] == ["a", "b"]
    assert all(t == cleared for t, _ in tl.marks)


async def test_the_caller_speaks_dials_and_hangs_up_and_a_server_close_loses_the_buffer():
    async def script(ws, sid):
        await ws.send(media(sid, 50))  # 1 s, then the server hangs up after 0.4 s
        await asyncio.sleep(0.4)
        await ws.close()

    async with ScriptedServer(script) as server:
        far = FarEnd(server.url)
        async with far:
            loud = (b"\x00\x30") * FRAME * 5
            start = await far.say(loud)
            await far.dtmf("7")
            while not far.closed:
                await far.next_tick()
    tl = far.timeline
    assert tl.closed_by_server is not None
    assert 25 * FRAME <= tl.unplayed_at_close <= 45 * FRAME  # what never played
    assert list(tl.caller_voiced[start : start + 5]) == [1] * 5
    assert tl.digits == [(tl.digits[0][0], "7")]
    (d,) = server.events("dtmf")
    assert d["dtmf"] == {"track": "inbound_track", "digit": "7"}


async def test_hangup_sends_stop():
    async def script(ws, sid):
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.sleep(2)

    async with ScriptedServer(script) as server:
        far = FarEnd(server.url)
        async with far:
            await far.next_tick()
        await asyncio.sleep(0.1)
    assert server.events("stop") and far.timeline.closed_by_server is None


@pytest.mark.parametrize("dbfs", [-60.0, -45.0])
def test_line_hiss_has_its_level(dbfs):
    hiss = line_hiss(dbfs)
    rms = 20 * __import__("math").log10(float((hiss**2).mean()) ** 0.5)
    assert abs(rms - dbfs) < 0.5
