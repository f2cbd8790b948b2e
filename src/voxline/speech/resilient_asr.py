"""A remote recognizer whose streams are reopened, never given up on, for the whole call.

The provider's own stream already reconnects through short blips and replays the audio. This
wrapper covers the rest: a stream that errors for good, or stalls (the caller spoke and no
transcript came), is closed and a new one opened with backoff, gated by the process-wide
breaker, while the call goes on. Speech the broken stream swallowed is given up on with
``UtteranceLost`` once the caller falls silent, so the call can ask them to say it again. A new
stream starts between utterances: the tail of a lost sentence would be misheard as a whole one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from voxline.audio import rms_dbfs
from voxline.breaker import Backoff, Breaker
from voxline.events import AudioIn, Transcript, TranscriptKind
from voxline.resilience import describe, report
from voxline.speech.base import AudioFormat, Recognizer, RecognizerHints, RecognizerStream
from voxline.speech.hearing import HearingWatch

log = logging.getLogger("voxline.asr")
SPEECH_DBFS = -35.0  # without a VAD, louder frames count as speech
REOPEN_BACKOFF = Backoff(0.2, 5.0)


@dataclass(frozen=True, slots=True)
class UtteranceLost:
    """The caller said something the recognizer never transcribed (it failed or stalled)."""

    why: str


class ResilientRecognizer:
    def __init__(
        self,
        inner: Recognizer,
        breaker: Breaker,
        answer_margin_s: float = 1.0,
        backoff: Backoff = REOPEN_BACKOFF,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self.answer_margin_s = answer_margin_s  # beyond the endpointing delay: a stall
        self.backoff = backoff
        self.rand = rand
        self.name = inner.name
        self.caps = inner.caps

    def open(self, fmt: AudioFormat, hints: RecognizerHints) -> ResilientRecognition:
        return ResilientRecognition(self, fmt, hints)

    async def check(self) -> str:
        return await self.inner.check()

    async def aclose(self) -> None:
        """Close the provider's shared client (its channel) when the process stops."""
        if (close := getattr(self.inner, "aclose", None)) is not None:
            await close()


class ResilientRecognition:
    """One call's recognition; ``send``/iterate/``aclose`` as any ``RecognizerStream``. It also
    yields ``UtteranceLost`` between transcripts."""

    def __init__(self, owner: ResilientRecognizer, fmt: AudioFormat, hints: RecognizerHints):
        self._owner = owner
        self._fmt = fmt
        self._hints = hints
        self._watch = HearingWatch(hints.stop_history_ms / 1000 + owner.answer_margin_s)
        self._out: asyncio.Queue[Transcript | UtteranceLost | None] = asyncio.Queue()
        self._inner: RecognizerStream | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._started = self._closed = self._eager = False
        self._heard = False  # the current stream delivered a transcript
        self._failures = 0  # consecutive, for the backoff
        self._retry_at = 0.0  # audio time from which a new stream may be opened
        self._now = 0.0  # end of the latest caller frame (audio clock)
        self.reopened = 0

    # --- the RecognizerStream protocol ------------------------------------------------------

    async def send(self, audio: AudioIn, voiced: bool | None) -> None:
        if self._closed:
            return
        self._start()
        duration = len(audio.pcm) / (2 * self._fmt.rate)
        self._now = audio.t + duration
        if voiced is None:
            voiced = bool(audio.pcm) and rms_dbfs(audio.pcm) > SPEECH_DBFS
        verdict = self._watch.frame(self._now, duration, voiced)
        if verdict == "stalled" and self._inner is not None:
            why = f"no transcript {self._watch.answer_s:.1f} s after the caller spoke"
            self._fail(self._inner, why)
        if verdict is not None:
            self._out.put_nowait(UtteranceLost(verdict))
        idle = self._inner is None and not self._watch.pending and self._now >= self._retry_at
        if idle and self._owner.breaker.allow():  # last: in half-open it takes the probe
            self._open()
        if self._inner is not None:
            await self._inner.send(audio, voiced)

    def eager(self, on: bool, soon: bool = False) -> None:
        self._eager = on
        if self._inner is not None:
            self._inner.eager(on, soon)

    def heard(self, text: str) -> None:
        if self._inner is not None:
            self._inner.heard(text)

    def __aiter__(self) -> AsyncIterator[Transcript | UtteranceLost]:
        return self._iterate()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        inner, self._inner = self._inner, None
        if self._pump is not None:
            self._pump.cancel()
        if inner is not None:
            await inner.aclose()
        await asyncio.gather(*self._closing, *filter(None, [self._pump]), return_exceptions=True)
        self._out.put_nowait(None)

    # --- internals ----------------------------------------------------------------------------

    async def _iterate(self) -> AsyncIterator[Transcript | UtteranceLost]:
        self._start()
        while (item := await self._out.get()) is not None:
            yield item
        self._out.put_nowait(None)

    def _start(self) -> None:
        """Open the first stream lazily, inside the call's tasks (failures are reported to the
        call they happen in)."""
        if not self._started and not self._closed:
            self._started = True
            if self._owner.breaker.allow():
                self._open()
            else:
                self._watch.broke()

    def _open(self) -> None:
        inner = self._owner.inner.open(self._fmt, self._hints)
        if self._eager:
            inner.eager(True)
        self._inner, self._heard = inner, False
        self._watch.restored()
        self._pump = asyncio.create_task(self._read(inner), name="asr-pump")
        if self._failures:
            self.reopened += 1
            log.info("asr: new %s stream after %d failure(s)", self._owner.name, self._failures)

    async def _read(self, inner: RecognizerStream) -> None:
        try:
            async for tr in inner:
                if not self._heard:
                    self._heard, self._failures = True, 0
                    self._owner.breaker.success()
                if tr.kind is TranscriptKind.FINAL:
                    self._watch.answered()
                self._out.put_nowait(tr)
            why = "stream ended"
        except Exception as exc:
            why = describe(exc)
        self._fail(inner, why)

    def _fail(self, inner: RecognizerStream, why: str) -> None:
        """Drop a failed stream (once) and schedule the next one."""
        if inner is not self._inner or self._closed:
            return
        self._inner = None
        if self._pump is not None and self._pump is not asyncio.current_task():
            self._pump.cancel()
        closing = asyncio.create_task(inner.aclose())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        self._watch.broke()
        self._owner.breaker.failure()
        delay = self._owner.backoff.delay(self._failures, self._owner.rand)
        self._failures += 1
        self._retry_at = self._now + delay
        report("asr", f"{self._owner.name} asr: {why}; new stream in {delay:.1f} s or later")
