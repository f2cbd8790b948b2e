"""The offline pizza dialog, move by move in callers' own words, with the real bot, tools and
records: orders in one sentence or several turns, several pizzas, the read-back and yes before
placing, amend and cancel after placing (checked in the records), menu and price questions,
off-menu items, repeats, goodbyes, and no slot filled from a near miss."""

from dataclasses import replace

import pytest

from voxline.records_sqlite import SqliteRecords
from voxline.testbench.conversation import Conversation


@pytest.fixture
async def records(tmp_path):
    store = SqliteRecords(tmp_path / "r.sqlite3")
    yield store
    await store.close()


@pytest.fixture
def talk(pizza_bot, records):
    return Conversation(pizza_bot, records)


def pizza(size, toppings, crust, price=None):
    out = {"size": size, "toppings": toppings, "crust": crust}
    return out if price is None else {**out, "price": price}


async def order_and_confirm(c: Conversation, *lines: str) -> str:
    for line in lines:
        reply = await c.say(line)
    assert reply.endswith("Shall I place the order?"), reply
    return await c.say("yes")


# --- ordering -------------------------------------------------------------------------------


async def test_two_turns_then_the_read_back_with_the_price_and_a_yes(talk):
    reply = await talk.say("I'd like a large pepperoni pizza")
    assert "crust" in reply.lower() and await talk.orders() == []
    reply = await talk.say("thin crust")
    assert reply == (
        "So that's a large pepperoni pizza on thin crust, 17 dollars and 49 cents. "
        "Shall I place the order?"
    )
    assert await talk.orders() == []  # nothing is placed before the yes
    reply = await talk.say("yes please")
    assert reply.startswith("Great, I've placed your order for a large pepperoni pizza")
    assert "17 dollars and 49 cents" in reply and reply.endswith("Anything else?")
    assert await talk.orders() == [pizza("large", ["pepperoni"], "thin", 17.49)]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "Can I get a big pie with pepperonis and mushrooms on a thin crust?",
            pizza("large", ["pepperoni", "mushrooms"], "thin", 18.49),
        ),
        (
            "medium, no wait, make it a large, deep dish with sausage",
            pizza("large", ["sausage"], "thick", 18.49),
        ),
        (
            "A small pizza with pepperoni and onions, actually no onions, thin crust",
            pizza("small", ["pepperoni"], "thin", 11.49),
        ),
        (
            "uh a large pepperoni and jalapeños pizza on then crust",
            pizza("large", ["pepperoni", "jalapenos"], "thin", 18.24),
        ),
        (
            "personal size, stuffed crust, extra cheese and black olives",
            pizza("small", ["cheese", "black olives"], "stuffed", 14.24),
        ),
        ("a large pizza on a thin crust with ham", pizza("large", ["ham"], "thin", 17.49)),
        (
            "Can I get a big one with pepperoni and mushrooms, thin crust?",
            pizza("large", ["pepperoni", "mushrooms"], "thin", 18.49),
        ),
    ],
)
async def test_one_sentence_orders(talk, said, expected):
    await order_and_confirm(talk, said)
    assert await talk.orders() == [expected]


async def test_a_size_word_before_crust_is_no_size(talk):
    """The bench: "Thick crust." heard as "Big crust." made the medium a large."""
    await talk.say("a medium pizza with black olives and onions")
    reply = await talk.say("big crust")
    assert "large" not in reply and reply.startswith("Sorry") and "Which crust" in reply
    assert talk.draft() == [{"size": "medium", "toppings": ["black olives", "onions"]}]


async def test_asks_one_missing_item_at_a_time(talk):
    assert "size" in (await talk.say("I want a pizza")).lower()
    reply = await talk.say("medium")
    assert reply.startswith("Got it, a medium pizza.") and "toppings" in reply.lower()
    assert "crust" in (await talk.say("mushrooms and ham")).lower()
    await order_and_confirm(talk, "regular")
    assert await talk.orders() == [pizza("medium", ["mushrooms", "ham"], "regular", 15.49)]


