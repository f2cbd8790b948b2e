"""RivaRecognizer against a real Riva-protocol gRPC server over a real socket."""

from __future__ import annotations

import asyncio
import itertools
import logging

import grpc
import pytest
from riva.client.proto import riva_audio_pb2 as raudio

from tests.fakes.riva_server import FakeRivaServer, frames, silence, speech
from voxline.config import Settings
from voxline.events import AudioIn, Transcript, TranscriptKind
from voxline.speech.base import AudioFormat, RecognizerHints
from voxline.speech.riva_asr import (
    RecognizerUnavailable,
    RivaAsrOptions,
    RivaRecognizer,
    RivaRecognizerStream,
    recognizer_from_settings,
)
from voxline.speech.riva_auth import RivaEndpoint

pytest_plugins = ["tests.fakes.riva_fixtures"]

TWILIO = AudioFormat(rate=8000, encoding="mulaw")
BROWSER = AudioFormat(rate=16000, encoding="pcm16")
FAST = {"backoff_s": 0.01, "max_backoff_s": 0.05}


def utterance(rate: int, talk: float = 1.0, pause: float = 1.0) -> bytes:
    return silence(0.2, rate) + speech(talk, rate) + silence(pause, rate)


async def feed(stream: RivaRecognizerStream, audio: list[AudioIn]) -> None:
    for frame in audio:
        await stream.send(frame, None)
        await asyncio.sleep(0)


async def finals(stream: RivaRecognizerStream, n: int = 1) -> list[Transcript]:
    """Every transcript up to and including the n-th final."""
    out: list[Transcript] = []
    async with asyncio.timeout(10):
        async for transcript in stream:
            out.append(transcript)
            if sum(t.kind is TranscriptKind.FINAL for t in out) == n:
                return out
    return out


