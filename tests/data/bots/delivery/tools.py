"""The delivery test bot's one tool: stores the delivery as an order."""

from typing import Any


async def schedule_delivery(ctx: Any, zip_code: str, window: str) -> dict:
    order_id = await ctx.orders.add_order(
        ctx.call_id, "schedule_delivery", {"zip_code": zip_code, "window": window}
    )
    return {"order_id": order_id, "summary": f"a delivery to {zip_code} in the {window}"}
