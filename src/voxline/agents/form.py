"""The offline agent: fills a tool's form from what the caller says, then calls the tool.

No LLM ships in any package, so without one the bot is a form-filler driven by the tool's
JSON schema: it asks for one missing slot at a time, understands corrections and removals,
answers "what do you have?", optionally confirms, calls the tool, and reads back the result.
Its state is derived from the history on every turn, so a retriggered or interrupted turn
never leaves it out of step with what the caller actually heard.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from voxline.agents.base import Turn
from voxline.agents.slots import SlotExtractor, clean, slots_from_schema
from voxline.bot import Bot
from voxline.events import AgentEvent, EndCall, TextDelta, ToolCall
from voxline.history import History

_YES = re.compile(
    r"\b(yes|yeah|yep|yup|sure|correct|right|please do|go ahead|sounds good|ok|okay|perfect)\b"
)
_NO = re.compile(r"\b(no|nope|nah|not really|wrong|change)\b")
_DONE = re.compile(
    r"\b(bye|goodbye|good bye|that's all|that is all|that's it|nothing else|no thanks"
    r"|no thank you|i'm good|i'm done)\b"
)
_BYE = re.compile(r"\b(bye|goodbye|good bye|bye bye|hang up)\b")  # ends the call mid-order too
_RESTART = re.compile(r"\b(start over|cancel|forget it|scratch that|never mind|nevermind)\b")
_NONE = re.compile(r"\b(no toppings|none|nothing|plain|just cheese|just the cheese)\b")
_MENU = re.compile(r"\b(what|which|options|menu|choices|do you have|kinds|list)\b")
_PRICE = re.compile(r"\b(how much|price|cost)\b")


def _say(text: str) -> TextDelta:
    """Deltas concatenate like streamed tokens: end each sentence with a space."""
    return TextDelta(text + " ")


def spoken_list(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


@dataclass
class FormState:
    values: dict[str, Any] = field(default_factory=dict)
    focus: str | None = None  # the slot (or "confirm", "more") the bot last asked about


class FormAgent:
    name = "form"

    def __init__(self, bot: Bot) -> None:
        spec = bot.form
        tool = next((t for t in bot.tools if t.name == spec.get("tool")), None)
        if tool is None:
            raise ValueError(f"bot {bot.name!r}: form.tool must name one of its tools")
        self.tool = tool
        self.slots = slots_from_schema(tool.parameters)
        self.extractor = SlotExtractor(self.slots, spec.get("synonyms") or {})
        self.ask: dict[str, str] = spec.get("ask") or {}
        self.confirm = bool(spec.get("confirm", False))
        self._ids = itertools.count(1)

    async def check(self) -> str:
        return f"form-filler for {self.tool.name} (offline)"

    # --- state from history -----------------------------------------------------------------

    def _question(self, slot: str) -> str:
        return self.ask.get(slot) or f"What {slot.replace('_', ' ')} would you like?"

    def _focus_of(self, said_by_bot: str) -> str | None:
        if not said_by_bot:
            return None
        if said_by_bot.rstrip().endswith("Shall I place the order?"):
            return "confirm"
        if said_by_bot.rstrip().endswith("Anything else?"):
            return "more"
        for slot in self.slots:
            if self._question(slot.name) in said_by_bot:
                return slot.name
        # Someone else's question (the LLM's, before this agent took over): the slot it names.
        last = re.split(r"[.!]\s+", said_by_bot.strip())[-1].lower()
        if last.endswith("?"):
            for slot in self.slots:
                if slot.name.rstrip("s").replace("_", " ") in last:
                    return slot.name
        return None

    def state(self, history: History, upto: int | None = None) -> FormState:
        """Replay the conversation: the user turns before ``upto`` (default: all)."""
        st = FormState()
        said_by_bot = ""
        messages = history.messages()
        users = 0
        for m in messages:
            if m["role"] == "assistant" and m.get("content"):
                said_by_bot = m["content"]
            elif m["role"] == "tool":
                st = FormState()  # an order went through: the next one starts empty
            elif m["role"] == "user":
                if upto is not None and users >= upto:
                    break
                users += 1
                st.focus = self._focus_of(said_by_bot)
                self._apply(st, m["content"])
        return st

    def _apply(self, st: FormState, text: str) -> None:
        said = clean(text)
        if _RESTART.search(said):
            st.values.clear()
            return
        update = self.extractor.extract(text, st.focus)
        st.values.update(update.set)
        for name, items in update.add.items():
            current = st.values.setdefault(name, [])
            current.extend(i for i in items if i not in current)
        for name, items in update.remove.items():
            st.values[name] = [i for i in st.values.get(name, []) if i not in items]
        slot = self.extractor.slots.get(st.focus or "")
        if slot and slot.many and slot.name not in st.values and _NONE.search(said):
            st.values[slot.name] = []

    def missing(self, st: FormState) -> list[str]:
        return [s.name for s in self.slots if s.required and s.name not in st.values]

    # --- the reply --------------------------------------------------------------------------

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        history = turn.history
        before = self.state(history, upto=len(history.user_texts()) - 1)
        st = self.state(history)
        said = clean(turn.text)
        changed = st.values != before.values
        focus = st.focus
        missing = self.missing(st)

        if _RESTART.search(said):
            yield _say(f"No problem, let's start over. {self._question(self.slots[0].name)}")
            return
        if focus == "more" and not changed and (_NO.search(said) or _DONE.search(said)):
            yield _say("Thanks for calling, enjoy your pizza! Goodbye.")
            yield EndCall("caller is done")
            return
        if _DONE.search(said) and not changed and (not st.values or _BYE.search(said)):
            yield _say("Thanks for calling. Goodbye!")
            yield EndCall("caller said goodbye")
            return
        if _PRICE.search(said) and not changed:
            yield _say(self._prices() + " " + self._next_question(missing, st))
            return
        if _MENU.search(said) and not changed:
            asked = [n for n in self.extractor.slots if n.rstrip("s") in said]
            yield _say(self._menu(asked[0] if asked else focus))
            yield _say(self._next_question(missing, st))
            return
        if missing:
            prefix = self._ack(st, before) if changed else "Sorry, I didn't catch that. "
            yield _say(prefix + self._question(missing[0]))
            return
        if self.confirm and not (focus == "confirm" and _YES.search(said) and not changed):
            if focus == "confirm" and _NO.search(said) and not changed:
                yield _say("Okay, what would you like to change?")
                return
            yield _say(f"So that's {self._summary(st)}. Shall I place the order?")
            return
        call = ToolCall(self.tool.name, self._arguments(st), f"form-{next(self._ids)}")
        yield call
        result = await turn.run_tool(call)
        history.tool_call(call)
        history.tool_result(result)
        yield result
        if result.error:
            yield _say("Sorry, I couldn't place that order. Could you tell me again?")
            return
        out = result.result if isinstance(result.result, dict) else {}
        summary = out.get("summary") or self._summary(st)
        price = out.get("price_spoken")
        yield _say(f"Great, I've placed your order for {summary}.")
        if price:
            yield _say(f"That comes to {price}.")
        yield _say("Anything else?")

    def _arguments(self, st: FormState) -> dict[str, Any]:
        return {s.name: st.values[s.name] for s in self.slots if s.name in st.values}

    def _summary(self, st: FormState) -> str:
        v = st.values
        toppings = spoken_list(list(v.get("toppings", []))) or "plain"
        if {"size", "crust"} <= v.keys():
            return f"a {v['size']} {toppings} pizza on {v['crust']} crust"
        return ", ".join(f"{k}: {val}" for k, val in self._arguments(st).items())

    def _ack(self, st: FormState, before: FormState) -> str:
        new = [
            ", ".join(v) if isinstance(v, list) else str(v)
            for k, v in st.values.items()
            if before.values.get(k) != v and v
        ]
        return f"Got it, {spoken_list(new)}. " if new else "Okay. "

    def _next_question(self, missing: list[str], st: FormState) -> str:
        if missing:
            return self._question(missing[0])
        return f"So that's {self._summary(st)}. Shall I place the order?"

    def _menu(self, slot: str | None) -> str:
        known = self.extractor.slots
        slots = [known[slot]] if slot in known else list(known.values())
        return " ".join(
            f"For {s.name.replace('_', ' ')}, we have {spoken_list(list(s.values))}." for s in slots
        )

    def _prices(self) -> str:
        return "The price depends on what you choose; I'll tell you the total with the order."