@pytest.mark.parametrize(
    "none", ["no toppings please", "just cheese", "nothing, plain", "no thanks"]
)
async def test_no_toppings_is_an_answer(talk, none):
    await talk.say("a small pizza")
    await talk.say(none)
    await order_and_confirm(talk, "thin")
    [placed] = await talk.orders()
    assert placed["size"] == "small" and placed["toppings"] in ([], ["cheese"]) and not talk.ended


@pytest.mark.parametrize(
    "said",
    [
        "two large, one ham and pineapple, one bacon",
        "two large pizzas, one with ham and pineapple and one with bacon",
        "a large ham and pineapple and a large bacon",
    ],
)
async def test_several_pizzas_in_one_order(talk, said):
    reply = await talk.say(said)
    assert reply.startswith("Got it, a large ham and pineapple pizza and a large bacon pizza.")
    assert "For both pizzas, which crust" in reply
    reply = await order_and_confirm(talk, "thin")
    assert "36 dollars and 23 cents" in reply
    [placed] = await talk.orders()
    assert placed == {
        **pizza("large", ["ham", "pineapple"], "thin"),
        "more_pizzas": [pizza("large", ["bacon"], "thin")],
        "price": 36.23,
    }


async def test_several_pizzas_over_turns_fill_each_in_turn(talk):
    await talk.say("two medium pizzas")
    assert "For both pizzas, which crust" in await talk.say("one pepperoni, one mushroom")
    assert talk.draft() == [
        {"size": "medium", "toppings": ["pepperoni"]},
        {"size": "medium", "toppings": ["mushrooms"]},
    ]
    reply = await talk.say("thick for the pepperoni one and thin for the mushroom one")
    # one sentence, two crusts for two pizzas: read back before anything is placed
    assert await talk.orders() == [] and "Shall I place the order?" in reply


async def test_a_change_to_one_of_several_pizzas_names_it_or_is_asked(talk):
    await talk.say("a large pepperoni and a small mushroom pizza, both thin crust")
    reply = await talk.say("add onions to the mushroom one")
    assert "a small mushrooms and onions pizza on thin crust" in reply
    reply = await talk.say("make it thick crust")
    assert reply.startswith("Which pizza should I change")
    reply = await talk.say("the first one")
    assert "a large pepperoni pizza on thick crust" in reply and reply.endswith("order?")


# --- confirmation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "yes", ["yes", "yeah that's right", "sure, go ahead", "correct", "yep", "Uh-huh.", "Mm-hmm."]
)
async def test_a_yes_places_it(talk, yes):
    await talk.say("large pepperoni thin crust")
    assert "Great, I've placed your order" in await talk.say(yes)
    assert len(await talk.orders()) == 1


@pytest.mark.parametrize("no", ["no", "nope, that's wrong", "no that's not right"])
async def test_a_no_asks_what_to_change(talk, no):
    await talk.say("large pepperoni thin crust")
    assert await talk.say(no) == "Okay, what would you like to change?"
    reply = await talk.say("make it medium")
    assert "a medium pepperoni pizza on thin crust, 14 dollars and 49 cents" in reply
    await talk.say("yes")
    assert await talk.orders() == [pizza("medium", ["pepperoni"], "thin", 14.49)]


@pytest.mark.parametrize(
    ("correction", "expected"),
    [
        ("no, make it a medium", pizza("medium", ["pepperoni"], "thin", 14.49)),
        ("actually, thick crust", pizza("large", ["pepperoni"], "thick", 18.49)),
        ("add mushrooms", pizza("large", ["pepperoni", "mushrooms"], "thin", 18.49)),
        ("no pepperoni, ham instead", pizza("large", ["ham"], "thin", 17.49)),
        ("change the pepperoni to sausage", pizza("large", ["sausage"], "thin", 17.49)),
    ],
)
async def test_a_correction_at_the_read_back_changes_it_and_reads_it_again(
    talk, correction, expected
):
    await talk.say("a large pepperoni pizza on thin crust")
    reply = await talk.say(correction)
    assert reply.endswith("Shall I place the order?") and await talk.orders() == []
    await talk.say("yes")
    assert await talk.orders() == [expected]