def _ours(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "voxline" in code.co_filename


def recognizer(server: FakeRivaServer, **options: object) -> RivaRecognizer:
    opts = RivaAsrOptions(**{**FAST, **options})  # type: ignore[arg-type]
    return RivaRecognizer(RivaEndpoint(server.target), opts)


async def test_twilio_mulaw_goes_to_riva_unconverted(riva_server: FakeRivaServer) -> None:
    riva_server.transcripts = ["a large pepperoni"]
    hints = RecognizerHints(phrases=("pepperoni", "margherita"), topics=("delivery",), boost=30.0)
    asr = recognizer(riva_server, model="parakeet-ctc-1.1b")
    audio = frames(utterance(8000), 8000, "mulaw")
    async with asr.open(TWILIO, hints) as stream:
        await feed(stream, audio)
        got = await finals(stream)
    await asr.aclose()
    assert got[-1].text == "a large pepperoni"
    [record] = riva_server.asr_streams
    cfg = record.config
    assert cfg is not None and cfg.interim_results
    assert cfg.config.encoding == raudio.AudioEncoding.MULAW
    assert cfg.config.sample_rate_hertz == 8000
    assert cfg.config.language_code == "en-US"
    assert cfg.config.enable_automatic_punctuation
    assert cfg.config.model == "parakeet-ctc-1.1b"
    assert cfg.config.endpointing_config.stop_history == 800
    assert cfg.config.endpointing_config.stop_history_eou == 240
    assert cfg.config.endpointing_config.start_history == 0  # server default
    [context] = cfg.config.speech_contexts
    assert list(context.phrases) == ["pepperoni", "margherita", "delivery"]
    assert context.boost == pytest.approx(30.0)
    sent = b"".join(f.raw for f in audio)
    assert bytes(record.audio) == sent[: len(record.audio)]  # the wire bytes, untouched
    assert len(record.audio) >= 8000 * 2  # everything up to the final


async def test_browser_pcm_at_16k_with_custom_endpointing(riva_server: FakeRivaServer) -> None:
    hints = RecognizerHints(
        language="es-US", punctuation=False, stop_history_ms=500, stop_history_eou_ms=200
    )
    asr = recognizer(riva_server, start_history_ms=300, stop_threshold=0.95)
    audio = frames(utterance(16000), 16000)
    async with asr.open(BROWSER, hints) as stream:
        await feed(stream, audio)
        await finals(stream)
    await asr.aclose()
    [record] = riva_server.asr_streams
    assert record.config is not None
    cfg = record.config.config
    assert cfg.encoding == raudio.AudioEncoding.LINEAR_PCM
    assert cfg.sample_rate_hertz == 16000
    assert cfg.language_code == "es-US"
    assert not cfg.enable_automatic_punctuation
    assert not cfg.speech_contexts
    ep = cfg.endpointing_config
    assert (ep.start_history, ep.stop_history, ep.stop_history_eou) == (300, 500, 200)
    assert ep.stop_threshold == pytest.approx(0.95)
    assert bytes(record.audio) == b"".join(f.pcm for f in audio)[: len(record.audio)]


async def test_partials_then_interim_then_final(riva_server: FakeRivaServer) -> None:
    riva_server.transcripts = ["one large pizza please"]
    ticks = itertools.count(100)
    asr = RivaRecognizer(RivaEndpoint(riva_server.target), clock=lambda: float(next(ticks)))
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        await feed(stream, frames(utterance(8000, talk=1.2), 8000, "mulaw"))
        got = await finals(stream)
    await asr.aclose()
    kinds = [t.kind for t in got]
    assert kinds[-2:] == [TranscriptKind.INTERIM, TranscriptKind.FINAL]
    assert set(kinds[:-2]) == {TranscriptKind.PARTIAL} and len(kinds) >= 5
    assert got[0].text == "one"  # partials grow
    assert got[-2].text == got[-1].text == "one large pizza please"
    assert got[-1].confidence == pytest.approx(0.9)
    assert got[0].confidence is None
    assert [t.t for t in got] == [float(100 + i) for i in range(len(got))]  # injected clock
    results = riva_server.asr_streams[0].results
    assert [r.stability for r in results if not r.is_final][-1] == pytest.approx(1.0)


async def test_utterances_get_their_own_texts(riva_server: FakeRivaServer) -> None:
    riva_server.transcripts = lambda n: f"utterance {n}"
    asr = recognizer(riva_server)
    audio = frames(utterance(8000) + utterance(8000), 8000, "mulaw")
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        await feed(stream, audio)
        got = await finals(stream, 2)
    await asr.aclose()
    assert [t.text for t in got if t.kind is TranscriptKind.FINAL] == ["utterance 0", "utterance 1"]


async def test_the_server_can_hear_the_audio_itself() -> None:
    """``hear``: each result's words come from its utterance's audio so far (the Riva-stack
    bench serves whisper so); here, its length."""
    heard: list[int] = []

    def hear(pcm: bytes, rate: int) -> str:
        heard.append(len(pcm))
        return f"{len(pcm) / (2 * rate):.2f} seconds"

    async with FakeRivaServer(hear=hear, partial_ms=250, default_eou_ms=240) as server:
        asr = recognizer(server)
        audio = frames(utterance(8000, talk=1.0) + utterance(8000, talk=0.5), 8000, "mulaw")
        async with asr.open(TWILIO, RecognizerHints()) as stream:
            await feed(stream, audio)
            got = await finals(stream, 2)
        await asr.aclose()
    texts = [(t.kind, t.text) for t in got]
    partials = [text for kind, text in texts if kind is TranscriptKind.PARTIAL]
    assert partials[:2] == ["0.45 seconds", "0.70 seconds"]  # 200 ms lead-in, then speech
    finals_ = [text for kind, text in texts if kind is not TranscriptKind.PARTIAL]
    # interim after 240 ms of silence, final after 800: the lead-in, the speech, the silence
    assert finals_ == ["1.44 seconds", "2.00 seconds", "0.94 seconds", "1.50 seconds"]
    assert len(heard) == len(got)


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.OK]
)
async def test_reconnect_mid_utterance_replays_the_audio(
    riva_server: FakeRivaServer, code: grpc.StatusCode
) -> None:
    riva_server.fail(after_seconds=0.6, code=code)  # 0.4 s into the speech
    asr = recognizer(riva_server)
    audio = frames(utterance(8000), 8000, "mulaw")
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        await feed(stream, audio)
        got = await finals(stream)
        assert stream.reconnects == 1
    await asr.aclose()
    assert [t.text for t in got if t.kind is TranscriptKind.FINAL] == ["hello world"]
    first, second = riva_server.asr_streams
    assert first.status == ("closed" if code is grpc.StatusCode.OK else f"aborted:{code.name}")
    assert len(first.audio) == 4800
    sent = b"".join(f.raw for f in audio)
    assert bytes(second.audio) == sent[: len(second.audio)]  # replayed from the very start
    assert len(second.audio) > len(first.audio)


