"""A caller you can run: dials a Voxline server over the Twilio Media Streams protocol.

It behaves as Twilio does: ``connected`` and ``start`` frames, then 20 ms mu-law ``media``
frames in real time for the whole call (silence included), and on the way back a playback
buffer that plays the bot's audio at real-time pace, echoes each ``mark`` when the audio before
it has played, and empties itself (echoing every pending mark) on ``clear``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import orjson
import pybase64
import websockets

from voxline.audio import MULAW_RATE, ULAW_SILENCE, interleave, pcm_to_ulaw, ulaw_to_pcm

FRAME = 160  # bytes of mu-law in 20 ms
SILENCE = bytes([ULAW_SILENCE]) * FRAME
TICK_S = 0.02


@dataclass
class Line:
    """One thing the caller says: ``pcm`` is 16-bit 8 kHz audio. With ``barge_after`` set the
    caller starts it that many seconds into the bot's reply instead of waiting for silence."""

    text: str
    pcm: bytes
    barge_after: float | None = None


@dataclass
class BotTurn:
    after_line: int  # index of the caller line it answers (-1: the greeting)
    audio: bytearray = field(default_factory=bytearray)  # 16-bit PCM as received
    latency: float | None = None  # end of the caller's line -> first bot audio
    cleared: bool = False
    text: str = ""


@dataclass
class CallResult:
    call_sid: str
    stream_sid: str
    lines: list[Line]
    turns: list[BotTurn]
    marks_echoed: list[str] = field(default_factory=list)
    clears: int = 0
    closed_by_server: bool = False
    caller_track: bytearray = field(default_factory=bytearray)
    bot_track: bytearray = field(default_factory=bytearray)

    def stereo(self) -> bytes:
        """Caller on the left, the bot as the caller heard it on the right."""
        return interleave(bytes(self.caller_track), bytes(self.bot_track))


