"""The caller's speech end on the call's clock, from Riva's ``audio_processed``.

With the VAD off while the bot is silent (Riva endpoints by itself), the recognizer is what
tells the turn records and metrics when the caller stopped speaking.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.fakes.riva_server import FakeRivaServer, frames, silence, speech
from voxline.events import AudioIn, Transcript, TranscriptKind
from voxline.speech.base import AudioFormat, RecognizerHints
from voxline.speech.riva_asr import RivaAsrOptions, RivaRecognizer
from voxline.speech.riva_auth import RivaEndpoint

TWILIO = AudioFormat(rate=8000, encoding="mulaw")
T0 = 1000.0  # the call clock when the caller's audio starts


def stamped(pcm: bytes) -> list[AudioIn]:
    return [replace(f, t=T0 + f.t) for f in frames(pcm, 8000, "mulaw")]


async def transcripts(server: FakeRivaServer, audio: list[AudioIn], finals: int, **hints):
    asr = RivaRecognizer(RivaEndpoint(server.target), RivaAsrOptions(backoff_s=0.01))
    out: list[Transcript] = []
    async with asr.open(TWILIO, RecognizerHints(**hints)) as stream:
        for frame in audio:
            await stream.send(frame, None)
            await asyncio.sleep(0)
        async with asyncio.timeout(10):
            async for tr in stream:
                out.append(tr)
                if sum(t.kind is TranscriptKind.FINAL for t in out) == finals:
                    break
    await asr.aclose()
    return out


async def test_interim_and_final_carry_the_end_of_the_speech() -> None:
    audio = stamped(silence(0.2, 8000) + speech(1.0, 8000) + silence(1.0, 8000))
    async with FakeRivaServer(["one large pizza"]) as server:
        got = await transcripts(
            server, audio, 1, stop_history_ms=500, stop_history_eou_ms=240, interim=True
        )
    by_kind = {t.kind: t for t in got}
    assert by_kind[TranscriptKind.INTERIM].speech_end == pytest.approx(T0 + 1.2, abs=0.011)
    assert by_kind[TranscriptKind.FINAL].speech_end == pytest.approx(T0 + 1.2, abs=0.011)
    assert TranscriptKind.PARTIAL in by_kind
    assert all(t.speech_end is None for t in got if t.kind is TranscriptKind.PARTIAL)


async def test_the_speech_end_survives_a_reconnect_and_its_replay() -> None:
    # Final one at 2.0 s (speech ends at 1.2 s), the stream dies at 2.8 s in the second
    # utterance (2.2 to 3.4 s); the new stream replays from the first final on.
    one = silence(0.2, 8000) + speech(1.0, 8000) + silence(1.0, 8000)
    audio = stamped(one + speech(1.2, 8000) + silence(1.0, 8000))
    async with FakeRivaServer(["first", "second"]) as server:
        server.fail(after_seconds=2.8)
        got = await transcripts(server, audio, 2, stop_history_ms=800, interim=False)
        assert len(server.asr_streams) == 2
    first, second = (t for t in got if t.kind is TranscriptKind.FINAL)
    assert first.speech_end == pytest.approx(T0 + 1.2, abs=0.011)
    assert second.text == "second"
    assert second.speech_end == pytest.approx(T0 + 3.4, abs=0.011)