async def test_reconnect_after_a_final_replays_only_the_open_utterance(
    riva_server: FakeRivaServer,
) -> None:
    riva_server.transcripts = ["first", "second"]
    riva_server.fail(after_seconds=2.8)  # the first final is at 2.0 s, the second speech at 2.2
    asr = recognizer(riva_server, max_backlog_s=30)
    audio = frames(utterance(8000) + utterance(8000), 8000, "mulaw")
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        await feed(stream, audio)
        got = await finals(stream, 2)
    await asr.aclose()
    assert [t.text for t in got if t.kind is TranscriptKind.FINAL] == ["first", "second"]
    first, second = riva_server.asr_streams
    assert [r.audio_processed for r in first.results if r.is_final] == [pytest.approx(2.0)]
    sent = b"".join(f.raw for f in audio)
    assert bytes(second.audio) == sent[16000 : 16000 + len(second.audio)]  # from the final on


async def test_gives_up_after_max_retries(riva_server: FakeRivaServer) -> None:
    riva_server.fail(after_bytes=0, streams=10)
    asr = recognizer(riva_server, max_retries=2)
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        await feed(stream, frames(utterance(8000), 8000, "mulaw"))
        with pytest.raises(RecognizerUnavailable, match="3 streams in a row"):
            await finals(stream)
        with pytest.raises(RecognizerUnavailable):  # and again: the end is sticky
            await finals(stream)
        await stream.send(frames(silence(0.02, 8000), 8000)[0], None)  # ignored, no error
    await asr.aclose()
    assert len(riva_server.asr_streams) == 3


async def test_refused_stream_is_not_retried(riva_server: FakeRivaServer) -> None:
    riva_server.fail(after_bytes=0, code=grpc.StatusCode.INVALID_ARGUMENT)
    asr = recognizer(riva_server)
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        # No audio: a write racing the abort would mask the status (grpc/grpc#36066).
        with pytest.raises(RecognizerUnavailable) as info:
            await finals(stream)
    await asr.aclose()
    assert info.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert len(riva_server.asr_streams) == 1


async def test_send_never_waits_and_bounds_the_backlog(
    riva_server: FakeRivaServer, caplog: pytest.LogCaptureFixture
) -> None:
    asr = recognizer(riva_server, max_backlog_s=1.0)
    stream = asr.open(TWILIO, RecognizerHints())
    with caplog.at_level(logging.WARNING):
        for frame in frames(speech(3.0, 8000), 8000, "mulaw"):
            await stream.send(frame, None)  # no yield in between: the writer cannot drain
    assert stream.dropped_bytes == 16000  # 3 s sent, 1 s kept
    assert sum("dropping the oldest audio" in r.message for r in caplog.records) == 1
    await stream.aclose()
    await asr.aclose()


