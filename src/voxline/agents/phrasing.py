"""How the form agent says things: orders, questions, menus and prices (pure).

The words come from the bot's ``form:`` section: ``describe`` (the pieces of one item, each left
out when a slot in it is empty: ``["{size}", "{toppings}", "pizza", "on {crust} crust"]``),
``ask`` (one question per slot), ``value_phrase`` (how a lone value is said: "{value} crust"),
``empty`` (an empty list slot: "plain") and ``prices`` (the bot data holding each slot's prices;
the first is the item's base price, the others extras).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from voxline.agents.order import Order, Value
from voxline.agents.slots import FormSchema, Slot

_NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
_FIELD = re.compile(r"\{(\w+)\}")


def spoken_list(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def spoken_money(amount: float, unit: str = "dollars", cents: str = "cents") -> str:
    whole, rest = divmod(round(amount * 100), 100)
    units = unit.removesuffix("s") if whole == 1 else unit
    if not rest:
        return f"{whole} {units}"
    return f"{whole} {units} and {rest} {cents}" if whole else f"{rest} {cents}"


def same_items(items: list[Any]) -> list[tuple[Any, int]]:
    """Equal items counted, in order: two large pepperoni pizzas are said once, as two."""
    groups: list[tuple[Any, int]] = []
    for item in items:
        for i, (other, n) in enumerate(groups):
            if other == item:
                groups[i] = (other, n + 1)
                break
        else:
            groups.append((item, 1))
    return groups


def ordinal(i: int) -> str:
    return _ORDINALS[i] if i < len(_ORDINALS) else f"number {i + 1}"


def _article(phrase: str) -> str:
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def _resolve(data: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    target: Any = data
    for part in path.split("."):
        target = target.get(part) if isinstance(target, Mapping) else None
    if not isinstance(target, Mapping):
        raise ValueError(f"form.prices: {path!r} does not name a table of the bot's data")
    return target


class Phrasing:
    def __init__(self, schema: FormSchema, spec: Mapping[str, Any], data: Mapping[str, Any]):
        self.schema = schema
        self.noun = str(spec.get("item", "item"))
        self.pieces: list[str] = list(
            spec.get("describe") or [f"{{{s.name}}}" for s in schema.slots]
        )
        self.ask_text: dict[str, str] = dict(spec.get("ask") or {})
        self.value_phrase: dict[str, str] = dict(spec.get("value_phrase") or {})
        self.empty: dict[str, str] = dict(spec.get("empty") or {})
        self.prices = {
            slot: _resolve(data, path) for slot, path in (spec.get("prices") or {}).items()
        }

    # --- an order -------------------------------------------------------------------------

    def value(self, slot: str, value: Value) -> str:
        if isinstance(value, list):
            return spoken_list(value) or self.empty.get(slot, "")
        return value

    def lone(self, slot: str, value: str) -> str:
        return self.value_phrase.get(slot, "{value}").format(value=value)

    def item(self, item: Mapping[str, Value], count: int = 1) -> str:
        """ "a large pepperoni pizza on thin crust"; the pieces of empty slots are left out."""
        said = []
        for piece in self.pieces:
            names = _FIELD.findall(piece)
            if any(n not in item for n in names):
                continue
            text = _FIELD.sub(lambda m: self.value(m.group(1), item[m.group(1)]), piece).strip()
            if count > 1 and text == self.noun:
                text += "s"
            if text:
                said.append(text)
        phrase = " ".join(said) or self.noun
        return f"{_NUMBERS[count]} {phrase}" if 1 < count < len(_NUMBERS) else _article(phrase)

    def order(self, order: Order) -> str:
        parts = [self.item(item, n) for item, n in same_items(order.items)]
        fields = [f"{self.slot_label(k)} {v}" for k, v in order.fields.items()]
        text = spoken_list(parts)
        return f"{text}, {spoken_list(fields)}" if fields else text

    def slot_label(self, name: str) -> str:
        return name.replace("_", " ")

    # --- questions --------------------------------------------------------------------------

    def ask(self, slot: str, items: list[int], n_items: int) -> str:
        question = self.ask_text.get(slot) or f"What {self.slot_label(slot)} would you like?"
        if n_items < 2 or not items:
            return question
        lower = question[0].lower() + question[1:]
        if len(items) == n_items:
            everyone = "both" if n_items == 2 else f"all {_NUMBERS[n_items]}"
            return f"For {everyone} {self.noun}s, {lower}"
        return f"For the {ordinal(items[0])} {self.noun}, {lower}"

    def which_item(self, order: Order) -> str:
        options = [f"the {ordinal(i)}, {self.item(it)}" for i, it in enumerate(order.items)]
        return f"Which {self.noun} should I change: {spoken_list(options, 'or')}?"

    # --- the menu ---------------------------------------------------------------------------

    def plural(self, slot: Slot) -> str:
        label = self.slot_label(slot.name)
        return label if label.endswith("s") else label + "s"

    def menu(self, slots: list[Slot]) -> str:
        return " ".join(
            f"For {self.plural(s)}, we have {spoken_list(list(s.values))}." for s in slots
        )

    def price_of(self, slot: str, value: str) -> str | None:
        table = self.prices.get(slot)
        if table is None or value not in table:
            return None
        price = float(table[value])
        base = next(iter(self.prices)) == slot
        thing = self.lone(slot, value)
        thing = thing[0].upper() + thing[1:]
        if base:
            return f"{_article(thing).capitalize()} is {spoken_money(price)}."
        if not price:
            return f"{thing} is included."
        return f"{thing} is {spoken_money(price)} extra."

    def price_list(self, slot: Slot) -> str:
        table = self.prices.get(slot.name) or {}
        said = [
            f"{self.lone(slot.name, v)} {spoken_money(float(table[v]))}"
            for v in slot.values
            if v in table
        ]
        if not said:
            return ""
        return f"{self.plural(slot).capitalize()}: {spoken_list(said)}."

    def price_overview(self) -> str:
        lines = []
        for slot in self.schema.enum_slots:
            if slot.name in self.prices:
                lines.append(self.price_list(slot))
        return " ".join(lines)
