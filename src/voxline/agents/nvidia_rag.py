"""An agent backed by an NVIDIA RAG chain server (GenerativeAIExamples), via POST /generate.

For users of NVIDIA's RAG examples: the server keeps the documents and runs the LLM; Voxline
sends the conversation (the last user message is the query) and speaks the streamed answer a
sentence at a time. The stream is SSE: ``data: {"choices":[{"message":{"content": ...},
"finish_reason": ""}]}`` lines, ended by a chunk whose ``finish_reason`` is ``"[DONE]"`` (there
is no bare ``data: [DONE]``, though one is accepted too).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from voxline.agents.base import Turn
from voxline.agents.http import DialogServer
from voxline.agents.plugin import chat_history
from voxline.bot import Bot, BotError
from voxline.config import Settings
from voxline.events import AgentEvent, TextDelta
from voxline.kb.config import bot_section
from voxline.kb.text import SentenceStream

log = logging.getLogger(__name__)

# ACE's RAG plugin asks for short answers the same way.
SPOKEN_HINT = " Please answer in one or two short sentences."


class NvidiaRagAgent:
    name = "nvidia_rag"

    def __init__(
        self,
        server: str,
        *,
        collection_name: str = "",
        use_knowledge_base: bool = True,
        temperature: float = 0.2,
        top_p: float = 0.7,
        max_tokens: int = 200,
        stop: list[str] | None = None,
        spoken_hint: str = SPOKEN_HINT,
        timeout: float = 30.0,
    ) -> None:
        self.http = DialogServer(server, "RAG server", timeout)
        self.server = self.http.url
        self.collection_name = collection_name
        self.use_knowledge_base = use_knowledge_base
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.stop = stop or []
        self.spoken_hint = spoken_hint

    def request_body(self, turn: Turn) -> dict[str, Any]:
        query = {"role": "user", "content": turn.text + self.spoken_hint}
        body: dict[str, Any] = {
            "messages": [*chat_history(turn), query],
            "use_knowledge_base": self.use_knowledge_base,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
        }
        if self.collection_name:
            body["collection_name"] = self.collection_name
        return body

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        sentences = SentenceStream()
        first = True
        async with self.http.stream("/generate", json=self.request_body(turn)) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    choice = json.loads(payload)["choices"][0]
                except (json.JSONDecodeError, KeyError, IndexError, TypeError):
                    log.warning("nvidia_rag: unparsable chunk %r", payload[:200])
                    continue
                message = choice.get("message") or choice.get("delta") or {}
                for sentence in sentences.push(message.get("content") or ""):
                    yield TextDelta(sentence if first else " " + sentence)
                    first = False
                if choice.get("finish_reason") == "[DONE]":
                    break
        for sentence in sentences.flush():
            yield TextDelta(sentence if first else " " + sentence)
            first = False

    async def check(self) -> str:
        response = await self.http.client.get(f"{self.server}/health")
        response.raise_for_status()
        return f"RAG server {self.server} answers"

    async def aclose(self) -> None:
        await self.http.aclose()


def build_nvidia_rag_agent(settings: Settings, bot: Bot) -> NvidiaRagAgent:
    """From bot.yaml's ``nvidia_rag: {server: http://host:8081, collection_name: ...}``."""
    section = bot_section(bot, "nvidia_rag")
    if not section.get("server"):
        raise BotError(f"{bot.path / 'bot.yaml'}: agent nvidia_rag needs nvidia_rag.server")
    try:
        return NvidiaRagAgent(
            str(section["server"]),
            collection_name=str(section.get("collection_name") or ""),
            temperature=float(section.get("temperature", 0.2)),
            top_p=float(section.get("top_p", 0.7)),
            max_tokens=int(section.get("max_tokens", 200)),
            stop=list(section.get("stop") or []),
            timeout=float(section.get("timeout", 30)),
        )
    except (TypeError, ValueError) as exc:
        raise BotError(f"{bot.path / 'bot.yaml'}: nvidia_rag: {exc}") from None
