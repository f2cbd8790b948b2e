"""Caller voices: real renders through the phone band, pauses where asked, cached."""

import numpy as np
import pytest

from voxline.audio import MULAW_RATE, pcm_to_float
from voxline.testbench.voices import VOICES, VoiceError, VoiceRenderer, telephone


def test_a_line_with_a_pause_is_rendered_on_the_phone(tmp_path):
    renderer = VoiceRenderer(tmp_path)
    line = renderer.render("rms", "I'd like a small pizza [pause 700 ms] with ham.")
    assert len(line.voiced) == 2
    ((gap_start, gap_end),) = line.pauses
    assert 0.6 <= gap_end - gap_start <= 0.9
    assert 0.0 <= line.speech_start < 0.15 and line.speech_end <= len(line.pcm) / 2 / MULAW_RATE
    samples = pcm_to_float(line.pcm)
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / MULAW_RATE)
    assert spectrum[(freqs < 150)].sum() < 0.01 * spectrum.sum()  # no hum below the band
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 2  # one per spoken part
    again = VoiceRenderer(tmp_path).render("rms", "I'd like a small pizza [pause 700 ms] with ham.")
    assert again == line


def test_levels_and_speed_variants_differ():
    r = VoiceRenderer(None)
    normal, quiet = r.render("awb", "a large ham pizza"), r.render("awb-quiet", "a large ham pizza")
    loud = lambda line: 20 * np.log10(np.sqrt((pcm_to_float(line.pcm) ** 2).mean()))  # noqa: E731
    assert loud(normal) - loud(quiet) > 10
    fast, slow = (
        r.render("slt-fast", "a large ham pizza"),
        r.render("rms-slow", "a large ham pizza"),
    )
    assert fast.speech_end < r.render("slt", "a large ham pizza").speech_end < slow.speech_end


@pytest.mark.parametrize("name", ["espeak-f", "kokoro-alpha"])
def test_other_engines_speak(name):
    line = VoiceRenderer(None).render(name, "Do you deliver?")
    assert line.voiced and 0.4 < line.speech_end < 3.0


def test_bad_voices_are_clear_errors():
    with pytest.raises(VoiceError, match="unknown voice 'x'"):
        VoiceRenderer(None).render("x", "hi")
    with pytest.raises(VoiceError, match="nothing to say"):
        VoiceRenderer(None).render("slt", "[pause 100 ms]")


def test_enough_voices_none_of_them_the_bots():
    assert len(VOICES) >= 8 and len({v.engine for v in VOICES.values()}) == 3
    silent = telephone(np.zeros(800, np.float32), 8000, -20)
    assert not silent.any()
