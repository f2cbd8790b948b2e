"""What a process gives each of its calls, and the seams a call is watched and driven through.

``CallServices`` is built once per process (``services.build_services``): models, providers
with their breakers, the records store, observer factories, and for ACE bots the dialog driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from voxline.agents.base import Agent
from voxline.bot import Bot
from voxline.events import CallNote, ListenerEvent
from voxline.records import Records
from voxline.speech.base import Recognizer, Synthesizer
from voxline.speech.vad import SileroModel

if TYPE_CHECKING:
    from voxline.call import Call

# Sees everything a call does (pages, recordings, metrics). Called on the event loop: it must
# return at once and never raise into the call (a raising observer is logged and dropped).
# Only observers with a true ``hears_audio`` attribute get the 20 ms audio frames.
Observer = Callable[[CallNote], None]


class DialogDriver(Protocol):
    """Runs a call's dialog in place of the turn taker and agent (an ACE Colang bot,
    ``voxline.ace.colang_dialog``). It hears every listener event as it comes, follows the
    bot's speech through the call's notes, and speaks with ``Call.say`` and
    ``Call.stop_reply``; ``run`` is its task for the life of the call."""

    def heard(self, event: ListenerEvent) -> None: ...

    async def run(self) -> None: ...


@dataclass
class CallServices:
    """What every call of a process shares: models, providers and the records store."""

    bot: Bot
    recognizer: Recognizer
    synthesizer: Synthesizer
    agent_factory: Callable[[], Agent] | None  # None: a dialog driver speaks for the bot
    records: Records
    vad: SileroModel | None = None
    # Each gives a new call its observer, or None to stay out of it.
    observers: list[Callable[[Call], Observer | None]] = field(default_factory=list)
    dialog: Callable[[Call], DialogDriver] | None = None
