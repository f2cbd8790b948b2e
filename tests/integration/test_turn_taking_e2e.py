"""Turn-taking over the Twilio protocol against the Riva-protocol test server, which emits
partial, interim (stability 1.0 after stop_history_eou) and final results from the audio it
receives. The offline form agent answers, so tool calls are real and deterministic."""

import asyncio
from dataclasses import replace

import pytest

from tests.conftest import make_settings, served
from tests.fakes.riva_server import FakeRivaServer
from voxline.caller import Line, SimulatedCaller
from voxline.services import build_services

pytestmark = pytest.mark.e2e


async def run_call(bot, speak, tmp_path, transcripts, lines, **turns):
    """One call; returns (caller result, orders, turns, riva server)."""
    # Turn-taking is under test, not the dialog: the order goes through without a read-back.
    bot = replace(bot, turns=replace(bot.turns, **turns), form={**bot.form, "confirm": False})
    async with FakeRivaServer(transcripts) as riva:
        settings = make_settings(
            tmp_path, asr="riva", tts="riva", riva_server=riva.target, agent="form"
        )
        services = await asyncio.to_thread(build_services, settings, bot)
        async with served(settings, bot, services) as server:
            result = await SimulatedCaller(server.ws_url, lines, idle_s=2.0).run()
            await asyncio.to_thread(server.ended, result.call_sid)
            records = services.records
            orders = await asyncio.to_thread(server.records, records.orders(result.call_sid))
            turns_ = await asyncio.to_thread(server.records, records.turns(result.call_sid))
        return result, [o["details"] for o in orders], turns_, riva


def line(speak, text, barge_after=None, pause_s=0.0, more=""):
    pcm = speak(text) + (bytes(int(16000 * pause_s)) + speak(more) if more else b"")
    return Line(f"{text} {more}".strip(), pcm, barge_after)


ORDER = "a large pepperoni pizza on thin crust"


async def test_interim_mode_replies_about_half_a_second_sooner(pizza_bot, speak, tmp_path):
    # No tool call in this reply (a side-effect tool would rightly wait for the final).
    said = "I'd like a large pizza."
    latencies = {}
    held = {"mode": "interim", "hold_playback_until_confirmed": True}
    variants = {
        "final": {"mode": "final", "hold_playback_until_confirmed": False},
        "interim": {"mode": "interim", "hold_playback_until_confirmed": False},
        # The safety option: think early, but speak only once the final confirms the turn ...
        "held": {**held, "release_after_ms": 0},
        # ... or once the words read as a whole sentence after 400 ms of silence.
        "released": {**held, "release_after_ms": 400},
    }
    for name, turns in variants.items():
        result, _, records, _ = await run_call(
            pizza_bot, speak, tmp_path / name, [said], [line(speak, said)], **turns
        )
        assert "toppings" in [t for t in records if t["role"] == "assistant"][-1]["text"]
        latencies[name] = result.turns[1].latency
    assert latencies["final"] - latencies["interim"] >= 0.4, latencies
    assert latencies["held"] - latencies["interim"] >= 0.4, latencies
    assert latencies["held"] - latencies["released"] >= 0.25, latencies


async def test_a_changed_final_retriggers_and_the_tool_waits_for_it(pizza_bot, speak, tmp_path):
    # The first pass hears pepperoni; the final says mushrooms. process_pizza_order has side
    # effects, so it must not run on the first pass: only the mushroom order may exist.
    said = "a large pepperoni pizza on thin crust|a large mushroom pizza on thin crust"
    _, orders, turns, _ = await run_call(
        pizza_bot, speak, tmp_path, [said], [line(speak, ORDER)], mode="interim"
    )
    assert orders == [{"size": "large", "toppings": ["mushrooms"], "crust": "thin", "price": 16.99}]
    users = [t for t in turns if t["role"] == "user"]
    assert users[-1]["text"] == "a large mushroom pizza on thin crust"
    assert users[0]["timings"]["outcome"] in ("cancelled", "replaced", "interrupted")
    # the first pass's words were taken back: the records say so (the bench's caller WER
    # counts only the turns that stood)
    assert [u["timings"].get("retracted", False) for u in users] == [True, False]


async def test_resumed_speech_cancels_the_early_reply(pizza_bot, speak, tmp_path):
    said = "a large pizza|a large pizza with ham on thick crust"
    caller_line = line(speak, "a large pizza", pause_s=0.5, more="with ham on thick crust")
    _, orders, _, _ = await run_call(
        pizza_bot, speak, tmp_path, [said], [caller_line], mode="interim"
    )
    assert orders == [{"size": "large", "toppings": ["ham"], "crust": "thick", "price": 18.49}]