class SimulatedCaller:
    def __init__(
        self,
        url: str,
        lines: list[Line],
        idle_s: float = 1.5,
        first_reply_timeout_s: float = 20.0,
        max_s: float = 180.0,
        parameters: dict[str, str] | None = None,
        lead_in_s: float | None = None,  # a bot without a greeting: speak first after this
    ) -> None:
        self.url = url
        self.lines = lines
        self.idle_s = idle_s
        self.first_reply_timeout_s = first_reply_timeout_s
        self.lead_in_s = lead_in_s
        self.max_s = max_s
        self.parameters = parameters or {"caller": "voxline-call"}
        self.result = CallResult(f"CA{uuid.uuid4().hex}", f"MZ{uuid.uuid4().hex}", lines, [])
        self._playback = bytearray()  # mu-law queued at the far end
        self._played = 0  # bytes of bot audio played so far (or skipped by clear)
        self._queued = 0  # bytes of bot audio ever queued
        self._marks: deque[tuple[int, str]] = deque()  # (position, name) not yet echoed
        self._seq = 0
        self._line_end: float | None = None  # when the last caller line finished
        self._turn = BotTurn(-1)
        self.result.turns.append(self._turn)

    async def run(self) -> CallResult:
        async with websockets.connect(self.url, max_size=2**20) as ws:
            self._ws = ws
            await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await self._send(
                {
                    "event": "start",
                    "start": {
                        "streamSid": self.result.stream_sid,
                        "accountSid": "AC" + "0" * 32,
                        "callSid": self.result.call_sid,
                        "tracks": ["inbound"],
                        "customParameters": self.parameters,
                        "mediaFormat": {
                            "encoding": "audio/x-mulaw",
                            "sampleRate": MULAW_RATE,
                            "channels": 1,
                        },
                    },
                }
            )
            receiver = asyncio.create_task(self._receive())
            try:
                await asyncio.wait_for(self._talk(receiver), self.max_s)
            finally:
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                    await receiver
        return self.result

    async def _send(self, msg: dict) -> None:
        if msg["event"] != "connected":
            self._seq += 1
            msg = {"sequenceNumber": str(self._seq), **msg, "streamSid": self.result.stream_sid}
        await self._ws.send(orjson.dumps(msg).decode())

    async def _receive(self) -> None:
        try:
            async for text in self._ws:
                msg = orjson.loads(text)
                event = msg.get("event")
                if event == "media":
                    mulaw = pybase64.b64decode(msg["media"]["payload"])
                    if not self._turn.audio and self._turn.latency is None and self._line_end:
                        self._turn.latency = time.monotonic() - self._line_end
                    self._turn.audio += ulaw_to_pcm(mulaw)
                    self._playback += mulaw
                    self._queued += len(mulaw)
                elif event == "mark":
                    self._marks.append((self._queued, msg["mark"]["name"]))
                elif event == "clear":
                    self.result.clears += 1
                    self._turn.cleared = True
                    self._played += len(self._playback)
                    self._playback.clear()
                    await self._echo_marks(everything=True)
        except websockets.ConnectionClosed:
            pass
        self.result.closed_by_server = True

    async def _echo_marks(self, everything: bool = False) -> None:
        while self._marks and (everything or self._marks[0][0] <= self._played):
            _, name = self._marks.popleft()
            self.result.marks_echoed.append(name)
            await self._send({"event": "mark", "mark": {"name": name}})

    async def _talk(self, receiver: asyncio.Task) -> None:
        """Every 20 ms: send one caller frame and play one bot frame, on a steady clock."""
        pending = deque(self.lines)
        speaking = bytearray()
        idle = 0.0  # seconds the playback has been empty since the bot last spoke
        heard_s = 0.0  # bot audio played in the current turn
        started = time.monotonic()
        next_tick = started
        chunk = 0
        while not receiver.done():
            now = time.monotonic()
            # The next line: a barge-in line once the bot has talked long enough, any other
            # once the bot has answered and gone quiet.
            answered = bool(self._turn.audio)
            # Quiet: nothing played for idle_s and nothing waits to play (a reply slower than
            # idle_s arrives after a silence that must not count).
            quiet = answered and idle >= self.idle_s and not self._playback
            if not speaking and pending:
                line = pending[0]
                barge = line.barge_after is not None and heard_s >= line.barge_after
                quiet = quiet and line.barge_after is None
                waited = now - (self._line_end or started) > self.first_reply_timeout_s
                if self._line_end is None and self.lead_in_s is not None:
                    waited = now - started > self.lead_in_s
                if barge or quiet or (waited and not self._turn.audio):
                    pending.popleft()
                    speaking = bytearray(pcm_to_ulaw(line.pcm))
                    speaking += SILENCE[: -len(speaking) % FRAME]
            elif not speaking and not pending:
                waited = now - (self._line_end or started) > self.first_reply_timeout_s
                if quiet or waited:
                    break
            chunk += 1
            if speaking:
                frame = bytes(speaking[:FRAME])
                del speaking[:FRAME]
                if not speaking:
                    self._line_end = time.monotonic() + TICK_S
                    self._turn = BotTurn(len(self.lines) - len(pending) - 1)
                    self.result.turns.append(self._turn)
                    heard_s, idle = 0.0, 0.0
            else:
                frame = SILENCE
            await self._send(
                {
                    "event": "media",
                    "media": {
                        "track": "inbound",
                        "chunk": str(chunk),
                        "timestamp": str(int((now - started) * 1000)),
                        "payload": pybase64.b64encode(frame).decode(),
                    },
                }
            )
            self.result.caller_track += ulaw_to_pcm(frame)
            played = bytes(self._playback[:FRAME])
            del self._playback[:FRAME]
            self._played += len(played)
            self.result.bot_track += ulaw_to_pcm(played + SILENCE[len(played) :])
            if played:
                idle, heard_s = 0.0, heard_s + TICK_S
            else:
                idle += TICK_S
            await self._echo_marks()
            next_tick += TICK_S
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        if not receiver.done():
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._send({"event": "stop", "stop": {"callSid": self.result.call_sid}})
