"""A phone call over the Twilio protocol where the caller only uses the keypad: 1 chooses the
menu option, then the zip code is keyed and ended with #; the digits go to the form agent as
the caller's turns, and a key pressed over the bot's speech stops it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fakes.scripted_stack import ScriptedStack
from voxline.bot import load_bot
from voxline.testbench.far_end import FarEnd

DELIVERY = Path(__file__).parents[1] / "data" / "bots" / "delivery"
KEYPAD = {
    "keys": {"1": "I'd like a delivery", "0": "transfer"},
    "states": {"zip code": {}},
    "timeout_s": 3,
}


async def replied(far: FarEnd, marks_before: int, within: float = 15.0) -> None:
    """Until a new reply has been heard to its end (quiet for half a second)."""
    deadline, quiet = time.monotonic() + within, 0
    while quiet < 25:
        assert time.monotonic() < deadline, "no reply was heard"
        await far.next_tick()
        done = len(far.timeline.marks) > marks_before and not far.playing and not far._marks
        quiet = quiet + 1 if done else 0


async def keyed_call(url: str) -> FarEnd:
    async with FarEnd(url) as far:
        while not far.playing:  # the greeting is playing: a key stops it
            await far.next_tick()
        await far.dtmf("1")
        await replied(far, 0)
        assert far.timeline.clears, "the key did not stop the greeting"
        for key in "94110#":
            await far.dtmf(key)
            await far.next_tick()
        await replied(far, len(far.timeline.marks))
    return far


@pytest.mark.e2e
def test_keypad_chooses_the_option_and_enters_the_zip_code(tmp_path):
    bot = load_bot(DELIVERY)
    bot = replace(bot, spec={**bot.spec, "keypad": KEYPAD})
    with ScriptedStack(bot, tmp_path, ["unused"], recordings=False) as s:
        far = asyncio.run(keyed_call(s.server.ws_url))
        s.server.ended(far.call_sid)
        turns = s.server.records(s.services.records.turns(far.call_sid))
    said = [(t["role"], t["text"]) for t in turns]
    users = [text for role, text in said if role == "user"]
    assert users[:2] == ["I'd like a delivery", "94110"]
    bot_lines = [text for role, text in said if role == "assistant"]
    # The greeting was cut by the key before its one sentence played: never heard.
    assert bot_lines[0] == "Sure. What is your zip code?"
    assert bot_lines[1].endswith("Morning, afternoon or evening?")
