"""Streaming synthesis against NVIDIA Riva or a Riva TTS NIM (``SynthesizeOnline``).

Version trap: up to Riva 2.19 / FastPitch NIM 1.0 the RPC takes ONE request and streams the
audio back; newer protos (nvidia-riva-client >= 2.25) make the request a stream as well. We send
exactly one request and half-close, which is the same bytes on the wire as a unary request, so
one client works with both servers (tests/integration/test_riva_tts.py checks both).

TTS cannot produce mu-law, so we ask for LINEAR_PCM at the rate the transport wants (8000 for
Twilio) and the transport encodes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from xml.sax.saxutils import escape

import grpc
from riva.client.proto import riva_audio_pb2 as raudio
from riva.client.proto import riva_tts_pb2 as rtts
from riva.client.proto.riva_tts_pb2_grpc import RivaSpeechSynthesisStub

from voxline.config import Settings
from voxline.speech.base import Voice
from voxline.speech.riva_auth import ChannelHolder, RivaEndpoint, RivaUnavailable, tts_endpoint

DEFAULT_VOICE = "English-US.Female-1"


class SynthesizerUnavailable(RivaUnavailable):
    """Riva could not synthesize (server down, unknown voice, bad auth)."""


def synthesis_request(
    text: str, rate: int, voice: Voice, default_voice: str = DEFAULT_VOICE
) -> rtts.SynthesizeSpeechRequest:
    """One request: LINEAR_PCM at ``rate``; a speed other than 1 becomes SSML prosody."""
    if voice.speed != 1.0:
        text = f'<speak><prosody rate="{voice.speed * 100:.0f}%">{escape(text)}</prosody></speak>'
    request = rtts.SynthesizeSpeechRequest(
        text=text,
        language_code=voice.language,
        encoding=raudio.AudioEncoding.LINEAR_PCM,
        sample_rate_hz=rate,
        voice_name=voice.name or default_voice,
    )
    for key, value in voice.extra.items():  # model-specific knobs; old servers ignore them
        request.custom_configuration[key] = value
    return request


class RivaSynthesizer:
    """Riva/NIM streaming TTS; one shared channel, one ``SynthesizeOnline`` call per sentence."""

    name = "riva"
    parallel = 3  # requests of one reply at once: the next segment's never waits (speak_ahead)

    def __init__(
        self,
        endpoint: RivaEndpoint,
        default_voice: str = DEFAULT_VOICE,
        chunk_timeout_s: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self.default_voice = default_voice
        self.chunk_timeout_s = chunk_timeout_s  # a stalled server must not stall the call
        self._holder = ChannelHolder(endpoint)

    async def synthesize(self, text: str, rate: int, voice: Voice) -> AsyncIterator[bytes]:
        """16-bit PCM chunks at ``rate`` as Riva produces them (always whole samples)."""
        if not text.strip():
            return
        request = synthesis_request(text, rate, voice, self.default_voice)
        stub = RivaSpeechSynthesisStub(self._holder.get())
        call = stub.SynthesizeOnline(metadata=self.endpoint.metadata())
        carry = b""
        try:
            await call.write(request)
            await call.done_writing()
            while True:
                async with asyncio.timeout(self.chunk_timeout_s):
                    response = await call.read()
                if response is grpc.aio.EOF:
                    return
                data = carry + response.audio
                whole = len(data) - len(data) % 2
                carry = data[whole:]
                if whole:
                    yield data[:whole]
        except grpc.aio.AioRpcError as exc:
            raise SynthesizerUnavailable.from_rpc("riva tts", self.endpoint, exc) from None
        except TimeoutError:
            raise SynthesizerUnavailable(
                f"riva tts at {self.endpoint.describe()}: no audio for {self.chunk_timeout_s:.0f}s"
            ) from None
        finally:
            call.cancel()  # the consumer may stop early (barge-in): stop the server's work too

    async def check(self) -> str:
        """Synthesize one word end to end; raise ``SynthesizerUnavailable``."""
        started = time.perf_counter()
        size = 0
        async for chunk in self.synthesize("Hello.", 16000, Voice()):
            size += len(chunk)
        if not size:
            raise SynthesizerUnavailable(f"riva tts at {self.endpoint.describe()}: no audio")
        ms = (time.perf_counter() - started) * 1000
        return f"riva tts at {self.endpoint.target} ({ms:.0f} ms, voice {self.default_voice})"

    async def aclose(self) -> None:
        await self._holder.aclose()


def synthesizer_from_settings(settings: Settings) -> RivaSynthesizer:
    """The synthesizer ``VOXLINE_TTS=riva`` asks for."""
    return RivaSynthesizer(tts_endpoint(settings))
