"""The LLM agent behind a breaker, with the offline form agent for the turns it cannot serve.

The LLM agent bounds its own waits (first token, gaps between chunks) and turns every model
failure into ``AgentUnavailable``. Here those failures feed a breaker shared by every call, and
a turn that failed before producing anything, or that comes while the breaker is open, goes to
the backup (the form-filler working from the same history) so an order can still be taken. A
turn that fails after its first words is not replayed: the error goes up and the call says its
short apology, since the caller has already heard part of an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from voxline.agents.base import Agent, Turn
from voxline.agents.llm import AgentUnavailable
from voxline.breaker import Breaker
from voxline.events import AgentEvent
from voxline.resilience import report


class FallbackAgent:
    def __init__(self, primary: Agent, backup: Agent | None, breaker: Breaker) -> None:
        self.primary = primary
        self.backup = backup
        self.breaker = breaker
        self.name = primary.name

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        if self.breaker.allow():
            produced = False
            try:
                async with aclosing(self.primary.reply(turn)) as events:
                    async for event in events:
                        produced = True
                        yield event
                self.breaker.success()
                return
            except AgentUnavailable as exc:
                self.breaker.failure()
                if produced or self.backup is None:
                    raise  # the call notes it and says its apology
                report("agent", f"{exc}; the {self.backup.name} agent takes this turn")
        elif self.backup is None:
            raise AgentUnavailable(f"{self.primary.name}: breaker open, backend skipped")
        async for event in self.backup.reply(turn):
            yield event

    async def check(self) -> str:
        return await self.primary.check()
