"""Streaming recognition against NVIDIA Riva or a Riva ASR NIM (``StreamingRecognize``).

Twilio's mu-law goes to Riva untouched (MULAW at 8 kHz); other transports send LINEAR_PCM.
Riva's own two-pass endpointing gives the three transcript kinds: partials while the caller
speaks, an interim (``stability == 1.0``) after ``stop_history_eou`` ms of silence and a final
after ``stop_history`` ms.

The caller's audio loop never waits on the network: ``send`` only appends to a bounded backlog
that a writer task drains. Streams die (server stream-time limits, restarts, network blips), so
the audio sent since the last final result is kept and replayed on a new stream; the caller
loses nothing unless the outage outlasts the bounds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_audio_pb2 as raudio
from riva.client.proto.riva_asr_pb2_grpc import RivaSpeechRecognitionStub

from voxline.config import Settings
from voxline.events import AudioIn, Transcript, TranscriptKind
from voxline.speech.base import AudioFormat, RecognizerCaps, RecognizerHints
from voxline.speech.riva_auth import ChannelHolder, RivaEndpoint, RivaUnavailable, asr_endpoint

log = logging.getLogger(__name__)

# Codes worth a new stream: the server or the network went away, or the stream hit its limit.
# INTERNAL is in the list because grpc.aio reports "Internal error from Core" instead of the
# server's status when a write races the server ending the call (grpc/grpc#36066).
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
    }
)


class RecognizerUnavailable(RivaUnavailable):
    """Riva refused the stream or kept failing after every reconnect; the call has no ASR."""


@dataclass(frozen=True)
class RivaAsrOptions:
    """Server-side knobs (0 or empty: the model's default) and the client's safety bounds."""

    model: str = ""
    start_history_ms: int = 0
    start_threshold: float = 0.0
    stop_threshold: float = 0.0
    stop_threshold_eou: float = 0.0
    custom_configuration: tuple[tuple[str, str], ...] = ()
    profanity_filter: bool = False
    max_backlog_s: float = 5.0  # audio waiting for the network; beyond it the oldest is dropped
    replay_s: float = 30.0  # audio since the last final kept for replay on a new stream
    max_message_s: float = 0.5  # a backlog is coalesced into messages of at most this much
    # Audio per message. A gRPC write costs ~75 us of CPU, more than the rest of a 20 ms frame's
    # path, so four frames go in one message (a quarter of the writes of 20 ms frames); Riva's
    # streaming models work on 80-160 ms chunks anyway, so the transcripts come no later.
    min_message_s: float = 0.08
    max_retries: int = 5  # consecutive failed streams tolerated before giving up
    backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    healthy_after_s: float = 10.0  # a stream that lived this long resets the retry count


def streaming_config(
    fmt: AudioFormat, hints: RecognizerHints, options: RivaAsrOptions
) -> rasr.StreamingRecognitionConfig:
    """The first message of every stream, from the call's audio format and the bot's hints."""
    mulaw = fmt.encoding == "mulaw"
    config = rasr.RecognitionConfig(
        encoding=raudio.AudioEncoding.MULAW if mulaw else raudio.AudioEncoding.LINEAR_PCM,
        sample_rate_hertz=fmt.rate,
        language_code=hints.language,
        max_alternatives=1,
        audio_channel_count=1,
        enable_automatic_punctuation=hints.punctuation,
        profanity_filter=options.profanity_filter,
        model=options.model,
    )
    if phrases := [*hints.phrases, *hints.topics]:  # word boosting costs Riva nothing
        config.speech_contexts.append(rasr.SpeechContext(phrases=phrases, boost=hints.boost))
    endpointing = rasr.EndpointingConfig(
        start_history=max(options.start_history_ms, 0),
        start_threshold=max(options.start_threshold, 0.0),
        stop_history=max(hints.stop_history_ms, 0),
        stop_threshold=max(options.stop_threshold, 0.0),
        stop_history_eou=max(hints.stop_history_eou_ms, 0),
        stop_threshold_eou=max(options.stop_threshold_eou, 0.0),
    )
    if endpointing.ByteSize():
        config.endpointing_config.CopyFrom(endpointing)
    for key, value in options.custom_configuration:
        config.custom_configuration[key] = value
    return rasr.StreamingRecognitionConfig(config=config, interim_results=hints.interim)


class RivaRecognizerStream:
    """One caller's recognition session; iterate it for transcripts, ``aclose`` it at hang-up."""

    def __init__(
        self,
        holder: ChannelHolder,
        fmt: AudioFormat,
        hints: RecognizerHints,
        options: RivaAsrOptions,
        clock: Callable[[], float],
    ) -> None:
        self._holder = holder
        self._options = options
        self._clock = clock
        self._config = streaming_config(fmt, hints, options)
        # Riva reports how much audio each result covers; an end-of-utterance result comes the
        # endpointing silence after the speech, so the caller's speech end is known on the
        # call's clock (audio_processed, mapped through the frames' own time stamps).
        self._silence_s = {
            TranscriptKind.FINAL: hints.stop_history_ms / 1000,
            TranscriptKind.INTERIM: hints.stop_history_eou_ms / 1000,
        }
        self._origin: float | None = None  # call time of the session's first audio byte
        self._appended = 0  # bytes of audio handed to send()
        self._taken = 0  # bytes moved from the backlog to a stream
        self._stream_base = 0  # session offset of the current stream's first byte
        self._mulaw = fmt.encoding == "mulaw"
        self._width = 1 if self._mulaw else 2
        self._bps = fmt.rate * self._width
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._wake = asyncio.Event()
        self._min_bytes = max(self._width, int(options.min_message_s * self._bps))
        self._replay = bytearray()  # audio since the last final, from stream offset _replay_start
        self._replay_start = 0
        self._out: asyncio.Queue[Transcript | BaseException | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._open_utterance = False  # text delivered since the last final
        self._progress = False  # the current stream delivered a final
        self.dropped_bytes = 0  # backlog overflow: audio that never reached Riva
        self.replay_dropped_bytes = 0  # replay overflow: audio a reconnect could not resend
        self.reconnects = 0

    # --- the RecognizerStream protocol ------------------------------------------------------

    async def send(self, audio: AudioIn, voiced: bool | None) -> None:
        if self._closed or (self._task is not None and self._task.done()):
            return
        self._start()
        data = audio.raw if self._mulaw else audio.pcm
        if not data:
            return
        self._origin = audio.t - self._appended / self._bps
        self._appended += len(data)
        self._pending.append(data)
        self._pending_bytes += len(data)
        limit = max(int(self._options.max_backlog_s * self._bps), len(data))
        while self._pending_bytes > limit:
            old = self._pending.popleft()
            self._pending_bytes -= len(old)
            if not self.dropped_bytes:
                log.warning(
                    "riva asr is %.1fs behind; dropping the oldest audio", limit / self._bps
                )
            self.dropped_bytes += len(old)
        if self._pending_bytes >= self._min_bytes:
            self._wake.set()

    def eager(self, on: bool, soon: bool = False) -> None:
        """Nothing to do: Riva always streams partials (every ~120 ms)."""

    def heard(self, text: str) -> None:
        """Nothing to do: Riva's speech contexts are fixed when its stream opens."""

    def __aiter__(self) -> AsyncIterator[Transcript]:
        return self._iterate()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._out.put_nowait(None)

    async def __aenter__(self) -> RivaRecognizerStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- internals ----------------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="riva-asr")

    async def _iterate(self) -> AsyncIterator[Transcript]:
        self._start()
        while True:
            item = await self._out.get()
            if item is None or isinstance(item, BaseException):
                self._out.put_nowait(item)  # sticky: a later iteration ends the same way
                if item is None:
                    return
                raise item
            yield item

    async def _run(self) -> None:
        try:
            await self._reconnecting()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._out.put_nowait(exc)

    async def _reconnecting(self) -> None:
        loop = asyncio.get_running_loop()
        opts, failures = self._options, 0
        target = self._holder.endpoint.target
        while True:
            started = loop.time()
            try:
                await self._stream_once()
                reason = "closed by the server"
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code not in RETRYABLE:
                    raise RecognizerUnavailable(
                        f"riva asr at {target} refused the stream: {code.name}: {exc.details()}",
                        code,
                    ) from None
                reason = f"{code.name}: {exc.details()}"
            if self._progress or loop.time() - started >= opts.healthy_after_s:
                failures = 0
            failures += 1
            if failures > opts.max_retries:
                raise RecognizerUnavailable(
                    f"riva asr at {target} failed {failures} streams in a row ({reason})"
                )
            delay = min(opts.max_backoff_s, opts.backoff_s * 2 ** (failures - 1))
            log.warning(
                "riva asr stream %s; reconnecting in %.2fs, replaying %.2fs of audio",
                reason,
                delay,
                len(self._replay) / self._bps,
            )
            self.reconnects += 1
            await asyncio.sleep(delay)

    async def _stream_once(self) -> None:
        """One gRPC stream: returns when the server ends it cleanly, raises on an error."""
        stub = RivaSpeechRecognitionStub(self._holder.get())
        call = stub.StreamingRecognize(metadata=self._holder.endpoint.metadata())
        self._replay_start, self._progress = 0, False
        self._stream_base = self._taken - len(self._replay)  # it starts with the replay
        reader = asyncio.create_task(self._read(call), name="riva-asr-read")
        writer = asyncio.create_task(self._write(call), name="riva-asr-write")
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if reader not in done:
                exc = writer.exception()
                if exc is not None and not isinstance(
                    exc, grpc.aio.AioRpcError | asyncio.InvalidStateError
                ):
                    raise exc
            await reader  # a failed write ends the call; its status comes out of the reader
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            call.cancel()

    async def _write(self, call: grpc.aio.StreamStreamCall) -> None:
        await call.write(rasr.StreamingRecognizeRequest(streaming_config=self._config))
        step = max(self._width, int(self._options.max_message_s * self._bps))
        step -= step % self._width
        replay = bytes(self._replay)
        for i in range(0, len(replay), step):
            await call.write(rasr.StreamingRecognizeRequest(audio_content=replay[i : i + step]))
        while True:
            while self._pending_bytes < self._min_bytes:
                self._wake.clear()
                await self._wake.wait()
            chunk = self._take(step)
            self._keep(chunk)
            await call.write(rasr.StreamingRecognizeRequest(audio_content=chunk))

    def _take(self, step: int) -> bytes:
        """The oldest pending frame, plus as many more as fit in one message of ``step`` bytes."""
        chunk = bytearray(self._pending.popleft())
        while self._pending and len(chunk) + len(self._pending[0]) <= step:
            chunk += self._pending.popleft()
        self._pending_bytes -= len(chunk)
        self._taken += len(chunk)
        return bytes(chunk)

    def _keep(self, chunk: bytes) -> None:
        self._replay += chunk
        excess = len(self._replay) - int(self._options.replay_s * self._bps)
        if excess > 0:
            excess += -excess % self._width
            del self._replay[:excess]
            self._replay_start += excess
            self.replay_dropped_bytes += excess

    async def _read(self, call: grpc.aio.StreamStreamCall) -> None:
        while True:
            response = await call.read()
            if response is grpc.aio.EOF:
                return
            for result in response.results:
                self._result(result)

    def _result(self, result: rasr.StreamingRecognitionResult) -> None:
        alt = result.alternatives[0] if result.alternatives else None
        text = alt.transcript.strip() if alt is not None else ""
        confidence: float | None = None
        if result.is_final:
            self._progress = True
            self._forget(result.audio_processed)
            if not text and not self._open_utterance:
                return
            kind, self._open_utterance = TranscriptKind.FINAL, False
            confidence = alt.confidence if alt is not None and alt.confidence else None
        elif not text:
            return
        else:
            kind = TranscriptKind.INTERIM if result.stability >= 1.0 else TranscriptKind.PARTIAL
            self._open_utterance = True
        end = self._speech_end(kind, result.audio_processed)
        self._out.put_nowait(
            Transcript(kind, text, t=self._clock(), speech_end=end, confidence=confidence)
        )

    def _speech_end(self, kind: TranscriptKind, audio_processed: float) -> float | None:
        silence = self._silence_s.get(kind)
        if silence is None or self._origin is None or audio_processed <= 0:
            return None
        return self._origin + self._stream_base / self._bps + audio_processed - silence

    def _forget(self, audio_processed: float) -> None:
        """A final covers the audio up to ``audio_processed`` (s); it never needs a replay."""
        end = self._replay_start + len(self._replay)
        upto = int(audio_processed * self._bps) if audio_processed > 0 else end
        upto -= upto % self._width
        cut = min(max(upto - self._replay_start, 0), len(self._replay))
        del self._replay[:cut]
        self._replay_start += cut


class RivaRecognizer:
    """Riva/NIM streaming ASR; one shared channel, one gRPC stream per call."""

    name = "riva"
    caps = RecognizerCaps(streaming=True, endpointing=True, encodings=("mulaw", "pcm16"))

    def __init__(
        self,
        endpoint: RivaEndpoint,
        options: RivaAsrOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.options = options or RivaAsrOptions()
        self._clock = clock
        self._holder = ChannelHolder(endpoint)
        self.check_timeout_s = 10.0

    def open(self, fmt: AudioFormat, hints: RecognizerHints) -> RivaRecognizerStream:
        return RivaRecognizerStream(self._holder, fmt, hints, self.options, self._clock)

    async def check(self) -> str:
        """Recognize half a second of silence end to end; raise ``RecognizerUnavailable``."""
        fmt, started = AudioFormat(rate=16000), time.perf_counter()
        stub = RivaSpeechRecognitionStub(self._holder.get())
        call = stub.StreamingRecognize(metadata=self.endpoint.metadata())
        try:
            async with asyncio.timeout(self.check_timeout_s):
                config = streaming_config(fmt, RecognizerHints(), self.options)
                await call.write(rasr.StreamingRecognizeRequest(streaming_config=config))
                await call.write(rasr.StreamingRecognizeRequest(audio_content=bytes(16000)))
                await call.done_writing()
                while await call.read() is not grpc.aio.EOF:
                    pass
        except grpc.aio.AioRpcError as exc:
            raise RecognizerUnavailable.from_rpc("riva asr", self.endpoint, exc) from None
        except TimeoutError:
            raise RecognizerUnavailable(
                f"riva asr at {self.endpoint.describe()}: timed out"
            ) from None
        finally:
            call.cancel()
        ms = (time.perf_counter() - started) * 1000
        return f"riva asr at {self.endpoint.target} ({ms:.0f} ms)"

    async def aclose(self) -> None:
        await self._holder.aclose()


def recognizer_from_settings(settings: Settings, **kwargs: object) -> RivaRecognizer:
    """The recognizer ``VOXLINE_ASR=riva`` asks for; ``kwargs`` override ``RivaAsrOptions``."""
    options = RivaAsrOptions(model=settings.riva_asr_model, **kwargs)  # type: ignore[arg-type]
    return RivaRecognizer(asr_endpoint(settings), options)
