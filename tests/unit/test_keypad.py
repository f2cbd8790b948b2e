"""The keypad aggregator in virtual time: menu keys are turns at once, numbers end with the end
key, a pause or the length limit, and the bot's latest line picks which keys mean what."""

from dataclasses import replace

import pytest

from tests.conftest import PIZZA
from voxline.bot import BotError, load_bot
from voxline.events import BotSaid
from voxline.keypad import Keyed, KeypadAggregator, KeypadSettings, keypad_settings
from voxline.transfer import KEYPAD_TEXT, asks_for_person

MENU = KeypadSettings(
    keys={"1": "I'd like to order", "0": KEYPAD_TEXT},
    states=(("zip code", {}), ("phone number", {"0": KEYPAD_TEXT})),
)


def keyed(agg: KeypadAggregator, keys: str, t: float = 0.0, step: float = 0.5) -> list:
    out = []
    for i, key in enumerate(keys):
        out.append(agg.press(key, t + i * step))
    return out


def test_a_menu_key_is_a_turn_at_once():
    agg = KeypadAggregator(MENU)
    assert agg.press("1", 0.0) == Keyed("I'd like to order", "1")
    assert agg.press("0", 1.0) == Keyed(KEYPAD_TEXT, "0")
    assert asks_for_person(agg.press("0", 2.0).text)


def test_a_number_ends_with_the_end_key():
    agg = KeypadAggregator(MENU)
    assert keyed(agg, "94110") == [None] * 5
    assert agg.pending == "94110"
    assert agg.press("#", 3.0) == Keyed("94110", "94110")
    assert agg.pending == "" and agg.press("#", 3.5) is None  # nothing keyed: no turn


def test_a_pause_ends_the_number():
    agg = KeypadAggregator(MENU)
    keyed(agg, "941", t=10.0)  # last key at 11.0
    assert agg.tick(13.9) is None
    assert agg.tick(14.0) == Keyed("941", "941")
    assert agg.tick(20.0) is None


def test_a_menu_key_inside_a_number_is_a_digit():
    agg = KeypadAggregator(MENU)
    assert keyed(agg, "510") == [None, None, None]  # 1 and 0 after the 5: digits
    assert agg.press("#", 2.0).text == "510"


def test_the_bots_line_picks_the_keys():
    agg = KeypadAggregator(MENU)
    agg.observe(BotSaid(1, "Sure. What is your zip code?"))
    assert keyed(agg, "10") == [None, None]  # the menu is off while it asks for the zip code
    assert agg.press("#", 1.0) == Keyed("10", "10")
    agg.observe(BotSaid(2, "And your phone number?"))
    assert agg.press("0", 2.0).text == KEYPAD_TEXT  # still a person, in that state
    assert agg.press("1", 3.0) is None  # 1 is part of the number there


def test_a_long_entry_ends_at_max_digits():
    agg = KeypadAggregator(replace(MENU, max_digits=4))
    assert keyed(agg, "5555") == [None, None, None, Keyed("5555", "5555")]


def test_a_bot_without_a_keypad_section_takes_numbers():
    agg = KeypadAggregator(keypad_settings(load_bot(PIZZA)))
    assert keyed(agg, "12") == [None, None]
    assert agg.press("#", 1.0).text == "12"


def test_the_bot_yaml_section():
    bot = load_bot(PIZZA)
    spec = {"keys": {"1": "menu please", 0: "transfer"}, "states": {"Zip Code": {}},
            "end": "*", "timeout_s": 2}  # fmt: skip
    settings = keypad_settings(replace(bot, spec={**bot.spec, "keypad": spec}))
    assert settings.keys == {"1": "menu please", "0": KEYPAD_TEXT}
    assert (settings.states, settings.end, settings.timeout_s) == ((("zip code", {}),), "*", 2.0)
    with pytest.raises(BotError, match="not a phone key"):
        keypad_settings(replace(bot, spec={**bot.spec, "keypad": {"keys": {"x": "no"}}}))
