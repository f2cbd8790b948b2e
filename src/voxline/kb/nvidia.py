"""Keep a bot's documents in an NVIDIA RAG chain server, through its /documents and /search.

Same ``KnowledgeBase`` protocol as the local store, so ``voxline kb`` and the /kb page manage
an NVIDIA deployment too: POST /documents (multipart ``file``), GET /documents
(``{"documents": [names]}``), DELETE /documents?filename=, and POST /search
``{query, top_k}`` -> ``{"chunks": [{content, filename, score}]}``.
"""

from __future__ import annotations

from typing import Any

import httpx

from voxline.kb.base import Document, Hit


class NvidiaDocumentStore:
    def __init__(
        self, server: str, timeout: float = 120.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.server = server.rstrip("/")
        # Ingestion on the server side (embedding into Milvus) can take a while.
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0))

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._client.request(method, f"{self.server}{path}", **kwargs)
        if response.status_code >= 400 and response.status_code != 404:
            raise ConnectionError(
                f"RAG server {self.server}{path}: HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response

    async def add(self, name: str, data: bytes) -> dict[str, Any]:
        response = await self._call("POST", "/documents", files={"file": (name, data)})
        return {"name": name, "status": "uploaded", "message": response.json().get("message", "")}

    async def documents(self) -> list[Document]:
        response = await self._call("GET", "/documents")
        return [Document(str(n)) for n in response.json().get("documents") or []]

    async def remove(self, name: str) -> bool:
        response = await self._call("DELETE", "/documents", params={"filename": name})
        return response.status_code != 404

    async def search(self, query: str, k: int = 3) -> list[Hit]:
        response = await self._call(
            "POST", "/search", json={"query": query, "top_k": max(1, min(k, 25))}
        )
        return [
            Hit(str(c.get("filename", "")), i, str(c.get("content", "")), float(c.get("score", 0)))
            for i, c in enumerate(response.json().get("chunks") or [])
        ]

    async def aclose(self) -> None:
        await self._client.aclose()
