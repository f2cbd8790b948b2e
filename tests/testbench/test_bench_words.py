"""Matching what the caller heard: numbers, plurals, alternatives, repeats, WER."""

from voxline.testbench.caller_script import rule_for
from voxline.testbench.scenario import Rule
from voxline.testbench.words import normalize, phrase_at, phrase_in, repeated_run, word_errors


def test_numbers_and_money_read_the_same_however_written():
    spoken = normalize("That comes to fifteen dollars and ninety-nine cents.")
    written = normalize("That comes to $15.99.")
    assert spoken == ["that", "comes", "to", "15", "dollars", "and", "99", "cents"]
    assert written == ["that", "comes", "to", "15", "dollars", "99"]
    assert phrase_in("15 dollars", spoken) and phrase_in("15 dollars", written)
    assert normalize("nine four one one oh") == ["9", "4", "1", "1", "0"]
    assert normalize("twenty two, twenty") == ["22", "20"]


def test_phrases_match_in_order_with_plural_slack_and_alternatives():
    said = "Great, I placed your order for a large mushroom pizza."
    assert phrase_in("large mushrooms", said)
    assert phrase_in("medium|large", said)
    assert not phrase_in("mushroom large", said)
    assert not phrase_in("ham", said)  # words, not substrings ("Graham")
    assert not phrase_in("", said)


def test_repeated_runs_are_found():
    assert (
        repeated_run("For toppings we have, for toppings we have pepperoni")
        == "for toppings we have"
    )
    assert repeated_run("we have pepperoni and we have ham") == ""


def test_word_errors():
    assert word_errors("a large ham pizza", "a large hand pizza please") == (2, 4)
    assert word_errors("", "") == (0, 0)


def test_the_caller_answers_the_bots_last_question():
    """A read-back names the crust, then asks for a yes: the caller says yes, not the crust."""
    rules = [Rule(("crust",), "Thin crust."), Rule(("shall i place", "is that right"), "Yes.")]
    said = normalize(
        "So that's a large bacon pizza on thin crust, $17.74. Shall I place the order?"
    )
    assert rule_for(rules, said) is rules[1]
    assert rule_for(rules, normalize("Got it. Which crust would you like?")) is rules[0]
    assert rule_for(rules, normalize("What size would you like?")) is None
    assert phrase_at("crust|pizza", said) == 8
