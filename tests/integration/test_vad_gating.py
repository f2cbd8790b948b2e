"""With a recognizer that endpoints by itself (Riva), the VAD runs only while it matters.

A real-time Twilio call against the Riva-protocol test server: the caller's first line comes
while the bot is silent, so no VAD onset is seen for it (the model is not run) and the turn's
speech end comes from Riva; the second line barges in over the reply, and the VAD, running
while the bot speaks, silences the bot at the speech onset.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.conftest import make_settings, served
from tests.fakes.riva_server import FakeRivaServer
from voxline.caller import Line, SimulatedCaller
from voxline.events import BotSaid, BotStopped, SpeechStarted, Transcript, TranscriptKind
from voxline.services import build_services

pytestmark = pytest.mark.e2e


async def test_vad_runs_only_over_the_bot_and_barge_in_still_works(pizza_bot, speak, tmp_path):
    notes: list = []
    lines = [
        Line("I'd like a large pizza", speak("I'd like a large pizza")),
        Line("actually make it a medium", speak("actually make it a medium"), barge_after=0.8),
    ]
    # Partials only after 400 ms of speech: the VAD's onset (~100 ms) is what stops the bot.
    async with FakeRivaServer([line.text for line in lines], partial_ms=400) as riva:
        settings = make_settings(
            tmp_path, asr="riva", tts="riva", riva_server=riva.target, agent="form"
        )
        services = await asyncio.to_thread(build_services, settings, pizza_bot)
        services = replace(services, observers=[lambda call: notes.append])
        async with served(settings, pizza_bot, services) as server:
            result = await SimulatedCaller(server.ws_url, lines, idle_s=2.0).run()
            await asyncio.to_thread(server.ended, result.call_sid)
            turns = await asyncio.to_thread(server.records, services.records.turns(result.call_sid))

    finals = [i for i, n in enumerate(notes) if isinstance(n, Transcript) and n.kind == "final"]
    assert len(finals) == 2
    # Line one, to a silent bot: the recognizer's business alone.
    assert not any(isinstance(n, SpeechStarted) for n in notes[: finals[0]])
    # Line two, over the reply: the VAD's onset ducked the bot before any transcript came, and
    # the first partial (400 ms into the speech) stopped it.
    reply_starts = next(i for i, n in enumerate(notes) if isinstance(n, BotSaid) and i > finals[0])
    onset = next(i for i, n in enumerate(notes) if isinstance(n, SpeechStarted))
    stopped = [n for n in notes if isinstance(n, BotStopped)]
    assert reply_starts < onset < finals[1]
    assert stopped and stopped[0].how == "barge-in" and stopped[0].after_s < 0.9
    assert result.clears >= 1
    # Riva told when the first line ended: the turn has its latency without the VAD.
    first = next(t for t in turns if t["role"] == "user")
    assert first["timings"]["speech_end"] > 0
    assert 0.3 < first["timings"]["latency"] < 5
    assert any(n.kind is TranscriptKind.PARTIAL for n in notes if isinstance(n, Transcript))
