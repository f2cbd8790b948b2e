"""The offline form-filling agent on tricky phrasings, with the real pizza bot and store."""

from dataclasses import replace

import pytest

from voxline.agents.base import Turn
from voxline.agents.form import FormAgent
from voxline.agents.slots import SlotExtractor, slots_from_schema
from voxline.events import EndCall, TextDelta, ToolResult
from voxline.history import History
from voxline.records_sqlite import SqliteRecords
from voxline.tools import ToolBox, ToolContext


class Conversation:
    def __init__(self, bot, records: SqliteRecords, call_id: str = "CA-test") -> None:
        self.bot = bot
        self.agent = FormAgent(bot)
        self.history = History()
        self.records = records
        self.call_id = call_id
        self.ended = False

    async def say(self, text: str) -> str:
        self.history.user(text)
        ctx = ToolContext(self.call_id, self.records, self.bot.data)
        turn = Turn(self.history, ToolBox(list(self.bot.tools)), ctx)
        spoken = []
        async for event in self.agent.reply(turn):
            if isinstance(event, TextDelta):
                spoken.append(event.text)
            elif isinstance(event, EndCall):
                self.ended = True
            elif isinstance(event, ToolResult):
                assert event.error is None, event.error
        reply = "".join(spoken).strip()
        self.history.assistant(reply)  # as if every sentence was heard
        return reply

    async def orders(self):
        return [o["details"] for o in await self.records.orders(self.call_id)]


@pytest.fixture
async def records(tmp_path):
    store = SqliteRecords(tmp_path / "r.sqlite3")
    yield store
    await store.close()


def order(size, toppings, crust, price):
    return {"size": size, "toppings": toppings, "crust": crust, "price": price}


async def test_two_turns_as_in_the_issue(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    reply = await c.say("I'd like a large pepperoni pizza")
    assert "crust" in reply.lower()
    reply = await c.say("thin crust")
    assert "large pepperoni pizza on thin crust" in reply and "17 dollars and 49 cents" in reply
    assert await c.orders() == [order("large", ["pepperoni"], "thin", 17.49)]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "Can I get a big pie with pepperonis and mushrooms on a thin crust?",
            order("large", ["pepperoni", "mushrooms"], "thin", 18.49),
        ),
        (
            "medium, no wait, make it a large, deep dish with sausage",
            order("large", ["sausage"], "thick", 18.49),
        ),
        (
            "A small pizza with pepperoni and onions, actually no onions, thin crust",
            order("small", ["pepperoni"], "thin", 11.49),
        ),
        (
            "uh a large pepperony and jalapeños pizza on then crust",
            order("large", ["pepperoni", "jalapenos"], "thin", 18.24),
        ),
        (
            "personal size, stuffed crust, extra cheese and black olives",
            order("small", ["cheese", "black olives"], "stuffed", 14.24),
        ),
    ],
)
async def test_one_utterance_orders(pizza_bot, records, said, expected):
    c = Conversation(pizza_bot, records)
    await c.say(said)
    assert await c.orders() == [expected]


async def test_asks_one_missing_item_at_a_time(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    assert "size" in (await c.say("I want a pizza")).lower()
    reply = await c.say("medium")
    assert reply.startswith("Got it, medium.") and "toppings" in reply.lower()
    assert "crust" in (await c.say("mushrooms and ham")).lower()
    await c.say("regular")
    assert await c.orders() == [order("medium", ["mushrooms", "ham"], "regular", 15.49)]


async def test_no_toppings_is_an_answer(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    await c.say("a small pizza")
    await c.say("no toppings please")
    await c.say("thin")
    assert await c.orders() == [order("small", [], "thin", 9.99)]


async def test_menu_question_lists_the_options_and_changes_nothing(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    reply = await c.say("What toppings do you have?")
    assert "pepperoni" in reply and "spinach" in reply and "size" in reply.lower()
    assert await c.orders() == []


async def test_unclear_speech_is_asked_again(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    await c.say("a large pizza")
    reply = await c.say("the weather is nice")
    assert reply.startswith("Sorry, I didn't catch that.") and "toppings" in reply.lower()


async def test_start_over(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    await c.say("a large pepperoni")
    assert "start over" in await c.say("cancel that, start over")
    await c.say("a small ham pizza on thick crust")
    assert await c.orders() == [order("small", ["ham"], "thick", 12.49)]


async def test_confirmation_when_the_bot_asks_for_it(pizza_bot, records):
    bot = replace(pizza_bot, form={**pizza_bot.form, "confirm": True})
    c = Conversation(bot, records)
    reply = await c.say("large pepperoni thin crust")
    assert reply.endswith("Shall I place the order?") and await c.orders() == []
    assert "change" in await c.say("no")
    reply = await c.say("make it medium")
    assert "medium pepperoni" in reply and reply.endswith("Shall I place the order?")
    await c.say("yes please")
    assert await c.orders() == [order("medium", ["pepperoni"], "thin", 14.49)]


async def test_goodbye_after_the_order_ends_the_call(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    await c.say("large pepperoni on thin crust")
    assert (await c.say("no that's all, thanks")).endswith("Goodbye.")
    assert c.ended


def test_extractor_prefers_the_slot_that_was_asked(pizza_bot):
    tool = pizza_bot.tools[0]
    ex = SlotExtractor(slots_from_schema(tool.parameters), {"medium": ["regular"]})
    assert ex.extract("regular", focus="size").set == {"size": "medium"}
    assert ex.extract("regular", focus="crust").set == {"crust": "regular"}


@pytest.mark.parametrize("said", ["goodbye", "that's all", "bye"])
async def test_the_caller_saying_goodbye_ends_the_call(pizza_bot, records, said):
    c = Conversation(pizza_bot, records)
    assert (await c.say(said)).endswith("Goodbye!") and c.ended


async def test_goodbye_mid_order_ends_the_call_but_a_no_thanks_answer_does_not(pizza_bot, records):
    c = Conversation(pizza_bot, records)
    await c.say("a large pizza")
    assert "no thanks" not in await c.say("no thanks") and not c.ended  # to "which toppings?"
    assert (await c.say("okay bye")).endswith("Goodbye!") and c.ended
    assert await c.orders() == []