async def test_aclose_cancels_everything(riva_server: FakeRivaServer) -> None:
    before = asyncio.all_tasks()
    riva_server.fail(after_bytes=0, streams=100)  # the stream is busy reconnecting
    asr = recognizer(riva_server, backoff_s=0.05)
    stream = asr.open(TWILIO, RecognizerHints())
    reader = asyncio.create_task(finals(stream))
    await feed(stream, frames(speech(0.5, 8000), 8000, "mulaw"))
    await asyncio.sleep(0.1)
    await stream.aclose()
    assert await reader == []  # the iterator ends cleanly
    await asr.aclose()
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if _ours(t)] == []
    assert all(s.status != "open" for s in riva_server.asr_streams)


async def test_check_recognizes_silence(riva_server: FakeRivaServer) -> None:
    asr = RivaRecognizer(RivaEndpoint(riva_server.target))
    message = await asr.check()
    await asr.aclose()
    assert message.startswith(f"riva asr at {riva_server.target} (") and message.endswith(" ms)")
    [record] = riva_server.asr_streams
    assert record.status == "ok" and record.seconds == pytest.approx(0.5)


async def test_check_fails_when_the_server_is_down(riva_server: FakeRivaServer) -> None:
    await riva_server.stop()
    asr = RivaRecognizer(RivaEndpoint(riva_server.target))
    with pytest.raises(RecognizerUnavailable, match="UNAVAILABLE"):
        await asr.check()
    await asr.aclose()


async def test_from_settings(riva_server: FakeRivaServer) -> None:
    settings = Settings(riva_asr_server=riva_server.target, riva_asr_model="my-model")
    asr = recognizer_from_settings(settings)
    assert asr.caps.streaming and asr.caps.endpointing and "mulaw" in asr.caps.encodings
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        await feed(stream, frames(utterance(8000), 8000, "mulaw"))
        got = await finals(stream)
    await asr.aclose()
    assert got[-1].text == "hello world"
    [record] = riva_server.asr_streams
    assert record.config is not None and record.config.config.model == "my-model"
    assert record.metadata.get("authorization") is None


async def test_audio_goes_in_80_ms_messages_not_20_ms_frames(riva_server: FakeRivaServer) -> None:
    """Twilio's 20 ms frames, at their real pace, reach Riva four to a message."""
    asr = recognizer(riva_server)
    async with asr.open(TWILIO, RecognizerHints()) as stream:
        for frame in frames(utterance(8000, talk=0.6, pause=0.4), 8000, "mulaw"):
            await stream.send(frame, None)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        sizes = riva_server.asr_streams[0].messages
    await asr.aclose()
    assert sizes and min(sizes) >= 640  # 80 ms of 8 kHz mu-law
    assert len(sizes) <= 1.2 * 8000 / 640 + 1  # 1.2 s of audio: ~15 messages, not 60


async def test_a_backlog_catches_up_in_bounded_messages_and_drops_the_oldest(
    riva_server: FakeRivaServer,
) -> None:
    """Behind (the writer starved for 3 s of audio), at most ``max_backlog_s`` is kept, and it
    goes out in messages of at most ``max_message_s``: the stream catches up in a few writes."""
    asr = recognizer(riva_server, max_backlog_s=2.0)
    stream = asr.open(TWILIO, RecognizerHints())
    for frame in frames(speech(3.0, 8000), 8000, "mulaw"):
        await stream.send(frame, None)  # no yield: the writer cannot drain
    assert stream.dropped_bytes == 8000  # 3 s sent, 2 s kept
    for _ in range(100):
        await asyncio.sleep(0.02)
        if riva_server.asr_streams and sum(riva_server.asr_streams[0].messages) >= 16000:
            break
    sizes = riva_server.asr_streams[0].messages
    await stream.aclose()
    await asr.aclose()
    assert sum(sizes) == 16000 and max(sizes) <= 4000 and len(sizes) <= 5  # 0.5 s messages
