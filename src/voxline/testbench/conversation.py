"""A conversation in text with the offline form agent: caller lines in, replies out, real records.

Each reply goes into the history as fully heard unless ``heard`` says how much of it was (a
barge-in), the way ``Call`` records what was played.
"""

from __future__ import annotations

from voxline.agents.base import Turn
from voxline.agents.form import FormAgent
from voxline.bot import Bot
from voxline.events import EndCall, NotUnderstood, TextDelta, ToolCall, ToolResult
from voxline.history import History
from voxline.records import Records
from voxline.tools import ToolBox, ToolContext


class Conversation:
    def __init__(self, bot: Bot, records: Records, call_id: str = "CA-test") -> None:
        self.bot = bot
        self.agent = FormAgent(bot)
        self.history = History()
        self.records = records
        self.call_id = call_id
        self.ended = False
        self.calls: list[ToolCall] = []
        self.understood = True  # the latest turn meant something to the agent

    async def say(self, text: str, heard: int | None = None) -> str:
        """The bot's reply to ``text``; ``heard``: the caller heard only that many characters."""
        self.history.user(text)
        ctx = ToolContext(self.call_id, self.records, self.bot.data)
        turn = Turn(self.history, ToolBox(list(self.bot.tools)), ctx)
        spoken = []
        self.understood = True
        async for event in self.agent.reply(turn):
            if isinstance(event, NotUnderstood):
                self.understood = False
            elif isinstance(event, TextDelta):
                spoken.append(event.text)
            elif isinstance(event, EndCall):
                self.ended = True
            elif isinstance(event, ToolCall):
                self.calls.append(event)
            elif isinstance(event, ToolResult):
                assert event.error is None, event.error
        reply = "".join(spoken).strip()
        self.history.assistant(reply if heard is None else reply[:heard])
        return reply

    async def orders(self, status: str | None = None) -> list[dict]:
        rows = await self.records.orders(self.call_id)
        return [o["details"] for o in rows if status is None or o["status"] == status]

    def draft(self) -> list[dict]:
        """The items the agent holds now (placed or being built), as it would send them."""
        st, _ = self.agent.replay(self.history)
        order = st.draft if st.draft else st.placed
        return [dict(i) for i in order.items] if order else []
