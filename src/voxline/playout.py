"""Paced playout of the bot's audio, with a mark after each spoken segment.

Audio goes out in fixed 20 ms frames at real-time pace, a small lead ahead of the far end's
playback: enough to ride out network jitter, little enough that a barge-in has almost nothing
buffered to throw away. A mark after each segment comes back when that segment has played;
``clear`` makes Twilio echo every pending mark, so marks still pending when we clear are
counted as cut, not heard.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voxline.audio import FRAME_MS, Framer, frame_bytes


class Outbound(Protocol):
    """What the playout needs from a transport."""

    rate: int

    async def send_audio(self, pcm: bytes) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def send_clear(self) -> None: ...


@dataclass
class Segment:
    mark: str
    text: str
    owner: object = None  # the reply it belongs to
    heard: bool = False
    frames: list[bytes] = field(default_factory=list)  # kept to repeat it after a pause


class Playout:
    def __init__(
        self,
        out: Outbound,
        clock: Callable[[], float],
        on_speaking: Callable[[bool], None],  # the bot's audio started (True) or ended
        on_heard: Callable[[Segment], None],
        lead_s: float = 0.2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_frame: Callable[[bytes, float], None] | None = None,  # each frame as it is sent
    ) -> None:
        self.out = out
        self.clock = clock
        self.lead_s = lead_s
        self._sleep = sleep
        self._on_speaking = on_speaking
        self._on_heard = on_heard
        self._on_frame = on_frame
        self._frame = frame_bytes(out.rate)
        self._frame_s = FRAME_MS / 1000
        self._pending: list[Segment] = []  # marks sent and not echoed yet, oldest first
        self._names = itertools.count(1)
        self._t0 = 0.0  # when the far end started playing the current run of audio
        self._sent_s = 0.0  # audio sent since _t0
        self.speaking = False
        self.underruns = 0  # times the far end ran dry in the middle of a reply
        self.first_audio_at: float | None = None
        self._current: list[bytes] = []  # frames of the segment being sent
        self._open = asyncio.Event()  # cleared while paused
        self._open.set()
        self._replay: list[tuple[Segment, list[bytes]]] = []  # what a pause cut, to repeat
        self._gain = 1.0  # < 1 while ducked

    async def play(self, text: str, chunks, owner: object = None) -> Segment:
        """Send one segment's audio (an async iterator of PCM chunks), then its mark."""
        framer = Framer(self._frame)
        self._current = []
        async for chunk in chunks:
            for frame in framer.push(chunk):
                await self._send_current(frame)
        for frame in framer.flush(pad=0):
            await self._send_current(frame)
        await self._open.wait()
        segment = Segment("", text, owner, frames=self._current)
        self._current = []
        await self._mark(segment)
        return segment

    async def _send_current(self, frame: bytes) -> None:
        await self._open.wait()
        self._current.append(frame)
        await self._send(frame)

    async def _mark(self, segment: Segment) -> None:
        segment.mark = f"s{next(self._names)}"
        self._pending.append(segment)
        await self.out.send_mark(segment.mark)

    async def _send(self, frame: bytes) -> None:
        now = self.clock()
        ahead = self._sent_s - (now - self._t0)
        if ahead < 0:  # the far end has played everything: start a new run of audio
            if self.speaking and self._sent_s:
                self.underruns += 1
            self._t0, self._sent_s, ahead = now, 0.0, 0.0
        if ahead > self.lead_s:
            await self._sleep(ahead - self.lead_s)
        if not self.speaking:
            self.speaking = True
            self.first_audio_at = self.clock()
            self._on_speaking(True)
        if self._gain != 1.0:
            frame = (np.frombuffer(frame, "<i2") * self._gain).astype("<i2").tobytes()
        await self.out.send_audio(frame)
        if self._on_frame is not None:
            self._on_frame(frame, now)
        self._sent_s += self._frame_s

    def on_mark(self, name: str) -> None:
        """A mark echo: the segments up to it have played."""
        for i, segment in enumerate(self._pending):
            if segment.mark == name:
                for played in self._pending[: i + 1]:
                    played.heard = True
                    self._on_heard(played)
                del self._pending[: i + 1]
                break

    def ahead_s(self) -> float:
        """Audio sent that the far end has not played yet (its buffer, as paced here)."""
        if not self.speaking:
            return 0.0
        return max(0.0, self._sent_s - (self.clock() - self._t0))

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def stopped(self) -> None:
        """The reply is over and every mark came back: the bot is silent again."""
        self._gain = 1.0
        if self.speaking:
            self.speaking = False
            self._on_speaking(False)

    async def clear(self) -> list[Segment]:
        """Stop playback for good; returns the segments that were cut (sent but not heard)."""
        cut, self._pending = self._pending, []
        self._replay = []
        self._open.set()  # nothing may stay blocked on a pause that will not be resumed
        self._gain = 1.0
        await self.out.send_clear()
        self._sent_s = 0.0
        self._t0 = self.clock()
        self.speaking = False
        return cut

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    @property
    def ducked(self) -> bool:
        return self._gain != 1.0

    def duck(self, db: float) -> None:
        """Lower the audio from the next frame on (what the far end has buffered, at most
        ``lead_s``, plays as it was): the caller hears the bot yield without a gap."""
        self._gain = 10 ** (db / 20)

    def unduck(self) -> None:
        self._gain = 1.0

    async def pause(self) -> None:
        """Silence the far end at once but keep the reply: what was cut can be repeated."""
        if self.paused:
            return
        self._open.clear()
        self._replay = [(seg, seg.frames) for seg in self._pending]
        self._pending = []
        await self.out.send_clear()
        self._sent_s = 0.0
        self._t0 = self.clock()

    async def resume(self) -> None:
        """Repeat what the pause cut (whole segments, and the one in progress from its start),
        then let the reply go on. Run it as a task: it paces the repeated audio."""
        replay, self._replay = self._replay, []
        for segment, frames in replay:
            for frame in frames:
                await self._send(frame)
            await self._mark(segment)
        for frame in list(self._current):
            await self._send(frame)
        self._open.set()
