"""The offline agent: takes an order in conversation, driven by the tool's JSON schema.

No LLM ships in any package, so without one the bot is a form-filler: ``understand.py`` reads
each utterance, ``dialog.py`` decides the move, ``phrasing.py`` says it, and this file runs the
tools (``form.tool`` to place, ``form.update`` / ``form.cancel`` to change a placed order,
``form.quote`` to price a read-back) and keeps the state.

The state is never stored: every turn replays the history. Each earlier user turn goes through
the same dialog; what the bot asked counts only if the caller heard the question (a reply cut
off by a barge-in asked nothing); tool results in the history (ours, or an LLM's before this
agent took over) say what was really placed. So a retriggered or interrupted turn never leaves
the agent out of step with what the caller heard.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from voxline.agents.base import Turn
from voxline.agents.dialog import Dialog, Pending, Plan, State
from voxline.agents.order import Order, arguments, from_arguments, missing
from voxline.agents.phrasing import Phrasing
from voxline.agents.slots import FormSchema, Lexicon, clean, form_schema
from voxline.agents.understand import Reader
from voxline.bot import Bot
from voxline.events import AgentEvent, EndCall, NotUnderstood, TextDelta, ToolCall
from voxline.history import History, Message

_CONFIRMING = re.compile(r"\b(place|confirm|correct|is that right|sound good|shall i|go ahead)\b")
_MORE = re.compile(r"\b(anything else|something else|help you with)\b")


def _say(text: str) -> TextDelta:
    """Deltas concatenate like streamed tokens: end each sentence with a space."""
    return TextDelta(text + " ")


def _text(plan: Plan) -> str:
    return " ".join(s for s in plan.say if s)


class FormAgent:
    name = "form"

    def __init__(self, bot: Bot) -> None:
        spec = bot.form
        tools = {t.name: t for t in bot.tools}
        tool = tools.get(spec.get("tool", ""))
        if tool is None:
            raise ValueError(f"bot {bot.name!r}: form.tool must name one of its tools")
        self.tool = tool
        self.names = {k: str(spec[k]) for k in ("update", "cancel", "quote") if spec.get(k)}
        for key, name in self.names.items():
            if name not in tools:
                raise ValueError(f"bot {bot.name!r}: form.{key} names no tool ({name!r})")
        self.schema: FormSchema = form_schema(tool.parameters)
        self.lexicon = Lexicon(self.schema, spec.get("synonyms"), spec.get("not_on_menu"))
        heads = {k: set(v) for k, v in (spec.get("heads") or {}).items()}
        self.reader = Reader(
            self.schema, self.lexicon, str(spec.get("item", "item")), heads or None
        )
        self.words = Phrasing(self.schema, spec, bot.data)
        self.dialog = Dialog(self.schema, self.words, bool(spec.get("confirm", True)))
        self._ids = itertools.count(1)

    async def check(self) -> str:
        return f"form-filler for {self.tool.name} (offline)"

    # --- state from history -----------------------------------------------------------------

    def understands(self, history: History, text: str) -> bool:
        """Whether ``text``, said next, would mean something to the form: the turn taker lets
        words over the bot stop it only then (a misheard backchannel means nothing)."""
        _, plan = self._replay([*history.messages(), {"role": "user", "content": text}])
        if plan is not None and plan.understood:
            return True
        # A slot named ("chopped crust" for "stuffed crust") is the order spoken of, its value
        # lost: whisper's looks at an espeak "Stuffed crust, please." over the bot.
        return bool(self.reader.read(text, None, Order()).slots_named)

    def replay(self, history: History) -> tuple[State, Plan | None]:
        """The state before the latest user turn's reply, and the plan for that turn."""
        return self._replay(history.messages())

    def _replay(self, messages: list[Message]) -> tuple[State, Plan | None]:
        st = State()
        plan: Plan | None = None
        calls: dict[str, tuple[str, dict[str, Any]]] = {}
        for m in messages:
            role = m["role"]
            if role == "user":
                reading = self.reader.read(m["content"] or "", st.focus, st.draft)
                plan = self.dialog.step(st, reading)
            elif role == "assistant" and m.get("tool_calls"):
                for tc in m["tool_calls"]:
                    fn = tc.get("function") or {}
                    try:
                        args = json.loads(fn.get("arguments") or "{}")
                    except ValueError:
                        args = {}
                    calls[tc.get("id", "")] = (
                        fn.get("name", ""),
                        args if isinstance(args, dict) else {},
                    )
            elif role == "tool":
                name, args = calls.get(m.get("tool_call_id", ""), ("", {}))
                self._absorb(st, plan, name, args, _content(m))
            elif role == "assistant" and m.get("content"):
                self._heard(st, plan, m["content"])
                plan = None
        return st, plan

    def _heard(self, st: State, plan: Plan | None, heard: str) -> None:
        said = _text(plan) if plan else ""
        if said and _same_start(said, heard):
            st.pending = plan.pending if plan and plan.question and plan.question in heard else None
            st.last_reply = said
            return
        st.pending = self._infer(st, heard)  # someone else spoke (the LLM), or the greeting
        st.last_reply = heard

    def _infer(self, st: State, heard: str) -> Pending | None:
        """What another agent's question asks, from its last sentence."""
        last = re.split(r"(?<=[.!?])\s+", heard.strip())[-1].lower()
        if not last.endswith("?"):
            return None
        if _MORE.search(last):
            return Pending("more")
        if st.draft and not missing(st.draft, self.schema) and _CONFIRMING.search(last):
            return Pending("confirm_update" if st.editing else "confirm")
        for slot in self.schema.slots:
            if slot.label.rstrip("s") in last:
                lacking = next((i for s, i in missing(st.draft, self.schema) if s == slot.name), [])
                return Pending("slot", slot.name, tuple(lacking))
        return None

    def _absorb(
        self, st: State, plan: Plan | None, name: str, args: dict[str, Any], result: Any
    ) -> None:
        """A tool result in the history: what it changed, and the words that followed it."""
        ok = isinstance(result, dict) and "error" not in result
        out = result if isinstance(result, dict) else {}
        summary = str(out.get("summary") or "")
        price = str(out.get("price_spoken") or "")
        action = {
            self.tool.name: "place",
            self.names.get("update"): "update",
            self.names.get("cancel"): "cancel",
            self.names.get("quote"): "quote",
        }.get(name)
        if action is None:
            return
        if action == "quote":
            if plan is not None and plan.action == "quote":
                self.dialog.readback(st, plan, summary if ok else "", price if ok else "")
            return
        if ok and action in ("place", "update"):
            st.placed = from_arguments(
                {k: v for k, v in args.items() if k != "order_id"}, self.schema
            )
            st.order_id = out.get("order_id", st.order_id)
            st.placed_summary, st.placed_price = summary, price
            st.draft, st.editing = Order(), False
        elif ok and action == "cancel":
            st.placed, st.order_id, st.placed_summary, st.placed_price = None, None, "", ""
            st.draft, st.editing = Order(), False
        if plan is not None and plan.action == action:
            self.dialog.finish(
                st, action, plan, summary or self.words.order(st.placed or Order()), price, ok
            )

    # --- the reply --------------------------------------------------------------------------

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        st, plan = self.replay(turn.history)
        if plan is None:  # nothing to answer (no user turn)
            return
        if not plan.understood:
            yield NotUnderstood()
        for sentence in plan.say:
            yield _say(sentence)
        spoken = len(plan.say)
        if plan.action == "end":
            yield EndCall("caller is done")
            return
        call = self._call_for(st, plan)
        if call is None:
            for sentence in plan.say[spoken:]:
                yield _say(sentence)
            return
        yield call
        result = await turn.run_tool(call)
        turn.history.tool_call(call)
        turn.history.tool_result(result)
        yield result
        content = {"error": result.error} if result.error else result.result
        self._absorb(st, plan, call.name, call.arguments, content)
        for sentence in plan.say[spoken:]:
            yield _say(sentence)

    def _call_for(self, st: State, plan: Plan) -> ToolCall | None:
        args = arguments(st.draft, self.schema)
        name = {"place": self.tool.name}.get(plan.action) or self.names.get(plan.action)
        if plan.action == "quote" and name is None:  # no quote tool: read back without a price
            self.dialog.readback(st, plan, "", "")
            return None
        if name is None:
            if plan.action in ("update", "cancel"):
                plan.say.append("Sorry, I can't change an order once it is placed.")
            return None
        if plan.action == "update":
            args = {"order_id": st.order_id, **args}
        elif plan.action == "cancel":
            args = {"order_id": st.order_id}
        return ToolCall(name, args, f"form-{next(self._ids)}")


def _content(m: Message) -> Any:
    try:
        return json.loads(m.get("content") or "null")
    except ValueError:
        return None


def _same_start(said: str, heard: str) -> bool:
    """The caller heard the start of what the plan says (all of it, or up to a barge-in)."""
    a, b = clean(said), clean(heard)
    return bool(b) and (a.startswith(b) or b.startswith(a))
