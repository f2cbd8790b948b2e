"""Handlers for the pizza bot's tools.

An order is one pizza (``size``, ``toppings``, ``crust``, as in the NIM reference design) plus
any ``more_pizzas`` of the same shape. The record's details are the arguments with the total
``price``; ``update_order`` replaces them in place and ``cancel_order`` marks the order
cancelled, so a call's records always show its one live order with its final contents.
"""

from __future__ import annotations

from typing import Any

from voxline.agents.phrasing import same_items, spoken_list, spoken_money
from voxline.tools import ToolError

NUMBERS = ["no", "a", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _pizzas(size: str, toppings: list[str], crust: str, more: list[dict] | None) -> list[dict]:
    first = {"size": size, "toppings": list(dict.fromkeys(toppings)), "crust": crust}
    rest = [{**p, "toppings": list(dict.fromkeys(p.get("toppings", [])))} for p in more or []]
    return [first, *rest]


def _price(menu: dict, pizza: dict) -> float:
    return (
        menu["sizes"][pizza["size"]]
        + menu["crusts"][pizza["crust"]]
        + sum(menu["toppings"][t] for t in pizza["toppings"])
    )


def _summary(pizzas: list[dict]) -> str:
    said = []
    for p, n in same_items(pizzas):
        toppings = spoken_list(p["toppings"]) or "cheese"
        noun = "pizza" if n == 1 else "pizzas"
        said.append(f"{NUMBERS[min(n, 10)]} {p['size']} {toppings} {noun} on {p['crust']} crust")
    return spoken_list(said)


def _details(ctx: Any, pizzas: list[dict]) -> tuple[dict, dict]:
    """The record's details and what the bot reads back."""
    menu = ctx.data["menu"]
    price = round(sum(_price(menu, p) for p in pizzas), 2)
    details: dict[str, Any] = {**pizzas[0], "price": price}
    if len(pizzas) > 1:
        details = {**pizzas[0], "more_pizzas": pizzas[1:], "price": price}
    spoken = {"price": price, "summary": _summary(pizzas), "price_spoken": spoken_money(price)}
    return details, spoken


async def _live_order(ctx: Any, order_id: int | None) -> int:
    if order_id is not None:
        return int(order_id)
    live = [
        o for o in await ctx.orders.orders(ctx.call_id) if o.get("status", "placed") == "placed"
    ]
    if not live:
        raise ToolError("this call has no placed order to change; use process_pizza_order")
    return live[-1]["id"]


async def process_pizza_order(
    ctx: Any, size: str, toppings: list[str], crust: str, more_pizzas: list[dict] | None = None
) -> dict:
    """Price the order from the menu and store it; the result is what the bot reads back."""
    details, spoken = _details(ctx, _pizzas(size, toppings, crust, more_pizzas))
    order_id = await ctx.orders.add_order(ctx.call_id, "process_pizza_order", details)
    return {"order_id": order_id, **spoken}


async def quote_pizza_order(
    ctx: Any, size: str, toppings: list[str], crust: str, more_pizzas: list[dict] | None = None
) -> dict:
    """Price an order without placing it, for the read-back before the caller says yes."""
    return _details(ctx, _pizzas(size, toppings, crust, more_pizzas))[1]


async def update_order(
    ctx: Any,
    size: str,
    toppings: list[str],
    crust: str,
    more_pizzas: list[dict] | None = None,
    order_id: int | None = None,
) -> dict:
    """Replace the placed order's contents with the complete new order."""
    order_id = await _live_order(ctx, order_id)
    details, spoken = _details(ctx, _pizzas(size, toppings, crust, more_pizzas))
    if not await ctx.orders.update_order(ctx.call_id, order_id, details):
        raise ToolError(f"order {order_id} is not a placed order of this call")
    return {"order_id": order_id, **spoken}


async def cancel_order(ctx: Any, order_id: int | None = None) -> dict:
    order_id = await _live_order(ctx, order_id)
    if not await ctx.orders.cancel_order(ctx.call_id, order_id):
        raise ToolError(f"order {order_id} is not a placed order of this call")
    return {"order_id": order_id, "status": "cancelled"}