async def test_without_confirm_the_order_is_placed_when_complete(pizza_bot, records):
    bot = replace(pizza_bot, form={**pizza_bot.form, "confirm": False})
    c = Conversation(bot, records)
    reply = await c.say("large pepperoni thin crust")
    assert reply.startswith("Great, I've placed your order")
    assert await c.orders() == [pizza("large", ["pepperoni"], "thin", 17.49)]


async def test_a_yes_the_caller_did_not_hear_the_question_for_places_nothing(talk):
    reply = await talk.say("large pepperoni thin crust", heard=12)  # cut off before the question
    assert reply.endswith("Shall I place the order?")
    assert (await talk.say("yes")).endswith("Shall I place the order?")
    assert await talk.orders() == []
    await talk.say("yes")
    assert len(await talk.orders()) == 1


# --- after placing: amend, cancel, read back --------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("No, no, actually, make it a medium", pizza("medium", ["pepperoni"], "thin", 14.49)),
        (
            "Actually, can you change that to a thick crust instead?",
            pizza("large", ["pepperoni"], "thick", 18.49),
        ),
        ("can you add black olives", pizza("large", ["pepperoni", "black olives"], "thin", 18.49)),
        ("take off the pepperoni and put ham on it", pizza("large", ["ham"], "thin", 17.49)),
    ],
)
async def test_a_placed_order_is_changed_in_place(talk, change, expected):
    await order_and_confirm(talk, "a large pepperoni pizza on thin crust")
    reply = await talk.say(change)
    assert reply.startswith("So your order would be") and reply.endswith(
        "Shall I make that change?"
    )
    reply = await talk.say("yes")
    assert reply.startswith("Done, your order is now")
    rows = await talk.records.orders(talk.call_id)
    assert [(r["details"], r["status"]) for r in rows] == [(expected, "placed")]
    assert (await talk.say("that's all")).endswith("Goodbye.") and talk.ended


async def test_another_pizza_after_placing_joins_the_same_order(talk):
    await order_and_confirm(talk, "a large pepperoni pizza on thin crust")
    reply = await talk.say("yes, a small ham pizza on thick crust too")
    assert "a small ham pizza on thick crust" in reply and reply.endswith(
        "Shall I make that change?"
    )
    await talk.say("yes")
    [order] = await talk.orders()
    assert order["more_pizzas"] == [pizza("small", ["ham"], "thick")] and order["price"] == 29.98


@pytest.mark.parametrize("cancel", ["cancel my order", "please cancel the order", "cancel it"])
async def test_a_placed_order_is_cancelled_after_a_yes(talk, cancel):
    await order_and_confirm(talk, "a large pepperoni pizza on thin crust")
    reply = await talk.say(cancel)
    assert reply.startswith("Do you want me to cancel your order for a large pepperoni pizza")
    assert "cancelled" in await talk.say("yes")
    assert await talk.orders("cancelled") == [pizza("large", ["pepperoni"], "thin", 17.49)]
    assert await talk.orders("placed") == []
    assert (await talk.say("no thanks")).endswith("Goodbye!") and talk.ended


@pytest.mark.parametrize("yes", ["yes, cancel", "yes, cancel it", "yes please cancel the order"])
async def test_a_yes_that_repeats_cancel_cancels(talk, yes):
    await order_and_confirm(talk, "a small pepperoni pizza, thin crust")
    await talk.say("actually, please cancel my order")
    assert "cancelled" in await talk.say(yes)
    assert await talk.orders("placed") == []


@pytest.mark.parametrize("no", ["no", "no, don't cancel it"])
async def test_a_no_keeps_the_placed_order(talk, no):
    await order_and_confirm(talk, "a large pepperoni pizza on thin crust")
    await talk.say("cancel the order")
    assert "keep your order" in await talk.say(no)
    assert len(await talk.orders("placed")) == 1


