"""The dialog moves of the form agent: a state and a reading in, a plan for the reply out (pure).

The state is what the conversation so far amounts to: the draft being built (or the change of
a placed order being made), the live placed order, and what the bot's last heard reply asked.
A plan is what to say, which tool action to take (quote, place, update, cancel) and what the
reply asks; the words after a tool action come from ``finish`` once its result is known, so the
same code serves the live turn and the replay of earlier ones (``form.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voxline.agents.order import Order, Value, missing
from voxline.agents.phrasing import Phrasing
from voxline.agents.slots import FormSchema
from voxline.agents.understand import Part, Reading

CONFIRMS = ("confirm", "confirm_update")
ANYTHING_ELSE = "Anything else?"
HELP_MORE = "Is there anything else I can help you with?"


@dataclass(frozen=True)
class Pending:
    """What the bot asked: a slot (for some items), confirm, confirm_update, confirm_cancel,
    proposal (a near miss to confirm), more ("anything else?"), change, or which (item)."""

    kind: str
    slot: str = ""
    items: tuple[int, ...] = ()
    value: str = ""
    held: Part | None = None  # the change waiting for "which pizza?"


@dataclass
class State:
    draft: Order = field(default_factory=Order)
    placed: Order | None = None
    order_id: Any = None
    editing: bool = False  # the draft is a change of the placed order
    placed_summary: str = ""  # how the tool described the placed order, and its price
    placed_price: str = ""
    pending: Pending | None = None
    last_reply: str = ""

    @property
    def focus(self) -> str | None:
        return self.pending.slot if self.pending and self.pending.slot else None


@dataclass
class Plan:
    say: list[str] = field(default_factory=list)
    action: str = ""  # quote | place | update | cancel | end
    pending: Pending | None = None
    question: str = ""  # the sentence that asks what ``pending`` expects
    understood: bool = True  # the turn's words meant something to the form

    def asks(self, question: str, pending: Pending | None) -> Plan:
        self.say.append(question)
        self.pending, self.question = pending, question
        return self


class Dialog:
    def __init__(self, schema: FormSchema, phrasing: Phrasing, confirm: bool = True) -> None:
        self.schema = schema
        self.words = phrasing
        self.confirm = confirm

    # --- questions --------------------------------------------------------------------------

    def next_question(self, st: State) -> tuple[str, Pending | None]:
        gaps = missing(st.draft, self.schema)
        if gaps and (st.draft or st.placed is None):
            slot, items = gaps[0]
            n = len(st.draft.items)
            return self.words.ask(slot, items, n), Pending("slot", slot, tuple(items))
        if st.draft:
            if st.editing:
                return "Shall I make that change?", Pending("confirm_update")
            return "Shall I place the order?", Pending("confirm")
        return HELP_MORE, Pending("more")

    def _ask(self, plan: Plan, st: State, lead: str = "") -> Plan:
        if lead:
            plan.say.append(lead)
        question, pending = self.next_question(st)
        if pending and pending.kind in CONFIRMS:
            if not self.confirm:
                plan.action = "update" if st.editing else "place"
                return plan
            plan.action = "quote"  # the read-back, with the price, is added by ``readback``
            plan.pending, plan.question = pending, question
            return plan
        return plan.asks(question, pending)

    def readback(self, st: State, plan: Plan, summary: str, price: str) -> None:
        """The read-back before a yes, once the quote (the price) is known."""
        lead = "So your order would be" if st.editing else "So that's"
        cost = f", {price}" if price else ""
        plan.say.append(f"{lead} {summary or self.words.order(st.draft)}{cost}.")
        plan.say.append(plan.question)

    # --- one turn ---------------------------------------------------------------------------

    def step(self, st: State, r: Reading) -> Plan:
        plan = Plan()
        pending = st.pending
        kind = pending.kind if pending else ""
        yes = "yes" in r.acts and "no" not in r.acts
        if "bye" in r.acts and not r.changes:
            return self._goodbye(st, plan)
        if "repeat" in r.acts and not r.changes and st.last_reply:
            plan.say.append(st.last_reply)
            plan.pending, plan.question = pending, st.last_reply if pending else ""
            return plan
        if "restart" in r.acts and not r.changes:
            st.draft, st.editing = Order(), False
            return self._ask(plan, st, "No problem, let's start over.")
        if kind == "confirm_cancel" and not r.changes:  # before "cancel": "yes, cancel it"
            if yes:
                plan.action = "cancel"
                return plan
            if "no" in r.acts:
                return self._ask(plan, st, "Okay, I'll keep your order as it is.")
        if "cancel" in r.acts and not r.changes:
            return self._cancel(st, plan)
        if "readback" in r.acts and not r.changes:
            return self._read_order(st, plan)
        if r.off_menu:
            return self._off_menu(st, r, plan)
        if ("menu" in r.acts or "price" in r.acts) and not r.changes:
            return self._menu_or_price(st, r, plan)
        if kind == "proposal" and pending and not r.changes:
            if yes:
                self._apply(st, [self._proposed(pending)], list(pending.items) or None)
                return self._ask(plan, st, "Got it.")
            if "no" in r.acts:
                return self._ask(plan, st, "Sorry about that.")
        if r.changes or (kind == "which" and r.refs):
            return self._change(st, r, plan)
        if r.proposals:
            p = r.proposals[0]
            items = pending.items if pending and pending.slot == p.slot else ()
            return self._propose(plan, p.slot, p.value, list(items))
        if "change" in r.acts and not r.changes and r.slots_named:
            asked = self._ask_again(st, plan, r.slots_named[0])
            if asked is not None:
                return asked
        if kind in CONFIRMS:
            if yes:
                plan.action = "update" if kind == "confirm_update" else "place"
                return plan
            if "no" in r.acts or "change" in r.acts:
                return plan.asks("Okay, what would you like to change?", Pending("change"))
        if kind == "more":
            if "done" in r.acts or ("no" in r.acts and "yes" not in r.acts):
                return self._goodbye(st, plan)
            if "yes" in r.acts:
                return plan.asks("Sure, what else would you like?", Pending("change"))
        if "done" in r.acts:
            slot = self.schema.slot(st.focus or "")
            if slot and slot.many and pending and kind == "slot":  # "that's all" to "toppings?"
                self._apply(st, [Part(empty=[slot.name])], list(pending.items) or None)
                return self._ask(plan, st, "Okay.")
            if not st.draft:
                return self._goodbye(st, plan)
            return self._ask(plan, st, "Before you go:")
        if "item" in r.acts and not st.draft:
            return self._ask(plan, st, "Sure.")
        plan.understood = False
        return self._ask(plan, st, "Sorry, I didn't catch that.")

    # --- moves ------------------------------------------------------------------------------

    def _goodbye(self, st: State, plan: Plan) -> Plan:
        done = st.placed is not None and not st.draft
        plan.say.append(
            "Thanks for calling, enjoy your order! Goodbye."
            if done
            else "Thanks for calling. Goodbye!"
        )
        plan.action = "end"
        return plan

    def _cancel(self, st: State, plan: Plan) -> Plan:
        st.draft, st.editing = Order(), False
        if st.placed is not None:
            if not self.confirm:
                plan.action = "cancel"
                return plan
            question = f"Do you want me to cancel your order for {self.words.order(st.placed)}?"
            return plan.asks(question, Pending("confirm_cancel"))
        plan.say.append("Okay, I've cancelled that.")
        return plan.asks(HELP_MORE, Pending("more"))

    def _read_order(self, st: State, plan: Plan) -> Plan:
        if st.draft:
            if not missing(st.draft, self.schema):
                return self._ask(plan, st)  # complete: the read-back with the price
            lead = "So far your change is" if st.editing else "So far you have"
            return self._ask(plan, st, f"{lead} {self.words.order(st.draft)}.")
        if st.placed is not None:
            return self._ask(plan, st, self._placed(st))
        return self._ask(plan, st, "You haven't ordered anything yet.")

    def _placed(self, st: State) -> str:
        summary = st.placed_summary or self.words.order(st.placed or Order())
        return (
            f"Your order is {summary}, {st.placed_price}."
            if st.placed_price
            else (f"Your order is {summary}.")
        )

    def _off_menu(self, st: State, r: Reading, plan: Plan) -> Plan:
        for target in r.off_menu:
            slot = self.schema.slot(target.slot)
            assert slot is not None
            plan.say.append(f"Sorry, we don't have {target.phrase}. {self.words.menu([slot])}")
        if r.changes:  # "a large with anchovies and ham": keep what we can
            return self._change(st, r, plan)
        return self._ask(plan, st)

    def _menu_or_price(self, st: State, r: Reading, plan: Plan) -> Plan:
        slots = [s for s in self.schema.enum_slots if s.name in r.asked_about]
        if "price" not in r.acts:
            plan.say.append(self.words.menu(slots or list(self.schema.enum_slots)))
            return self._ask(plan, st)
        said = [p for p in (self.words.price_of(k, v) for k, v in r.named) if p]
        if said:
            plan.say += said
        elif slots:
            plan.say += [self.words.price_list(s) for s in slots]
        elif st.draft and missing(st.draft, self.schema):
            plan.say.append("I'll tell you the total once I have the whole order.")
        elif st.draft:
            return self._ask(plan, st)  # the read-back with the quoted price
        elif st.placed is not None:
            plan.say.append(self._placed(st))
        else:
            plan.say.append(self.words.price_overview())
        return self._ask(plan, st)

    def _change(self, st: State, r: Reading, plan: Plan) -> Plan:
        pending = st.pending
        if st.placed is not None and not st.editing:
            st.draft, st.editing = st.placed.copy(), True
        st.draft.fields.update(r.fields)
        parts = r.parts
        targets = r.refs
        if pending and pending.kind == "which" and pending.held is not None and r.refs:
            parts = [pending.held]
        elif pending and pending.kind == "slot" and pending.items and targets is None:
            targets = list(pending.items)
        complete = not missing(st.draft, self.schema)
        adding = r.new_item or not st.draft.items
        if pending and pending.kind in ("more", "change") and complete and parts:
            # "Anything else?" - "a small ham pizza" is another item; "make it a medium" is not
            adding = adding or ("change" not in r.acts and len(parts[0].slots()) >= 2)
        if parts and not adding and targets is None and len(st.draft.items) > 1:
            wanted = parts[0].slots()
            lacking = [i for i, it in enumerate(st.draft.items) if any(s not in it for s in wanted)]
            if lacking and (len(parts) == len(lacking) or len(parts) == 1):
                targets = lacking
            elif len(parts) == 1:
                question = self.words.which_item(st.draft)
                return plan.asks(question, Pending("which", held=parts[0]))
        if parts and all(p.ref for p in parts):
            for part in parts:
                self._apply(st, [part], part.ref)
        elif adding:
            for part in parts:
                st.draft.items.append({})
                self._apply_part(st.draft.items[-1], part)
        elif parts:
            self._apply(st, parts, targets)
        gaps = dict(missing(st.draft, self.schema))
        near = next((p for p in r.proposals if p.slot in gaps), None)
        if near is not None:  # "a large pepperony pizza": the size, then "pepperoni?"
            plan.say.append(f"Got it, {self.words.order(st.draft)}.")
            return self._propose(plan, near.slot, near.value, gaps[near.slot])
        if r.gaps and len(st.draft.items) == 1:  # "pineapple and [lost] on regular crust"
            slot, value = r.gaps[0]
            plan.say.append(f"Got it, {self.words.order(st.draft)}.")
            question = f"{self.words.lone(slot, value).capitalize()} and what else?"
            return plan.asks(question, Pending("slot", slot, (0,)))
        lead = f"Got it, {self.words.order(st.draft)}." if missing(st.draft, self.schema) else ""
        return self._ask(plan, st, lead)

    def _ask_again(self, st: State, plan: Plan, slot: str) -> Plan | None:
        """A change to a slot with no value heard ("make that [it] crust", "change the
        crust"): its question, with the choices, so the answer changes it. A read-back cut
        off by the change left no question to answer; "what would you like to change?"
        asked what the caller had just said. Asked only of a one-item order."""
        order = st.draft if st.draft else st.placed
        if order is None or len(order.items) != 1:
            return None
        if not st.draft:
            st.draft, st.editing = order.copy(), True
        return plan.asks(self.words.ask(slot, [0], 1), Pending("slot", slot, (0,)))

    def _propose(self, plan: Plan, slot: str, value: str, items: list[int]) -> Plan:
        question = f"Did you say {self.words.lone(slot, value)}?"
        return plan.asks(question, Pending("proposal", slot, tuple(items), value))

    def _proposed(self, p: Pending) -> Part:
        slot = self.schema.slot(p.slot)
        if slot is not None and slot.many:
            return Part(add={p.slot: [p.value]})
        return Part(set={p.slot: p.value})

    def _apply(self, st: State, parts: list[Part], targets: list[int] | None) -> None:
        items = st.draft.items
        if not items:
            items.append({})
        if targets is None:
            targets = list(range(len(items)))
        if len(parts) == len(targets) > 1:
            for part, i in zip(parts, targets, strict=True):
                self._apply_part(items[i], part)
            return
        for part in parts:
            for i in targets:
                if 0 <= i < len(items):
                    self._apply_part(items[i], part)

    def _apply_part(self, item: dict[str, Value], part: Part) -> None:
        item.update(part.set)
        for name in part.empty:
            item.setdefault(name, [])
        for name, values in part.add.items():
            current = item.setdefault(name, [])
            assert isinstance(current, list)
            current.extend(v for v in values if v not in current)
        for name, values in part.remove.items():
            current = item.get(name)
            item[name] = (
                [v for v in current if v not in values] if isinstance(current, list) else []
            )

    # --- after a tool ran -------------------------------------------------------------------

    def finish(
        self, st: State, action: str, plan: Plan, summary: str, price: str, ok: bool
    ) -> None:
        """The words after ``action`` and what they ask; ``st`` already holds its result."""
        if not ok:
            plan.say.append("Sorry, something went wrong with that. Could you tell me again?")
            plan.pending, plan.question = None, ""
            return
        cost = f" That comes to {price}." if price else ""
        if action == "place":
            plan.say.append(f"Great, I've placed your order for {summary}.{cost}")
            plan.asks(ANYTHING_ELSE, Pending("more"))
        elif action == "update":
            plan.say.append(f"Done, your order is now {summary}.{cost}")
            plan.asks(ANYTHING_ELSE, Pending("more"))
        elif action == "cancel":
            plan.say.append("Your order is cancelled.")
            plan.asks(HELP_MORE, Pending("more"))
