# ruff: noqa: F811  (the bot fixture is imported from test_llm_agent)
"""The LLM path reads back, confirms, amends and cancels through the pizza bot's tools, against
the OpenAI-compatible test server and a real records store; and the offline form agent carries
on from an order the LLM placed (it is the LLM's fallback)."""

from __future__ import annotations

import json

import pytest

from tests.fakes.openai_server import FakeOpenAI, function_text, native_call, text
from tests.integration.test_llm_agent import bot, collect, make_agent, speech  # noqa: F401
from voxline.agents.base import Turn
from voxline.events import ToolCall, ToolResult
from voxline.history import History
from voxline.records_sqlite import SqliteRecords
from voxline.testbench.conversation import Conversation
from voxline.tools import ToolBox, ToolContext

pytest_plugins = ["tests.fakes.openai_fixtures"]

ORDER = {"size": "large", "toppings": ["ham", "pineapple"], "crust": "thin"}
MEDIUM = {**ORDER, "size": "medium"}


@pytest.fixture
async def records(tmp_path):
    store = SqliteRecords(tmp_path / "r.sqlite3")
    yield store
    await store.close()


class Caller:
    """One call's history; each line is a turn of the LLM agent over the real tools."""

    def __init__(self, agent, bot, records) -> None:
        self.agent, self.bot, self.records = agent, bot, records
        self.history = History()

    async def say(self, line: str) -> tuple[str, list]:
        self.history.user(line)
        ctx = ToolContext("CA-llm", self.records, self.bot.data)
        events = await collect(self.agent, Turn(self.history, ToolBox(list(self.bot.tools)), ctx))
        for e in events:
            if isinstance(e, ToolResult):
                assert e.error is None, e.error
        said = speech(events)
        self.history.assistant(said)
        return said, [e for e in events if isinstance(e, ToolCall)]

    async def orders(self) -> list[tuple[dict, str]]:
        return [(o["details"], o["status"]) for o in await self.records.orders("CA-llm")]


async def place(openai_server: FakeOpenAI, caller: Caller) -> None:
    openai_server.push(
        native_call("quote_pizza_order", ORDER),
        text("That's a large ham and pineapple on thin crust, 18 dollars 49. Shall I place it?"),
    )
    said, calls = await caller.say("A large ham and pineapple, thin crust.")
    assert [c.name for c in calls] == ["quote_pizza_order"] and "18 dollars 49" in said
    assert await caller.orders() == []  # read back, not placed
    openai_server.push(native_call("process_pizza_order", ORDER), text("Done! Anything else?"))
    await caller.say("Yes please.")
    assert await caller.orders() == [({**ORDER, "price": 18.49}, "placed")]


async def test_the_prompt_and_tools_offer_read_back_amend_and_cancel(
    openai_server: FakeOpenAI,
    openai_client,
    bot,
    records,
):
    caller = Caller(make_agent(openai_client, bot), bot, records)
    await place(openai_server, caller)
    request = openai_server.requests[0]
    names = [t["function"]["name"] for t in request.tools]
    assert names == [
        "process_pizza_order", "quote_pizza_order", "update_order", "cancel_order", "end_call",
    ]  # fmt: skip
    system = request.messages[0]["content"]
    for rule in ("quote_pizza_order", "Only after the caller says yes", "update_order",
                 "cancel_order", "read the order back"):  # fmt: skip
        assert rule in system, rule
    # the quote's price reached the model before it spoke
    quote = json.loads(openai_server.requests[1].messages[-1]["content"])
    assert quote["price_spoken"] == "18 dollars and 49 cents"


async def test_an_amend_after_placing_updates_the_one_order(
    openai_server: FakeOpenAI,
    openai_client,
    bot,
    records,
):
    caller = Caller(make_agent(openai_client, bot), bot, records)
    await place(openai_server, caller)
    openai_server.push(text("So a medium ham and pineapple on thin crust, 15 dollars 49. Okay?"))
    await caller.say("No, no, actually, make it a medium.")
    openai_server.push(
        native_call("update_order", {"order_id": 1, **MEDIUM}), text("Changed. Anything else?")
    )
    _, calls = await caller.say("Yes.")
    assert [c.name for c in calls] == ["update_order"]
    assert await caller.orders() == [({**MEDIUM, "price": 15.49}, "placed")]


async def test_an_update_without_an_order_id_changes_this_calls_order(
    openai_server: FakeOpenAI,
    openai_client,
    bot,
    records,
):
    caller = Caller(make_agent(openai_client, bot, tools_mode="prompt"), bot, records)
    await place(openai_server, caller)
    more = {**ORDER, "more_pizzas": [{"size": "small", "toppings": ["bacon"], "crust": "thick"}]}
    openai_server.push(function_text("update_order", more), text("Added. Anything else?"))
    await caller.say("And a small bacon pizza on thick crust too.")
    [(details, status)] = await caller.orders()
    assert status == "placed" and details["more_pizzas"] == more["more_pizzas"]
    assert details["price"] == 31.23  # 18.49 + a small (9.99) bacon (1.75) on thick (1.00)


async def test_a_cancel_after_placing_marks_the_order_cancelled(
    openai_server: FakeOpenAI,
    openai_client,
    bot,
    records,
):
    caller = Caller(make_agent(openai_client, bot), bot, records)
    await place(openai_server, caller)
    openai_server.push(text("Do you want me to cancel your order?"))
    await caller.say("Please cancel my order.")
    openai_server.push(native_call("cancel_order", {}), text("It's cancelled. Anything else?"))
    await caller.say("Yes, cancel it.")
    assert await caller.orders() == [({**ORDER, "price": 18.49}, "cancelled")]


async def test_a_read_back_after_placing_comes_from_the_history(
    openai_server: FakeOpenAI,
    openai_client,
    bot,
    records,
):
    caller = Caller(make_agent(openai_client, bot), bot, records)
    await place(openai_server, caller)
    openai_server.push(text("You ordered a large ham and pineapple on thin crust, 18 dollars 49."))
    said, calls = await caller.say("Can you read my order back to me?")
    assert calls == [] and "18 dollars 49" in said
    sent = openai_server.requests[-1].messages
    results = [json.loads(m["content"]) for m in sent if m["role"] == "tool"]
    assert any(r.get("summary", "").startswith("a large ham and pineapple") for r in results)
    assert await caller.orders() == [({**ORDER, "price": 18.49}, "placed")]


async def test_the_form_agent_changes_an_order_the_llm_placed(
    openai_server: FakeOpenAI,
    openai_client,
    bot,
    records,
):
    caller = Caller(make_agent(openai_client, bot), bot, records)
    await place(openai_server, caller)
    form = Conversation(bot, records, call_id="CA-llm")  # the LLM is down: same history
    form.history = caller.history
    reply = await form.say("Actually, can you change that to a thick crust instead?")
    assert reply.startswith("So your order would be a large ham and pineapple pizza on thick")
    await form.say("yes")
    assert await caller.orders() == [({**ORDER, "crust": "thick", "price": 19.49}, "placed")]
