"""Extractive answers without an embedding model: sentences chosen by the words they share."""

from voxline.kb.answer import extract_answer, without_names
from voxline.kb.base import Hit

BIKES = (
    "The Kestrel is our best seller. It weighs 21 kilograms and costs 2,390 euros. It's "
    "available in grey. Its frame is aluminium. They ship in a week. The Heron carries two "
    "children. Its range is 70 kilometres and it costs 3,950 euros."
)


def answer(question: str, text: str = BIKES) -> str:
    return extract_answer(question, [Hit("bikes.md", 0, text, 0.9)], None, 1).text


def test_a_sentence_that_starts_with_it_says_the_name_it_stands_for():
    assert answer("What does it cost, the Heron, in euros?") == (
        "The Heron's range is 70 kilometres and it costs 3,950 euros."
    )
    assert (
        answer("How much does it weigh?")
        == "The Kestrel weighs 21 kilograms and costs 2,390 euros."
    )
    assert answer("Is it available in grey?") == "The Kestrel is available in grey."
    assert answer("What is the frame made of, aluminium?") == "The Kestrel's frame is aluminium."


def test_other_pronouns_keep_the_sentence_before_them():
    assert answer("When do they ship, in a week?") == (
        "The Kestrel's frame is aluminium. They ship in a week."
    )


def test_an_it_after_an_unnamed_sentence_keeps_the_sentence_before_it():
    text = "Every bike has a warranty. It starts on the day you collect the bike."
    assert answer("When does it start, the day you collect?", text) == text


def test_all_of_them_keeps_the_sentence_before_it():
    text = "We make three bikes. All of them are limited to 25 kilometres per hour. We ship daily."
    assert answer("How fast is it limited?", text) == (
        "We make three bikes. All of them are limited to 25 kilometres per hour."
    )


def test_the_bots_names_come_out_of_the_question_with_the_words_that_go_with_them():
    names = ("Corvid", "Port Ellery", "Imelda Varga", "warranty")
    assert without_names("Who founded Corvid Cycles?", names) == "Who founded?"
    assert without_names("Is the Port Ellery shop open, Monday?", names) == (
        "Is the shop open, Monday?"
    )
    assert without_names("How long is the warranty on the Mercury?", names) == (
        "How long is the warranty on the Mercury?"
    )  # a name the bot does not know stays: the bot may not know what it is
