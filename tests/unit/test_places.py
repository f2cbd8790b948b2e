"""The word before a slot's name: which words are tried as the slot's values, which value is
taken, and whisper mending "in crust" on a caller's line without inventing a crust."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voxline.audio import pcm_to_ulaw, ulaw_to_pcm
from voxline.speech.places import PLACE_GAP, PLACE_SLACK, place_words, placed
from voxline.speech.whisper import utterance_prompt
from voxline.testbench.words import normalize

CRUSTS = ("thin", "regular", "thick", "stuffed")
PLACES = (("size", ("small", "medium", "large")), ("crust", CRUSTS))
RATE = 8000


def test_the_word_before_a_slots_name_is_tried_as_its_values():
    tried = place_words("A large pizza with sausages just crust.", PLACES)
    assert tried[5] == list(CRUSTS) and sum(map(bool, tried)) == 1
    assert place_words("Medium, please, with pepperoni and crust.", PLACES)[4] == list(CRUSTS)
    assert place_words("The crusts?", PLACES)[0] == list(CRUSTS)  # plural
    assert place_words("Is that the right size?", PLACES)[3] == ["small", "medium", "large"]


def test_a_bots_places_are_its_tools_one_value_slots(pizza_bot):
    assert pizza_bot.places == PLACES  # not the toppings: a list, said "the toppings"


def test_a_value_or_a_question_about_the_slot_is_left_alone():
    for text in ("Thin crust please.", "What crust do you do?", "Which size is it?",
                 "What kind of crusts do you have?", "Crust.", "A gluten-free crust."):  # fmt: skip
        assert not any(place_words(text, PLACES)), text
    assert not any(place_words("In crust.", ()))  # a bot with no such slot


def test_a_value_is_taken_when_likely_and_clear_of_the_others():
    # "sausages just crust" (stuffed meant): 3.7 below whisper's own, 4.5 over thick
    assert placed({"thin": -14.3, "regular": -21.1, "thick": -13.1, "stuffed": -8.6}, -4.9) == (
        "stuffed"
    )
    # "on this crust" (stuffed meant): thick and thin 0.2 apart: left as heard
    assert placed({"thin": -7.3, "regular": -14.8, "thick": -7.1, "stuffed": -9.6}, -4.5) is None
    # "gluten free crust": thin 2.3 below, but 1.5 over thick
    assert placed({"thin": -8.1, "regular": -20.1, "thick": -9.6, "stuffed": -16.6}, -5.8) is None
    assert placed({"thin": -1.0 - PLACE_SLACK, "thick": -9.0}, -1.0) == "thin"
    assert placed({"thin": -1.1 - PLACE_SLACK, "thick": -9.0}, -1.0) is None
    assert placed({"thin": -2.0, "thick": -2.0 - PLACE_GAP}, -1.0) == "thin"
    assert placed({}, -1.0) is None


READ_BACK = "Thanks for calling Voxline Pizza! What kind of pizza would you like today?"


def hear(whisper_engine, hints, voice: str, line: str) -> str:
    from voxline.testbench.voices import VoiceRenderer

    pcm = ulaw_to_pcm(pcm_to_ulaw(VoiceRenderer().render(voice, line).pcm))  # the phone line
    return whisper_engine.transcribe(
        pcm, RATE, utterance_prompt(hints, False, READ_BACK), (), (), "", hints.places
    )


@pytest.mark.parametrize(
    ("voice", "line", "crust"),
    [("espeak-gb", "I'll have a medium with ham and pineapple, thin crust.", "thin")],
)
def test_a_crust_heard_as_a_function_word_is_mended(
    whisper_engine, pizza_hints, voice, line, crust
):
    alone = normalize(hear(whisper_engine, replace(pizza_hints, places=()), voice, line))
    assert crust not in alone  # whisper alone mishears it ...
    assert crust in normalize(hear(whisper_engine, pizza_hints, voice, line))  # ... not now


@pytest.mark.parametrize(
    ("voice", "line"),
    [
        ("espeak-gb", "Do you do a gluten free crust?"),
        ("awb", "What crusts do you do?"),
        ("slt", "Can I change the crust?"),
    ],
)
def test_no_crust_is_invented(whisper_engine, pizza_hints, voice, line):
    said = normalize(hear(whisper_engine, pizza_hints, voice, line))
    assert not set(said) & set(CRUSTS), said
