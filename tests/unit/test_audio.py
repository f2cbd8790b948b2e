import numpy as np
import pytest

from voxline.audio import (
    Framer,
    Resampler,
    frame_bytes,
    interleave,
    pcm_to_ulaw,
    read_wav,
    resample,
    rms_dbfs,
    ulaw_to_pcm,
    wav_bytes,
)


def pcm(*samples: int) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def test_mulaw_known_values():
    # G.711: 0xFF and 0x7F are the two zeros, 0x00 / 0x80 the extremes.
    assert ulaw_to_pcm(bytes([0xFF, 0x7F, 0x00, 0x80])) == pcm(0, 0, -32124, 32124)
    assert pcm_to_ulaw(pcm(0, 32767, -32768)) == bytes([0xFF, 0x80, 0x00])


def test_mulaw_round_trip_error_is_within_the_segment_step():
    samples = np.arange(-32768, 32768, 7, dtype=np.int32)
    back = np.frombuffer(ulaw_to_pcm(pcm_to_ulaw(samples.astype("<i2").tobytes())), "<i2")
    err = np.abs(back.astype(np.int32) - samples)
    # The quantisation step doubles per segment; relative error stays under ~3.2 %.
    assert np.all(err <= np.maximum(8, np.abs(samples) * 0.032 + 132))


def test_every_mulaw_byte_survives_decode_encode():
    codes = bytes(range(256))
    again = pcm_to_ulaw(ulaw_to_pcm(codes))
    # 0x7F (negative zero) encodes back as 0xFF (positive zero); all else is exact.
    assert [a for a, b in zip(codes, again, strict=True) if a != b] == [0x7F]


def test_odd_pcm_is_an_error():
    with pytest.raises(ValueError):
        pcm_to_ulaw(b"\x00\x01\x02")


def test_frame_sizes():
    assert frame_bytes(8000) == 320  # 20 ms of 16-bit PCM
    assert frame_bytes(8000, width=1) == 160  # 20 ms of mu-law
    assert frame_bytes(16000) == 640


def test_framer_cuts_ragged_chunks_into_fixed_frames():
    f = Framer(4)
    assert list(f.push(b"abc")) == []
    assert list(f.push(b"defghij")) == [b"abcd", b"efgh"]
    assert list(f.flush(pad=0)) == [b"ij\x00\x00"]
    assert list(f.flush(pad=0)) == []


def test_resample_keeps_duration_and_tone():
    t = np.arange(22050) / 22050
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2").tobytes()
    out = np.frombuffer(resample(tone, 22050, 8000), "<i2")
    assert abs(len(out) - 8000) <= 2
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 8000 / len(out) - 440) < 3


def test_streaming_resampler_matches_duration_across_chunks():
    r = Resampler(8000, 16000)
    chunks = [bytes(320)] * 50  # one second in 20 ms frames
    out = b"".join(r.process(c) for c in chunks) + r.process(b"", last=True)
    assert abs(len(out) // 2 - 16000) <= 32


def test_wav_round_trip_and_stereo():
    stereo = interleave(pcm(1, 2, 3), pcm(9))
    assert np.frombuffer(stereo, "<i2").tolist() == [1, 9, 2, 0, 3, 0]
    data, rate = read_wav(wav_bytes(stereo, 8000, channels=2))
    assert rate == 8000 and np.frombuffer(data, "<i2").tolist() == [5, 1, 1]


def test_rms_dbfs_matches_the_textbook_formula():
    rng = np.random.default_rng(7)
    for level in (10, 1000, 30000):
        x = rng.integers(-level, level, 160).astype("<i2")
        exact = 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) / 32768)
        assert rms_dbfs(x.tobytes()) == pytest.approx(exact, abs=1e-3)
    assert rms_dbfs(bytes(320)) == float("-inf") and rms_dbfs(b"") == float("-inf")
    assert rms_dbfs(np.full(160, 32767, "<i2").tobytes()) == pytest.approx(0, abs=1e-3)


def test_a_quick_resampler_returns_every_frame_at_once():
    """At "HQ" soxr holds 20 ms frames back and returns them in 100 ms bursts; the VAD asks
    for "QQ" so it hears each frame as it comes."""
    from voxline.audio import Resampler

    frame = (np.sin(np.arange(160) / 3) * 8000).astype("<i2").tobytes()
    quick, sharp = Resampler(8000, 16000, "QQ"), Resampler(8000, 16000)
    assert all(len(quick.process(frame)) > 0 for _ in range(10))
    assert sum(len(sharp.process(frame)) == 0 for _ in range(10)) >= 5