async def test_cancelling_before_placing_drops_the_draft(talk):
    await talk.say("a large pepperoni")
    reply = await talk.say("forget the order")
    assert reply.startswith("Okay, I've cancelled that.") and talk.draft() == []
    assert (await talk.say("no")).endswith("Goodbye!")
    assert await talk.orders() == []


@pytest.mark.parametrize(
    "ask", ["Can you read my order back to me?", "what did I order", "what's in my order"]
)
async def test_read_back_before_and_after_placing(talk, ask):
    reply = await talk.say(ask)
    assert reply.startswith("You haven't ordered anything yet.")
    await talk.say("a large pepperoni pizza")
    reply = await talk.say(ask)
    assert reply.startswith("So far you have a large pepperoni pizza.") and "crust" in reply
    await order_and_confirm(talk, "thin crust")
    reply = await talk.say(ask)
    assert reply.startswith("Your order is a large pepperoni pizza on thin crust, 17 dollars")
    assert talk.draft() == [pizza("large", ["pepperoni"], "thin")]  # no ham, nothing new


async def test_start_over(talk):
    await talk.say("a large pepperoni")
    assert "start over" in await talk.say("scratch that, start over")
    await order_and_confirm(talk, "a small ham pizza on thick crust")
    assert await talk.orders() == [pizza("small", ["ham"], "thick", 12.49)]


# --- questions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("What toppings do you have?", ["pepperoni", "spinach"]),
        ("what sizes do you have", ["small, medium and large"]),
        ("which crusts do you have", ["thin, regular, thick and stuffed"]),
        ("what's on the menu", ["small, medium and large", "spinach", "stuffed"]),
    ],
)
async def test_menu_questions_answer_and_change_nothing(talk, question, words):
    await talk.say("a large pizza")
    reply = await talk.say(question)
    assert all(w in reply for w in words), reply
    assert reply.endswith("more.")  # then the question it was on: toppings
    assert talk.draft() == [{"size": "large"}]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("how much is a large pizza", "A large pizza is 15 dollars and 99 cents."),
        ("how much does stuffed crust cost", "Stuffed crust is 2 dollars and 50 cents extra."),
        ("what's the price of pepperoni", "Pepperoni is 1 dollar and 50 cents extra."),
        ("how much is thin crust", "Thin crust is included."),
    ],
)
async def test_price_questions_use_the_menu(talk, question, answer):
    assert (await talk.say(question)).startswith(answer)
    assert talk.draft() == []


async def test_how_much_is_that_reads_back_the_total(talk):
    await talk.say("a large pepperoni pizza")
    assert "once I have the whole order" in await talk.say("how much is that?")
    await talk.say("thin crust")
    reply = await talk.say("what's the total")
    assert "17 dollars and 49 cents" in reply and await talk.orders() == []


@pytest.mark.parametrize(
    ("said", "declined", "kept"),
    [
        ("do you have anchovies", "anchovies", []),
        ("can I get chicken on it", "chicken", []),
        ("an extra large please", "extra large", []),
        ("a large with anchovies and ham", "anchovies", [{"size": "large", "toppings": ["ham"]}]),
        ("gluten free crust", "gluten free crust", []),
    ],
)
async def test_off_menu_items_are_declined_with_what_there_is(talk, said, declined, kept):
    reply = await talk.say(said)
    assert reply.startswith(f"Sorry, we don't have {declined}. For ")
    assert talk.draft() == kept  # "extra large" is never "large"


async def test_a_bare_what_to_the_read_back_reads_it_again(talk):
    read_back = await talk.say("a large pepperoni pizza on thin crust")
    assert read_back.endswith("Shall I place the order?")
    assert await talk.say("What is it?") == read_back  # a misheard "Yes." once: not the menu
    assert (await talk.say("yes")).startswith("Great")
    assert len(await talk.orders()) == 1
    assert (await talk.say("What toppings do you have?")).startswith("For toppings")


