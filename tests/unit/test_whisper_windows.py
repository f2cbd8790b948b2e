"""Whisper's encoder on a short window: an utterance padded to 10 s instead of 30 s hears the
same words in callers' voices (not the bot's), repeats are folded, and what does not fit the
largest window goes to faster-whisper's own 30 s path."""

from __future__ import annotations

import pytest

from voxline.speech.whisper import WINDOWS, WhisperEngine, fold_repeats
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
    """Past the last window (29 s of speech with its margin), the library's 30 s segments:
    nothing is cut at the window's end."""
    toppings = ("pepperoni", "mushrooms", "sausage", "bacon", "pineapple", "spinach", "onions")
    sizes = ("small", "medium", "large")
    said = [f"Then a {sizes[i % 3]} {t} pizza for my brother number {i + 1}." for i, t in
            enumerate(toppings * 2)]  # fmt: skip
    pcm = b"".join(speak(s) for s in said)
    assert len(pcm) / 2 / RATE > WINDOWS[-1] / 100
    engine.windows = WINDOWS
    heard = normalize(engine.transcribe(pcm, RATE, ""))  # a list of words
    assert sum(heard.count(t) for t in toppings) >= 12, (len(pcm) / 2 / RATE, heard)
