"""Backend faults on real phone calls: Twilio WebSocket, Riva ASR/TTS and an LLM (scripted test
servers on 127.0.0.1), the Voxline server in between.

Each fault hits call A while call B talks to the same server at the same time. For A the test
asserts what the caller heard (from the marks its far end echoed) and how soon after the end of
their speech (measured on the caller's side), that the call went on, and that the failure was
noted; for B, that its turns were answered normally with no failure at all.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import grpc
import pytest

from tests.conftest import RunningServer, nim_settings, serve_in_thread
from tests.fakes.openai_server import (
    FakeOpenAI,
    Reply,
    disconnect,
    http_error,
    native_call,
    stall,
    text,
)
from tests.fakes.riva_server import FakeRivaServer, speech
from voxline.app import create_app
from voxline.call import UNHEARD
from voxline.caller import CallResult, Line, SimulatedCaller
from voxline.events import BackendFailed, BotSaid, CallNote, TurnEnded
from voxline.reply_segments import FALLBACK, FALLBACK_AFTER_TOOL
from voxline.services import build_services

pytestmark = pytest.mark.e2e
GREETING = "Thanks for calling Voxline Pizza! What kind of pizza would you like today?"
A_SAYS = "Large pepperoni please"
B_SAYS = ["A medium cheese pizza please", "Regular crust"]
A_REPLY = "Sure thing, a large pepperoni. What crust would you like?"
B_REPLY = "Okay, a medium cheese. Which crust?"
BREAKER = {"breaker_failures": 2, "breaker_cooldown_s": 60.0}
BOUND_S = 3.0  # end of the caller's speech -> first audio of the fallback (target ~2 s)


def tone(text: str, rate: int) -> bytes:
    """The fake TTS voice: 12 ms of tone per character, so calls stay short."""
    return speech(max(0.1, 0.012 * len(text)), rate, freq=440.0, level=0.2)


def llm_for(a_replies: list[Reply]) -> Callable[[dict[str, Any]], Reply]:
    """B's turns are answered; A's requests take ``a_replies`` in order, then A_REPLY."""

    def reply(body: dict[str, Any]) -> Reply:
        said = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        if "medium" in said.lower() or "regular" in said.lower():
            return text(B_REPLY)
        return a_replies.pop(0) if a_replies else text(A_REPLY)

    return reply


@dataclass
class Stack:
    riva: FakeRivaServer
    llm: FakeOpenAI
    server: RunningServer
    notes: dict[str, list[CallNote]]

    def heard(self, result: CallResult) -> list[str]:
        """What the caller heard of each reply, in order (the greeting first)."""
        return [n.heard for n in self.notes[result.call_sid] if isinstance(n, TurnEnded)]

    def failures(self, result: CallResult) -> list[BackendFailed]:
        return [n for n in self.notes[result.call_sid] if isinstance(n, BackendFailed)]


@asynccontextmanager
async def stack(bot, tmp_path, llm_script, **over: Any) -> AsyncIterator[Stack]:
    async with FakeRivaServer([A_SAYS], sound=tone) as riva:
        with FakeOpenAI(llm_script) as llm:
            settings = nim_settings(
                tmp_path, riva.target, llm.base_url, tts_first_chunk_s=1.0, **over
            )
            services = await asyncio.to_thread(build_services, settings, bot)
            notes: dict[str, list[CallNote]] = defaultdict(list)
            services.observers.append(lambda call: notes[call.call_id].append)
            app = create_app(settings, bot, services)
            servers = serve_in_thread(app, settings)
            host, loop = await asyncio.to_thread(next, servers)
            server = RunningServer(f"http://{host}", f"ws://{host}/ws", settings, services, loop)
            try:
                yield Stack(riva, llm, server, notes)
            finally:
                await asyncio.to_thread(next, servers, None)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("condition not met in time")


async def two_calls(
    s: Stack, speak, a_lines: list[str], fault: Callable[[], None], b: bool = True
) -> tuple[CallResult, CallResult | None]:
    """B dials first and gets its own words; then the fault is armed and A dials."""
    b_task = None
    if b:
        b_caller = SimulatedCaller(s.server.ws_url, [Line(t, speak(t)) for t in B_SAYS], 1.0)
        b_task = asyncio.create_task(b_caller.run())
        await until(lambda: len(s.riva.asr_streams) == 1)
        s.riva.asr_streams[0].transcripts = B_SAYS
    fault()
    a_caller = SimulatedCaller(s.server.ws_url, [Line(t, speak(t)) for t in a_lines], 1.0)
    a = await a_caller.run()
    b_result = await b_task if b_task else None
    for result in (a, b_result):
        if result is not None:
            await asyncio.to_thread(s.server.ended, result.call_sid)
    return a, b_result


def assert_untouched(s: Stack, b: CallResult | None) -> None:
    assert b is not None
    assert s.heard(b) == [GREETING, B_REPLY, B_REPLY]
    assert s.failures(b) == []
    assert all(turn.audio for turn in b.turns)


def assert_fallback_in_time(a: CallResult, turn: int = 1) -> None:
    latency = a.turns[turn].latency
    assert latency is not None and latency < BOUND_S, latency


# --- ASR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            lambda r: r.fail(after_speech_s=0.4, code=grpc.StatusCode.INVALID_ARGUMENT),
            id="error",
        ),
        pytest.param(  # the connection drops and stays refused for a few reconnects
            lambda r: (r.fail(after_speech_s=0.4), r.fail(after_bytes=0, streams=8)),
            id="disconnect",
        ),
        pytest.param(lambda r: r.fail(after_speech_s=0.4, stall=True), id="stall"),
    ],
)
async def test_asr_fault_mid_utterance(pizza_bot, speak, tmp_path, fault) -> None:
    bot = replace(pizza_bot, form={})
    async with stack(bot, tmp_path, llm_for([])) as s:
        a, b = await two_calls(s, speak, [A_SAYS, A_SAYS], lambda: fault(s.riva))
    assert s.heard(a) == [GREETING, UNHEARD, A_REPLY]  # asked to repeat, then answered
    assert_fallback_in_time(a)
    assert {f.stage for f in s.failures(a)} == {"asr"}
    assert len(s.riva.asr_streams) >= 3  # B's, A's broken one, A's new one
    assert_untouched(s, b)


# --- LLM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param([http_error(500), http_error(500)], id="http-500"),  # the SDK retries once
        pytest.param([stall()], id="stall"),
    ],
)
async def test_llm_fault_before_the_first_token(
    pizza_bot, speak, tmp_path, monkeypatch, replies
) -> None:
    monkeypatch.setenv("VOXLINE_LLM_FIRST_TOKEN_TIMEOUT", "1.0")
    bot = replace(pizza_bot, form={})  # no form agent to take over: the apology
    async with stack(bot, tmp_path, llm_for(replies)) as s:
        a, b = await two_calls(s, speak, [A_SAYS, A_SAYS], lambda: None)
    assert s.heard(a) == [GREETING, FALLBACK, A_REPLY]
    assert_fallback_in_time(a)
    assert [f.stage for f in s.failures(a)] == ["agent"]
    assert_untouched(s, b)


async def test_llm_disconnect_mid_reply_is_not_replayed(pizza_bot, speak, tmp_path) -> None:
    cut = disconnect(after_chunks=6, text="Sure thing. A large pepperoni, coming right up.")
    async with stack(pizza_bot, tmp_path, llm_for([cut])) as s:
        a, b = await two_calls(s, speak, [A_SAYS, A_SAYS], lambda: None)
    # The first sentence was heard; the form agent does not start over; the apology follows.
    assert s.heard(a) == [GREETING, f"Sure thing. {FALLBACK}", A_REPLY]
    assert_fallback_in_time(a)
    assert [f.stage for f in s.failures(a)] == ["agent"]
    assert_untouched(s, b)


async def test_llm_failing_after_the_order_does_not_ask_again(pizza_bot, speak, tmp_path) -> None:
    order = native_call(
        "process_pizza_order", {"size": "large", "toppings": ["pepperoni"], "crust": "thin"}
    )
    script = llm_for([order, http_error(500), http_error(500)])  # the follow-up round fails
    async with stack(pizza_bot, tmp_path, script) as s:
        a, _ = await two_calls(s, speak, [A_SAYS], lambda: None, b=False)
        orders = await asyncio.to_thread(
            s.server.records, s.server.services.records.orders(a.call_sid)
        )
    assert s.heard(a) == [GREETING, FALLBACK_AFTER_TOOL]  # not "say that again": one order
    assert len(orders) == 1 and orders[0]["details"]["size"] == "large"
    assert [f.stage for f in s.failures(a)] == ["agent"]


async def test_llm_down_the_form_agent_takes_the_order(pizza_bot, speak, tmp_path) -> None:
    async with stack(pizza_bot, tmp_path, lambda body: http_error(500), **BREAKER) as s:
        lines = [A_SAYS, "Thin crust", "Yes please", "No thanks, that's all"]
        s.riva.transcripts = lines
        a, _ = await two_calls(s, speak, lines, lambda: None, b=False)
        orders = await asyncio.to_thread(
            s.server.records, s.server.services.records.orders(a.call_sid)
        )
    heard = [h for h in s.heard(a) if h]  # an early reply cancelled unheard says nothing
    assert heard[1].startswith("Got it, a large pepperoni pizza. Which crust would you like:")
    assert heard[2].startswith("So that's a large pepperoni pizza on thin crust, 17 dollars")
    assert heard[3].startswith("Great, I've placed your order for a large pepperoni pizza on thin")
    assert "Goodbye" in heard[-1] and a.closed_by_server  # the form agent ended the call
    assert [o["details"]["crust"] for o in orders] == ["thin"]
    assert_fallback_in_time(a)
    # Two failed turns (the SDK retries each once) opened the breaker: the third made no request.
    assert len(s.llm.requests) == 4
    assert [f.stage for f in s.failures(a)] == ["agent", "agent"]


# --- TTS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "calls"), [pytest.param("error", 2, id="error"), pytest.param("stall", 1, id="stall")]
)
async def test_tts_fault_the_backup_voice_speaks(pizza_bot, speak, tmp_path, mode, calls) -> None:
    bot = replace(pizza_bot, form={})
    async with stack(bot, tmp_path, llm_for([])) as s:
        fault = lambda: s.riva.tts_fail(mode, calls=calls, match="Sure thing")  # noqa: E731
        a, b = await two_calls(s, speak, [A_SAYS, A_SAYS], fault)
    assert s.heard(a) == [GREETING, A_REPLY, A_REPLY]  # all of it, the first clause by piper
    assert_fallback_in_time(a)
    assert [f.stage for f in s.failures(a)] == ["tts"] * calls
    spoken = [c.requests[0].text for c in s.riva.tts_calls if c.requests]
    assert spoken.count("Sure thing,") == calls + 1  # the failed attempts, then turn 2 remotely
    assert_untouched(s, b)


async def test_tts_down_for_good_the_breaker_opens(pizza_bot, speak, tmp_path) -> None:
    from voxline.speech.whisper import WhisperEngine

    bot = replace(pizza_bot, form={})
    async with stack(bot, tmp_path, llm_for([])) as s:
        a, b = await two_calls(s, speak, [A_SAYS], lambda: s.riva.tts_fail("error", calls=1000))
    assert b is not None
    for result in (a, b):  # both calls go on, every reply spoken by the embedded voice
        assert all(turn.audio for turn in result.turns)
        assert s.heard(result)[0] == GREETING
    segments = sum(isinstance(n, BotSaid) for notes in s.notes.values() for n in notes)
    assert len(s.riva.tts_calls) <= 8 < segments  # the breaker kept most segments off Riva
    engine = await asyncio.to_thread(WhisperEngine, None, 1)
    words = await asyncio.to_thread(engine.transcribe, bytes(a.turns[0].audio), 8000)
    assert "pizza" in words.lower()  # the caller heard words, not the fake's tone
