"""The RAG agent: retrieve passages from the bot's knowledge base, then answer from them.

With an LLM (any OpenAI-compatible endpoint) the answer is generated from the passages and
streamed sentence by sentence, short and speakable; the prompt makes it say so when the
passages do not hold the answer. Offline, the agent reads out the best passage's most relevant
sentences, or says it does not know when nothing scores above ``min_score``. If the LLM fails
before saying anything, the offline answer is used, so a caller never hears silence.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from voxline.agents.base import Turn
from voxline.agents.follow_up import resolve_follow_up
from voxline.agents.llm import LOCAL_API_KEY
from voxline.agents.phrasing import spoken_list
from voxline.bot import Bot
from voxline.config import Settings
from voxline.events import AgentEvent, TextDelta
from voxline.kb.answer import Embed, EmbedCache, extract_answer, unanswered
from voxline.kb.base import Hit, KnowledgeBase
from voxline.kb.config import KbConfig, bot_section, open_knowledge_base, sync_documents
from voxline.kb.text import SentenceStream, split_sentences

log = logging.getLogger(__name__)

RAG_INSTRUCTIONS = """\
You answer callers on the phone using only the passages below from the knowledge base.
Reply in one or two short, plain sentences that sound natural when spoken: no lists, no markdown,
no URLs read character by character. If the passages do not contain the answer, say that you
don't have that information; never make facts up."""


@dataclass(frozen=True)
class RagOptions:
    top_k: int = 3
    min_score: float = 0.35  # offline: best sentence cosine below this means "I don't know"
    llm_min_score: float = 0.12  # passages weaker than this are not shown to the LLM
    no_answer: str = "Sorry, I don't have that information."
    partial: str = "But I don't have any information about {what}."
    max_sentences: int = 2
    temperature: float = 0.2
    max_tokens: int = 200


@dataclass(frozen=True)
class LlmEndpoint:
    model: str
    base_url: str = ""
    api_key: str = ""

    def client(self) -> Any:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            base_url=self.base_url or None, api_key=self.api_key or LOCAL_API_KEY, max_retries=0
        )


def _join(sentences: list[str], first: bool) -> list[TextDelta]:
    """Deltas that concatenate back to the spoken text (a space between sentences)."""
    out = []
    for s in sentences:
        out.append(TextDelta(s if first else " " + s))
        first = False
    return out


