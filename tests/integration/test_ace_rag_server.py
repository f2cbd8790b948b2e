"""Voxline as an NVIDIA RAG chain server: /generate, /documents and /search from the bot's
knowledge base, checked on the wire and with Voxline's own clients of that API (the
``nvidia_rag`` agent and the NVIDIA document store), so both sides keep agreeing."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.conftest import ROOT
from tests.fakes.scripted_stack import ScriptedStack
from voxline.agents.base import Turn
from voxline.agents.nvidia_rag import NvidiaRagAgent
from voxline.bot import load_bot
from voxline.events import TextDelta
from voxline.history import History
from voxline.kb.nvidia import NvidiaDocumentStore
from voxline.tools import ToolBox, ToolContext

QUESTION = "How many years is the frame guaranteed?"


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    bot = load_bot(ROOT / "bots" / "rag")
    with ScriptedStack(bot, tmp_path_factory.mktemp("rag"), ["hi"], agent="rag") as stack:
        yield stack.server.url


def events(url: str, body: dict) -> tuple[int, list[dict]]:
    with httpx.stream("POST", f"{url}/generate", json=body, timeout=60) as response:
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    return response.status_code, [json.loads(line[6:]) for line in lines]


def test_generate_streams_the_chain_servers_events_ending_with_done(rag):
    body = {
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": QUESTION},
        ],
        "use_knowledge_base": True,
        "temperature": 0.2, "top_p": 0.7, "max_tokens": 200, "seed": 42, "bad": [],
        "stop": [], "stream": True,
    }  # fmt: skip
    status, chunks = events(rag, body)
    assert status == 200 and len(chunks) >= 2
    *answer, last = chunks
    assert last["choices"][0]["finish_reason"] == "[DONE]"
    assert last["choices"][0]["message"]["content"] == ""
    for chunk in answer:
        (choice,) = chunk["choices"]
        assert choice["index"] == 0 and choice["finish_reason"] == ""
        assert choice["message"]["role"] == "assistant" and chunk["id"]
    assert "seven years" in "".join(c["choices"][0]["message"]["content"] for c in answer)


def test_generate_refuses_bad_prompts_with_a_reason(rag):
    for body, reason in [
        ({"messages": [{"role": "user", "content": "hi"}]}, "use_knowledge_base"),
        ({"messages": [], "use_knowledge_base": True}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hi"}], "use_knowledge_base": True},
         "no user message"),
        ({"messages": [{"role": "robot", "content": "hi"}], "use_knowledge_base": True}, "role"),
        ({"messages": [{"role": "user", "content": "hi"}], "use_knowledge_base": True,
          "temperature": 5}, "temperature"),
    ]:  # fmt: skip
        response = httpx.post(f"{rag}/generate", json=body)
        assert response.status_code == 422 and reason in response.json()["detail"], body
    response = httpx.post(f"{rag}/generate", content=b"not json")
    assert response.status_code == 422


async def test_voxlines_nvidia_rag_agent_answers_through_it(rag):
    agent = NvidiaRagAgent(rag)
    history = History()
    history.user(QUESTION)
    turn = Turn(history, ToolBox(), ToolContext("t", None, {}))  # type: ignore[arg-type]
    try:
        text = "".join([e.text async for e in agent.reply(turn) if isinstance(e, TextDelta)])
        assert "seven years" in text
        assert "answers" in await agent.check()  # GET /health
    finally:
        await agent.aclose()


async def test_documents_upload_list_search_delete_with_the_nvidia_document_store(rag):
    store = NvidiaDocumentStore(rag)
    name = "lost-property.txt"
    text = b"Umbrellas left in the Quayside showroom are kept for ninety days at the counter."
    try:
        added = await store.add(name, text)
        assert added["message"] == "File uploaded successfully"
        assert name in [d.name for d in await store.documents()]
        hits = await store.search("how long do you keep a forgotten umbrella", 3)
        assert hits and hits[0].document == name and "ninety days" in hits[0].text
        assert await store.remove(name) is True
        assert name not in [d.name for d in await store.documents()]
        assert await store.remove(name) is False  # 404
    finally:
        await store.aclose()
    async with httpx.AsyncClient() as client:
        bad = await client.post(f"{rag}/documents", files={"file": ("../evil.txt", b"x")})
        assert bad.status_code == 400  # the KB's own upload checks apply
        wrong = await client.post(f"{rag}/search", json={"query": "x", "top_k": 99})
        assert wrong.status_code == 422 and "top_k" in wrong.json()["detail"]


async def test_asgi_stream_hands_each_chunk_on_and_closing_cancels_the_app():
    """The in-process plugin transport streams, unlike httpx's ASGITransport."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from voxline.ace.asgi_stream import StreamingAsgiTransport

    second = asyncio.Event()
    cancelled = asyncio.Event()

    async def endpoint(request):
        async def body():
            try:
                yield b"first"
                await second.wait()
                yield b"second"
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        return StreamingResponse(body())

    app = Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])
    client = httpx.AsyncClient(transport=StreamingAsgiTransport(app))
    async with client, client.stream("POST", "http://plugins/chat", json={}) as response:
        chunks = response.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 2) == b"first"  # before "second"
        second.set()
        assert await asyncio.wait_for(anext(chunks), 2) == b"second"
    await asyncio.wait_for(cancelled.wait(), 2)
