"""A phone call to the RAG sample bot: the caller asks what only its documents answer."""

from dataclasses import replace

import pytest

from tests.conftest import ROOT, make_settings, running_server
from voxline.bot import load_bot
from voxline.caller import Line, SimulatedCaller
from voxline.records_sqlite import SqliteRecords
from voxline.services import build_agent_factory

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rag_server(embedded_services, tmp_path_factory):
    bot = load_bot(ROOT / "bots" / "rag")
    tmp = tmp_path_factory.mktemp("rag")
    settings = make_settings(tmp, bot=str(bot.path))
    services = replace(
        embedded_services,
        bot=bot,
        agent_factory=build_agent_factory(settings, bot),
        records=SqliteRecords(tmp / "records.sqlite3"),
    )
    yield from running_server(settings, bot, services)


async def test_the_bot_speaks_a_fact_found_only_in_its_documents(rag_server, speak):
    from voxline.speech.whisper import WhisperEngine

    question = "How many years is the frame guaranteed?"
    result = await SimulatedCaller(
        rag_server.ws_url, [Line(question, speak(question))], idle_s=2.0
    ).run()
    rag_server.ended(result.call_sid)
    turns = rag_server.records(rag_server.services.records.turns(result.call_sid))
    answer = [t["text"] for t in turns if t["role"] == "assistant"][-1]
    assert "seven years" in answer.lower()
    # And the caller really heard it: transcribe what came down the line.
    heard = WhisperEngine(workers=1).transcribe(bytes(result.turns[-1].audio), 8000)
    assert "seven" in heard.lower() or "7" in heard, heard
