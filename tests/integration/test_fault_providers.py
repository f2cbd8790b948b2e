"""The resilient providers against the scripted Riva and OpenAI servers, without a call:
TTS with its backup voice, ASR streams reopened after errors and stalls, the LLM with the form
agent taking over. Fast and deterministic; tests/integration/test_faults.py has the calls."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_server import FakeOpenAI, http_error, stall, text
from tests.fakes.riva_server import FakeRivaServer, frames, silence, speech
from voxline.agents.base import Turn
from voxline.agents.fallback import FallbackAgent
from voxline.agents.form import FormAgent
from voxline.agents.llm import AgentUnavailable, LlmAgent, LlmOptions
from voxline.breaker import Backoff, Breaker
from voxline.events import BackendFailed, TextDelta, ToolResult, Transcript, TranscriptKind
from voxline.history import History
from voxline.records_sqlite import SqliteRecords
from voxline.resilience import reporting_to
from voxline.speech.base import AudioFormat, RecognizerHints, Voice
from voxline.speech.piper import PiperSynthesizer
from voxline.speech.resilient_asr import ResilientRecognizer, UtteranceLost
from voxline.speech.resilient_tts import ResilientSynthesizer
from voxline.speech.riva_asr import RivaAsrOptions, RivaRecognizer
from voxline.speech.riva_auth import RivaEndpoint
from voxline.speech.riva_tts import RivaSynthesizer
from voxline.tools import ToolBox, ToolContext

pytest_plugins = ["tests.fakes.riva_fixtures", "tests.fakes.openai_fixtures"]
SENTENCE = "A large pepperoni pizza."
RATE = 8000


# --- TTS --------------------------------------------------------------------------------------


@pytest.fixture
def backup(piper):
    pool = ThreadPoolExecutor(1)
    yield PiperSynthesizer(piper, pool)
    pool.shutdown()


def tts(server: FakeRivaServer, backup, **kw) -> ResilientSynthesizer:
    breaker = kw.pop("breaker", None) or Breaker("tts", failures=3, cooldown_s=30.0)
    return ResilientSynthesizer(RivaSynthesizer(RivaEndpoint(server.target)), backup, breaker, **kw)


async def say(synth: ResilientSynthesizer, sentence: str = SENTENCE) -> tuple[bytes, list]:
    notes: list[BackendFailed] = []
    with reporting_to(notes.append):
        audio = b"".join([c async for c in synth.synthesize(sentence, RATE, Voice())])
    return audio, notes


async def test_a_healthy_remote_speaks_and_the_backup_stays_idle(riva_server, backup) -> None:
    audio, notes = await say(tts(riva_server, backup))
    assert audio == riva_server.sound(SENTENCE, RATE) and notes == []


async def test_one_error_is_retried_on_the_remote(riva_server, backup) -> None:
    riva_server.tts_fail("error")
    audio, notes = await say(tts(riva_server, backup))
    assert audio == riva_server.sound(SENTENCE, RATE)  # the remote voice, second attempt
    assert [n.stage for n in notes] == ["tts"] and "INTERNAL" in notes[0].error
    assert len(riva_server.tts_calls) == 2


async def test_errors_before_any_audio_hand_the_segment_to_the_backup(riva_server, backup):
    riva_server.tts_fail("error", calls=2)
    audio, notes = await say(tts(riva_server, backup))
    assert len(audio) > 0.8 * RATE * 2 and audio != riva_server.sound(SENTENCE, RATE)  # piper
    assert len(notes) == 2


async def test_a_stalled_remote_is_abandoned_after_the_first_chunk_timeout(riva_server, backup):
    riva_server.tts_fail("stall")
    synth = tts(riva_server, backup, first_chunk_s=0.3)
    started = time.perf_counter()
    chunks = aiter(synth.synthesize(SENTENCE, RATE, Voice()))
    await anext(chunks)
    assert time.perf_counter() - started < 1.5  # 0.3 s wait + piper's first sentence
    async for _ in chunks:
        pass
    assert riva_server.tts_calls[0].status == "stalled"


async def test_a_segment_cut_mid_stream_is_not_repeated(make_riva_server, backup) -> None:
    server = await make_riva_server(tts_chunks=4)
    server.tts_fail("disconnect", after_chunks=2)
    audio, notes = await say(tts(server, backup))
    whole = server.sound(SENTENCE, RATE)
    assert 0 < len(audio) < len(whole) and whole.startswith(audio)  # the first half, once
    assert len(notes) == 1 and "mid-segment" in notes[0].error
    assert len(server.tts_calls) == 1


async def test_while_the_breaker_is_open_segments_skip_the_remote(riva_server, backup) -> None:
    clock = [0.0]
    breaker = Breaker("tts", failures=2, cooldown_s=5.0, clock=lambda: clock[0])
    synth = tts(riva_server, backup, breaker=breaker)
    riva_server.tts_fail("error", calls=100)
    await say(synth)  # two failed attempts: the breaker opens
    assert breaker.state == "open" and len(riva_server.tts_calls) == 2
    audio, notes = await say(synth)
    assert audio and notes == [] and len(riva_server.tts_calls) == 2  # straight to piper
    clock[0] += 5.0
    riva_server._tts_failures.clear()  # the remote is back
    audio, _ = await say(synth)  # the half-open probe
    assert audio == riva_server.sound(SENTENCE, RATE) and breaker.state == "closed"


# --- ASR --------------------------------------------------------------------------------------

TWILIO = AudioFormat(rate=RATE, encoding="mulaw")
HINTS = RecognizerHints(stop_history_ms=500, stop_history_eou_ms=0, interim=True)


def asr(server: FakeRivaServer, breaker: Breaker | None = None) -> ResilientRecognizer:
    inner = RivaRecognizer(
        RivaEndpoint(server.target), RivaAsrOptions(backoff_s=0.01, max_backoff_s=0.05)
    )
    return ResilientRecognizer(
        inner,
        breaker or Breaker("asr", failures=3, cooldown_s=30.0),
        answer_margin_s=0.7,
        backoff=Backoff(0.05, 0.2),
    )


def caller_audio(*talks: float) -> list:
    pcm = silence(0.3, RATE)
    for seconds in talks:
        pcm += speech(seconds, RATE) + silence(2.5, RATE)
    return frames(pcm, RATE, "mulaw")


async def listen(recognizer: ResilientRecognizer, audio: list, speed: float = 4.0):
    """Send frames at ``speed`` x real time (timing on both sides is the audio's own clock);
    return what came out, and the failures reported."""
    stream = recognizer.open(TWILIO, HINTS)
    out: list[Transcript | UtteranceLost] = []
    notes: list[BackendFailed] = []

    async def read() -> None:
        async for item in stream:
            if isinstance(item, UtteranceLost) or item.kind is TranscriptKind.FINAL:
                out.append(item)

    with reporting_to(notes.append):
        reader = asyncio.create_task(read())
        for frame in audio:
            await stream.send(frame, None)
            await asyncio.sleep(0.02 / speed)
        await asyncio.sleep(0.3)
        await stream.aclose()
        await asyncio.wait_for(reader, 5)
    return out, notes, stream


def kinds(out: list) -> list[str]:
    return ["lost" if isinstance(o, UtteranceLost) else o.text for o in out]


async def test_a_healthy_stream_just_transcribes(riva_server) -> None:
    riva_server.transcripts = ["one", "two"]
    out, notes, stream = await listen(asr(riva_server), caller_audio(0.8, 0.8))
    assert kinds(out) == ["one", "two"] and notes == [] and stream.reopened == 0


async def test_a_stream_error_loses_the_utterance_and_a_new_stream_hears_the_next(riva_server):
    riva_server.fail(after_speech_s=0.4, code=grpc.StatusCode.INVALID_ARGUMENT)
    out, notes, stream = await listen(asr(riva_server), caller_audio(1.0, 0.8))
    assert kinds(out) == ["lost", "hello world"]
    assert [n.stage for n in notes] == ["asr"] and "INVALID_ARGUMENT" in notes[0].error
    assert stream.reopened == 1 and len(riva_server.asr_streams) == 2
    assert riva_server.asr_streams[1].seconds > 1.0  # the new stream started between utterances


async def test_a_stalled_stream_is_replaced(riva_server) -> None:
    riva_server.fail(after_speech_s=0.3, stall=True)
    out, notes, stream = await listen(asr(riva_server), caller_audio(0.8, 0.8))
    assert kinds(out) == ["lost", "hello world"]
    assert "no transcript" in notes[0].error and stream.reopened == 1
    assert riva_server.asr_streams[0].status in ("stalled", "cancelled")


async def test_while_the_breaker_is_open_no_stream_is_opened(riva_server) -> None:
    clock = [0.0]
    breaker = Breaker("asr", failures=1, cooldown_s=10.0, clock=lambda: clock[0])
    breaker.failure()
    out, _, _ = await listen(asr(riva_server, breaker), caller_audio(0.8))
    assert kinds(out) == ["lost"] and riva_server.asr_streams == []
    clock[0] += 10.0
    out, _, _ = await listen(asr(riva_server, breaker), caller_audio(0.8))
    assert kinds(out) == ["hello world"] and breaker.state == "closed"


# --- LLM --------------------------------------------------------------------------------------


@pytest.fixture
async def records(tmp_path):
    store = SqliteRecords(tmp_path / "r.sqlite3")
    yield store
    await store.close()


class Talk:
    """A conversation with an agent, every reply fully heard."""

    def __init__(self, bot, agent, records) -> None:
        self.bot, self.agent, self.records = bot, agent, records
        self.history = History(bot.prompt)
        self.notes: list[BackendFailed] = []

    async def say(self, words: str) -> str:
        self.history.user(words)
        context = ToolContext("CA1", self.records, self.bot.data)
        turn = Turn(self.history, ToolBox(list(self.bot.tools)), context)
        spoken = []
        with reporting_to(self.notes.append):
            async for event in self.agent.reply(turn):
                if isinstance(event, TextDelta):
                    spoken.append(event.text)
                elif isinstance(event, ToolResult):
                    assert event.error is None
        reply = "".join(spoken).strip()
        self.history.assistant(reply)
        return reply


def llm(client: AsyncOpenAI, bot) -> LlmAgent:
    opts = LlmOptions(model="m", first_token_timeout=0.5, chunk_timeout=0.5)
    return LlmAgent(client, opts, prompt=bot.prompt)


async def test_the_form_agent_finishes_an_order_the_llm_started(
    openai_server: FakeOpenAI, openai_client, pizza_bot, records
) -> None:
    breaker = Breaker("llm", failures=2, cooldown_s=30.0)
    agent = FallbackAgent(llm(openai_client, pizza_bot), FormAgent(pizza_bot), breaker)
    talk = Talk(pizza_bot, agent, records)
    openai_server.push(text("Sure, a large one. Which toppings would you like on it?"))
    assert "toppings" in await talk.say("I'd like a large pizza")
    openai_server.push(http_error(500))
    reply = await talk.say("no toppings, just plain")  # the form agent knows what was asked
    assert reply.startswith("Got it, a large cheese pizza. Which crust would you like:")
    assert [n.stage for n in talk.notes] == ["agent"] and "HTTP 500" in talk.notes[0].error
    openai_server.push(stall())
    reply = await talk.say("thin crust")
    assert reply.startswith("So that's a large cheese pizza on thin crust, 15 dollars and 99 cents")
    reply = await talk.say("yes")
    assert "placed your order for a large cheese pizza on thin crust" in reply
    orders = [o["details"] for o in await records.orders("CA1")]
    assert orders == [{"size": "large", "toppings": [], "crust": "thin", "price": 15.99}]
    assert breaker.state == "open"
    requests = len(openai_server.requests)
    assert "Goodbye" in await talk.say("no thanks, that's all")  # no request while open
    assert len(openai_server.requests) == requests


async def test_without_a_backup_the_failure_reaches_the_call(
    openai_server: FakeOpenAI, openai_client, pizza_bot, records
) -> None:
    breaker = Breaker("llm", failures=1, cooldown_s=30.0)
    talk = Talk(pizza_bot, FallbackAgent(llm(openai_client, pizza_bot), None, breaker), records)
    openai_server.push(http_error(503))
    with pytest.raises(AgentUnavailable, match="HTTP 503"):
        await talk.say("hello")
    with pytest.raises(AgentUnavailable, match="breaker open"):
        await talk.say("hello?")
    assert len(openai_server.requests) == 1 and talk.notes == []  # the call notes these
