"""Whisper's encoder on a short window: an utterance padded to 10 s instead of 30 s hears the
same words in callers' voices (not the bot's), repeats are folded, and speech too long for the
largest window is cut at pauses and heard whole."""

from __future__ import annotations

import numpy as np
import pytest

from voxline.speech.whisper import WINDOWS, WhisperEngine, fold_repeats, pieces, unheard
from voxline.testbench.words import normalize, word_errors

RATE = 8000
PROMPT = "Which crust would you like: thin, regular, thick or stuffed?"


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    return WhisperEngine(workers=1)


def test_a_phrase_said_over_and_over_is_that_phrase_once():
    assert fold_repeats("Yes. Yes. Yes.") == "Yes."
    assert fold_repeats("Yes, please. Yes, please.") == "Yes, please."
    assert fold_repeats("No, no.") == "No."
    for kept in ("No, no, actually, make it a medium.", "Yeah.", "", "a b a b a"):
        assert fold_repeats(kept) == kept


def test_long_speech_is_cut_at_its_quietest_point_and_nothing_is_lost():
    rate, longest = 16000, 16000 * 14
    audio = np.full(16000 * 40, 0.5, dtype=np.float32)
    audio[16000 * 12 : 16000 * 12 + 1600] = 0.0  # a pause 12 s in
    out = pieces(audio, longest)
    assert all(len(p) <= longest for p in out)
    assert np.array_equal(np.concatenate(out), audio)
    assert abs(len(out[0]) / rate - 12.05) < 0.06  # in the pause
    assert len(pieces(audio[:longest], longest)) == 1  # what fits is left whole


def _tone(seconds: float, dbfs: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


def test_speech_after_the_transcripts_end_is_found_and_hiss_is_not():
    rng = np.random.default_rng(1)

    def hiss(seconds: float) -> np.ndarray:
        noise = rng.standard_normal(round(seconds * 16000))
        return (10 ** (-48 / 20) * noise).astype(np.float32)

    audio = np.concatenate([hiss(0.5), _tone(1.5, -30) + hiss(1.5), hiss(0.4),
                            _tone(0.6, -36) + hiss(0.6), hiss(0.3)])  # fmt: skip
    assert unheard(audio, after=2.0)  # the transcript's last word ended the loud part
    assert not unheard(audio, after=3.0)  # it heard the quiet part too
    assert not unheard(np.concatenate([audio[: 16000 * 2], hiss(1.3)]), after=2.0)
    assert not unheard(np.concatenate([_tone(1.0, -30), np.zeros(8000, np.float32)]), 1.0)


@pytest.mark.parametrize(
    ("voice", "line"),
    [
        ("awb", "A large pizza with pepperoni and sausage on thick crust."),
        ("espeak-m", "Thin crust, please."),
        ("slt-fast", "I'd like a small pizza with mushrooms and onions on regular crust."),
        ("rms", "Yes."),
    ],
)
def test_the_short_window_hears_callers_as_the_30_s_one_does(engine, voice, line):
    from voxline.testbench.voices import VoiceRenderer

    rendered = VoiceRenderer().render(voice, line)
    engine.windows = WINDOWS
    short = engine.transcribe(rendered.pcm, RATE, PROMPT)
    engine.windows = None
    full = engine.transcribe(rendered.pcm, RATE, PROMPT)
    assert word_errors(line, short)[0] <= word_errors(line, full)[0] + 1, (short, full)


def test_an_utterance_longer_than_the_largest_window_is_heard_whole(engine, speak):
    """42 s of speech: faster-whisper's own 30 s segments heard 5 of its 14 toppings in one
    run (a decoder that ends early loses the rest of its window); cut at pauses, 13."""
    toppings = ("pepperoni", "mushrooms", "sausage", "bacon", "pineapple", "spinach", "onions")
    sizes = ("small", "medium", "large")
    said = [f"Then a {sizes[i % 3]} {t} pizza for my brother number {i + 1}." for i, t in
            enumerate(toppings * 2)]  # fmt: skip
    pcm = b"".join(speak(s) for s in said)
    assert len(pcm) / 2 / RATE > 2 * WINDOWS[-1] / 100
    engine.windows = WINDOWS
    heard = normalize(engine.transcribe(pcm, RATE, ""))  # a list of words
    assert sum(heard.count(t) for t in toppings) >= 12, (len(pcm) / 2 / RATE, heard)


def test_a_quiet_callers_last_words_after_a_pause_are_heard(engine, pizza_hints):
    """Found on the conversation bench: on the 10 s window the decoder stopped after
    "please." and "thin crust" never reached the bot, in every run; speech after the last
    word's place in the audio is heard again from that word on."""
    from voxline.speech.whisper import utterance_prompt
    from voxline.testbench.voices import VoiceRenderer

    line = "Hello, a small pizza with onions please, thin crust."
    rendered = VoiceRenderer().render("awb-quiet", line)
    pcm = bytes(RATE) + rendered.pcm + bytes(RATE // 2)  # the cutter's pre-roll and tail
    engine.windows = WINDOWS
    greeting = "Thanks for calling. What kind of pizza would you like today?"
    prompt = utterance_prompt(pizza_hints, False, greeting)
    heard = " ".join(normalize(engine.transcribe(pcm, RATE, prompt, (), pizza_hints.phrases)))
    assert "small" in heard and "onion" in heard and "thin crust" in heard, heard
