"""Synthesis ahead of playout, so the caller's buffer never runs dry inside a reply.

Each segment's synthesis is asked for as soon as its text is known, while earlier ones play
(up to ``depth`` segments between the one being sent and the newest). A remote TTS serves
``parallel`` requests at once (the synthesizer's ``parallel`` attribute; Riva: 3), so the next
segment's request does not wait for the previous one's audio: with 400 ms per request, a short
first clause ("Sure,") would otherwise run out first. The embedded voice takes one at a time:
its two threads are shared with whisper, where parallel renders would only queue.

Where the text itself is late (a streaming LLM still writing the sentence), ``running_dry``
says so: the audio still to play (the playout's lead, the audio synthesized and not yet sent,
and an estimate for the segments whose audio has not come yet) is shorter than a TTS request
takes. The reply then cuts the next segment early (``SentenceSplitter.hurry``) rather than
leave a gap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

MARGIN_S = 0.3  # beyond a TTS request's first-chunk time: scheduling, the last frame
SECONDS_PER_CHAR = 0.06  # speech per character of text, for audio not synthesized yet


class SpeakAhead:
    def __init__(
        self,
        synthesize: Callable[[str], AsyncIterator[bytes]],
        bytes_per_s: int,
        on_error: Callable[[str, Exception], None],
        depth: int = 3,
        parallel: int = 1,  # synthesis requests at once (a remote TTS serves several)
        on_first: Callable[[], object] | None = None,  # the first segment's text is known
        first_chunk_s: float = 0.3,  # until one is measured
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._synthesize = synthesize
        self._bytes_per_s = bytes_per_s
        self._on_error = on_error
        self._on_first = on_first
        self._slots = asyncio.Semaphore(depth)
        self._parallel = asyncio.Semaphore(max(1, parallel))
        self._clock = clock
        self.ready: asyncio.Queue[tuple[str, asyncio.Queue[bytes | None]] | None] = asyncio.Queue()
        self.first_chunk_s = first_chunk_s  # the latest TTS request's time to first audio
        self.in_flight = 0  # segments asked for whose first audio has not come
        self._expected_s = 0.0  # their audio, estimated from their text
        self.buffered = 0  # bytes synthesized and not yet taken by the playout
        self.started = False  # the first segment has been asked for

    @property
    def buffered_s(self) -> float:
        return self.buffered / self._bytes_per_s

    def running_dry(self, playing_ahead_s: float) -> bool:
        """Whether the reply's audio runs out before a segment asked for now could play."""
        if not self.started:
            return False
        runway = playing_ahead_s + self.buffered_s + self._expected_s
        return runway < self.first_chunk_s + MARGIN_S

    async def feed(self, segments: asyncio.Queue[str | None]) -> None:
        """Start each segment's synthesis as its text comes; ``None`` ends the reply."""
        async with asyncio.TaskGroup() as tg:
            while (seg := await segments.get()) is not None:
                if self._on_first is not None:
                    self._on_first, on_first = None, self._on_first
                    on_first()
                await self._slots.acquire()  # released once the segment has been sent
                chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
                self.in_flight, self.started = self.in_flight + 1, True
                self._expected_s += len(seg) * SECONDS_PER_CHAR
                tg.create_task(self._one(seg, chunks))
                self.ready.put_nowait((seg, chunks))
        self.ready.put_nowait(None)

    async def _one(self, seg: str, chunks: asyncio.Queue[bytes | None]) -> None:
        try:
            async with self._parallel:
                await self._run(seg, chunks)
        except Exception as exc:
            self._on_error(seg, exc)
        finally:
            chunks.put_nowait(None)

    async def _run(self, seg: str, chunks: asyncio.Queue[bytes | None]) -> None:
        asked, waiting = self._clock(), True
        try:
            async for pcm in self._synthesize(seg):
                if waiting:
                    waiting = False
                    self._arrived(seg)
                    self.first_chunk_s = self._clock() - asked
                self.buffered += len(pcm)
                chunks.put_nowait(pcm)
        finally:
            if waiting:
                self._arrived(seg)

    def _arrived(self, seg: str) -> None:
        self.in_flight -= 1
        self._expected_s = max(0.0, self._expected_s - len(seg) * SECONDS_PER_CHAR)

    async def audio(self, chunks: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
        """One segment's audio for the playout; its slot frees once all of it is taken."""
        try:
            while (pcm := await chunks.get()) is not None:
                self.buffered -= len(pcm)
                yield pcm
        finally:
            self._slots.release()
