"""bots/ace_rag, ACE's RAG tutorial bot, over the Twilio protocol: its Colang flows (the
design's main.co with Voxline's speech.co) lead the dialog. The Riva-protocol test server
emits partial, interim (stability 1.0 after 240 ms) and final (800 ms) transcripts; the
tutorial's plugin (plugin/rag.py, in process) asks Voxline's own NVIDIA RAG server API, which
answers offline from the knowledge base (bots/rag's documents, uploaded through /documents).
The test TTS speaks 50 ms of tone per character, so an answer is long enough to talk over."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.fakes.ace_plugin_server import ServerThread, ace_plugin_app
from tests.fakes.riva_server import speech
from tests.fakes.scripted_stack import ScriptedStack
from voxline.bot import load_bot
from voxline.caller import CallResult, Line, SimulatedCaller

pytest.importorskip("nemoguardrails")

ACE_RAG = ROOT / "bots" / "ace_rag"
DOCS = ROOT / "bots" / "rag" / "docs"
FRAME = "how long is the frame warranty"
BATTERY = "what is the battery warranty"
SUNDAY = "are you open on sundays"


def upload_docs(url: str) -> None:
    for path in sorted(DOCS.iterdir()):
        files = {"file": (path.name, path.read_bytes())}
        response = httpx.post(f"{url}/documents", files=files, timeout=120)
        assert response.json() == {"message": "File uploaded successfully"}, response.text
    assert len(httpx.get(f"{url}/documents").json()["documents"]) == len(list(DOCS.iterdir()))


def stack_for(folder: Path, tmp: Path, **settings) -> ScriptedStack:
    return ScriptedStack(load_bot(folder), tmp, [FRAME], recordings=False, **settings)


@pytest.fixture(scope="module")
def ace(tmp_path_factory):
    with stack_for(ACE_RAG, tmp_path_factory.mktemp("ace")) as stack:
        upload_docs(stack.server.url)
        yield stack


def call(stack: ScriptedStack, transcripts: list[str], lines: list[Line]):
    """One call; returns the caller's result, the call's turn records and what was spoken."""
    stack.riva.transcripts, stack.riva.finals = transcripts, 0
    before = len(stack.riva.tts_calls)
    caller = SimulatedCaller(stack.server.ws_url, lines, idle_s=2.0, lead_in_s=0.3, max_s=60)
    result: CallResult = asyncio.run(caller.run())
    stack.server.ended(result.call_sid)
    turns = stack.server.records(stack.services.records.turns(result.call_sid))
    spoken = " ".join(r.text for c in stack.riva.tts_calls[before:] for r in c.requests)
    return result, turns, spoken


def said(seconds: float = 1.2, barge_after: float | None = None) -> Line:
    return Line("(scripted by the Riva test server)", speech(seconds, 8000), barge_after)


def bot_turns(turns: list[dict]) -> list[dict]:
    return [t for t in turns if t["role"] == "assistant"]


def test_an_early_reply_on_the_interim_and_the_same_final_does_not_retrigger(ace):
    result, turns, spoken = call(ace, [FRAME], [said()])
    # Answered once: the final was the same. (Words, not the phrase: when the audio runs low
    # the splitter may cut a sentence between "seven" and "years", and segments synthesized
    # side by side reach the TTS server in either order.)
    assert spoken.split().count("seven") == 1, spoken
    assert result.clears == 0
    (answer,) = bot_turns(turns)
    assert "seven years" in answer["text"] and not answer["interrupted"]
    users = [t for t in turns if t["role"] == "user"]
    assert [u["text"] for u in users] == [FRAME]
    # How much sooner than on the final: test_final_mode_waits_for_the_final.


def test_a_changed_final_retriggers_and_stops_the_first_answer(ace):
    result, turns, spoken = call(ace, [f"{FRAME}|{BATTERY}"], [said()])
    assert "seven" in spoken.split() and "800" in spoken, spoken  # both were asked for
    assert result.clears >= 1  # the first answer was playing when the final came
    answers = bot_turns(turns)  # one per sentence the flows said
    assert "800" in " ".join(t["text"] for t in answers) and not answers[-1]["interrupted"]
    first = [t for t in answers if "seven" in t["text"]]
    assert all(t["interrupted"] for t in first) and "workmanship" not in " ".join(
        t["text"] for t in first
    )
    assert [t["text"] for t in turns if t["role"] == "user"][-1] == BATTERY


def test_a_filler_over_the_bot_is_ignored(ace):
    result, turns, _ = call(ace, [FRAME, "yeah"], [said(), said(0.4, barge_after=1.0)])
    assert result.clears == 0
    (answer,) = bot_turns(turns)
    assert answer["text"].endswith("workmanship.") and not answer["interrupted"]
    assert "yeah" not in [t["text"] for t in turns if t["role"] == "user"]


def test_talking_over_the_bot_stops_it(ace):
    result, turns, _ = call(ace, [FRAME, SUNDAY], [said(), said(1.2, barge_after=1.0)])
    assert result.clears >= 1
    users = [t for t in turns if t["role"] == "user"]
    assert [u["text"] for u in users] == [FRAME, SUNDAY]  # both acted on, nothing else
    assert users[0]["timings"]["outcome"] == "interrupted"
    assert users[0]["timings"]["barge_in"] < 0.5  # onset (first partial) -> clear
    heard = " ".join(t["text"] for t in bot_turns(turns))
    assert "workmanship" not in heard  # the first answer was cut (what was heard is kept)
    assert "Sunday" in heard and not bot_turns(turns)[-1]["interrupted"]


def test_final_mode_waits_for_the_final(ace, tmp_path):
    folder = tmp_path / "ace_rag"
    shutil.copytree(ACE_RAG, folder, ignore=shutil.ignore_patterns("__pycache__"))
    main = folder / "colang" / "main.co"
    main.write_text(main.read_text().replace('$mode="interim"', '$mode="final"'))
    interim, _, _ = call(ace, [FRAME], [said()])
    with stack_for(folder, tmp_path / "final") as stack:
        upload_docs(stack.server.url)
        final, _, spoken = call(stack, [FRAME], [said()])
    assert spoken.split().count("seven") == 1, spoken
    early, late = interim.turns[1].latency, final.turns[1].latency
    assert early is not None and late is not None
    assert late - early >= 0.4, (early, late)  # 800 ms vs 240 ms of silence


def test_a_bot_folder_written_as_the_design_writes_it_answers(tmp_path):
    """tests/fixtures/ace_design_bot is copied from the design's text (plus speech.co); its
    dialog_manager.server is an ACE plugin server (scripted), reached over HTTP."""
    app = ace_plugin_app(lambda body: ["Seven years ", "for the frame. ", "Two for the rest."])
    with ServerThread(app) as plugin:
        folder = tmp_path / "design"
        shutil.copytree(ROOT / "tests" / "fixtures" / "ace_design_bot", folder)
        config = folder / "speech_config.yaml"
        config.write_text(
            config.read_text().replace("http://localhost:9002/rag", f"{plugin.url}/rag")
        )
        with stack_for(folder, tmp_path / "data") as stack:
            result, turns, spoken = call(stack, [FRAME], [said()])
    assert "Seven years for the frame." in spoken and "Two for the rest." in spoken
    (request,) = app.state.requests
    body, params = request["body"], request["params"]
    assert body["Query"] == FRAME and body["UserId"] == result.call_sid
    assert body["Metadata"]["ChatHistory"] == []  # chat_history=True, nothing said before
    assert body["Metadata"]["SessionId"] == params["session_id"] == result.call_sid
    assert params["request_id"]
    answer = " ".join(t["text"] for t in bot_turns(turns))
    assert answer == "Seven years for the frame. Two for the rest."


@pytest.mark.e2e
def test_the_same_bot_answers_offline_on_the_embedded_stack(speak, tmp_path):
    """Whisper hears the caller, piper speaks, the knowledge base answers: no servers."""
    with stack_for(ACE_RAG, tmp_path, asr="embedded", tts="embedded") as stack:
        upload_docs(stack.server.url)
        line = Line("How long is the frame warranty?", speak("How long is the frame warranty?"))
        caller = SimulatedCaller(stack.server.ws_url, [line], idle_s=2.5, lead_in_s=0.5, max_s=90)
        result = asyncio.run(caller.run())
        stack.server.ended(result.call_sid)
        turns = stack.server.records(stack.services.records.turns(result.call_sid))
    assert len(result.turns[1].audio) > 8000 * 2  # over a second of the bot's voice
    assert "seven years" in " ".join(t["text"] for t in bot_turns(turns))
