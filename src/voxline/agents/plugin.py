"""Use any ACE-compatible plugin server as the bot's dialog backend.

Configured like ACE's ``dialog_manager`` (``server: http://host:9002/rag``). Each turn POSTs a
``ChatRequest`` (the query, the user id, and ``Metadata`` with SessionId, StreamId and the chat
history) to ``{server}/chat`` and reads the streamed ``ChatResponse`` chunks. Chunks may arrive
split or glued together on the wire, so they are decoded as a stream of JSON values (with ACE's
regex fallback for a broken chunk); text is spoken a sentence at a time as soon as each
sentence is complete, and the stream ends at ``IsFinal``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from voxline.agents.base import Turn
from voxline.agents.http import DialogServer
from voxline.bot import Bot, BotError
from voxline.config import Settings
from voxline.events import AgentEvent, TextDelta
from voxline.kb.config import bot_section
from voxline.kb.text import SentenceStream

_TEXT = re.compile(r'"Text"\s*:\s*"((?:[^"\\]|\\.)*)"')
_BOUNDARY = re.compile(r"\}\s*(?=\{)")
_MAX_BUFFER = 1 << 20  # a plugin that never closes a JSON value is cut off here


class ChunkDecoder:
    """Split a byte stream into the JSON objects it carries (concatenated, or one per line)."""

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def _broken_prefix(self) -> int:
        """End of an undecodable object when a decodable one follows it, else 0 (wait)."""
        for m in _BOUNDARY.finditer(self._buf):
            try:
                self._decoder.raw_decode(self._buf, m.end())
            except json.JSONDecodeError:
                continue
            return m.end()
        return 0

    def feed(self, text: str) -> Iterator[dict[str, Any]]:
        self._buf += text
        while True:
            self._buf = self._buf.lstrip()
            if self._buf.startswith("data:"):  # tolerate SSE framing from non-ACE servers
                self._buf = self._buf[5:].lstrip()
            if not self._buf:
                return
            try:
                value, end = self._decoder.raw_decode(self._buf)
            except json.JSONDecodeError:
                if len(self._buf) > _MAX_BUFFER:
                    raise ValueError("plugin response is not JSON") from None
                cut = self._broken_prefix()
                if cut:  # a broken object followed by a good one: salvage its text like ACE
                    broken, self._buf = self._buf[:cut], self._buf[cut:]
                    match = _TEXT.search(broken)
                    if match:
                        yield {"Response": {"Text": json.loads(f'"{match.group(1)}"')}}
                    continue
                return  # incomplete: wait for more bytes
            self._buf = self._buf[end:]
            if isinstance(value, dict):
                yield value


def chat_history(turn: Turn) -> list[dict[str, str]]:
    """Prior user/assistant messages (tool traffic left out), without the current query."""
    messages = turn.history.conversation()
    if messages and messages[-1]["role"] == "user":
        messages.pop()
    return messages


def chat_request(
    query: str,
    user_id: str,
    session_id: str,
    stream_id: str,
    history: list[dict[str, str]] | None,
    request_id: str = "",
) -> tuple[dict[str, Any], dict[str, str]]:
    """ACE's ``/chat`` body and query parameters; ``history`` None leaves ``ChatHistory`` out
    (the plugin keeps the conversation itself)."""
    metadata: dict[str, Any] = {"SessionId": session_id, "StreamId": stream_id}
    if history is not None:
        metadata["ChatHistory"] = history
    params = {
        "request_id": request_id or uuid.uuid4().hex,
        "stream_id": stream_id,
        "user_id": user_id,
        "session_id": session_id,
    }
    return {"Query": query, "UserId": user_id, "Metadata": metadata}, params


async def chat_sentences(
    http: DialogServer, path: str, body: dict[str, Any], params: dict[str, str]
) -> AsyncIterator[str]:
    """POST an ACE ``ChatRequest`` to ``path`` and yield the answer a sentence at a time,
    until the chunk with ``IsFinal``."""
    sentences = SentenceStream()
    decoder = ChunkDecoder()
    async with http.stream(path, json=body, params=params) as response:
        done = False
        async for text in response.aiter_text():
            for value in decoder.feed(text):
                answer = value.get("Response") or {}
                piece = answer.get("CleanedText") or answer.get("Text") or ""
                # ACE's Chat Engine does the same before TTS.
                piece = piece.replace('"', "'").replace("\n", " ")
                for sentence in sentences.push(piece):
                    yield sentence
                if answer.get("IsFinal"):
                    done = True
                    break
            if done:
                break
    for sentence in sentences.flush():
        yield sentence


class PluginAgent:
    name = "plugin"

    def __init__(
        self,
        server: str,
        user_id: str = "",
        session_id: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.http = DialogServer(server, "plugin", timeout)
        self.server = self.http.url
        self.user_id = user_id or f"voxline-{uuid.uuid4().hex[:12]}"
        self.session_id = session_id or self.user_id

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        stream_id = turn.context.call_id or self.session_id
        body, params = chat_request(
            turn.text, self.user_id, self.session_id, stream_id, chat_history(turn)
        )
        first = True
        async for sentence in chat_sentences(self.http, "/chat", body, params):
            yield TextDelta(sentence if first else " " + sentence)
            first = False

    async def send_event(self, event_type: str) -> dict[str, Any]:
        """Tell the plugin about a pipeline event (e.g. ``system.event_pipeline_acquired``)."""
        response = await self.http.client.post(
            f"{self.server}/event", json={"EventType": event_type, "UserId": self.user_id}
        )
        response.raise_for_status()
        return response.json()

    async def check(self) -> str:
        await self.send_event("system.event_health")
        return f"plugin server {self.server} answers"

    async def aclose(self) -> None:
        await self.http.aclose()


def build_plugin_agent(settings: Settings, bot: Bot, user_id: str = "") -> PluginAgent:
    """From bot.yaml's ACE-style ``dialog_manager: {server: http://host:9002/rag}`` (``load_bot``
    has already flattened ACE's nested ``DialogManager`` form)."""
    section = bot_section(bot, "dialog_manager")
    server = section.get("server")
    if not server:
        raise BotError(f"{bot.path / 'bot.yaml'}: agent plugin needs dialog_manager.server")
    return PluginAgent(str(server), user_id=user_id, timeout=float(section.get("timeout", 30)))
