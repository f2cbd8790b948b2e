"""The NVIDIA RAG chain server API (GenerativeAIExamples ``chain_server/server.py``), served
from the bot's own knowledge base, so ACE's RAG plugin (and Voxline's ``nvidia_rag`` agent
and NVIDIA document store) can use a Voxline server in place of the RAG deployment.

- ``POST /generate`` (``Prompt``: messages, use_knowledge_base, temperature, top_p,
  max_tokens, stop): the last user message is the question, the others its conversation.
  The bot's RAG agent answers it: from the LLM when one is configured, else offline with the
  extractive answerer. The answer streams as the chain server's ``data: {"id", "choices":
  [{"index": 0, "message": {"role": "assistant", "content": delta}, "finish_reason": ""}]}``
  events (one per HTTP chunk, as ACE's plugin parses them), ended by one with
  ``finish_reason: "[DONE]"``; an error is one event with its text and status 500.
- ``POST /documents`` (multipart ``file``), ``GET /documents`` (``{"documents": [names]}``),
  ``DELETE /documents?filename=``, ``POST /search`` (``{query, top_k}`` -> ``chunks``).

Fields the chain server ignores (``seed``, ``bad``, ``stream``) are accepted; so is
``collection_name`` (one knowledge base per bot here). Without an LLM there is no plain
chat: ``use_knowledge_base: false`` is answered from the knowledge base too.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from voxline.ace.plugin_schemas import describe_errors
from voxline.agents.base import Agent, Turn
from voxline.events import TextDelta
from voxline.history import History
from voxline.kb.base import KnowledgeBase
from voxline.kb.routes import ingest_upload
from voxline.tools import ToolBox, ToolContext

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class Message(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=131072)


class Prompt(BaseModel):
    messages: list[Message] = Field(min_length=1, max_length=256)
    use_knowledge_base: bool
    temperature: float = Field(0.2, ge=0.1, le=1.0)
    top_p: float = Field(0.7, ge=0.1, le=1.0)
    max_tokens: int = Field(1024, ge=0, le=1024)
    stop: list[str] = Field(default_factory=list, max_length=256)
    collection_name: str = ""


class DocumentSearch(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(4, ge=1, le=25)


def _event(content: str, finish: str = "") -> str:
    chunk = {
        "id": str(uuid.uuid4()),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content},
             "finish_reason": finish}
        ],
    }  # fmt: skip
    return f"data: {json.dumps(chunk)}\n\n"


async def _parse(request: Request, model: type[M]) -> M | JSONResponse:
    """The body as ``model``, or a 422 whose ``detail`` says what is wrong."""
    try:
        return model.model_validate(await request.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JSONResponse({"detail": "body must be a JSON object"}, status_code=422)
    except ValidationError as exc:
        return JSONResponse({"detail": describe_errors(exc)}, status_code=422)


def _turn(prompt: Prompt) -> Turn:
    """The conversation with the last user message as the question."""
    history = History()
    last_user = max(i for i, m in enumerate(prompt.messages) if m.role == "user")
    for i, message in enumerate(prompt.messages):
        if message.role == "system":
            history.system = message.content
        elif message.role == "user" and i <= last_user:
            history.user(message.content)
        elif i < last_user:
            history.assistant(message.content)
    return Turn(history, ToolBox(), ToolContext("rag-server", None, {}))  # type: ignore[arg-type]


def rag_server_router(
    kb: KnowledgeBase, agent: Agent, max_bytes: int = 10 * 1024 * 1024
) -> APIRouter:
    """The chain server's routes over ``kb``; ``agent`` (the bot's RAG agent) answers."""
    router = APIRouter(tags=["NVIDIA RAG chain server API"])

    @router.post("/generate")
    async def generate(request: Request) -> Any:
        prompt = await _parse(request, Prompt)
        if isinstance(prompt, JSONResponse):
            return prompt
        if not any(m.role == "user" for m in prompt.messages):
            return JSONResponse({"detail": "messages: no user message"}, status_code=422)
        turn = _turn(prompt)
        answer = agent.reply(turn)
        try:  # the first piece before the status line, so a failure is a 500
            first = await anext(answer, None)
        except Exception as exc:
            log.exception("rag server: generate failed")
            return StreamingResponse(
                iter([_event(f"Error from chain server: {exc}", "[DONE]")]),
                status_code=500, media_type="text/event-stream",
            )  # fmt: skip

        async def stream() -> AsyncIterator[str]:
            event = first
            try:
                while event is not None:
                    if isinstance(event, TextDelta) and event.text:
                        yield _event(event.text)
                    event = await anext(answer, None)
            except Exception as exc:  # the status line is out: say it in the stream
                log.exception("rag server: generate failed mid-answer")
                yield _event(f" Error from chain server: {exc}")
            yield _event("", "[DONE]")

        return StreamingResponse(stream(), media_type="text/event-stream")

    @router.post("/documents")
    async def upload(request: Request) -> dict[str, Any]:
        await ingest_upload(kb, request, max_bytes)
        return {"message": "File uploaded successfully"}

    @router.get("/documents")
    async def documents() -> dict[str, Any]:
        return {"documents": [d.name for d in await kb.documents()]}

    @router.delete("/documents")
    async def delete(filename: str = Query(..., min_length=1)) -> dict[str, Any]:
        if not await kb.remove(filename):
            raise HTTPException(404, f"no document named {filename!r}")
        return {"message": f"Document {filename} deleted successfully"}

    @router.post("/search")
    async def search(request: Request) -> Any:
        body = await _parse(request, DocumentSearch)
        if isinstance(body, JSONResponse):
            return body
        hits = await kb.search(body.query, body.top_k)
        chunks = [{"content": h.text, "filename": h.document, "score": h.score} for h in hits]
        return {"chunks": chunks}

    return router
