"""Riva endpoints from Settings: local NIM, NVIDIA-hosted (NVCF), and the API key's hygiene."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from tests.fakes.riva_server import FakeRivaServer, MakeRivaServer, frames, speech
from voxline.config import Secret, Settings
from voxline.speech.base import AudioFormat, RecognizerHints
from voxline.speech.riva_asr import (
    RecognizerUnavailable,
    RivaAsrOptions,
    RivaRecognizer,
)
from voxline.speech.riva_auth import (
    DEFAULT_ASR_FUNCTION_ID,
    DEFAULT_TTS_FUNCTION_ID,
    NVCF_TARGET,
    RivaConfigError,
    asr_endpoint,
    tts_endpoint,
)
from voxline.speech.riva_tts import RivaSynthesizer

pytest_plugins = ["tests.fakes.riva_fixtures"]

KEY = "nvapi-THIS-MUST-NOT-LEAK-0123456789"


def test_local_nim_is_plaintext_without_metadata() -> None:
    # NIM users often have NGC_API_KEY set (for pulling images): it must not go out in clear.
    settings = Settings(riva_server="nim-asr:50051", riva_api_key=Secret(KEY))
    endpoint = asr_endpoint(settings)
    assert (endpoint.target, endpoint.ssl, endpoint.function_id) == ("nim-asr:50051", False, "")
    assert endpoint.metadata() == ()
    assert tts_endpoint(Settings(riva_server="nim")).target == "nim:50051"
    assert asr_endpoint(Settings()).target == "localhost:50051"


def test_separate_asr_and_tts_servers() -> None:
    settings = Settings(riva_server="both:1", riva_asr_server="asr:2", riva_tts_server="tts:3")
    assert asr_endpoint(settings).target == "asr:2"
    assert tts_endpoint(settings).target == "tts:3"
    assert tts_endpoint(Settings(riva_server="both:1", riva_asr_server="asr:2")).target == "both:1"


def test_hosted_uses_tls_and_per_service_function_ids() -> None:
    settings = Settings(riva_server=NVCF_TARGET, riva_api_key=Secret(KEY))
    asr, tts = asr_endpoint(settings), tts_endpoint(settings)
    assert asr.ssl and tts.ssl and asr.hosted
    assert asr.metadata() == (
        ("function-id", DEFAULT_ASR_FUNCTION_ID),
        ("authorization", f"Bearer {KEY}"),
    )
    assert dict(tts.metadata())["function-id"] == DEFAULT_TTS_FUNCTION_ID
    custom = Settings(
        riva_api_key=Secret(KEY), riva_asr_function_id="asr-id", riva_tts_function_id="tts-id"
    )
    assert asr_endpoint(custom).target == NVCF_TARGET  # a key alone means hosted
    assert dict(asr_endpoint(custom).metadata())["function-id"] == "asr-id"
    assert dict(tts_endpoint(custom).metadata())["function-id"] == "tts-id"
    assert asr_endpoint(Settings(riva_server="grpc.nvcf.nvidia.com", riva_api_key=Secret(KEY)))


def test_hosted_without_a_key_is_a_config_error() -> None:
    with pytest.raises(RivaConfigError, match="API key"):
        asr_endpoint(Settings(riva_server=NVCF_TARGET))


def test_key_stays_out_of_reprs() -> None:
    settings = Settings(riva_server=NVCF_TARGET, riva_api_key=Secret(KEY))
    endpoint = asr_endpoint(settings)
    recognizer = RivaRecognizer(endpoint)
    for text in (repr(endpoint), str(endpoint), endpoint.describe(), repr(recognizer.endpoint)):
        assert KEY not in text
    assert "key set" in endpoint.describe()


def _self_signed(tmp: Path) -> tuple[bytes, bytes]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return key.read_bytes(), cert.read_bytes()


async def test_tls_endpoint_sends_function_id_and_bearer(
    make_riva_server: MakeRivaServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_pem, cert_pem = _self_signed(tmp_path)
    server: FakeRivaServer = await make_riva_server(tls=(key_pem, cert_pem))
    settings = Settings(
        riva_server=server.target,
        riva_ssl=True,
        riva_api_key=Secret(KEY),
        riva_asr_function_id="asr-fn",
        riva_tts_function_id="tts-fn",
    )
    trust = {"root_certificates": cert_pem}  # the test CA instead of the system roots
    asr = RivaRecognizer(dataclasses.replace(asr_endpoint(settings), **trust))
    tts = RivaSynthesizer(dataclasses.replace(tts_endpoint(settings), **trust))
    with caplog.at_level(logging.DEBUG):
        assert "riva asr at" in await asr.check()
        assert "riva tts at" in await tts.check()
        # A failing stream logs and raises: neither may carry the key.
        server.fail(after_bytes=0, code=grpc.StatusCode.UNAVAILABLE, streams=10)
        asr_fast = RivaRecognizer(
            asr.endpoint, RivaAsrOptions(max_retries=1, backoff_s=0.01, max_backoff_s=0.01)
        )
        async with asr_fast.open(AudioFormat(8000, "mulaw"), RecognizerHints()) as stream:
            for frame in frames(speech(0.2, 8000), 8000, "mulaw"):
                await stream.send(frame, None)
            with pytest.raises(RecognizerUnavailable) as info:
                async for _ in stream:
                    pass
    for client in (asr, tts, asr_fast):
        await client.aclose()
    asr_call, tts_call = server.asr_streams[0], server.tts_calls[0]
    assert asr_call.metadata["function-id"] == "asr-fn"
    assert asr_call.metadata["authorization"] == f"Bearer {KEY}"
    assert tts_call.metadata["function-id"] == "tts-fn"
    assert tts_call.metadata["authorization"] == f"Bearer {KEY}"
    assert "reconnecting" in caplog.text
    assert KEY not in caplog.text
    assert KEY not in str(info.value) and KEY not in repr(info.value)


async def test_plaintext_endpoint_sends_the_function_id_but_no_key(
    riva_server: FakeRivaServer,
) -> None:
    settings = Settings(
        riva_server=riva_server.target, riva_api_key=Secret(KEY), riva_asr_function_id="fn"
    )
    asr = RivaRecognizer(asr_endpoint(settings))
    await asr.check()
    await asr.aclose()
    [record] = riva_server.asr_streams
    assert record.metadata.get("function-id") == "fn"
    assert "authorization" not in record.metadata
