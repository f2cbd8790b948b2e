"""Hybrid retrieval: MiniLM cosine similarity fused with FTS5 bm25 keyword scores.

Dense vectors find paraphrases ("when are you open" ~ "opening hours"); bm25 finds rare exact
words the small model blurs (product codes, names, numbers). Reciprocal-rank fusion combines
the two rankings without having to calibrate their scores against each other. The measured
effect on the sample bot's question set is in tests/integration/test_kb_retrieval.py.

Every hit carries its cosine similarity to the query, so callers can apply one threshold
("nothing relevant") whatever the ranking mode.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from typing import Any, Literal

from voxline.kb.base import Document, Hit
from voxline.kb.store import KnowledgeStore

Mode = Literal["vector", "keyword", "hybrid"]

_STOP = frozenset(
    (
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does",
        "did", "don't", "doesn't", "for", "from", "had", "has", "have", "how", "i", "i'd", "i'm",
        "if", "in", "is", "it", "its", "like", "me", "my", "need", "of", "on", "or", "our",
        "please", "so", "tell", "that", "the", "their", "there", "these", "this", "to", "us",
        "want", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with",
        "would", "you", "your"
    )
)  # fmt: skip
_RRF_K = 60  # the usual constant: damps the head so neither list dominates


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: the query's content words, quoted, OR-ed (never a syntax error)."""
    words = [w for w in re.findall(r"[\w']+", text.lower()) if w not in _STOP and len(w) > 1]
    words = [w.replace("'", "").replace('"', "") for w in dict.fromkeys(words)]
    return " OR ".join(f'"{w}"' for w in words if w)


def search(
    store: KnowledgeStore, query: str, k: int = 3, mode: Mode = "hybrid", pool: int = 20
) -> list[Hit]:
    """Top ``k`` passages for ``query`` (synchronous; embeds the query)."""
    query = query.strip()
    if not query or k <= 0:
        return []
    vector = store.embed_query(query)
    dense = store.vector_search(vector, pool) if mode != "keyword" else []
    sparse = store.keyword_search(fts_query(query), pool) if mode != "vector" else []
    fused: dict[int, float] = {}
    for ranking in (dense, sparse):
        for rank, (cid, _) in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (_RRF_K + rank + 1)
    best = sorted(fused, key=lambda cid: -fused[cid])[:k]
    chunks = store.chunks(best)
    cosine = dict(dense)
    cosine.update(store.cosine(vector, [cid for cid in best if cid not in cosine]))
    return [
        Hit(chunks[cid].document, chunks[cid].position, chunks[cid].text, round(cosine[cid], 4))
        for cid in best
        if cid in chunks
    ]


class LocalKnowledgeBase:
    """The ``KnowledgeBase`` protocol over a ``KnowledgeStore``; work runs off the event loop."""

    def __init__(self, store: KnowledgeStore, mode: Mode = "hybrid") -> None:
        self.store = store
        self.mode: Mode = mode

    async def add(self, name: str, data: bytes) -> dict[str, Any]:
        result = await asyncio.to_thread(self.store.add, name, data)
        return asdict(result)

    async def documents(self) -> list[Document]:
        docs = await asyncio.to_thread(self.store.documents)
        return [Document(d.name, d.chunks, d.size, d.kind, d.sha256) for d in docs]

    async def remove(self, name: str) -> bool:
        return await asyncio.to_thread(self.store.remove, name)

    async def search(self, query: str, k: int = 3) -> list[Hit]:
        return await asyncio.to_thread(search, self.store, query, k, self.mode)

    def close(self) -> None:
        self.store.close()
