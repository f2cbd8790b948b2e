"""Tools a bot can call: an OpenAI function schema plus a Python handler.

The same schema drives every agent: the LLM sees it through function calling, and the offline
form-filler reads its enums and required fields to know which slots to ask for.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema

from voxline.events import ToolCall, ToolResult


class OrderSink(Protocol):
    """The part of the records store a tool may use (``records.Records``)."""

    async def add_order(self, call_id: str, tool: str, details: dict[str, Any]) -> int: ...

    async def update_order(self, call_id: str, order_id: int, details: dict[str, Any]) -> bool: ...

    async def cancel_order(self, call_id: str, order_id: int) -> bool: ...

    async def orders(self, call_id: str | None = None) -> list[dict[str, Any]]: ...


@dataclass
class ToolContext:
    """What a handler may use: the call it serves, the records store and the bot's data."""

    call_id: str
    orders: OrderSink
    data: dict[str, Any] = field(default_factory=dict)  # e.g. the bot's menu


Handler = Callable[..., Any]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Handler
    side_effects: bool = False  # never run on an unconfirmed (speculative) turn
    outcome: str = ""  # the call's outcome once it ran ("order placed"); a quote has none

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class ToolError(Exception):
    """A tool call the bot cannot run as asked; the message is safe to show the LLM."""


class ToolBox:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools = {t.name: t for t in tools or []}

    def __iter__(self):
        return iter(self._tools.values())

    def __bool__(self) -> bool:
        return bool(self._tools)

    def outcome(self, name: str) -> str:
        tool = self._tools.get(name)
        return tool.outcome if tool else ""

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self._tools.values()]

    def validate(self, call: ToolCall) -> Tool:
        tool = self._tools.get(call.name)
        if tool is None:
            raise ToolError(f"unknown tool {call.name!r}; available: {sorted(self._tools)}")
        try:
            jsonschema.validate(call.arguments, tool.parameters)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "arguments"
            raise ToolError(f"invalid {where}: {exc.message}") from None
        return tool

    async def run(
        self,
        call: ToolCall,
        ctx: ToolContext,
        confirmed: Callable[[], Awaitable[None]] | None = None,
    ) -> ToolResult:
        """Validate and run a call. A side-effect tool first waits for ``confirmed``."""
        try:
            tool = self.validate(call)
        except ToolError as exc:
            return ToolResult(call, None, str(exc))
        if tool.side_effects and confirmed is not None:
            await confirmed()
        try:
            result = tool.handler(ctx, **call.arguments)
            if inspect.isawaitable(result):
                result = await result
        except ToolError as exc:
            return ToolResult(call, None, str(exc))
        return ToolResult(call, result)
