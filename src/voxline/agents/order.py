"""The order a form agent builds: items (pizzas) of slot values, plus order-level slots (pure).

An order turns into the tool's arguments and back: the first item's slots at the top level,
further items in the schema's ``more`` list. The same conversion reads the orders an LLM placed
before the form agent took over, so both agents share one notion of "the order".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from voxline.agents.slots import FormSchema

Value = str | list[str]


@dataclass
class Order:
    items: list[dict[str, Value]] = field(default_factory=list)
    fields: dict[str, Value] = field(default_factory=dict)  # order-level slots (a zip code)

    def copy(self) -> Order:
        return copy.deepcopy(self)

    def __bool__(self) -> bool:
        return bool(self.fields) or any(self.items)


def missing(order: Order, schema: FormSchema) -> list[tuple[str, list[int]]]:
    """Required slots still empty, in schema order, with the items (indexes) that lack them;
    an order-level slot lacks no item (``[]``)."""
    out: list[tuple[str, list[int]]] = []
    for slot in schema.slots:
        if not slot.required:
            continue
        if slot.name in schema.item_names:
            lacking = [i for i, item in enumerate(order.items) if slot.name not in item]
            if lacking or not order.items:
                out.append((slot.name, lacking or [0]))
        elif slot.name not in order.fields:
            out.append((slot.name, []))
    return out


def arguments(order: Order, schema: FormSchema) -> dict[str, Any]:
    def item_args(item: dict[str, Value]) -> dict[str, Any]:
        return {s.name: item[s.name] for s in schema.slots if s.name in item}

    args: dict[str, Any] = dict(order.fields)
    items = order.items or [{}]
    args.update(item_args(items[0]))
    if schema.more and len(items) > 1:
        args[schema.more] = [item_args(i) for i in items[1:]]
    return args


def from_arguments(args: dict[str, Any], schema: FormSchema) -> Order:
    """The order a tool call describes (the LLM's or our own)."""
    first = {k: _value(v) for k, v in args.items() if k in schema.item_names}
    more = args.get(schema.more) if schema.more else None
    items = [first] + [
        {k: _value(v) for k, v in i.items() if k in schema.item_names}
        for i in (more if isinstance(more, list) else [])
        if isinstance(i, dict)
    ]
    names = {s.name for s in schema.slots}
    fields = {k: _value(v) for k, v in args.items() if k in names - schema.item_names}
    return Order(items, fields)


def _value(v: Any) -> Value:
    return [str(x) for x in v] if isinstance(v, list) else str(v)
