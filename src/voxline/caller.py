"""A caller you can run: dials a Voxline server over the Twilio Media Streams protocol.

The far end (``testbench.far_end``) behaves as Twilio does; this caller says its lines in turn:
each once the bot has answered the previous one and gone quiet, or, with ``barge_after``, that
far into the bot's reply. ``voxline call`` uses it; the conversation bench scripts richer calls.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from voxline.audio import interleave, ulaw_to_pcm
from voxline.testbench.far_end import FRAME, SILENCE, TICK_S, FarEnd

__all__ = ["FRAME", "SILENCE", "TICK_S", "BotTurn", "CallResult", "Line", "SimulatedCaller"]


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
        self.result = CallResult(f"CA{uuid.uuid4().hex}", "", lines, [])
        self._line_end: float | None = None  # when the last caller line finished
        self._turn = BotTurn(-1)
        self.result.turns.append(self._turn)

    async def run(self) -> CallResult:
        far = FarEnd(
            self.url,
            call_sid=self.result.call_sid,
            parameters=self.parameters,
            on_media=self._media,
            on_clear=self._clear,
        )
        self.result.stream_sid = far.stream_sid
        async with far:
            try:
                await asyncio.wait_for(self._talk(far), self.max_s)
            finally:
                tl = far.timeline
                self.result.closed_by_server = tl.closed_by_server is not None
                self.result.marks_echoed = [name for _, name in tl.marks]
                self.result.caller_track = tl.caller_track
                self.result.bot_track = tl.bot_track
        return self.result

    def _media(self, mulaw: bytes) -> None:
        if not self._turn.audio and self._turn.latency is None and self._line_end:
            self._turn.latency = time.monotonic() - self._line_end
        self._turn.audio += ulaw_to_pcm(mulaw)

    def _clear(self) -> None:
        self.result.clears += 1
        self._turn.cleared = True

    async def _talk(self, far: FarEnd) -> None:
        """Each tick: the next line once the bot has answered and gone quiet (or, for a
        barge-in line, once the bot has talked that long); hang up when the lines are done."""
        pending = deque(self.lines)
        speaking: asyncio.Task | None = None
        idle = 0.0  # seconds the playback has been empty since the bot last spoke
        heard_s = 0.0  # bot audio played in the current turn
        started = time.monotonic()
        while not far.closed:
            tick = await far.next_tick()
            if tick and far.timeline.heard[tick - 1]:
                idle, heard_s = 0.0, heard_s + TICK_S
            else:
                idle += TICK_S
            if speaking is not None:
                if not speaking.done():
                    continue
                speaking = None
                self._line_end = time.monotonic()
                self._turn = BotTurn(len(self.lines) - len(pending) - 1)
                self.result.turns.append(self._turn)
                heard_s, idle = 0.0, 0.0
            now = time.monotonic()
            # Quiet: nothing played for idle_s and nothing waits to play (a reply slower than
            # idle_s arrives after a silence that must not count).
            quiet = bool(self._turn.audio) and idle >= self.idle_s and not far.playing
            waited = now - (self._line_end or started) > self.first_reply_timeout_s
            if self._line_end is None and self.lead_in_s is not None:
                waited = now - started > self.lead_in_s  # a bot that does not greet
            if pending:
                line = pending[0]
                barge = line.barge_after is not None and heard_s >= line.barge_after
                quiet = quiet and line.barge_after is None
                if barge or quiet or (waited and not self._turn.audio):
                    pending.popleft()
                    speaking = asyncio.create_task(far.say(line.pcm))
            elif quiet or waited:
                break
