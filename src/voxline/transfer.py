"""Transfer to a person: the caller asks (or presses 0, or the LLM decides), the bot says its
line, and once the line has been heard the live phone call is redirected to ``<Dial>NUMBER``.

A bot opts in with ``transfer:`` in ``bot.yaml``::

    transfer:
      number: "+15551234567"          # or "${VOXLINE_TRANSFER_NUMBER}" from the environment
      say: "Let me put you through to a colleague."
      phrases: [...]                   # optional: what counts as asking for a person

The request is caught before the bot's agent (``TransferringAgent`` wraps it), so every agent
kind transfers the same way; an LLM also gets a ``transfer_call`` tool. The agent's reply ends
with a ``TransferCall`` event: the call treats it like a hang-up (the reply is spoken to its
last mark, then the call ends) and the Twilio transport updates the call with the ``<Dial>``
TwiML (``finish_transfer``) in place of completing it. This is a cold transfer: the caller is
dialled straight through to the number, with no summary for the colleague.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from voxline.agents.base import Agent, Turn
from voxline.bot import Bot, BotError
from voxline.events import AgentEvent, TextDelta, ToolCall, ToolResult, TransferCall
from voxline.tools import Tool, ToolBox, ToolContext
from voxline.transports.twilio_calls import TwilioCalls, dial_twiml

if TYPE_CHECKING:
    from voxline.call import Call
    from voxline.records import Records

log = logging.getLogger("voxline.transfer")
SAY = "Let me put you through to a colleague."
# What the keypad's "transfer" key puts in the conversation: it is one of the phrases below.
KEYPAD_TEXT = "I'd like to talk to a person"
PHRASES = (
    "talk to someone", "speak to someone", "talk with someone", "speak with someone",
    "talk to a person", "speak to a person", "talk to a human", "speak to a human",
    "talk to somebody", "speak to somebody", "real person", "live person", "a human being",
    "agent", "representative", "operator", "customer service", "a colleague",
)  # fmt: skip
_ENV_REF = re.compile(r"^\$\{?(\w+)\}?$")


@dataclass(frozen=True)
class TransferSettings:
    number: str
    say: str = SAY
    phrases: tuple[str, ...] = PHRASES


def transfer_settings(bot: Bot, env: Mapping[str, str] | None = None) -> TransferSettings | None:
    """The bot's ``transfer:`` section, None when it has none (or its number's environment
    variable is unset: then transfers are off, with a warning)."""
    spec = bot.spec.get("transfer")
    if not spec:
        return None
    where = f"{bot.path / 'bot.yaml'}: transfer"
    if not isinstance(spec, dict) or not spec.get("number"):
        raise BotError(f"{where}: needs a number")
    number = str(spec["number"]).strip()
    if ref := _ENV_REF.match(number):
        number = (os.environ if env is None else env).get(ref[1], "").strip()
        if not number:
            log.warning("%s: %s is not set, so the bot cannot transfer calls", where, ref[1])
            return None
    phrases = tuple(str(p).lower() for p in spec.get("phrases") or PHRASES)
    return TransferSettings(number, str(spec.get("say") or SAY), phrases)


def asks_for_person(text: str, phrases: tuple[str, ...] = PHRASES) -> bool:
    """Whether the caller's words ask for a person ("can I talk to someone", "agent")."""
    words = " " + re.sub(r"[^a-z0-9']+", " ", text.lower()).strip() + " "
    if KEYPAD_TEXT.lower() in text.lower():
        return True
    return any(f" {p} " in words for p in phrases)


def _transfer_tool(ctx: ToolContext) -> str:
    return "the caller is put through to a colleague after your line"


TRANSFER_TOOL = Tool(
    "transfer_call",
    "Put the caller through to a person (a human colleague). Call it when the caller asks for "
    "a person or when you cannot help them.",
    {"type": "object", "properties": {"reason": {"type": "string"}}},
    _transfer_tool,
)


class TransferringAgent:
    """The bot's agent, with caller requests for a person and its ``transfer_call`` tool
    turned into the bot's transfer line and a ``TransferCall``."""

    def __init__(self, inner: Agent, settings: TransferSettings) -> None:
        self.inner = inner
        self.settings = settings
        self.name = inner.name

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        if asks_for_person(turn.text, self.settings.phrases):
            log.info("the caller asked for a person: transfer to %s", self.settings.number)
            yield TextDelta(self.settings.say)
            yield TransferCall(self.settings.number, "the caller asked")
            return
        tools = ToolBox([*turn.tools, TRANSFER_TOOL])
        async with aclosing(self.inner.reply(replace(turn, tools=tools))) as events:
            async for event in events:
                named = isinstance(event, ToolCall | ToolResult)
                call = event.call if isinstance(event, ToolResult) else event
                if named and getattr(call, "name", "") == TRANSFER_TOOL.name:
                    if isinstance(event, ToolResult):
                        break  # the agent handed over: it says nothing more
                    continue
                yield event
            else:
                return
        log.info("the agent transferred the call to %s", self.settings.number)
        yield TextDelta(" " + self.settings.say)
        yield TransferCall(self.settings.number, "the agent transferred")

    async def check(self) -> str:
        return await self.inner.check()


def with_transfer(bot: Bot, factory: Callable[[], Agent]) -> Callable[[], Agent]:
    """The agent factory for calls: wrapped when the bot can transfer."""
    settings = transfer_settings(bot)
    if settings is None:
        return factory
    return lambda: TransferringAgent(factory(), settings)


async def finish_transfer(call: Call, records: Records, api: TwilioCalls | None) -> bool:
    """After a call whose bot transferred it: redirect the phone call to the number and record
    it. False (nothing done) when there was no transfer or the caller hung up first; a failed
    redirect is recorded as "transfer failed" and the caller is hung up on as usual."""
    number = call.transfer_to
    if not number or call.end_reason == "caller hung up":
        if call.outcome == "transferred":
            call.outcome = "hung up"
        return False
    ok = api is not None and await api.update(call.call_id, twiml=dial_twiml(number))
    if api is None:
        log.warning("call %s: no Twilio API credentials, cannot transfer", call.call_id)
    call.outcome = "transferred" if ok else "transfer failed"
    await records.note_call(call.call_id, {"transferred_to": number})
    log.info("call %s: %s to %s", call.call_id, call.outcome, number)
    return ok