class RagAgent:
    name = "rag"

    def __init__(
        self,
        kb: KnowledgeBase,
        options: RagOptions | None = None,
        llm: LlmEndpoint | None = None,
        system_prompt: str = "",
        embed: Embed | None = None,
        documents: Any = None,
        names: tuple[str, ...] = (),
    ) -> None:
        self.kb = kb
        self.options = options or RagOptions()
        self.llm = llm
        self.system_prompt = system_prompt
        self.embed = embed
        self._documents = documents  # (kb, folder) to ingest once per process before searching
        self.names = names  # the bot's proper names (products), for follow-ups
        self._synced = asyncio.Lock()
        self._client: Any = None

    async def _retrieve(self, turn: Turn) -> tuple[str, list[Hit]]:
        """The question, resolved against the conversation when it leans on it ("And on
        Sundays?" after "When do you close on weekdays?"), and the passages for it."""
        if self._documents is not None and self._documents not in _SYNCED:
            async with self._synced:
                if self._documents not in _SYNCED:
                    await sync_documents(self.kb, self._documents[1])
                    _SYNCED.add(self._documents)
        query = resolve_follow_up(turn.history.conversation(), self.names)
        return query, await self.kb.search(query, self.options.top_k)

    def _extractive(self, question: str, hits: list[Hit]) -> str:
        found = extract_answer(question, hits, self.embed, self.options.max_sentences)
        if not found.text or found.score < self.options.min_score:
            return self.options.no_answer
        if self.embed is not None:
            missing = unanswered(question, found.text, self.embed, self.names)
            if missing:  # "parking for trucks?": what we know, and what we don't
                return f"{found.text} {self.options.partial.format(what=spoken_list(missing))}"
        return found.text

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        query, hits = await self._retrieve(turn)
        if self.llm is None:
            answer = await asyncio.to_thread(self._extractive, query, hits)
            for delta in _join(split_sentences(answer), True):  # the first sentence at once
                yield delta
            return
        said = False
        try:
            async for delta in self._generate(turn, hits):
                yield delta
                said = True
        except Exception as exc:  # the LLM is down or misbehaving: answer offline instead
            if said:
                raise
            log.warning("rag: LLM failed (%s); answering extractively", exc)
            answer = await asyncio.to_thread(self._extractive, query, hits)
            for delta in _join(split_sentences(answer), True):
                yield delta

    def _messages(self, turn: Turn, hits: list[Hit]) -> list[dict[str, Any]]:
        relevant = [h for h in hits if h.score >= self.options.llm_min_score]
        passages = (
            "\n\n".join(f"[{i}] ({h.document}) {h.text}" for i, h in enumerate(relevant, 1))
            or "(no relevant passages were found)"
        )
        system = "\n\n".join(
            p for p in (self.system_prompt.strip(), RAG_INSTRUCTIONS, "Passages:\n" + passages) if p
        )
        return [{"role": "system", "content": system}, *turn.history.conversation()]

    async def _generate(self, turn: Turn, hits: list[Hit]) -> AsyncIterator[TextDelta]:
        assert self.llm is not None
        if self._client is None:
            self._client = self.llm.client()
        stream = await self._client.chat.completions.create(
            model=self.llm.model or "default",
            messages=self._messages(turn, hits),
            temperature=self.options.temperature,
            max_tokens=self.options.max_tokens,
            stream=True,
        )
        sentences = SentenceStream()
        first = True
        async for chunk in stream:
            if not chunk.choices:
                continue
            text = chunk.choices[0].delta.content or ""
            for delta in _join(sentences.push(text), first):
                first = False
                yield delta
        for delta in _join(sentences.flush(), first):
            yield delta

    async def check(self) -> str:
        docs = await self.kb.documents()
        status = f"knowledge base: {len(docs)} documents"
        if self.llm is not None:
            if self._client is None:
                self._client = self.llm.client()
            await self._client.chat.completions.create(
                model=self.llm.model or "default",
                messages=[{"role": "user", "content": "Say OK."}],
                max_tokens=1,
            )
            status += f"; LLM {self.llm.model or 'default'} answers"
        return status


def build_rag_agent(settings: Settings, bot: Bot, use_llm: bool | None = None) -> RagAgent:
    """The RAG agent for ``bot``: LLM answers if an LLM is configured (or ``use_llm``)."""
    config = KbConfig.for_bot(settings, bot)
    kb = open_knowledge_base(config)
    raw = bot_section(bot, "rag")
    defaults = RagOptions()
    options = RagOptions(
        top_k=config.top_k,
        min_score=float(raw.get("min_score", defaults.min_score)),
        llm_min_score=float(raw.get("llm_min_score", defaults.llm_min_score)),
        no_answer=str(raw.get("no_answer", defaults.no_answer)),
        partial=str(raw.get("partial", defaults.partial)),
        max_sentences=int(raw.get("max_sentences", defaults.max_sentences)),
        temperature=float(raw.get("temperature", defaults.temperature)),
        max_tokens=int(raw.get("max_tokens", defaults.max_tokens)),
    )
    use_llm = settings.llm_configured if use_llm is None else use_llm
    llm = (
        LlmEndpoint(settings.llm_model, settings.llm_base_url, str(settings.llm_api_key))
        if use_llm
        else None
    )
    embed = _sentence_cache() if config.backend == "local" else None
    docs = config.documents if config.documents and config.documents.is_dir() else None
    return RagAgent(
        kb,
        options,
        llm,
        bot.prompt,
        embed,
        documents=(config.path, docs) if docs else None,
        names=bot.vocabulary,
    )


# Shared by every call of the process: a new call neither re-reads the document folder nor
# re-embeds the sentences earlier calls already scored (the first answer of each call cost
# 150-350 ms of sentence embeddings, and the folder sync ~30 ms, before this).
_SYNCED: set[tuple[Any, Any]] = set()


@functools.cache
def _sentence_cache() -> EmbedCache:
    from voxline.kb.embed import get_embedder

    return EmbedCache(get_embedder().encode)
