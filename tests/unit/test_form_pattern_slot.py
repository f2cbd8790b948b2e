"""A string slot with a ``pattern`` (a zip code): filled from keypad digits (a user turn of
digits), from spoken digits, and from what whisper made of spoken digits; never from a number
that does not fit."""

import json
from pathlib import Path

import pytest

from voxline.bot import load_bot
from voxline.records_sqlite import SqliteRecords
from voxline.testbench.conversation import Conversation

DATA = Path(__file__).parents[1] / "data"
BOT = load_bot(DATA / "bots" / "delivery")
HEARD = json.loads((DATA / "misheard.json").read_text())["zip"]


@pytest.fixture
async def talk(tmp_path):
    store = SqliteRecords(tmp_path / "r.sqlite3")
    yield Conversation(BOT, store)
    await store.close()


async def place(talk: Conversation, zip_answer: str) -> list[dict]:
    assert await talk.say("I'd like a delivery") == "Sure. What is your zip code?"
    reply = await talk.say(zip_answer)
    assert reply.endswith("Morning, afternoon or evening?"), reply
    reply = await talk.say("evening")
    assert reply.endswith("Shall I place the order?")
    await talk.say("yes")
    return await talk.orders()


@pytest.mark.parametrize(
    "answer",
    ["94110", "nine four one one oh", "nine four one one zero", "it's 9 4 1 1 0", "941-10"],
)
async def test_keypad_and_spoken_digits_fill_the_zip_code(talk, answer):
    assert await place(talk, answer) == [{"zip_code": "94110", "window": "evening"}]


@pytest.mark.parametrize(
    ("line", "voice"),
    [(line, voice) for line, by in HEARD.items() for voice in by if "one one" in line],
)
async def test_what_whisper_heard_of_spoken_digits(talk, line, voice):
    heard = HEARD[line][voice]
    await talk.say("I'd like a delivery")
    reply = await talk.say(heard)
    if talk.draft() and "zip_code" in talk.draft()[0]:
        assert talk.draft()[0]["zip_code"] == "94110", heard
    else:  # "941-100": six digits, not a zip code: asked again, nothing guessed
        assert reply.endswith("What is your zip code?"), (heard, reply)


async def test_a_number_that_does_not_fit_is_asked_again(talk):
    await talk.say("I'd like a delivery")
    assert (await talk.say("one two three")).endswith("What is your zip code?")
    assert talk.draft() == []


async def test_a_zip_code_said_unasked_is_taken_when_named(talk):
    reply = await talk.say("a morning delivery, my zip code is 10001")
    assert reply.endswith("Shall I place the order?")
    assert talk.draft() == [{"zip_code": "10001", "window": "morning"}]


async def test_digits_are_not_a_zip_code_when_nobody_asked(talk):
    reply = await talk.say("I have 2 dogs and 10001 questions, and an evening delivery please")
    assert reply.endswith("What is your zip code?")
    assert talk.draft() == [{"window": "evening"}]
