"""Twilio's side of one Media Stream, for callers that test a bot.

It does what Twilio does on a real WebSocket: ``connected`` and ``start``, then one 20 ms mu-law
``media`` frame every 20 ms for the whole call (the caller's speech, else the line's hiss), and
on the way back a playback buffer that plays the bot's audio at real-time pace, echoes each
``mark`` once the audio before it has played, and on ``clear`` drops what is buffered and echoes
every pending mark. "Heard" means what came out of that buffer, tick by tick, not what was sent.

Everything is counted in ticks of 20 ms on an absolute schedule (a late tick sends what it owes
at once), so what the caller heard and when is exact to one frame whatever the machine does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import orjson
import pybase64
import websockets

from voxline.audio import MULAW_RATE, ULAW_SILENCE, pcm_to_ulaw, ulaw_to_pcm

TICK_S = 0.02
FRAME = MULAW_RATE // 50  # mu-law bytes (= samples) in one tick
SILENCE = bytes([ULAW_SILENCE]) * FRAME
PCM_SILENCE = bytes(2 * FRAME)


@dataclass
class Timeline:
    """What happened on the line; index = tick (20 ms from the start frame)."""

    caller_voiced: bytearray = field(default_factory=bytearray)  # 1: the caller spoke
    heard: bytearray = field(default_factory=bytearray)  # bot bytes played in the tick (0..160)
    bot_track: bytearray = field(default_factory=bytearray)  # 16-bit PCM the caller heard
    caller_track: bytearray = field(default_factory=bytearray)  # 16-bit PCM the caller sent
    clears: list[int] = field(default_factory=list)
    marks: list[tuple[int, str]] = field(default_factory=list)  # (tick echoed, name)
    digits: list[tuple[int, str]] = field(default_factory=list)
    closed_by_server: int | None = None  # tick the server closed the socket
    unplayed_at_close: int = 0  # bot audio still buffered (never heard) at the server's close
    late_ticks: int = 0  # ticks sent more than a frame late (an overloaded caller process)
    last_heard: int = -1  # the latest tick with bot audio heard

    @property
    def ticks(self) -> int:
        return len(self.heard)

    def heard_between(self, start: int, end: int) -> int:
        """Ticks with bot audio heard in [start, end)."""
        return sum(1 for b in self.heard[start:end] if b)

    def first_heard(self, start: int, end: int | None = None) -> int | None:
        stop = self.ticks if end is None else min(end, self.ticks)
        for t in range(max(0, start), stop):
            if self.heard[t]:
                return t
        return None

    def bot_audio(self, start: int, end: int, max_gap: int = 15) -> bytes:
        """What the caller heard of the bot in [start, end), silences over ``max_gap`` ticks
        shortened to that (a transcriber invents words for long silence)."""
        out = bytearray()
        gap = 0
        for t in range(max(0, start), min(end, self.ticks)):
            gap = 0 if self.heard[t] else gap + 1
            if gap <= max_gap:
                out += self.bot_track[2 * FRAME * t : 2 * FRAME * (t + 1)]
        return bytes(out)


def line_hiss(dbfs: float, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A phone line's background noise (float samples), looped while the caller is silent."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 10 ** (dbfs / 20), int(MULAW_RATE * seconds)).astype(np.float32)


class FarEnd:
    """One call's Twilio end. Use as ``async with FarEnd(url) as far: await far.say(...)``."""

    def __init__(
        self,
        url: str,
        *,
        call_sid: str | None = None,
        parameters: dict[str, str] | None = None,
        hiss_dbfs: float | None = None,
        on_media: Callable[[bytes], None] | None = None,
        on_clear: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.call_sid = call_sid or f"CA{uuid.uuid4().hex}"
        self.stream_sid = f"MZ{uuid.uuid4().hex}"
        self.parameters = parameters or {}
        self.timeline = Timeline()
        self._hiss = line_hiss(hiss_dbfs) if hiss_dbfs is not None else None
        self._hiss_at = 0
        self._on_media = on_media
        self._on_clear = on_clear
        self._outgoing: deque[tuple[bytes, bool]] = deque()  # (16-bit PCM frame, voiced)
        self._said = asyncio.Event()  # set when the outgoing queue runs empty
        self._said.set()
        self._playback = bytearray()  # mu-law queued at this end
        self._queued = 0  # bot bytes ever queued
        self._played = 0  # bot bytes played or dropped by a clear
        self._marks: deque[tuple[int, str]] = deque()  # (queue position, name) not yet echoed
        self._seq = 0
        self._tick = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._ws: websockets.ClientConnection | None = None
        self.hung_up = False

    # --- life -------------------------------------------------------------------------------

    async def __aenter__(self) -> FarEnd:
        self._ws = await websockets.connect(self.url, max_size=2**20, open_timeout=20)
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        start = {
            "streamSid": self.stream_sid,
            "accountSid": "AC" + "0" * 32,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "customParameters": self.parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": MULAW_RATE, "channels": 1},
        }
        await self._send({"event": "start", "start": start})
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._ticker())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.hangup()

    async def hangup(self) -> None:
        """The caller hangs up: ``stop``, then the socket closes (idempotent)."""
        if not self.hung_up and not self.closed:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._send({"event": "stop", "stop": {"callSid": self.call_sid}})
        self.hung_up = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        self._tick.set()

    @property
    def closed(self) -> bool:
        """The call is over (either side ended it)."""
        return self.hung_up or self.timeline.closed_by_server is not None

    @property
    def tick(self) -> int:
        return self.timeline.ticks

    @property
    def playing(self) -> bool:
        """Bot audio is waiting in the playback buffer."""
        return bool(self._playback)

    async def next_tick(self) -> int:
        """Wait for the next 20 ms tick (returns at once once the call is over)."""
        if not self.closed:
            self._tick.clear()
            await self._tick.wait()
        return self.tick

    # --- the caller -------------------------------------------------------------------------

    async def say(self, pcm: bytes, voiced: list[tuple[float, float]] | None = None) -> int:
        """Speak 16-bit 8 kHz PCM (``voiced``: its speech spans, seconds); returns the tick the
        first frame goes out, and waits until the last one has been sent."""
        pcm += bytes(-len(pcm) % (2 * FRAME))
        spans = voiced if voiced is not None else [(0.0, len(pcm) / (2 * MULAW_RATE))]
        first = self.tick + len(self._outgoing)
        for i in range(0, len(pcm), 2 * FRAME):
            t0, t1 = i / (2 * MULAW_RATE), (i + 2 * FRAME) / (2 * MULAW_RATE)
            speech = any(a < t1 and t0 < b for a, b in spans)
            self._outgoing.append((pcm[i : i + 2 * FRAME], speech))
        self._said.clear()
        while not self._said.is_set() and not self.closed:
            await self.next_tick()
        return first

    async def dtmf(self, digit: str) -> None:
        self.timeline.digits.append((self.tick, digit))
        await self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})

    # --- the wire ---------------------------------------------------------------------------

    async def _send(self, msg: dict) -> None:
        assert self._ws is not None
        if msg["event"] != "connected":
            self._seq += 1
            msg = {"sequenceNumber": str(self._seq), **msg, "streamSid": self.stream_sid}
        await self._ws.send(orjson.dumps(msg).decode())

    async def _receive(self) -> None:
        assert self._ws is not None
        try:
            async for text in self._ws:
                msg = orjson.loads(text)
                event = msg.get("event")
                if event == "media":
                    mulaw = pybase64.b64decode(msg["media"]["payload"])
                    self._playback += mulaw
                    self._queued += len(mulaw)
                    if self._on_media:
                        self._on_media(mulaw)
                elif event == "mark":
                    self._marks.append((self._queued, msg["mark"]["name"]))
                elif event == "clear":
                    self.timeline.clears.append(self.tick)
                    self._played += len(self._playback)
                    self._playback.clear()
                    if self._on_clear:
                        self._on_clear()
                    await self._echo_marks(everything=True)
        except websockets.ConnectionClosed:
            pass
        if not self.hung_up:
            self.timeline.closed_by_server = self.tick
            self.timeline.unplayed_at_close = len(self._playback)
        self._tick.set()

    async def _echo_marks(self, everything: bool = False) -> None:
        while self._marks and (everything or self._marks[0][0] <= self._played):
            _, name = self._marks.popleft()
            self.timeline.marks.append((self.tick, name))
            await self._send({"event": "mark", "mark": {"name": name}})

    def _caller_frame(self) -> tuple[bytes, bool]:
        pcm, voiced = self._outgoing.popleft() if self._outgoing else (PCM_SILENCE, False)
        if not self._outgoing:
            self._said.set()
        if self._hiss is not None:
            hiss = self._hiss[self._hiss_at : self._hiss_at + FRAME]
            self._hiss_at = (self._hiss_at + FRAME) % (len(self._hiss) - FRAME)
            mixed = np.frombuffer(pcm, "<i2").astype(np.float32) + hiss * 32768
            pcm = mixed.round().clip(-32768, 32767).astype("<i2").tobytes()
        return pcm, voiced

    async def _ticker(self) -> None:
        """Every 20 ms: one caller frame out, one bot frame played, marks echoed."""
        tl = self.timeline
        started = time.monotonic()
        deadline = started
        while self.timeline.closed_by_server is None:
            pcm, voiced = self._caller_frame()
            payload = pybase64.b64encode(pcm_to_ulaw(pcm)).decode()
            media = {"track": "inbound", "chunk": str(tl.ticks + 1), "payload": payload}
            media["timestamp"] = str(tl.ticks * 20)
            try:
                await self._send({"event": "media", "media": media})
            except websockets.ConnectionClosed:
                break
            played = bytes(self._playback[:FRAME])
            del self._playback[:FRAME]
            self._played += len(played)
            tl.caller_voiced.append(1 if voiced else 0)
            tl.caller_track += pcm
            if played:
                tl.last_heard = tl.ticks
            tl.heard.append(len(played))
            tl.bot_track += ulaw_to_pcm(played) + PCM_SILENCE[2 * len(played) :]
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._echo_marks()
            self._tick.set()
            deadline += TICK_S
            delay = deadline - time.monotonic()
            if delay < -TICK_S:
                tl.late_ticks += 1
            await asyncio.sleep(max(0.0, delay))