async def test_a_released_reply_stops_when_the_caller_goes_on_and_the_whole_turn_counts(
    pizza_bot, speak, tmp_path
):
    """The first part reads as a whole sentence, so its reply is released 400 ms into the
    caller's pause (600 ms with the voice's own silences: under the final's 800); the caller
    goes on and the bot stops at once: one order, with ham, for the whole sentence."""
    said = "A large pizza.|A large pizza with ham on thick crust."
    caller_line = line(speak, "a large pizza", pause_s=0.5, more="with ham on thick crust")
    _, orders, turns, _ = await run_call(
        pizza_bot, speak, tmp_path, [said], [caller_line], mode="interim", release_after_ms=400
    )
    assert orders == [{"size": "large", "toppings": ["ham"], "crust": "thick", "price": 18.49}]
    users = [t for t in turns if t["role"] == "user"]
    assert users[0]["text"] == "A large pizza." and "released" in users[0]["timings"]
    assert users[0]["timings"]["outcome"] == "interrupted"
    assert [t["text"] for t in users[1:]] == ["A large pizza with ham on thick crust."]


async def test_mm_hmm_does_not_stop_the_bot_but_a_real_interruption_does(
    pizza_bot, speak, tmp_path
):
    transcripts = ["what toppings do you have", "mm-hmm", "what toppings do you have",
                   "wait, a small ham pizza please"]  # fmt: skip
    lines = [
        line(speak, "What toppings do you have?"),
        line(speak, "yeah", barge_after=1.0),
        line(speak, "What toppings do you have?"),
        line(speak, "wait, a small ham pizza please", barge_after=1.0),
    ]
    result, _, turns, _ = await run_call(pizza_bot, speak, tmp_path, transcripts, lines)
    bot = [t for t in turns if t["role"] == "assistant"]
    menus = [t for t in bot if t["text"].startswith("For toppings,")]
    assert len(menus) == 2
    assert not menus[0]["interrupted"] and "spinach" in menus[0]["text"]  # heard in full
    assert menus[1]["interrupted"] and "spinach" not in menus[1]["text"]
    users = [t["text"] for t in turns if t["role"] == "user"]
    assert "mm-hmm" not in users and users[-1] == "wait, a small ham pizza please"
    assert result.clears == 1  # the "yeah" ducked the bot: only the interruption cleared


async def test_words_over_the_bot_that_mean_nothing_never_stop_it(pizza_bot, speak, tmp_path):
    """A backchannel garbled twice ("Both of us.", "Both healthy.") stopped the bot; they mean
    nothing to the form, so the bot stays ducked and talks on, and their final is dropped."""
    transcripts = ["what toppings do you have", "both healthy"]
    lines = [
        line(speak, "What toppings do you have?"),
        line(speak, "both healthy", barge_after=1.0),
    ]
    result, _, turns, _ = await run_call(pizza_bot, speak, tmp_path, transcripts, lines)
    assert [t["text"] for t in turns if t["role"] == "user"] == transcripts[:1]
    menu = next(t for t in turns if t["role"] == "assistant" and "toppings" in t["text"])
    assert not menu["interrupted"] and "spinach" in menu["text"]  # heard in full
    assert result.clears == 0


async def test_long_words_that_cut_the_bot_off_and_mean_nothing_let_it_go_on(
    pizza_bot, speak, tmp_path
):
    """Ducked speech that goes on past ``interrupt_after_ms`` stops the bot before its words
    mean anything; when they never do, the bot says its cut sentence again and goes on, where
    it would have asked "Sorry, I didn't catch that"."""
    garble = "both healthy and then make sure of it all"
    transcripts = ["what toppings do you have", garble]
    lines = [line(speak, "What toppings do you have?"), line(speak, garble, barge_after=1.0)]
    result, _, turns, _ = await run_call(pizza_bot, speak, tmp_path, transcripts, lines)
    users = [t for t in turns if t["role"] == "user"]
    assert [t["text"] for t in users] == transcripts and users[-1]["timings"]["resumed"]
    bot = [t for t in turns if t["role"] == "assistant" and t["id"] > users[0]["id"]]
    # What was heard before the cut (the first clause, "For toppings,", if the audio ran dry
    # early; else nothing), then the rest from the cut sentence on: no "didn't catch that".
    *cut, gone_on = bot
    assert all(t["interrupted"] and "spinach" not in t["text"] for t in cut)
    assert not gone_on["interrupted"] and gone_on["id"] > users[-1]["id"]
    assert "spinach" in gone_on["text"] and "catch" not in gone_on["text"]
    assert gone_on["text"].endswith("small, medium or large?")
    assert result.clears == 1
