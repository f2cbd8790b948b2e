"""A short answer heard as one of the options the bot's question gave: which options a question
offers, which transcripts may be a misheard option, and whisper itself mending callers' one-word
answers (voices it was not tuned for) without forcing an option on what was not one."""

from __future__ import annotations

import pytest

from voxline.speech.base import RecognizerHints
from voxline.speech.choices import (
    OPTION_GAP,
    answer_forms,
    choose,
    offered,
    open_to_choice,
    spoken,
    utterance_options,
)
from voxline.speech.whisper import utterance_prompt
from voxline.testbench.words import normalize

RATE = 8000
PHRASES = ("small", "medium", "large", "thin", "regular", "thick", "stuffed", "ham", "pepperoni")
SIZE = "Sure. What size would you like? Small, medium or large."
CRUST = (
    "Got it, a large pepperoni pizza. Which crust would you like, thin, regular, thick or stuffed?"
)
READ_BACK = "So that's a large ham pizza on thick crust, $18.49. Shall I place the order?"


def test_the_options_are_the_words_named_from_the_question_on():
    assert offered(SIZE, PHRASES) == ("small", "medium", "large")
    # "large" and "pepperoni" are in the sentence before the question: not options.
    assert offered(CRUST, PHRASES) == ("thin", "regular", "thick", "stuffed")
    assert offered(READ_BACK, PHRASES) == ("yes", "no")
    assert offered("Got it, a large pizza. Did you say ham?", PHRASES) == ("yes", "no", "ham")


def test_no_question_or_one_option_is_no_choice():
    assert offered("For toppings, we have ham and pepperoni.", PHRASES) == ()
    assert offered("Which toppings would you like? We have ham and more.", PHRASES) == ()
    menu_hints = RecognizerHints(phrases=PHRASES)
    assert utterance_options(menu_hints, over_bot=True, heard=SIZE) == ()  # a backchannel, likely
    assert utterance_options(menu_hints, over_bot=False, heard=SIZE) == ("small", "medium", "large")


def test_only_a_transcript_that_names_no_option_and_is_not_a_hum_is_open():
    options = ("small", "medium", "large")
    assert open_to_choice("It's mine.", options)
    assert open_to_choice("Tonight?", options)
    for closed in ("Large, please.", "A small one.", "Um.", "Mm-hmm.", "Mm, mm.", "Hmm.", ""):
        assert not open_to_choice(closed, options), closed
    assert not open_to_choice("It's mine.", ("small",))


def test_a_question_of_the_callers_own_is_not_open():
    assert not open_to_choice("Do you deliver?", ("yes", "no"))
    assert not open_to_choice("What do you have?", ("thin", "thick"))
    assert open_to_choice("That stuff?", ("thin", "stuffed"))  # "Stuffed." misheard


def test_an_option_is_taken_only_when_it_stands_out():
    assert choose({"small": -5.9, "medium": -14.0, "large": -9.9}, heard=-3.8) == "small"
    assert choose({"small": -5.9, "medium": -14.0, "large": -9.0}, heard=-3.8) is None  # 3.1
    assert choose({"yes": -12.0, "no": -20.0}, heard=-6.0) is None  # unlikely outright
    assert choose({"yes": -10.0, "no": -20.0}, heard=-0.4) is None  # far below what was heard
    # A Kokoro "Small." whisper heard as "Tonight?" (-1.7): the size asked for six times
    assert choose({"small": -10.2, "medium": -15.4, "large": -16.1}, heard=-1.7) == "small"
    # "Black olives and onions." to "Which toppings?" is no one option
    assert choose({"pepperoni": -13.9, "ham": -19.5, "thin": -20.0}, heard=-2.1) is None
    assert choose({"yes": -4.0, "no": -4.0 - OPTION_GAP}, heard=-2.0) == "yes"
    assert spoken("black olives") == "Black olives."


def test_a_slots_value_is_also_tried_with_the_slots_name():
    places = (("size", ("small", "large")), ("crust", ("thin", "thick")))
    assert answer_forms("thin", places) == ("Thin.", "Thin crust.")
    assert answer_forms("large", places) == ("Large.", "Large size.")
    assert answer_forms("yes", places) == ("Yes.",)


def hear(whisper_engine, pizza_hints, voice: str, line: str, heard: str, choices: bool) -> str:
    """As the call hears a line after ``heard``; ``choices``: with the question's options and
    the slots' places."""
    from voxline.testbench.voices import VoiceRenderer

    pcm = VoiceRenderer().render(voice, line).pcm
    options = utterance_options(pizza_hints, False, heard) if choices else ()
    places = pizza_hints.places if choices else ()
    return whisper_engine.transcribe(
        pcm, RATE, utterance_prompt(pizza_hints, False, heard), options, (), "", places
    )


@pytest.mark.parametrize(
    ("voice", "line", "heard"),
    [("rms", "Small.", SIZE), ("espeak-gb", "Thin.", CRUST), ("awb", "Pepperoni.", None)],
)
def test_a_misheard_one_word_answer_is_heard_as_the_option(
    whisper_engine, pizza_hints, voice, line, heard
):
    heard = heard or "Which toppings would you like? We have pepperoni, mushrooms, and more."
    without = hear(whisper_engine, pizza_hints, voice, line, heard, choices=False)
    assert normalize(without) != normalize(line)  # whisper alone mishears it ...
    assert (
        hear(whisper_engine, pizza_hints, voice, line, heard, choices=True) == line
    )  # ... not any more


@pytest.mark.parametrize("voice", ["espeak-f", "espeak-gb"])
def test_an_answer_with_the_slots_name_is_heard_as_the_option(whisper_engine, pizza_hints, voice):
    """ "Thin crust." heard as "In crust." / "It's been crushed.": "Thin." alone was no likelier
    than the other crusts."""
    line = "Thin crust."
    assert hear(whisper_engine, pizza_hints, voice, line, CRUST, choices=False) != line
    assert hear(whisper_engine, pizza_hints, voice, line, CRUST, choices=True) == line


@pytest.mark.parametrize(
    ("voice", "line", "heard"),
    [
        ("rms", "What do you have?", CRUST),
        ("espeak-m", "What crusts do you have?", CRUST),
        ("awb", "Um.", SIZE),
        ("espeak-gb", "How much is it?", READ_BACK),
        ("slt", "No, that's all.", SIZE),
        ("kokoro-alpha", "Do you deliver?", READ_BACK),
    ],
)
def test_what_is_no_option_is_not_made_one(whisper_engine, pizza_hints, voice, line, heard):
    said = hear(whisper_engine, pizza_hints, voice, line, heard, choices=True)
    assert said == hear(whisper_engine, pizza_hints, voice, line, heard, choices=False)
    assert not any(w in normalize(said) for w in ("small", "medium", "large", "thin", "yes"))
