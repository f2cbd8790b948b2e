"""Transfer to a person over a real Twilio media stream: the caller asks for someone (or the
LLM calls ``transfer_call``), the bot says its line, and only once the far end has played it
(its mark echoed) is the live call updated with ``<Dial>NUMBER</Dial>`` on the Twilio REST test
server. The call's record ends "transferred" with the number."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from tests.fakes.openai_server import MODEL, FakeOpenAI, native_call, text
from tests.fakes.riva_server import speech
from tests.fakes.scripted_stack import ScriptedStack
from tests.fakes.twilio_api import FakeTwilioApi
from voxline.testbench.far_end import TICK_S, FarEnd

ACCOUNT = "AC" + "5" * 32
NUMBER = "+15550001111"
SAY = "Let me put you through."
DIAL = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f"<Response><Dial><Number>{NUMBER}</Number></Dial></Response>"
)


def transfer_bot(bot, **spec):
    section = {"number": NUMBER, "say": SAY, **spec}
    return replace(bot, greeting="Hi!", spec={**bot.spec, "transfer": section})


def stack(bot, tmp, transcripts, api, **over) -> ScriptedStack:
    return ScriptedStack(
        bot, tmp, transcripts, twilio_account_sid=ACCOUNT, twilio_api_key="SK" + "6" * 32,
        twilio_api_secret="transfer-secret", twilio_api_url=api.url, recordings=False, **over,
    )  # fmt: skip


async def quiet(far: FarEnd, within: float = 15.0) -> None:
    """Until the bot has said something and all of it has played."""
    deadline = time.monotonic() + within
    while not (far.timeline.marks and not far.playing) or far._marks:
        assert time.monotonic() < deadline, "the bot did not finish speaking"
        await far.next_tick()


async def ask_and_wait(url: str, keys: str = "") -> tuple[FarEnd, float]:
    """Greeting, then the caller speaks (or keys ``keys``); returns once the server closed the
    stream, with the wall time of the far end's first tick."""
    async with FarEnd(url) as far:
        t0 = time.monotonic()
        await quiet(far)
        if keys:
            for key in keys:
                await far.dtmf(key)
        else:
            await far.say(speech(1.0, 8000))
        deadline = time.monotonic() + 20
        while far.timeline.closed_by_server is None:
            assert time.monotonic() < deadline, "the server did not end the call"
            await far.next_tick()
    return far, t0


def check_transfer(s: ScriptedStack, api: FakeTwilioApi, far: FarEnd, t0: float) -> None:
    [update] = api.wait(1)
    assert (update.account, update.call) == (ACCOUNT, far.call_sid)
    assert update.form == {"Twiml": DIAL}
    # Sent after the bot's line had played out at the far end (its last tick of audio).
    assert update.at >= t0 + (far.timeline.last_heard + 1) * TICK_S - 0.05
    assert far.timeline.unplayed_at_close == 0
    record = s.server.ended(far.call_sid)
    assert record["outcome"] == "transferred"
    assert record["parameters"]["transferred_to"] == NUMBER
    turns = s.server.records(s.services.records.turns(far.call_sid))
    assert [t["text"] for t in turns if t["role"] == "assistant"][-1].endswith(SAY)


@pytest.mark.e2e
def test_the_caller_asks_for_a_person_and_is_put_through(pizza_bot, tmp_path):
    asks = ["can I talk to someone please"]
    with FakeTwilioApi() as api, stack(transfer_bot(pizza_bot), tmp_path, asks, api) as s:
        far, t0 = asyncio.run(ask_and_wait(s.server.ws_url))
        check_transfer(s, api, far, t0)


@pytest.mark.e2e
def test_the_llm_transfers_with_its_tool(pizza_bot, tmp_path):
    script = [native_call("transfer_call", {"reason": "upset caller"}), text("unused")]
    with (
        FakeTwilioApi() as api,
        FakeOpenAI(script) as llm,
        stack(
            transfer_bot(pizza_bot), tmp_path, ["this is the third time my order is wrong"], api,
            agent="llm", llm_base_url=llm.base_url, llm_model=MODEL, llm_api_key="k",
        ) as s,
    ):  # fmt: skip
        far, t0 = asyncio.run(ask_and_wait(s.server.ws_url))
        check_transfer(s, api, far, t0)
        offered = [t["function"]["name"] for t in llm.requests[0].tools]
        assert "transfer_call" in offered
        assert len(llm.requests) == 1  # nothing asked of the model after it handed over


@pytest.mark.e2e
def test_a_refused_transfer_is_recorded_and_the_call_hung_up(pizza_bot, tmp_path):
    with FakeTwilioApi() as api, stack(transfer_bot(pizza_bot), tmp_path, ["operator"], api) as s:
        api.status = 404
        far, _ = asyncio.run(ask_and_wait(s.server.ws_url))
        record = s.server.ended(far.call_sid)
        requests = api.wait(2)
    assert record["outcome"] == "transfer failed"
    assert [r.form for r in requests] == [{"Twiml": DIAL}, {"Status": "completed"}]


@pytest.mark.e2e
def test_keypad_0_puts_the_caller_through(pizza_bot, tmp_path):
    bot = transfer_bot(pizza_bot)
    bot = replace(bot, spec={**bot.spec, "keypad": {"keys": {"0": "transfer"}}})
    with FakeTwilioApi() as api, stack(bot, tmp_path, ["unused"], api) as s:
        far, t0 = asyncio.run(ask_and_wait(s.server.ws_url, keys="0"))
        check_transfer(s, api, far, t0)
        turns = s.server.records(s.services.records.turns(far.call_sid))
    assert [t["text"] for t in turns if t["role"] == "user"] == ["I'd like to talk to a person"]
