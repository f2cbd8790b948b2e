"""Extractive answers without an embedding model: sentences chosen by the words they share."""

from voxline.kb.answer import extract_answer
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


def test_words_every_passage_has_do_not_pick_the_sentence():
    """Asked of the company's pages, "Corvid Cycles" is in all of them: the sentence that
    names it twice is no answer to who founded it."""
    hits = [
        Hit("about.md", 0, "Corvid Cycles makes bikes in Port Ellery. The company was founded "
                           "in 2011 by Imelda Varga.", 0.9),
        Hit("warranty.md", 0, "Every Corvid Cycles bike has a warranty of two years.", 0.8),
    ]  # fmt: skip
    said = extract_answer("Who founded Corvid Cycles?", hits, None, 1).text
    assert said == "The company was founded in 2011 by Imelda Varga."
