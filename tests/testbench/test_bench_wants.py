"""The bench caller answers the bot's questions about the order it wants, where its
scenario's rules foresaw none."""

from voxline.testbench.caller_script import answer_for
from voxline.testbench.scenario import Rule, Step
from voxline.testbench.wants import answer_from_order, answers
from voxline.testbench.words import normalize

WANTED = {"size": "small", "toppings": ["pepperoni", "ham"], "crust": "thick"}


def answer(said: str) -> str:
    return answer_from_order(WANTED, normalize(said))


def test_a_question_about_a_slot_gets_the_wanted_value():
    assert answer("Which crust would you like: thin, regular, thick or stuffed?") == "Thick crust."
    assert answer("Got it. What size would you like? Small, medium or large.") == "Small."
    # the menu read out first: the question at the end is what is asked
    menu = (
        "For crusts, we have thin and thick. For toppings, we have ham. What size would you like?"
    )
    assert answer(menu) == "Small."
    assert answer("Which toppings would you like?") == "Pepperoni and ham."


def test_did_you_say_is_yes_only_for_a_wanted_value():
    assert answer("Did you say thick crust?") == "Yes."
    assert answer("Did you say stuff crust?") == "No."  # the ear's "stuff" for stuffed
    assert answer_from_order({"crust": "stuffed"}, normalize("Did you say stuff crust?")) == "Yes."
    assert answer("Did you say hand?") == "No."  # short words whole: "hand" is not ham


def test_what_else_names_the_wanted_values_not_yet_heard():
    assert answer("Got it, a small pepperoni pizza. Pepperoni and what else?") == "Ham."
    assert answer("Pepperoni and ham. What else?") == "That's all."


def test_a_reply_that_asks_nothing_about_the_order_gets_no_answer():
    assert answer("Got it.") == ""
    assert answer_from_order(None, normalize("Which crust would you like?")) == ""


def test_the_scenario_s_rules_and_until_come_first():
    step = Step("answer", rules=(Rule(("shall i place",), "Yes please."),), until=("placed",))
    readback = normalize("So that's a small pepperoni pizza on thick crust. Shall I place it?")
    assert answer_for(step, readback, WANTED) == ("Yes please.", step.rules[0])
    assert answer_for(step, normalize("Which crust would you like?"), WANTED) == (
        "Thick crust.",
        None,
    )
    assert answer_for(step, normalize("I've placed your order. Which crust?"), WANTED)[0] == ""
    assert answer_for(step, normalize("Which crust would you like?"))[0] == ""  # no order


def test_every_answer_is_rendered_before_the_call():
    lines = answers(WANTED)
    for said in ("Which crust?", "What size?", "Which toppings?", "Did you say ham?",
                 "Pepperoni and what else?", "Pepperoni and ham, what else?"):  # fmt: skip
        assert answer(said) in lines, said
