"""A Riva-protocol gRPC server for tests, built from the protos inside nvidia-riva-client.

It listens on 127.0.0.1 (port 0) and answers like a Riva/NIM server whose timing is driven by
the audio it receives, not by the wall clock, so tests are deterministic however fast they send.

ASR (``StreamingRecognize``): the server decodes what it receives (MULAW or LINEAR_PCM, per the
stream's config), cuts it into 10 ms frames and calls a frame "speech" when its level is above
``threshold_dbfs``. For each utterance it emits, like Riva with two-pass endpointing:

- partials (``stability`` 0.1..0.9, a growing prefix of the text) every ``partial_ms`` of speech;
- an interim (``stability=1.0``, the whole text) after ``stop_history_eou`` ms of silence, if
  the config sets it (else ``default_eou_ms``; 0 = none);
- a final (``is_final=True``, confidence 0.9) after ``stop_history`` ms of silence (config,
  else ``default_stop_ms``), or when the client half-closes mid-utterance; ``final_delay_s``
  holds each final back that long, like a real model's second pass (the stream's later
  audio waits behind it, as on a busy server).

Every result carries ``audio_processed`` (seconds of audio this stream has processed). The text
of utterance N (N counts finals across the whole server, so a stream that died mid-utterance is
retried with the same text) is ``transcripts[N]`` (the last one repeats) or ``transcripts(N)``.
``"interim text|final text"`` makes the first-pass result differ from the final (a retrigger).
``hear=f`` (``f(pcm, rate) -> text``, blocking; run in a thread) takes every result's text from
the utterance's own audio instead, so callers' real voices are recognized (``bench/riva_stack.py``
serves the embedded whisper so); the stream waits for it, as behind a busy server.

Failures: ``server.fail(after_bytes=K | after_seconds=S, code=UNAVAILABLE, streams=1)`` makes the
next ``streams`` ASR streams abort once they have received K bytes / S seconds of audio
(K=0: right after the config message; ``code=OK`` ends the stream cleanly, as a server with a
stream-time limit may); ``after_speech_s=S`` fails once the stream has heard S seconds of speech,
and ``stall=True`` goes silent instead of aborting (it reads on and never answers).
``server.tts_fail(mode="error" | "disconnect" | "stall", after_chunks=0, calls=1, match="")``
does the same to the next TTS requests whose text contains ``match``. A stream's own
``AsrStream.transcripts`` (set once it exists) gives one caller of many its own words.

TTS (``SynthesizeOnline``): ``tts_protocol="streaming"`` serves the new stream-request
signature (client >= 2.25); ``"unary"`` serves the old one (one request, Riva <= 2.19,
FastPitch NIM 1.0) on the same method path, so the client's wire compatibility is tested. Each
request yields ``sound(text, rate)`` (default: a 440 Hz tone, 50 ms per character, at
``sample_rate_hz``) in ``tts_chunks`` chunks, the first after ``tts_first_chunk_delay_s`` (the
model's time to first audio), the others ``tts_chunk_delay_s`` apart.

Records, for assertions: ``asr_streams`` (``AsrStream``: ``config``, ``metadata``, raw
``audio``, ``pcm``, ``results``, ``status``), ``tts_calls`` (``TtsCall``: ``requests``,
``metadata``), ``finals``; ``record_audio=False`` keeps no audio or results (long benchmarks).
``tls=(key_pem, cert_pem)`` serves TLS instead of plaintext.

Use: ``async with FakeRivaServer(["hello world"]) as server: ... server.target ...`` or the
fixtures in ``tests.fakes.riva_fixtures``. ``speech(seconds, rate)``, ``silence(seconds, rate)`` and
``frames(pcm, rate, encoding)`` build caller audio as ``AudioIn`` frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import grpc
import numpy as np
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_audio_pb2 as raudio
from riva.client.proto import riva_tts_pb2 as rtts

from tests.fakes.riva_endpointing import HEAR, Utterances
from voxline.audio import pcm_to_ulaw, ulaw_to_pcm
from voxline.events import AudioIn

MakeRivaServer = Callable[..., Awaitable["FakeRivaServer"]]  # the make_riva_server fixture
ASR_SERVICE = "nvidia.riva.asr.RivaSpeechRecognition"
TTS_SERVICE = "nvidia.riva.tts.RivaSpeechSynthesis"


# --- caller audio for tests ---------------------------------------------------------------------


def speech(seconds: float, rate: int, freq: float = 220.0, level: float = 0.3) -> bytes:
    """A loud tone standing in for speech (16-bit PCM)."""
    n = int(seconds * rate)
    wave = level * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    return (wave * 32767).astype("<i2").tobytes()


def silence(seconds: float, rate: int) -> bytes:
    return bytes(2 * int(seconds * rate))


def frames(pcm: bytes, rate: int, encoding: str = "pcm16", ms: int = 20) -> list[AudioIn]:
    """``AudioIn`` frames as a transport delivers them (``raw`` is mu-law for ``mulaw``)."""
    size = 2 * rate * ms // 1000
    out = []
    for i in range(0, len(pcm) - len(pcm) % size, size):
        chunk = pcm[i : i + size]
        raw = pcm_to_ulaw(chunk) if encoding == "mulaw" else chunk
        out.append(AudioIn(pcm=chunk, raw=raw, t=i / (2 * rate)))
    return out


# --- records ------------------------------------------------------------------------------------


@dataclass
class AsrStream:
    metadata: dict[str, str]
    config: rasr.StreamingRecognitionConfig | None = None
    audio: bytearray = field(default_factory=bytearray)  # as received, in the config's encoding
    messages: list[int] = field(default_factory=list)  # bytes of audio in each message
    results: list[rasr.StreamingRecognitionResult] = field(default_factory=list)
    status: str = "open"  # open | ok | closed (scripted OK) | cancelled | aborted:<CODE> | stalled
    # This stream's own script (set it once the stream exists): utterance k of the stream is
    # transcripts[k] (the last repeats), and its finals leave the server's count alone.
    transcripts: Sequence[str] | None = None
    finals: int = 0

    @property
    def mulaw(self) -> bool:
        return self.config is not None and self.config.config.encoding == raudio.MULAW

    @property
    def pcm(self) -> bytes:
        return ulaw_to_pcm(bytes(self.audio)) if self.mulaw else bytes(self.audio)

    @property
    def seconds(self) -> float:
        rate = self.config.config.sample_rate_hertz if self.config else 16000
        return len(self.audio) / (rate * (1 if self.mulaw else 2))


@dataclass
class TtsCall:
    metadata: dict[str, str]
    requests: list[rtts.SynthesizeSpeechRequest] = field(default_factory=list)
    status: str = "open"  # open | ok | cancelled | aborted:<CODE> | stalled


@dataclass
class _Failure:
    after_bytes: int | None
    after_seconds: float | None
    code: grpc.StatusCode
    after_speech_s: float | None = None
    stall: bool = False


@dataclass
class _TtsFailure:
    mode: Literal["error", "stall", "disconnect"]
    after_chunks: int
    match: str


# --- the server ---------------------------------------------------------------------------------


class FakeRivaServer:
    def __init__(
        self,
        transcripts: Sequence[str] | Callable[[int], str] = ("hello world",),
        *,
        tts_protocol: Literal["streaming", "unary"] = "streaming",
        tts_chunks: int = 4,
        tts_chunk_delay_s: float = 0.0,
        sound: Callable[[str, int], bytes] | None = None,
        threshold_dbfs: float = -40.0,
        partial_ms: int = 120,
        default_stop_ms: int = 800,
        default_eou_ms: int = 0,
        final_delay_s: float = 0.0,
        tts_first_chunk_delay_s: float = 0.0,
        record_audio: bool = True,
        tls: tuple[bytes, bytes] | None = None,
        hear: Callable[[bytes, int], str] | None = None,
    ) -> None:
        self.transcripts = transcripts
        self.hear = hear
        self.tts_protocol = tts_protocol
        self.tts_chunks = tts_chunks
        self.tts_chunk_delay_s = tts_chunk_delay_s
        self.sound = sound or _tone
        self.threshold_dbfs = threshold_dbfs
        self.partial_ms = partial_ms
        self.default_stop_ms = default_stop_ms
        self.default_eou_ms = default_eou_ms
        self.final_delay_s = final_delay_s
        self.tts_first_chunk_delay_s = tts_first_chunk_delay_s
        self.record_audio = record_audio
        self.tls = tls
        self.asr_streams: list[AsrStream] = []
        self.tts_calls: list[TtsCall] = []
        self.finals = 0
        self.port = 0
        self._failures: list[_Failure] = []
        self._tts_failures: list[_TtsFailure] = []
        self._server: grpc.aio.Server | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def text_for(self, n: int) -> str:
        if callable(self.transcripts):
            return self.transcripts(n)
        return self.transcripts[min(n, len(self.transcripts) - 1)] if self.transcripts else ""

    def fail(
        self,
        after_bytes: int | None = None,
        after_seconds: float | None = None,
        code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        streams: int = 1,
        after_speech_s: float | None = None,
        stall: bool = False,
    ) -> None:
        """Make the next ``streams`` ASR streams abort with ``code`` after that much audio
        (or ``after_speech_s`` of speech); ``stall``: go silent instead, reading on."""
        failure = _Failure(after_bytes, after_seconds, code, after_speech_s, stall)
        self._failures.extend(failure for _ in range(streams))

    def tts_fail(
        self,
        mode: Literal["error", "stall", "disconnect"] = "error",
        after_chunks: int = 0,
        calls: int = 1,
        match: str = "",
    ) -> None:
        """Make the next ``calls`` TTS requests whose text contains ``match`` fail after
        ``after_chunks`` chunks: error (INTERNAL), disconnect (UNAVAILABLE) or stall."""
        self._tts_failures.extend(_TtsFailure(mode, after_chunks, match) for _ in range(calls))

    async def start(self) -> FakeRivaServer:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((self._asr_handlers(), self._tts_handlers()))
        address = "127.0.0.1:0"
        if self.tls:
            creds = grpc.ssl_server_credentials([self.tls])
            self.port = server.add_secure_port(address, creds)
        else:
            self.port = server.add_insecure_port(address)
        await server.start()
        self._server = server
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace=None)

    async def __aenter__(self) -> FakeRivaServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- ASR ------------------------------------------------------------------------------------

    def _asr_handlers(self) -> grpc.GenericRpcHandler:
        handler = grpc.stream_stream_rpc_method_handler(
            self._recognize,
            request_deserializer=rasr.StreamingRecognizeRequest.FromString,
            response_serializer=rasr.StreamingRecognizeResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(ASR_SERVICE, {"StreamingRecognize": handler})

    async def _recognize(
        self,
        requests: AsyncIterator[rasr.StreamingRecognizeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[rasr.StreamingRecognizeResponse]:
        record = AsrStream(metadata=_metadata(context))
        self.asr_streams.append(record)
        failure = self._failures.pop(0) if self._failures else None
        utterances: Utterances | None = None
        with _finishes(record):
            async for request in requests:
                if request.HasField("streaming_config"):
                    record.config = request.streaming_config
                    utterances = Utterances(self, record.config.config, record)
                    limit = None if failure is None else self._limit(failure, record)
                    if limit == 0:
                        await self._abort(context, record, failure, requests)
                        return
                    continue
                if utterances is None:
                    record.status = "aborted:INVALID_ARGUMENT"
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "config must be first")
                data = request.audio_content
                record.messages.append(len(data))
                limit = None if failure is None else self._limit(failure, record)
                if limit is not None:
                    data = data[: max(0, limit - len(record.audio))]
                if self.record_audio or limit is not None:
                    record.audio += data
                pcm = ulaw_to_pcm(data) if record.mulaw else data
                for result in utterances.feed(pcm):
                    await self._heard(result, utterances)
                    if result.is_final and self.final_delay_s:
                        await asyncio.sleep(self.final_delay_s)
                    if self.record_audio:
                        record.results.append(result)
                    yield rasr.StreamingRecognizeResponse(results=[result])
                if limit is not None and len(record.audio) >= limit:
                    await self._abort(context, record, failure, requests)
                    return
                speech_s = failure.after_speech_s if failure is not None else None
                if speech_s is not None and utterances.voiced_ms >= 1000 * speech_s:
                    await self._abort(context, record, failure, requests)
                    return
            for result in utterances.flush() if utterances else []:
                await self._heard(result, utterances)
                record.results.append(result)
                yield rasr.StreamingRecognizeResponse(results=[result])

    async def _heard(self, result: rasr.StreamingRecognitionResult, utt: Utterances) -> None:
        """Fill in a result's text from its audio (``hear``)."""
        alt = result.alternatives[0]
        if self.hear is not None and alt.transcript == HEAR:
            alt.transcript = await asyncio.to_thread(self.hear, utt.to_hear.pop(0), utt.rate)

    @staticmethod
    def _limit(failure: _Failure, record: AsrStream) -> int | None:
        """The failure point in bytes of this stream's encoding (None: set by speech)."""
        assert record.config is not None
        width = 1 if record.mulaw else 2
        rate = record.config.config.sample_rate_hertz or 16000
        limits = []
        if failure.after_bytes is not None:
            limits.append(failure.after_bytes)
        if failure.after_seconds is not None:
            limits.append(int(failure.after_seconds * rate) * width)
        if limits:
            return min(limits)
        return None if failure.after_speech_s is not None else 0

    @staticmethod
    async def _abort(
        context: grpc.aio.ServicerContext,
        record: AsrStream,
        failure: _Failure | None,
        requests: AsyncIterator[rasr.StreamingRecognizeRequest],
    ) -> None:
        """Abort with the failure's code; for OK, the caller ends the stream cleanly instead;
        a stall reads on (recording the audio) and answers nothing until the client leaves."""
        assert failure is not None
        if failure.stall:
            record.status = "stalled"
            async for request in requests:
                record.audio += request.audio_content
            return
        if failure.code is grpc.StatusCode.OK:
            record.status = "closed"
            return
        record.status = f"aborted:{failure.code.name}"
        await context.abort(failure.code, "scripted failure")

    # --- TTS ------------------------------------------------------------------------------------

    def _tts_handlers(self) -> grpc.GenericRpcHandler:
        kwargs = {
            "request_deserializer": rtts.SynthesizeSpeechRequest.FromString,
            "response_serializer": rtts.SynthesizeSpeechResponse.SerializeToString,
        }
        if self.tts_protocol == "unary":
            handler = grpc.unary_stream_rpc_method_handler(self._synthesize_unary, **kwargs)
        else:
            handler = grpc.stream_stream_rpc_method_handler(self._synthesize_streaming, **kwargs)
        return grpc.method_handlers_generic_handler(TTS_SERVICE, {"SynthesizeOnline": handler})

    async def _synthesize_unary(
        self, request: rtts.SynthesizeSpeechRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[rtts.SynthesizeSpeechResponse]:
        call = TtsCall(metadata=_metadata(context), requests=[request])
        self.tts_calls.append(call)
        with _finishes(call):
            async for response in self._scripted(request, context, call):
                yield response

    async def _synthesize_streaming(
        self,
        requests: AsyncIterator[rtts.SynthesizeSpeechRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[rtts.SynthesizeSpeechResponse]:
        call = TtsCall(metadata=_metadata(context))
        self.tts_calls.append(call)
        with _finishes(call):
            async for request in requests:
                call.requests.append(request)
                async for response in self._scripted(request, context, call):
                    yield response

    async def _scripted(
        self,
        request: rtts.SynthesizeSpeechRequest,
        context: grpc.aio.ServicerContext,
        call: TtsCall,
    ) -> AsyncIterator[rtts.SynthesizeSpeechResponse]:
        """``_speak``, with the first matching scripted failure (``tts_fail``) applied."""
        failure = next((f for f in self._tts_failures if f.match in request.text), None)
        if failure is None:
            async for response in self._speak(request):
                yield response
            return
        self._tts_failures.remove(failure)
        sent = 0
        async for response in self._speak(request):
            if sent >= failure.after_chunks:
                break
            yield response
            sent += 1
        if failure.mode == "stall":
            call.status = "stalled"
            await asyncio.sleep(3600)
        code = grpc.StatusCode.INTERNAL if failure.mode == "error" else grpc.StatusCode.UNAVAILABLE
        call.status = f"aborted:{code.name}"
        await context.abort(code, "scripted failure")

    async def _speak(
        self, request: rtts.SynthesizeSpeechRequest
    ) -> AsyncIterator[rtts.SynthesizeSpeechResponse]:
        pcm = self.sound(request.text, request.sample_rate_hz or 22050)
        step = -(-len(pcm) // max(1, self.tts_chunks))
        step += step % 2
        for i in range(0, len(pcm), step):
            delay = self.tts_chunk_delay_s if i else self.tts_first_chunk_delay_s
            if delay:
                await asyncio.sleep(delay)
            yield rtts.SynthesizeSpeechResponse(audio=pcm[i : i + step])


@contextmanager
def _finishes(record: AsrStream | TtsCall) -> Iterator[None]:
    """Record how the RPC ended: ok, or cancelled by the client (aborts set their own)."""
    try:
        yield
    except BaseException:
        if record.status == "open":
            record.status = "cancelled"
        raise
    if record.status == "open":
        record.status = "ok"


def _tone(text: str, rate: int) -> bytes:
    """440 Hz, 50 ms per character: long enough to tell texts apart by duration."""
    return speech(max(0.05, 0.05 * len(text)), rate, freq=440.0, level=0.2)


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {item.key: str(item.value) for item in context.invocation_metadata() or ()}
