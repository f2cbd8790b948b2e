"""The agent protocol: a turn in, a stream of agent events out.

An agent is created per call. It reads the conversation from the ``Turn`` (the history already
ends with the caller's message), streams ``TextDelta``s to speak, and runs tools through the
turn's toolbox so that side-effect tools wait for the turn to be confirmed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from voxline.events import AgentEvent, ToolCall, ToolResult
from voxline.history import History
from voxline.tools import ToolBox, ToolContext


async def _always() -> None:
    return None


@dataclass
class Turn:
    history: History
    tools: ToolBox
    context: ToolContext
    # Resolves once the turn-taker confirms the caller really finished this turn.
    confirmed: Callable[[], Awaitable[None]] = field(default=_always)

    @property
    def text(self) -> str:
        texts = self.history.user_texts()
        return texts[-1] if texts else ""

    async def run_tool(self, call: ToolCall) -> ToolResult:
        return await self.tools.run(call, self.context, self.confirmed)


class Agent(Protocol):
    name: str

    def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]: ...

    async def check(self) -> str:
        """Prove the backend answers (doctor)."""
        ...
