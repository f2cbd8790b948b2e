"""The LLM agent against a real OpenAI-compatible HTTP server and the real pizza bot tool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_server import (
    MODEL,
    FakeOpenAI,
    Reply,
    disconnect,
    function_text,
    http_error,
    json_content,
    native_call,
    stall,
    text,
)
from voxline.agents.base import Turn
from voxline.agents.llm import (
    END_CALL,
    GOODBYE,
    AgentUnavailable,
    LlmAgent,
    LlmOptions,
    llm_agent_factory,
    llm_agent_from_settings,
)
from voxline.bot import Bot, load_bot
from voxline.config import Secret, Settings
from voxline.events import AgentEvent, EndCall, TextDelta, ToolCall, ToolResult
from voxline.history import History
from voxline.tools import ToolBox, ToolContext

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["tests.fakes.openai_fixtures"]

ORDER = {"size": "large", "toppings": ["ham", "pineapple"], "crust": "thin"}
FOLLOW_UP = "Your large ham and pineapple pizza on thin crust is ordered, 18 dollars and 49 cents."
MARKUP = ("<", ">", "{", "}", "function", "python_tag", "parameters")


class OrderBook:
    """Stands in for the records store: remembers what the tool stored."""

    def __init__(self, fail: bool = False) -> None:
        self.orders: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    async def add_order(self, call_id: str, tool: str, details: dict[str, Any]) -> int:
        if self.fail:
            raise ConnectionError("database is down")
        self.orders.append((call_id, tool, details))
        return len(self.orders)


@pytest.fixture(scope="module")
def bot() -> Bot:
    return load_bot(ROOT / "bots/pizza")


@pytest.fixture
def book() -> OrderBook:
    return OrderBook()


def make_turn(bot: Bot, book: Any, said: str = "A large ham and pineapple, thin crust.", **kw):
    history = History()
    history.user(said)
    ctx = ToolContext(call_id="call-1", orders=book, data=bot.data)
    return Turn(history=history, tools=ToolBox(list(bot.tools)), context=ctx, **kw)


def make_agent(client: AsyncOpenAI, bot: Bot, **options: Any) -> LlmAgent:
    opts = {"model": MODEL, "first_token_timeout": 3.0, "chunk_timeout": 3.0, **options}
    return LlmAgent(client, LlmOptions(**opts), prompt=bot.prompt)


async def collect(agent: LlmAgent, turn: Turn) -> list[AgentEvent]:
    return [event async for event in agent.reply(turn)]


def speech(events: list[AgentEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def assert_no_markup(events: list[AgentEvent]) -> None:
    for e in events:
        if isinstance(e, TextDelta):
            assert e.text and not any(m in e.text for m in MARKUP), e.text


FORMS = {
    "native": lambda c: native_call("process_pizza_order", ORDER, chunk_chars=c, arg_chunk=c),
    "function": lambda c: function_text(
        "process_pizza_order", ORDER, before="Great choice, placing it now. ", chunk_chars=c
    ),
    "json": lambda c: json_content("process_pizza_order", ORDER, chunk_chars=c),
    "python_tag": lambda c: json_content(
        "process_pizza_order", ORDER, key="arguments", python_tag=True, chunk_chars=c
    ),
}


@pytest.mark.parametrize("chunk_chars", [1, 5])
@pytest.mark.parametrize("form", list(FORMS))
async def test_each_tool_call_form_places_the_order(
    openai_server: FakeOpenAI, openai_client, bot, book, form: str, chunk_chars: int
) -> None:
    openai_server.push(FORMS[form](chunk_chars), text(FOLLOW_UP, chunk_chars=chunk_chars))
    turn = make_turn(bot, book)
    events = await collect(make_agent(openai_client, bot), turn)

    assert_no_markup(events)
    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(c.name, c.arguments) for c in calls] == [("process_pizza_order", ORDER)]
    assert calls[0].id and results[0].call == calls[0] and results[0].error is None
    assert results[0].result["order_id"] == 1
    assert results[0].result["price_spoken"] == "18 dollars and 49 cents"
    assert book.orders == [("call-1", "process_pizza_order", {**ORDER, "price": 18.49})]
    before = "Great choice, placing it now." if form == "function" else ""
    assert speech(events).split() == f"{before} {FOLLOW_UP}".split()
    assert events.index(calls[0]) < events.index(results[0])

    # The follow-up request carries the call and its result, ids matching.
    second = openai_server.requests[1].messages
    call_msg, result_msg = second[-2], second[-1]
    assert call_msg["tool_calls"][0]["id"] == result_msg["tool_call_id"] == calls[0].id
    assert json.loads(call_msg["tool_calls"][0]["function"]["arguments"]) == ORDER
    assert json.loads(result_msg["content"])["order_id"] == 1
    if before:  # what was said with the call is part of that assistant message
        assert call_msg["content"].strip() == before
    assert [m["role"] for m in turn.history.messages()] == ["user", "assistant", "tool"]


async def test_prompt_mode_sends_no_tools_and_renders_the_tool_json(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(function_text("process_pizza_order", ORDER), text(FOLLOW_UP))
    events = await collect(
        make_agent(openai_client, bot, tools_mode="prompt"), make_turn(bot, book)
    )
    assert speech(events) == FOLLOW_UP
    first = openai_server.requests[0]
    assert first.tools is None and "tool_choice" not in first.body
    system = first.messages[0]
    assert system["role"] == "system" and "{tool_json}" not in system["content"]
    assert '"name": "process_pizza_order"' in system["content"]
    assert '"enum": ["small", "medium", "large"]' in system["content"]


async def test_the_request_carries_history_tools_and_sampling(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(text("What size would you like?"))
    turn = make_turn(bot, book, said="Hi, a pizza please.")
    turn.history.system = "You sell pizza. Tools: {tool_json}"
    turn.history.assistant("Thanks for calling! What would you like?")
    turn.history.user("Pepperoni.")
    await collect(make_agent(openai_client, bot), turn)

    req = openai_server.requests[0]
    assert [m["role"] for m in req.messages] == ["system", "user", "assistant", "user"]
    assert req.messages[0]["content"].startswith('You sell pizza. Tools: {"name": "process_pizza')
    assert req.messages[-1]["content"] == "Pepperoni."
    assert req.tools == [*(t.schema() for t in bot.tools), END_CALL.schema()]
    assert req.params["tool_choice"] == "auto" and req.stream
    assert req.params["model"] == MODEL
    assert (req.params["temperature"], req.params["top_p"], req.params["max_tokens"]) == (
        0.7,
        0.9,
        300,
    )
    assert "frequency_penalty" not in req.params and "stop" not in req.params
    assert req.headers["authorization"] == "Bearer test-key"


async def test_the_model_hangs_up_with_its_goodbye(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(native_call("end_call", {}, text="Thanks for calling, goodbye!"))
    events = await collect(make_agent(openai_client, bot), make_turn(bot, book, said="Bye."))
    assert speech(events) == "Thanks for calling, goodbye!"
    assert isinstance(events[-1], EndCall)
    assert len(openai_server.requests) == 1  # no tool round after hanging up
    assert not any(isinstance(e, ToolResult) for e in events)


async def test_a_silent_hang_up_still_says_goodbye_in_prompt_mode(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(function_text("end_call", {}))
    agent = make_agent(openai_client, bot, tools_mode="prompt")
    events = await collect(agent, make_turn(bot, book, said="That's all, bye."))
    assert speech(events) == GOODBYE and isinstance(events[-1], EndCall)
    assert '"name": "end_call"' in openai_server.requests[0].messages[0]["content"]


@pytest.mark.parametrize(
    "bad",
    [
        native_call("process_pizza_order", {**ORDER, "size": "gigantic"}),
        native_call("process_pizza_order", '{"size": "large", "crust": '),
        function_text("process_pizza_order", "{'size': 'large'}"),
        native_call("order_a_car", {"model": "T"}),
    ],
)
async def test_invalid_calls_go_back_to_the_model_as_errors(
    openai_server: FakeOpenAI, openai_client, bot, book, bad: Reply
) -> None:
    openai_server.push(bad, text("Sorry, which size would you like?"))
    turn = make_turn(bot, book)
    events = await collect(make_agent(openai_client, bot), turn)

    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.error and result.result is None
    assert book.orders == []
    assert speech(events) == "Sorry, which size would you like?"
    sent_back = openai_server.requests[1].messages[-1]
    assert sent_back["role"] == "tool" and json.loads(sent_back["content"]) == {
        "error": result.error
    }


async def test_a_server_that_refuses_tools_gets_the_prompt_form(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    vllm = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser'
    openai_server.push(
        http_error(400, vllm), function_text("process_pizza_order", ORDER), text(FOLLOW_UP)
    )
    agent = make_agent(openai_client, bot)
    events = await collect(agent, make_turn(bot, book))
    assert speech(events) == FOLLOW_UP and len(book.orders) == 1
    assert [r.tools is None for r in openai_server.requests] == [False, True, True]
    openai_server.push(text("Anything else?"))
    await collect(agent, make_turn(bot, book))  # the agent remembers for the rest of the call
    assert openai_server.requests[-1].tools is None


async def test_other_bad_requests_are_not_retried(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(http_error(400, "messages: bad role"))
    with pytest.raises(AgentUnavailable, match="HTTP 400"):
        await collect(make_agent(openai_client, bot), make_turn(bot, book))
    assert len(openai_server.requests) == 1


async def test_a_failing_tool_handler_becomes_an_error_result(
    openai_server: FakeOpenAI, openai_client, bot
) -> None:
    openai_server.push(native_call("process_pizza_order", ORDER), text("Sorry, try again."))
    events = await collect(make_agent(openai_client, bot), make_turn(bot, OrderBook(fail=True)))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.error and "ConnectionError" in result.error
    assert speech(events) == "Sorry, try again."


async def test_first_words_arrive_before_the_sentence_is_generated(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    sentence = "Sure, what size would you like for your pizza: small, medium or large?"
    openai_server.push(text(sentence, chunk_chars=3, chunk_delay=0.03))
    agen = make_agent(openai_client, bot).reply(make_turn(bot, book))
    first = await anext(agen)
    sent_by_then = openai_server.requests[0].chunks_sent
    rest = [e async for e in agen]

    assert isinstance(first, TextDelta) and first.text == "Sur"
    assert sent_by_then < 5 and openai_server.requests[0].chunks_sent > 20
    assert speech([first, *rest]) == sentence


async def test_side_effect_tool_waits_for_the_turn_to_be_confirmed(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(native_call("process_pizza_order", ORDER), text(FOLLOW_UP))
    confirmed = asyncio.Event()
    turn = make_turn(bot, book, confirmed=confirmed.wait)
    events: list[AgentEvent] = []

    async def run() -> None:
        async for e in make_agent(openai_client, bot).reply(turn):
            events.append(e)

    task = asyncio.create_task(run())
    await openai_server.wait_for(lambda: any(isinstance(e, ToolCall) for e in events))
    await asyncio.sleep(0.2)
    assert book.orders == [] and not any(isinstance(e, ToolResult) for e in events)
    assert len(openai_server.requests) == 1
    confirmed.set()
    await asyncio.wait_for(task, 5)
    assert len(book.orders) == 1 and speech(events) == FOLLOW_UP


async def test_stopping_the_reply_closes_the_stream(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(text("word " * 200, chunk_chars=5, chunk_delay=0.02))
    agen = make_agent(openai_client, bot).reply(make_turn(bot, book))
    assert isinstance(await anext(agen), TextDelta)
    await agen.aclose()  # barge-in
    req = openai_server.requests[0]
    await openai_server.wait_for(lambda: req.cancelled, within=3)
    assert not req.finished and req.chunks_sent < 50


async def test_cancelling_the_task_closes_the_stream(
    openai_server: FakeOpenAI, openai_client, bot, book
) -> None:
    openai_server.push(text("word " * 200, chunk_chars=5, chunk_delay=0.02))
    got = asyncio.Event()

    async def consume() -> None:
        async for _ in make_agent(openai_client, bot).reply(make_turn(bot, book)):
            got.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await openai_server.wait_for(lambda: openai_server.requests[0].cancelled, within=3)


@pytest.mark.parametrize(
    ("failure", "match"),
    [
        (http_error(500), "HTTP 500"),
        (http_error(401), "HTTP 401"),
        (stall(after_chunks=0), "no reply within"),
        (text("Too late.", first_token_delay=2.0), "no reply within"),
        (stall(after_chunks=3), "stalled"),
        (disconnect(after_chunks=3), "APIConnectionError"),
    ],
)
async def test_model_failures_raise_agent_unavailable(
    openai_server: FakeOpenAI, openai_client, bot, book, failure: Reply, match: str
) -> None:
    openai_server.push(failure)
    agent = make_agent(openai_client, bot, first_token_timeout=0.5, chunk_timeout=0.5)
    with pytest.raises(AgentUnavailable, match=match) as err:
        await collect(agent, make_turn(bot, book))
    assert MODEL in str(err.value) and openai_server.base_url in str(err.value)
    assert "test-key" not in str(err.value)


async def test_unreachable_endpoint_raises_agent_unavailable(bot, book) -> None:
    server = FakeOpenAI().start()
    url = server.base_url
    server.stop()  # nothing listens on that port any more
    client = AsyncOpenAI(base_url=url, api_key="k", max_retries=0)
    with pytest.raises(AgentUnavailable, match="APIConnectionError"):
        await collect(make_agent(client, bot), make_turn(bot, book))
    with pytest.raises(AgentUnavailable):
        await make_agent(client, bot).check()
    await client.close()


async def test_tool_rounds_are_bounded(openai_server: FakeOpenAI, openai_client, bot) -> None:
    def always_call(body: dict[str, Any]) -> Reply:
        if body.get("tool_choice") == "none":
            return text("Let me get someone to help you.")
        return native_call("process_pizza_order", {**ORDER, "size": "gigantic"})

    openai_server.set_script(always_call)
    events = await collect(make_agent(openai_client, bot, max_tool_rounds=2), make_turn(bot, None))
    assert len(openai_server.requests) == 3
    assert [r.params["tool_choice"] for r in openai_server.requests] == ["auto", "auto", "none"]
    assert sum(isinstance(e, ToolResult) for e in events) == 2
    assert speech(events) == "Let me get someone to help you."


async def test_check_does_a_real_completion(openai_server: FakeOpenAI, openai_client, bot) -> None:
    openai_server.push(text("OK"))
    report = await make_agent(openai_client, bot).check()
    assert report.startswith(f"llm {MODEL} at {openai_server.base_url} (") and report.endswith(
        " ms)"
    )
    req = openai_server.requests[0]
    assert req.params["max_tokens"] == 1 and not req.stream
    openai_server.push(http_error(503))
    with pytest.raises(AgentUnavailable, match="HTTP 503"):
        await make_agent(openai_client, bot).check()


async def test_agent_from_settings_and_the_sdk_environment(
    openai_env: FakeOpenAI, bot, monkeypatch
) -> None:
    openai_env.push(text("OK"), text("OK"), text("OK"))
    agent = llm_agent_from_settings(Settings(), bot)  # OPENAI_BASE_URL / OPENAI_API_KEY
    assert agent.endpoint == openai_env.base_url and agent.options.model == MODEL
    await agent.check()
    assert openai_env.requests[-1].headers["authorization"] == "Bearer test-key"

    settings = Settings(
        llm_model="my-model", llm_base_url=openai_env.base_url, llm_api_key=Secret("s3cret")
    )
    env = {"VOXLINE_LLM_TEMPERATURE": "0.2", "VOXLINE_LLM_TOOLS_MODE": "prompt"}
    agent = llm_agent_from_settings(settings, bot, env=env)
    assert (agent.options.temperature, agent.options.tools_mode) == (0.2, "prompt")
    assert "my-model" in await agent.check()
    assert openai_env.requests[-1].headers["authorization"] == "Bearer s3cret"
    assert "s3cret" not in repr(settings)

    monkeypatch.delenv("OPENAI_API_KEY")
    agent = llm_agent_from_settings(Settings(llm_base_url=openai_env.base_url), bot)
    await agent.check()
    assert openai_env.requests[-1].headers["authorization"] == "Bearer not-needed"


async def test_the_factory_shares_one_client_across_calls(openai_env: FakeOpenAI, bot) -> None:
    openai_env.push(text("One."), text("Two."))
    make = llm_agent_factory(Settings(), bot)
    first, second = make(), make()
    assert first is not second and first._client is second._client
    assert speech(await collect(first, make_turn(bot, OrderBook()))) == "One."
    assert speech(await collect(second, make_turn(bot, OrderBook()))) == "Two."
