"""One reply of the bot in flight: its task, what the caller heard of it, its timings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    id: int
    user_text: str | None  # None for the greeting and re-prompts
    speculative: bool = False
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)  # the turn is the caller's
    audible: asyncio.Event = field(default_factory=asyncio.Event)  # it may be heard (held early)
    task: asyncio.Task | None = None
    said: list[str] = field(default_factory=list)  # segments made, in order
    heard: list[str] = field(default_factory=list)  # segments whose marks came back (a prefix)
    timings: dict[str, Any] = field(default_factory=dict)
    end_call: bool = False
    outcome: str = ""
    recorded: bool = False
    retracted: bool = False  # its user turn was taken back: a later transcript replaced it

    def unheard(self) -> list[str]:
        """The segments made after the last one heard (a segment whose synthesis failed was
        never heard, and is skipped)."""
        i = 0
        for seg in self.heard:
            while i < len(self.said) and self.said[i] != seg:
                i += 1
            i += 1
        return self.said[i:]
