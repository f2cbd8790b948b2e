"""What counts as asking for a person, where a bot's transfer number comes from, and the
``<Dial>`` TwiML the live call is updated with."""

from dataclasses import replace

import pytest

from tests.conftest import PIZZA
from voxline.bot import BotError, load_bot
from voxline.transfer import KEYPAD_TEXT, asks_for_person, transfer_settings
from voxline.transports.twilio_calls import dial_twiml

BOT = load_bot(PIZZA)


@pytest.mark.parametrize(
    "text",
    ["Can I talk to someone?", "agent", "Representative!", "operator please",
     "I want to speak to a real person", "let me speak with someone", KEYPAD_TEXT],
)  # fmt: skip
def test_requests_for_a_person(text):
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text", ["a large pepperoni pizza", "are you open on sundays", "someone told me", "agents"]
)
def test_other_lines_are_not(text):
    assert not asks_for_person(text)


def with_transfer(**section):
    return replace(BOT, spec={**BOT.spec, "transfer": section})


def test_the_number_may_come_from_the_environment():
    bot = with_transfer(number="${SUPPORT_LINE}", say="One moment.")
    settings = transfer_settings(bot, {"SUPPORT_LINE": "+15550002222"})
    assert (settings.number, settings.say) == ("+15550002222", "One moment.")
    assert transfer_settings(bot, {}) is None  # unset: no transfers, a warning
    assert transfer_settings(with_transfer(number="+15550003333"), {}).number == "+15550003333"
    assert transfer_settings(BOT) is None
    with pytest.raises(BotError, match="needs a number"):
        transfer_settings(with_transfer(say="hi"))


def test_custom_phrases():
    settings = transfer_settings(with_transfer(number="+1555", phrases=["the manager"]), {})
    assert asks_for_person("get me the manager", settings.phrases)
    assert not asks_for_person("operator", settings.phrases)


def test_dial_twiml():
    assert dial_twiml("+15551234567").endswith(
        "<Response><Dial><Number>+15551234567</Number></Dial></Response>"
    )
