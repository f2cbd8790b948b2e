"""RivaSynthesizer against real Riva-protocol gRPC servers (old and new SynthesizeOnline)."""

from __future__ import annotations

import asyncio

import pytest
from riva.client.proto import riva_audio_pb2 as raudio

from tests.fakes.riva_server import FakeRivaServer, MakeRivaServer
from voxline.config import Settings
from voxline.speech.base import Voice
from voxline.speech.riva_auth import RivaEndpoint
from voxline.speech.riva_tts import (
    RivaSynthesizer,
    SynthesizerUnavailable,
    synthesizer_from_settings,
)

pytest_plugins = ["tests.fakes.riva_fixtures"]


async def collect(tts: RivaSynthesizer, text: str, rate: int, voice: Voice) -> list[bytes]:
    async with asyncio.timeout(10):
        return [chunk async for chunk in tts.synthesize(text, rate, voice)]


@pytest.mark.parametrize("protocol", ["streaming", "unary"])
async def test_twilio_rate_on_old_and_new_servers(
    make_riva_server: MakeRivaServer, protocol: str
) -> None:
    server = await make_riva_server(tts_protocol=protocol, tts_chunks=5)
    tts = RivaSynthesizer(RivaEndpoint(server.target))
    chunks = await collect(tts, "Hello there.", 8000, Voice())
    await tts.aclose()
    assert len(chunks) == 5  # streamed as the server produced them
    assert sum(map(len, chunks)) == int(0.05 * len("Hello there.") * 8000) * 2
    assert all(len(c) % 2 == 0 for c in chunks)
    [call] = server.tts_calls
    [request] = call.requests  # exactly one message: what an old server expects
    assert request.text == "Hello there."
    assert request.sample_rate_hz == 8000
    assert request.encoding == raudio.AudioEncoding.LINEAR_PCM
    assert request.voice_name == "English-US.Female-1"
    assert request.language_code == "en-US"


async def test_voice_language_speed_and_extra(riva_server: FakeRivaServer) -> None:
    tts = RivaSynthesizer(RivaEndpoint(riva_server.target))
    voice = Voice(name="Magpie-Multilingual.ES-US.Isabela", language="es-US", speed=1.2)
    voice = Voice(voice.name, voice.language, voice.speed, extra={"exaggeration_factor": "1.5"})
    await collect(tts, "Pizza & refresco", 16000, voice)
    await tts.aclose()
    [request] = riva_server.tts_calls[0].requests
    assert request.voice_name == "Magpie-Multilingual.ES-US.Isabela"
    assert request.language_code == "es-US"
    assert request.sample_rate_hz == 16000
    assert request.text == '<speak><prosody rate="120%">Pizza &amp; refresco</prosody></speak>'
    assert dict(request.custom_configuration) == {"exaggeration_factor": "1.5"}


async def test_odd_sized_chunks_become_whole_samples(make_riva_server: MakeRivaServer) -> None:
    server = await make_riva_server(sound=lambda text, rate: bytes(1001), tts_chunks=3)
    tts = RivaSynthesizer(RivaEndpoint(server.target))
    chunks = await collect(tts, "x", 8000, Voice())
    await tts.aclose()
    assert all(len(c) % 2 == 0 for c in chunks) and sum(map(len, chunks)) == 1000


async def test_empty_text_makes_no_call(riva_server: FakeRivaServer) -> None:
    tts = RivaSynthesizer(RivaEndpoint(riva_server.target))
    assert await collect(tts, "  ", 8000, Voice()) == []
    await tts.aclose()
    assert riva_server.tts_calls == []


async def test_stopping_early_cancels_the_call(make_riva_server: MakeRivaServer) -> None:
    riva_server = await make_riva_server(tts_chunk_delay_s=0.2)
    tts = RivaSynthesizer(RivaEndpoint(riva_server.target))
    stream = tts.synthesize("A long sentence that the caller interrupts.", 8000, Voice())
    first = await anext(stream)
    await stream.aclose()  # barge-in
    await tts.aclose()
    assert first
    for _ in range(500):  # the server learns of the cancellation asynchronously
        if riva_server.tts_calls[0].status != "open":
            break
        await asyncio.sleep(0.01)
    assert riva_server.tts_calls[0].status == "cancelled"


async def test_check_and_settings(riva_server: FakeRivaServer) -> None:
    tts = synthesizer_from_settings(Settings(riva_server=riva_server.target))
    message = await tts.check()
    await tts.aclose()
    assert message.startswith(f"riva tts at {riva_server.target} (")
    assert "English-US.Female-1" in message
    [request] = riva_server.tts_calls[0].requests
    assert request.sample_rate_hz == 16000 and request.text


async def test_check_fails_when_the_server_is_down(riva_server: FakeRivaServer) -> None:
    await riva_server.stop()
    tts = RivaSynthesizer(RivaEndpoint(riva_server.target))
    with pytest.raises(SynthesizerUnavailable, match="UNAVAILABLE"):
        await tts.check()
    await tts.aclose()


async def test_a_stalled_server_times_out(make_riva_server: MakeRivaServer) -> None:
    server = await make_riva_server(tts_chunk_delay_s=2.0)
    tts = RivaSynthesizer(RivaEndpoint(server.target), chunk_timeout_s=0.2)
    chunks = []
    with pytest.raises(SynthesizerUnavailable, match="no audio for"):
        async for chunk in tts.synthesize("Hello there.", 8000, Voice()):
            chunks.append(chunk)
    await tts.aclose()
    assert len(chunks) == 1
