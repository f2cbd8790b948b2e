"""Audio codecs, resampling and framing: pure functions on bytes.

Internally audio is 16-bit little-endian mono PCM. Twilio speaks G.711 mu-law at 8 kHz; the
codec is a pair of lookup tables so a 20 ms frame costs one numpy indexing operation.
"""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Iterator

import numpy as np
import soxr

MULAW_RATE = 8000
FRAME_MS = 20
_BIAS = 0x84
_CLIP = 32635


def _build_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


def _build_encode_table() -> np.ndarray:
    sample = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(sample < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(sample), _CLIP) + _BIAS
    exponent = np.floor(np.log2(np.maximum(magnitude >> 7, 1))).astype(np.int32)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded = ~(sign | (exponent << 4) | mantissa) & 0xFF
    # Index by the int16 value reinterpreted as uint16, so lookups need no offset arithmetic.
    table = np.empty(65536, dtype=np.uint8)
    table[sample.astype(np.uint16)] = encoded
    return table


_ULAW_TO_PCM = _build_decode_table()
_PCM_TO_ULAW = _build_encode_table()
ULAW_SILENCE = 0xFF


def ulaw_to_pcm(data: bytes) -> bytes:
    """Decode G.711 mu-law bytes to 16-bit PCM."""
    return _ULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)].tobytes()


def pcm_to_ulaw(data: bytes) -> bytes:
    """Encode 16-bit PCM to G.711 mu-law; a trailing odd byte is an error, not silently dropped."""
    if len(data) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    return _PCM_TO_ULAW[np.frombuffer(data, dtype="<u2")].tobytes()


def frame_bytes(rate: int, ms: int = FRAME_MS, width: int = 2) -> int:
    """Bytes in one frame of ``ms`` milliseconds at ``rate`` Hz, ``width`` bytes per sample."""
    return rate * ms // 1000 * width


def duration(pcm: bytes, rate: int) -> float:
    """Seconds of 16-bit mono PCM."""
    return len(pcm) / (2 * rate)


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """One-shot resampling of a whole clip of 16-bit PCM."""
    if src_rate == dst_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(samples, src_rate, dst_rate, quality="HQ").astype("<i2").tobytes()


class Resampler:
    """Streaming resampler that keeps filter state across chunks (no clicks at chunk edges).

    soxr's filters hold output back: at "HQ" 20 ms frames at 8 kHz come out in bursts every
    100 ms. "QQ" (cubic) returns each frame at once, for a consumer that must not lag (the VAD).
    """

    def __init__(self, src_rate: int, dst_rate: int, quality: str = "HQ") -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream = (
            None
            if src_rate == dst_rate
            else soxr.ResampleStream(src_rate, dst_rate, 1, "int16", quality=quality)
        )

    def process(self, pcm: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2")
        return self._stream.resample_chunk(samples, last=last).tobytes()


class Framer:
    """Cuts a byte stream into fixed-size frames; ragged chunks cause jitter on the phone."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._buf = bytearray()

    def push(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        size = self.size
        whole = len(self._buf) - len(self._buf) % size
        for start in range(0, whole, size):
            yield bytes(self._buf[start : start + size])
        del self._buf[:whole]

    def flush(self, pad: int) -> Iterator[bytes]:
        """The remainder, padded to a whole frame with the byte ``pad`` (silence)."""
        if self._buf:
            yield bytes(self._buf) + bytes([pad]) * (self.size - len(self._buf))
            self._buf.clear()


def rms_dbfs(pcm: bytes) -> float:
    """Loudness of 16-bit PCM in dB relative to full scale (-inf for digital silence).
    Run on every caller frame: one dot product, no temporaries beyond the float copy."""
    if not pcm:
        return float("-inf")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    power = float(np.dot(samples, samples)) / len(samples)
    return 10 * math.log10(power / 32768**2) if power > 0 else float("-inf")


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """16-bit PCM to float32 in [-1, 1), the input models expect."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def wav_bytes(pcm: bytes, rate: int, channels: int = 1) -> bytes:
    """A WAV file around 16-bit PCM."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """16-bit PCM and rate from a WAV file, mixed down to mono."""
    with wave.open(io.BytesIO(data), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit WAV files are supported")
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = w.readframes(w.getnframes())
    if channels > 1:
        samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, channels).astype(np.int32)
        pcm = samples.mean(axis=1).astype("<i2").tobytes()
    return pcm, rate


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono 16-bit tracks into one stereo track, the shorter padded with silence."""
    a = np.frombuffer(left, dtype="<i2")
    b = np.frombuffer(right, dtype="<i2")
    n = max(len(a), len(b))
    out = np.zeros((n, 2), dtype="<i2")
    out[: len(a), 0] = a
    out[: len(b), 1] = b
    return out.tobytes()
