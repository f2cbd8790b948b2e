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
    heard: list[str] = field(default_factory=list)  # segments whose marks came back
    timings: dict[str, Any] = field(default_factory=dict)
    end_call: bool = False
    outcome: str = ""
    recorded: bool = False
    retracted: bool = False  # its user turn was taken back: a later transcript replaced it
