"""What every knowledge base offers, local (SQLite) or remote (an NVIDIA RAG server).

The RAG agent, the /kb HTTP routes and the ``voxline kb`` command only use this protocol, so a
bot can keep its documents in Voxline or in an NVIDIA RAG deployment without other changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage. ``score`` is comparable to a threshold (cosine for the local KB)."""

    document: str
    position: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    chunks: int | None = None
    size: int | None = None
    kind: str | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class KnowledgeBase(Protocol):
    async def add(self, name: str, data: bytes) -> dict[str, Any]:
        """Ingest a file (replacing an older version); returns a JSON-able summary."""
        ...

    async def documents(self) -> list[Document]: ...

    async def remove(self, name: str) -> bool:
        """Delete a document and its chunks; False if there was none by that name."""
        ...

    async def search(self, query: str, k: int = 3) -> list[Hit]: ...