@pytest.mark.parametrize(
    ("asked", "declined"),
    [
        ("Do you like to do a free crust?", "free crust"),  # "gluten" lost by the recognizer
        ("Do you have a pretzel crust?", "pretzel crust"),
    ],
)
async def test_a_kind_the_menu_does_not_know_is_declined_when_asked(talk, asked, declined):
    reply = await talk.say(asked)
    assert reply.startswith(f"Sorry, we don't have {declined}. For crust")
    assert talk.draft() == []


@pytest.mark.parametrize(
    "asked", ["Do you do stuff crust?", "What crusts do you have?", "Do you have a thin crust?"]
)
async def test_a_kind_the_menu_knows_or_nearly_knows_is_not_declined(talk, asked):
    assert "don't have" not in await talk.say(asked)


@pytest.mark.parametrize(
    "again",
    [
        "sorry?",
        "say that again",
        "can you repeat that",
        "Can you repeat?",
        "pardon",
        "What?",
        "what is it",
        "Huh?",
    ],
)
async def test_repeat_says_the_last_reply_again(talk, again):
    first = await talk.say("a large pizza")
    assert await talk.say(again) == first
    reply = await talk.say("ham")  # the question still stands
    assert reply.startswith("Got it, a large ham pizza.")


# --- ending ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bye", ["no that's all, thanks", "that's it", "nope, goodbye"])
async def test_done_after_the_order_ends_the_call(talk, bye):
    await order_and_confirm(talk, "large pepperoni on thin crust")
    assert (await talk.say(bye)).endswith("Goodbye.") and talk.ended


@pytest.mark.parametrize("said", ["goodbye", "that's all", "bye"])
async def test_goodbye_with_nothing_ordered_ends_the_call(talk, said):
    assert (await talk.say(said)).endswith("Goodbye!") and talk.ended


async def test_thats_all_before_the_yes_asks_for_it(talk):
    await talk.say("large pepperoni on thin crust")
    reply = await talk.say("that's all")
    assert reply.startswith("Before you go:") and reply.endswith("Shall I place the order?")
    assert not talk.ended and await talk.orders() == []


async def test_goodbye_mid_order_ends_the_call_and_places_nothing(talk):
    await talk.say("a large pizza")
    assert not (await talk.say("no thanks")).endswith("Goodbye!") and not talk.ended
    assert (await talk.say("okay bye")).endswith("Goodbye!") and talk.ended
    assert await talk.orders() == []


# --- no slot from a weak match ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "question", "draft"),
    [
        (
            "a large pepperony pizza",
            "Got it, a large pizza. Did you say pepperoni?",
            [{"size": "large"}],
        ),
        ("a mediun pizza", "Did you say medium pizza?", []),
        ("a large pizza with bacan", None, [{"size": "large"}]),
    ],
)
async def test_a_near_miss_is_asked_never_filled(talk, said, question, draft):
    reply = await talk.say(said)
    if question:
        assert reply == question
    assert talk.draft() == draft


async def test_a_proposal_confirmed_fills_and_denied_asks_again(talk):
    await talk.say("a large pizza with ham")
    assert await talk.say("granular") == "Did you say regular crust?"
    assert (await talk.say("no")).startswith("Sorry about that. Which crust")
    assert await talk.say("thik") == "Did you say thick crust?"
    reply = await talk.say("yes")
    assert "a large ham pizza on thick crust" in reply


@pytest.mark.parametrize(
    "said",
    [
        "Can you read my order back to me?",
        "and you read my order back to me",
        "hold on a second",
        "I'm calling about an order",
        "on a",
        "can I have him call you back",
    ],
)
async def test_words_that_only_sound_like_toppings_fill_nothing(talk, said):
    await talk.say("a large pizza")
    await talk.say(said)
    assert talk.draft() == [{"size": "large"}]  # never ham, never onions


