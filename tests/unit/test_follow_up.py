"""Elliptical follow-ups made whole against the question and answer before them (pure)."""

import pytest

from voxline.agents.follow_up import resolve, resolve_follow_up

NAMES = ("Corvid", "Kestrel", "Heron", "Swift")


@pytest.mark.parametrize(
    ("previous", "question", "answer", "whole"),
    [
        ("When do you close on weekdays?", "And on Sundays?", "", "When do you close on Sundays?"),
        ("When do you close on weekdays?", "and on Sunday.", "", "When do you close on Sunday?"),
        ("How much does the Kestrel cost?", "And the Heron?", "", "How much does the Heron cost?"),
        ("Which bike carries children?", "How much does it cost?", "The Heron carries two.",
         "How much does the Heron cost?"),
        ("How heavy is the Swift?", "What about the battery?", "",
         "How heavy is the Swift the battery?"),
        ("How much does the Kestrel cost?", "Who founded the company?", "",
         "Who founded the company?"),
        ("", "And on Sundays?", "", "And on Sundays?"),
        ("What does the Heron cover?", "Actually, did their part of getting into the showroom?",
         "", "Actually, did their part of getting into the showroom?"),
        ("Which bike carries children?", "How much weight can it carry on the back?",
         "The Heron carries two.", "How much weight can the Heron carry on the back?"),
        ("How much does the Kestrel cost?", "Is that in stock?", "", "Is the Kestrel in stock?"),
    ],
)  # fmt: skip
def test_resolve(previous, question, answer, whole):
    assert resolve(question, previous, answer, NAMES).rstrip("?") == whole.rstrip("?")


def test_a_chain_of_follow_ups_keeps_the_first_question():
    conversation = [
        {"role": "user", "content": "When do you close on weekdays?"},
        {"role": "assistant", "content": "At 6 in the evening."},
        {"role": "user", "content": "And on Sundays?"},
        {"role": "assistant", "content": "We are closed on Sundays."},
        {"role": "user", "content": "What about Saturdays?"},
    ]
    assert resolve_follow_up(conversation, NAMES) == "When do you close on Saturdays?"
