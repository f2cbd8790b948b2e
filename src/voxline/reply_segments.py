"""A reply's words as speakable segments: the agent's events (or a fixed text) cut into
sentences, cut early when the bot's audio is about to run dry.

The call's side effects of a reply live here too: a tool that ran sets the call's outcome, an
``EndCall`` or ``TransferCall`` ends the call once heard, and an agent that fails mid-reply is
replaced by a fallback line that never asks the caller to repeat an order already placed.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing
from typing import TYPE_CHECKING

from voxline.agents.base import Turn
from voxline.events import (
    BackendFailed,
    EndCall,
    NotUnderstood,
    TextDelta,
    ToolResult,
    TransferCall,
)
from voxline.reply import Reply
from voxline.resilience import describe
from voxline.sentences import SentenceSplitter
from voxline.speak_ahead import SpeakAhead

if TYPE_CHECKING:
    from voxline.call import Call

log = logging.getLogger("voxline.call")
FALLBACK = "Sorry, I'm having trouble right now. Could you say that again?"
# After a tool ran (an order placed), asking the caller to repeat could place it twice.
FALLBACK_AFTER_TOOL = "That's done. Sorry, I'm having a little trouble right now."


async def reply_segments(
    call: Call, reply: Reply, text: str, segments: asyncio.Queue[str | None], ahead: SpeakAhead
) -> None:
    """Put ``reply``'s segments on ``segments``, then None; ``text``: the words, else the
    agent's."""
    splitter = SentenceSplitter()
    acted = False  # a tool ran in this reply

    def put(segs: list[str]) -> None:  # the queue is unbounded: nothing to wait for
        for seg in segs:
            reply.said.append(seg)
            segments.put_nowait(seg)

    try:
        if text:
            put(splitter.push(text))
        else:
            assert call.agent is not None, "a reply without text needs the bot's agent"
            turn = Turn(call.history, call.tools, call.context, reply.confirmed.wait)
            async with aclosing(call.agent.reply(turn)) as events:
                async for event in events:
                    if isinstance(event, NotUnderstood) and (rest := call.cut_short()):
                        # The words that cut the bot off meant nothing to the agent: a
                        # backchannel misheard. The bot goes on from the sentence it was cut in.
                        log.info("call %s: nothing understood in %r; the bot goes on",
                                 call.call_id, reply.user_text)  # fmt: skip
                        reply.timings["resumed"] = True
                        put(rest)
                        break
                    if isinstance(event, TextDelta):
                        reply.timings.setdefault("agent_first", call.clock())
                        segs = splitter.push(event.text)
                        if not segs and ahead.running_dry(call.playout.ahead_s()):
                            segs = splitter.hurry()
                        put(segs)
                    elif isinstance(event, ToolResult):
                        log.info("call %s: tool %s -> %s", call.call_id, event.call.name,
                                 event.error or event.result)  # fmt: skip
                        if not event.error:
                            call.outcome = call.tools.outcome(event.call.name) or call.outcome
                            acted = True
                    elif isinstance(event, EndCall):
                        reply.end_call = True
                    elif isinstance(event, TransferCall):  # ends like a hang-up, once heard
                        reply.end_call = True
                        call.transfer_to, call.outcome = event.number, "transferred"
    except Exception as exc:
        log.warning("call %s: agent failed: %s", call.call_id, describe(exc))
        log.debug("agent failure", exc_info=True)
        call.note(BackendFailed("agent", repr(exc)))
        splitter.flush()  # drop the half sentence; the caller hears the fallback instead
        put(splitter.push((FALLBACK_AFTER_TOOL if acted else FALLBACK) + " "))
    finally:
        put(splitter.flush())
        segments.put_nowait(None)
