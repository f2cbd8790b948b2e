"""A phone call on the production stack: Riva ASR/TTS over gRPC and an LLM over the OpenAI API,
both scripted test servers on 127.0.0.1, with the real Twilio protocol in between."""

import asyncio

import pytest

from tests.conftest import nim_settings, served
from tests.fakes.openai_server import FakeOpenAI, native_call, text
from tests.fakes.riva_server import FakeRivaServer
from voxline.caller import Line, SimulatedCaller
from voxline.services import build_services

pytestmark = pytest.mark.e2e
ORDER = {"size": "large", "toppings": ["pepperoni"], "crust": "thin"}
SAID = ["I'd like a large pepperoni pizza", "thin crust"]


def llm_script():
    return [
        text("Sure thing, a large pepperoni. What crust would you like?"),
        native_call("process_pizza_order", ORDER),
        text("Done! Your large pepperoni pizza on thin crust comes to 17 dollars 49."),
    ]


async def call_nim_stack(pizza_bot, speak, tmp_path, fail_after_s: float | None):
    async with FakeRivaServer(SAID) as riva:
        if fail_after_s is not None:
            riva.fail(after_seconds=fail_after_s)
        with FakeOpenAI(llm_script()) as llm:
            settings = nim_settings(tmp_path, riva.target, llm.base_url)
            services = await asyncio.to_thread(build_services, settings, pizza_bot)
            async with served(settings, pizza_bot, services) as server:
                lines = [Line(s, speak(s)) for s in SAID]
                result = await SimulatedCaller(server.ws_url, lines, idle_s=2.0).run()
                await asyncio.to_thread(server.ended, result.call_sid)
                orders = await asyncio.to_thread(
                    server.records, services.records.orders(result.call_sid)
                )
            return result, orders, riva, llm


async def test_order_by_tool_call_on_riva_and_an_llm(pizza_bot, speak, tmp_path):
    result, orders, riva, llm = await call_nim_stack(pizza_bot, speak, tmp_path, None)
    assert [o["details"] for o in orders] == [{**ORDER, "price": 17.49}]
    # Twilio audio went to Riva as mu-law at 8 kHz, with the bot's endpointing.
    config = riva.asr_streams[0].config.config
    assert (config.encoding, config.sample_rate_hertz) == (3, 8000)  # MULAW
    assert config.endpointing_config.stop_history == 800
    # The tool result went back to the model, and its follow-up was spoken.
    follow_up = llm.requests[2].messages
    assert follow_up[-1]["role"] == "tool" and '"price": 17.49' in follow_up[-1]["content"]
    assert all(turn.audio for turn in result.turns)
    assert any("Done!" in r.text for call in riva.tts_calls for r in call.requests)


async def test_a_riva_stream_failure_mid_call_recovers(pizza_bot, speak, tmp_path):
    result, orders, riva, _ = await call_nim_stack(pizza_bot, speak, tmp_path, 5.0)
    assert len(riva.asr_streams) >= 2  # the recognizer reconnected
    assert [o["details"] for o in orders] == [{**ORDER, "price": 17.49}]
    assert len(result.turns) == 3 and all(turn.audio for turn in result.turns)
