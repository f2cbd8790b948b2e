"""The RAG agent on the sample bot: extractive offline, generative with an OpenAI-compatible
server (tests/fakes/openai_server.py over a real socket), and the fallback between the two."""

from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI, http_error, text
from voxline.agents.base import Turn
from voxline.agents.rag import build_rag_agent
from voxline.bot import load_bot
from voxline.config import load_settings
from voxline.events import TextDelta
from voxline.history import History
from voxline.tools import ToolBox, ToolContext

BOT = load_bot(Path(__file__).resolve().parents[2] / "bots" / "rag")


class NoOrders:
    async def add_order(self, call_id, tool, details):
        return 0


def turn_for(*questions: str) -> Turn:
    history = History()
    for q in questions[:-1]:
        history.user(q)
        history.assistant("(answer)")
    history.user(questions[-1])
    return Turn(history, ToolBox(), ToolContext("call-1", NoOrders()))


async def say(agent, *questions: str) -> list[str]:
    return [e.text async for e in agent.reply(turn_for(*questions)) if isinstance(e, TextDelta)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("rag")


@pytest.fixture
def offline(data_dir):
    return build_rag_agent(load_settings(env={}, data_dir=str(data_dir)), BOT)


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Who founded the company?", "Imelda Varga"),
        ("What time do you open on Saturday?", "Saturdays from 10"),
        ("How long is the frame warranty?", "seven years"),
        ("How much does the Heron cost?", "3,950 euros"),
    ],
)
async def test_offline_answers_from_the_documents(offline, question, fact):
    answer = "".join(await say(offline, question))
    assert fact in answer
    assert len(answer) < 320  # one or two sentences, not a whole passage


async def test_offline_says_it_does_not_know(offline):
    answer = "".join(await say(offline, "What is the capital of France?"))
    assert answer.startswith("Sorry, I don't have that information.")


async def test_follow_up_question_uses_the_previous_one(offline):
    answer = "".join(await say(offline, "Tell me about the Heron.", "How much can it carry?"))
    assert "180 kilograms" in answer


async def test_llm_answer_is_grounded_and_streamed_by_sentence(data_dir):
    with FakeOpenAI([text("The frame is covered for seven years. The battery for three.")]) as llm:
        settings = load_settings(env={}, data_dir=str(data_dir), llm_base_url=llm.base_url,
                                 llm_model="test-model")  # fmt: skip
        agent = build_rag_agent(settings, BOT)
        deltas = await say(agent, "How long is the frame warranty?")
        assert deltas == ["The frame is covered for seven years.", " The battery for three."]
        messages = llm.requests[0].messages
        system = messages[0]["content"]
        assert messages[0]["role"] == "system" and "seven years" in system  # the passage
        assert "don't have that information" in system  # the no-answer instruction
        assert "Corvid Cycles" in system  # the bot's prompt
        assert messages[-1] == {"role": "user", "content": "How long is the frame warranty?"}
        assert llm.requests[0].stream is True


async def test_llm_failure_falls_back_to_extractive(data_dir):
    with FakeOpenAI([http_error(500, "overloaded")]) as llm:
        settings = load_settings(env={}, data_dir=str(data_dir), llm_base_url=llm.base_url)
        agent = build_rag_agent(settings, BOT)
        answer = "".join(await say(agent, "Who founded the company?"))
        assert "Imelda Varga" in answer


async def test_check_reports_documents(offline):
    assert "5 documents" in await offline.check()
