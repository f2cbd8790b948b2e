"""No gap inside a reply: the caller's playback buffer, on the Twilio protocol's far end, never
runs dry between one segment and the next, even when every TTS request takes 400 ms and the
streaming LLM is still writing the next sentence when the first clause ("Sure,") has played.
Scripted Riva (ASR, slow TTS) and OpenAI-compatible servers, the LLM agent, a real WebSocket."""

from __future__ import annotations

import pytest

from tests.conftest import PIZZA
from tests.fakes.openai_server import MODEL, FakeOpenAI, paced
from tests.fakes.scripted_stack import ScriptedStack
from voxline.bot import load_bot
from voxline.testbench.far_end import FRAME, FarEnd

pytestmark = pytest.mark.e2e
ORDER = "a large pepperoni pizza"
TTS_FIRST_CHUNK_S = 0.4  # per request, longer than the first clause's audio
REPLIES = [
    # The second segment is ready early: it must be synthesized while "Sure," plays.
    "Sure, a large pepperoni. Which crust would you like? We have thin, thick and stuffed.",
    # The second sentence is long: its text is complete only after "Okay," has played.
    "Okay, I have put one large pepperoni pizza with extra cheese on a thin crust on your order"
    " for you today. Anything else?",
]


async def quiet_for(far: FarEnd, ticks: int, since: int = 0, within_ticks: int = 1500) -> None:
    """Until the bot has been heard after tick ``since`` and then stayed silent for ``ticks``."""
    silent = 0
    for _ in range(within_ticks):
        await far.next_tick()
        heard = far.timeline.heard[-1] if far.timeline.heard else 0
        silent = 0 if heard or far.playing else silent + 1
        if silent >= ticks and far.timeline.last_heard >= since:
            return
    raise AssertionError("the bot did not finish speaking")


def dry_ticks(heard: bytearray, start: int) -> list[int]:
    """Ticks after ``start``, between the reply's first and last audio, that were not full."""
    played = [t for t in range(start, len(heard)) if heard[t]]
    assert played, "no reply heard"
    return [t for t in range(played[0], played[-1]) if heard[t] < FRAME]


@pytest.mark.parametrize("reply", REPLIES, ids=["early-text", "late-text"])
async def test_no_underrun_inside_a_reply(reply, speak, tmp_path):
    with FakeOpenAI(lambda body: paced(reply, 0.3, 50)) as llm:
        over = {"agent": "llm", "llm_base_url": llm.base_url, "llm_model": MODEL}
        with ScriptedStack(load_bot(PIZZA), tmp_path, [ORDER], **over, llm_api_key="k") as stack:
            stack.riva.tts_first_chunk_delay_s = TTS_FIRST_CHUNK_S
            async with FarEnd(stack.server.ws_url) as far:
                await quiet_for(far, 25)  # the greeting
                greeting_dry = dry_ticks(far.timeline.heard, 0)
                said = await far.say(speak(f"I'd like {ORDER}"))
                await quiet_for(far, 75, since=said)
                heard = bytes(far.timeline.heard)
            assert llm.requests, "the LLM was not asked"
    assert greeting_dry == []
    assert dry_ticks(bytearray(heard), said) == []
