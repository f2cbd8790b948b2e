"""Endpointing for recognizers that transcribe whole utterances (whisper).

The VAD cuts the caller's audio into utterances. After ``stop_history_eou_ms`` of silence the
utterance so far is transcribed and emitted as an *interim* transcript (the first-pass end of
utterance), again after each pause of that length when the caller goes on; after
``stop_history_ms`` a *final* follows, reusing the latest interim's text when no speech came
after it. With one interim per utterance, a caller who paused at a comma ("Thick crust,
[350 ms] medium, with bacon.") got the reply only after the final's 800 ms. While the call
asks for it (``eager``), partials are transcribed during speech so a barge-in can be vetted
before the caller stops talking. Transcriptions run one at a time, in order, off the event
loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from voxline.audio import duration, rms_dbfs
from voxline.events import AudioIn, Transcript, TranscriptKind
from voxline.speech.base import RecognizerHints
from voxline.speech.loudness import ONSET_OVER_FLOOR_DB, QUIET_DBFS

# (pcm, rate, over_bot, heard, earlier) -> text; over_bot: spoken while the bot talked (likely
# a backchannel); heard: the bot's last words the caller heard, which the caller is answering;
# earlier: the interim's text when the caller went on after it (a final of the whole utterance)
Transcribe = Callable[[bytes, int, bool, str, str], Awaitable[str]]

log = logging.getLogger("voxline.speech")
PREROLL_S = 0.5  # audio kept from before the VAD onset: onsets are detected 100-300 ms late
TAIL_S = 0.3  # trailing silence kept after the last voiced frame
# Voiced time before each eager partial ("No, no" is a word). Words over the bot with no
# interruption word wait for a second partial (``turns.py``): at 400 ms apart a barge-in with
# none ("Okay, I'll have a medium...") was heard to stop 930 ms after its onset. One
# transcription runs at a time, so a slow machine asks less often by itself.
EAGER_EVERY_S = 0.25
# After a doubtful partial (words with no interruption word), the next comes this much sooner:
# offline, on the bench's 14 voices x 12 interruptions and 8 backchannels, interruptions were
# decided after 0.37 / 1.00 s of speech (p50 / p95) instead of 0.50 / 1.14, with the same 36
# of 112 backchannels stopping the bot.
EAGER_SOON_S = 0.12
MAX_UTTERANCE_S = 30.0  # longer speech is cut and finalized, so memory stays bounded
HEARD_CHARS = 200  # of the bot's latest words kept as context: its question is at the end


@dataclass(frozen=True, slots=True)
class _Job:
    kind: TranscriptKind
    pcm: bytes | None  # None: reuse the previous interim text
    speech_end: float
    over_bot: bool = False
    heard: str = ""
    resumed: bool = False  # the caller went on after the utterance's latest interim


class UtteranceStream:
    def __init__(
        self,
        transcribe: Transcribe,
        rate: int,
        hints: RecognizerHints,
        clock: Callable[[], float],
    ) -> None:
        self._transcribe = transcribe
        self._rate = rate
        self._hints = hints
        self._clock = clock
        self._jobs: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._out: asyncio.Queue[Transcript | None] = asyncio.Queue()
        self._preroll: deque[bytes] = deque()
        self._preroll_s = 0.0
        self._buf = bytearray()
        self._in_utterance = False
        self._last_voiced = 0.0
        self._voiced_len = 0  # bytes of the utterance up to its last voiced frame
        self._interims = 0  # interim transcripts of this utterance so far
        self._covered = False  # the latest interim covers all the speech so far
        self._eager = False
        self._eager_voiced_s = 0.0
        self._soon = False  # the next partial after EAGER_SOON_S of speech
        self._over_bot = False  # the utterance began while the bot was talking
        self._heard = ""
        self._worker = asyncio.create_task(self._work())

    def eager(self, on: bool, soon: bool = False) -> None:
        self._eager = on
        if soon:
            self._soon = True  # the voiced time since the last partial already counts
        else:
            self._eager_voiced_s, self._soon = 0.0, False

    def heard(self, text: str) -> None:
        self._heard = f"{self._heard} {text}".strip()[-HEARD_CHARS:]

    async def send(self, audio: AudioIn, voiced: bool | None) -> None:
        frame_s = duration(audio.pcm, self._rate)
        end = audio.t + frame_s
        if voiced:
            if not self._in_utterance:
                self._start()
                self._over_bot = self._eager  # eager partials are asked while the bot talks
            self._covered = False
            self._buf += audio.pcm
            self._last_voiced, self._voiced_len = end, len(self._buf)
            if self._eager:
                self._eager_voiced_s += frame_s
                every = EAGER_SOON_S if self._soon else EAGER_EVERY_S
                if self._eager_voiced_s >= every and self._jobs.empty():
                    self._eager_voiced_s, self._soon = 0.0, False
                    job = _Job(TranscriptKind.PARTIAL, bytes(self._buf), end, over_bot=True)
                    self._jobs.put_nowait(job)
            if duration(self._buf, self._rate) >= MAX_UTTERANCE_S:
                self._finish(end)
            return
        if not self._in_utterance:
            self._preroll.append(audio.pcm)
            self._preroll_s += frame_s
            while self._preroll_s > PREROLL_S:
                self._preroll_s -= duration(self._preroll.popleft(), self._rate)
            return
        self._buf += audio.pcm  # a VAD gap may be a quiet word: kept until the endpoint
        silence_ms = (end - self._last_voiced) * 1000
        if silence_ms >= self._hints.stop_history_ms:
            self._finish(self._last_voiced)
        elif (
            self._hints.interim
            and not self._covered
            and silence_ms >= self._hints.stop_history_eou_ms
        ):
            job = _Job(
                TranscriptKind.INTERIM, self._speech(), self._last_voiced, self._over_bot,
                self._heard, resumed=self._interims > 0,
            )  # fmt: skip
            self._covered = True
            self._interims += 1
            self._jobs.put_nowait(job)

    def _start(self) -> None:
        self._in_utterance = True
        self._buf = bytearray(b"".join(self._preroll))
        # The VAD confirms speech 100-300 ms into it: what of that is already in the pre-roll
        # counts toward the first partial, which a barge-in waits for.
        self._eager_voiced_s = speech_tail(list(self._preroll), self._rate)
        self._soon = False
        self._preroll.clear()
        self._preroll_s = 0.0
        self._interims, self._covered = 0, False

    def _speech(self) -> bytes:
        """The utterance up to its last voiced frame and ``TAIL_S`` after it."""
        tail = round(TAIL_S * self._rate) * 2
        return bytes(self._buf[: self._voiced_len + tail])

    def _finish(self, speech_end: float) -> None:
        pcm = None if self._covered else self._speech()
        job = _Job(
            TranscriptKind.FINAL, pcm, speech_end, self._over_bot, self._heard,
            resumed=self._interims > 0 and not self._covered,
        )  # fmt: skip
        self._jobs.put_nowait(job)
        self._in_utterance = False
        self._buf = bytearray()

    async def _work(self) -> None:
        last_interim = ""
        try:
            while (job := await self._jobs.get()) is not None:
                if job.pcm is None:
                    text = last_interim
                else:
                    earlier = last_interim if job.resumed else ""
                    said = await self._transcribe(
                        job.pcm, self._rate, job.over_bot, job.heard, earlier
                    )
                    text = said.strip()
                if job.kind is TranscriptKind.INTERIM:
                    last_interim = text
                if text:
                    self._out.put_nowait(Transcript(job.kind, text, self._clock(), job.speech_end))
                elif job.pcm is not None and job.kind is not TranscriptKind.PARTIAL:
                    seconds = duration(job.pcm, self._rate)
                    log.info("%s utterance of %.1f s heard as no words", job.kind.value, seconds)
        finally:
            self._out.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Transcript]:
        while (item := await self._out.get()) is not None:
            yield item

    async def aclose(self) -> None:
        self._worker.cancel()
        await asyncio.wait({self._worker})  # the caller's own cancellation still propagates


def speech_tail(frames: list[bytes], rate: int) -> float:
    """Seconds at the end of ``frames`` that stand out of their quietest frame as speech
    does: the part of the pre-roll the VAD had not confirmed yet."""
    levels = [rms_dbfs(f) for f in frames]
    if not levels:
        return 0.0
    floor = max(QUIET_DBFS, min(levels) + ONSET_OVER_FLOOR_DB)
    tail = 0.0
    for frame, level in zip(reversed(frames), reversed(levels), strict=True):
        if level < floor:
            break
        tail += duration(frame, rate)
    return tail
