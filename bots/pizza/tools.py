"""Handlers for the pizza bot's tools."""

from __future__ import annotations

from typing import Any


def _spoken_list(items: list[str]) -> str:
    if not items:
        return "no toppings"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


async def process_pizza_order(ctx: Any, size: str, toppings: list[str], crust: str) -> dict:
    """Price the order from the menu and store it; the result is what the bot reads back."""
    menu = ctx.data["menu"]
    toppings = list(dict.fromkeys(toppings))
    price = menu["sizes"][size] + menu["crusts"][crust] + sum(menu["toppings"][t] for t in toppings)
    price = round(price, 2)
    details = {"size": size, "toppings": toppings, "crust": crust, "price": price}
    order_id = await ctx.orders.add_order(ctx.call_id, "process_pizza_order", details)
    dollars, cents = divmod(round(price * 100), 100)
    return {
        "order_id": order_id,
        "price": price,
        "summary": f"a {size} {_spoken_list(toppings)} pizza on {crust} crust",
        "price_spoken": f"{dollars} dollars and {cents} cents" if cents else f"{dollars} dollars",
    }