@pytest.mark.parametrize("said", ["Hey, name Hamah.", "Both healthy.", "Got it, crew."])
async def test_words_that_mean_nothing_to_the_form_say_so(talk, said):
    """Backchannels whisper garbled over the bot: the call lets the bot go on instead of
    asking again, when such words cut it off on a doubt."""
    await talk.say("What toppings do you have?")
    assert talk.understood
    reply = await talk.say(said)
    assert not talk.understood and reply.startswith("Sorry, I didn't catch that.")
    assert talk.draft() == []
    await talk.say("a large pizza")
    assert talk.understood


@pytest.mark.parametrize(
    "change", ["Wait, make that it crust.", "Change the crust.", "Can you switch the crust?"]
)
async def test_a_change_naming_a_slot_but_no_value_asks_for_it(talk, change):
    """ "make that it crust" (slt's "thick" misheard over the read-back) had been answered
    "Sorry, I didn't catch that" and the same read-back; the caller said yes to it."""
    await talk.say("A small pepperoni pizza on regular crust.")
    reply = await talk.say(change)
    assert reply == "Which crust would you like: thin, regular, thick or stuffed?"
    reply = await talk.say("thick")
    assert reply.startswith("So that's a small pepperoni pizza on thick crust")
    await talk.say("yes")
    assert await talk.orders() == [pizza("small", ["pepperoni"], "thick", 12.49)]


async def test_a_placed_order_s_slot_is_asked_again_and_changed_in_place(talk):
    await order_and_confirm(talk, "A small pepperoni pizza on regular crust.")
    assert await talk.say("Can you change the size?") == (
        "What size would you like: small, medium or large?"
    )
    reply = await talk.say("medium")
    assert reply.startswith("So your order would be a medium pepperoni pizza on regular crust")
    await talk.say("yes")
    assert await talk.orders() == [pizza("medium", ["pepperoni"], "regular", 14.49)]


@pytest.mark.parametrize(
    "said",
    [
        "A medium pizza with pineapple and on regular crust.",  # espeak-gb's "and ham on"
        "A medium pizza with and pineapple, regular crust.",  # "with ham and pineapple"
    ],
)
@pytest.mark.parametrize(
    ("answer", "toppings"),
    [("ham", ["pineapple", "ham"]), ("that's all", ["pineapple"]),
     ("no, just pineapple", ["pineapple"])],
)  # fmt: skip
async def test_a_list_s_and_with_no_value_beside_it_asks_for_the_rest(talk, said, answer, toppings):
    reply = await talk.say(said)
    assert reply.endswith("Pineapple and what else?"), reply
    reply = await talk.say(answer)
    assert reply.startswith("Okay. So that's" if answer == "that's all" else "So that's")
    await talk.say("yes")
    orders = [{k: v for k, v in o.items() if k != "price"} for o in await talk.orders()]
    assert orders == [pizza("medium", toppings, "regular")]


@pytest.mark.parametrize(
    "said",
    ["A medium with mushrooms and onions on regular crust.",
     "A medium pizza with ham and pineapple on thin crust.", "Ham and pineapple, please."],
)  # fmt: skip
async def test_a_whole_list_asks_for_nothing_more(talk, said):
    reply = await talk.say(said)
    assert "what else" not in reply


async def test_words_over_the_bot_mean_something_only_when_the_dialog_can_use_them(talk):
    """The turn taker lets words over the bot stop it only if they mean something here: the
    bench's misheard backchannels do not, a caller's correction does."""
    await talk.say("What toppings do you have?")
    for garble in (
        "Both have them.",
        "Hey, name Hamah.",
        "And then...",
        "In it.",
        "And then, huh?",
    ):
        assert not talk.agent.understands(talk.history, garble), garble
    for line in ("Stuffed crust, please.", "Make it a medium.", "Can you repeat that?",
                 "chopped crust."):  # fmt: skip
        assert talk.agent.understands(talk.history, line), line
    assert talk.history.user_texts() == ["What toppings do you have?"]  # nothing was added
