"""Where a Riva/NIM speech service is and how to talk to it, built from ``Settings`` alone.

Two deployments matter: a local NIM container (plain gRPC, no metadata) and NVIDIA's hosted
functions on NVCF (``grpc.nvcf.nvidia.com:443``: TLS plus per-call ``function-id`` and
``authorization: Bearer <key>`` metadata, with separate function ids for ASR and TTS). The API
key is a ``Secret`` and stays out of every repr, log line and exception message; the bearer
header is only ever sent over TLS (NIM users often have NGC_API_KEY set for pulling containers;
a plaintext local NIM simply does not get it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Self

import grpc

from voxline.config import Secret, Settings

NVCF_HOST = "grpc.nvcf.nvidia.com"
NVCF_TARGET = f"{NVCF_HOST}:443"
LOCAL_TARGET = "localhost:50051"
# Defaults used by NVIDIA/ace-controller for the hosted models (they may go stale).
DEFAULT_ASR_FUNCTION_ID = "1598d209-5e27-4d3c-8079-4751568b1081"  # parakeet 1.1b streaming
DEFAULT_TTS_FUNCTION_ID = "0149dedb-2be8-4195-b9a0-e57e0e14f972"  # fastpitch-hifigan

# Calls last minutes; keepalives stop idle NATs and load balancers from dropping the stream.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)


class RivaConfigError(ValueError):
    """The Riva settings cannot work (e.g. the hosted endpoint without an API key)."""


class RivaUnavailable(RuntimeError):
    """A Riva service failed; ``code`` is the gRPC status when there was one."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code

    @classmethod
    def from_rpc(cls, what: str, endpoint: RivaEndpoint, exc: grpc.aio.AioRpcError) -> Self:
        """``what`` (e.g. "riva asr") failed with ``exc``: its status, never the key."""
        code = exc.code()
        return cls(f"{what} at {endpoint.describe()}: {code.name}: {exc.details()}", code)


@dataclass(frozen=True)
class RivaEndpoint:
    """One Riva service (ASR or TTS): target, transport security and per-call metadata."""

    target: str
    ssl: bool = False
    function_id: str = ""
    api_key: Secret = field(default=Secret(""), repr=False)
    root_certificates: bytes | None = field(default=None, repr=False)  # None: system roots

    @property
    def hosted(self) -> bool:
        return self.target.split(":")[0] == NVCF_HOST

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Per-call metadata; contains the key, so never log it."""
        out: list[tuple[str, str]] = []
        if self.function_id:
            out.append(("function-id", self.function_id))
        if self.api_key and self.ssl:  # a bearer token never travels in plain text
            out.append(("authorization", f"Bearer {self.api_key}"))
        return tuple(out)

    def describe(self) -> str:
        """A safe one-line description for logs and ``check()``."""
        parts = [self.target, "tls" if self.ssl else "plaintext"]
        if self.function_id:
            parts.append(f"function {self.function_id}")
        if self.api_key and self.ssl:
            parts.append("key set")
        return ", ".join(parts)

    def channel(self) -> grpc.aio.Channel:
        """A new asyncio channel (bound to the running event loop)."""
        if self.ssl:
            creds = grpc.ssl_channel_credentials(root_certificates=self.root_certificates)
            return grpc.aio.secure_channel(self.target, creds, options=CHANNEL_OPTIONS)
        return grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)


class ChannelHolder:
    """Lazily opens one channel per event loop and shares it between calls (HTTP/2 streams)."""

    def __init__(self, endpoint: RivaEndpoint) -> None:
        self.endpoint = endpoint
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> grpc.aio.Channel:
        loop = asyncio.get_running_loop()
        if self._channel is None or self._loop is not loop:
            self._channel, self._loop = self.endpoint.channel(), loop
        return self._channel

    async def aclose(self) -> None:
        channel, self._channel, self._loop = self._channel, None, None
        if channel is not None:
            await channel.close()


def _endpoint(settings: Settings, server: str, function_id: str, default_id: str) -> RivaEndpoint:
    target = server or settings.riva_server or (NVCF_TARGET if settings.riva_api_key else "")
    target = target or LOCAL_TARGET
    if ":" not in target:
        target += ":443" if target == NVCF_HOST else ":50051"
    hosted = target.split(":")[0] == NVCF_HOST
    if hosted and not settings.riva_api_key:
        raise RivaConfigError(f"{NVCF_TARGET} needs an API key (VOXLINE_RIVA_API_KEY)")
    return RivaEndpoint(
        target=target,
        ssl=settings.riva_ssl or hosted,
        function_id=function_id or (default_id if hosted else ""),
        api_key=settings.riva_api_key,
    )


def asr_endpoint(settings: Settings) -> RivaEndpoint:
    """The ASR service: ``riva_asr_server`` over ``riva_server``; NVCF when only a key is set."""
    return _endpoint(
        settings, settings.riva_asr_server, settings.riva_asr_function_id, DEFAULT_ASR_FUNCTION_ID
    )


def tts_endpoint(settings: Settings) -> RivaEndpoint:
    """The TTS service: ``riva_tts_server`` over ``riva_server``; NVCF when only a key is set."""
    return _endpoint(
        settings, settings.riva_tts_server, settings.riva_tts_function_id, DEFAULT_TTS_FUNCTION_ID
    )
