"""A scripted NVIDIA RAG chain server (GenerativeAIExamples ``chain_server/server.py``).

``POST /generate`` streams ``data: {"id", "choices": [{"index": 0, "message": {"role":
"assistant", "content": piece}, "finish_reason": ""}]}`` lines and ends with a chunk whose
``finish_reason`` is ``"[DONE]"`` (no bare ``data: [DONE]``), exactly as the real server does;
with ``status`` != 200 it answers one error chunk. ``/documents`` (POST multipart ``file``,
GET, DELETE ?filename=), ``POST /search`` and ``GET /health`` keep documents in memory.
Requests are recorded in ``app.state.requests``; pieces after ``[DONE]`` (``trailing``) let a
test prove the client stops reading there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


def _line(piece: str, finish: str = "") -> str:
    chunk = {
        "id": str(uuid.uuid4()),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": piece},
             "finish_reason": finish}
        ],
    }  # fmt: skip
    return f"data: {json.dumps(chunk)}\n\n"


def rag_generate_app(
    script: Callable[[dict[str, Any]], list[str]],
    status: int = 200,
    trailing: list[str] | None = None,
) -> Starlette:
    requests: list[dict[str, Any]] = []
    documents: dict[str, bytes] = {}

    async def generate(request: Request) -> Any:
        body = await request.json()
        requests.append(body)
        if status != 200:
            return StreamingResponse(
                iter([_line("Error from chain server", "[DONE]")]),
                status_code=status, media_type="text/event-stream",
            )  # fmt: skip
        pieces = script(body)

        async def gen():
            for piece in pieces:
                yield _line(piece)
            yield _line("", "[DONE]")
            for piece in trailing or []:
                yield _line(piece)

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def upload(request: Request) -> JSONResponse:
        form = await request.form()
        file = form["file"]
        documents[file.filename] = await file.read()
        return JSONResponse({"message": "File uploaded successfully"})

    async def listing(request: Request) -> JSONResponse:
        return JSONResponse({"documents": sorted(documents)})

    async def delete(request: Request) -> JSONResponse:
        name = request.query_params.get("filename", "")
        if documents.pop(name, None) is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse({"message": f"Document {name} deleted successfully"})

    async def search(request: Request) -> JSONResponse:
        body = await request.json()
        requests.append(body)
        words = set(body["query"].lower().split())
        chunks = [
            {"content": data.decode(), "filename": name,
             "score": len(words & set(data.decode().lower().split())) / max(len(words), 1)}
            for name, data in documents.items()
        ]  # fmt: skip
        chunks.sort(key=lambda c: -c["score"])
        return JSONResponse({"chunks": chunks[: body.get("top_k", 4)]})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"message": "Service is up."})

    app = Starlette(
        routes=[
            Route("/generate", generate, methods=["POST"]),
            Route("/documents", upload, methods=["POST"]),
            Route("/documents", listing, methods=["GET"]),
            Route("/documents", delete, methods=["DELETE"]),
            Route("/search", search, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
    app.state.requests = requests
    app.state.documents = documents
    return app
