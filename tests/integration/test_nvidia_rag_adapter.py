"""The NVIDIA RAG chain server adapters against a scripted /generate and /documents server."""

import pytest

from tests.fakes.ace_plugin_server import ServerThread
from tests.fakes.rag_generate_server import rag_generate_app
from voxline.agents.base import Turn
from voxline.agents.nvidia_rag import NvidiaRagAgent
from voxline.events import TextDelta
from voxline.history import History
from voxline.kb.nvidia import NvidiaDocumentStore
from voxline.tools import ToolBox, ToolContext


class NoOrders:
    async def add_order(self, call_id, tool, details):
        return 0


def turn(*messages: tuple[str, str]) -> Turn:
    history = History(system="ignored system prompt")
    for role, content in messages:
        history.user(content) if role == "user" else history.assistant(content)
    return Turn(history, ToolBox(), ToolContext("c", NoOrders()))


async def collect(agent, t) -> list[str]:
    return [e.text async for e in agent.reply(t) if isinstance(e, TextDelta)]


async def test_generate_stream_is_spoken_by_sentence_and_ends_at_done():
    pieces = ["The warranty", " lasts seven", " years. Batteries", " have three."]
    app = rag_generate_app(lambda body: pieces, trailing=["SHOULD NOT BE SPOKEN."])
    with ServerThread(app) as server:
        agent = NvidiaRagAgent(server.url, collection_name="corvid", max_tokens=150)
        deltas = await collect(
            agent, turn(("user", "hi"), ("assistant", "Hello."), ("user", "Warranty?"))
        )
        assert deltas == ["The warranty lasts seven years.", " Batteries have three."]
        body = app.state.requests[0]
        assert body["messages"][:2] == [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello."},
        ]
        assert body["messages"][-1]["role"] == "user"
        assert body["messages"][-1]["content"].startswith("Warranty?")
        assert body["use_knowledge_base"] is True
        assert body["collection_name"] == "corvid" and body["max_tokens"] == 150
        assert {"temperature", "top_p", "stop"} <= set(body)
        assert "answers" in await agent.check()
        await agent.aclose()


async def test_generate_error_raises_with_the_server_message():
    app = rag_generate_app(lambda body: [], status=500)
    with ServerThread(app) as server:
        agent = NvidiaRagAgent(server.url)
        with pytest.raises(ConnectionError, match="HTTP 500"):
            await collect(agent, turn(("user", "hi")))
        await agent.aclose()


async def test_documents_backend_add_list_search_remove():
    app = rag_generate_app(lambda body: [])
    with ServerThread(app) as server:
        kb = NvidiaDocumentStore(server.url)
        result = await kb.add("hours.txt", b"The showroom opens at nine")
        assert result["status"] == "uploaded"
        await kb.add("team.txt", b"Imelda Varga founded the company")
        assert [d.name for d in await kb.documents()] == ["hours.txt", "team.txt"]
        hits = await kb.search("who founded the company", 1)
        assert hits[0].document == "team.txt" and "Imelda" in hits[0].text
        assert app.state.requests[-1] == {"query": "who founded the company", "top_k": 1}
        assert await kb.remove("hours.txt") is True
        assert await kb.remove("hours.txt") is False
        assert [d.name for d in await kb.documents()] == ["team.txt"]
        await kb.aclose()
