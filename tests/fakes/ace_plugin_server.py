"""A scripted ACE-style plugin server, and a helper to run any ASGI app on 127.0.0.1.

``ace_plugin_app(script)`` mimics ACE's ``samples/rag_bot/plugins/rag.py``: ``POST /rag/chat``
streams ``json.dumps(ChatResponse.dict())`` chunks with no separator (media type
text/event-stream, not SSE-framed), the last one empty with ``IsFinal: true``; ``/rag/event``
answers like the sample. ``script(request_json) -> list[str]`` gives the text pieces; requests
are recorded in ``app.state.requests`` (body and query parameters).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


class ServerThread:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> ServerThread:
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                return self
            threading.Event().wait(0.025)
        raise RuntimeError("test server did not start")

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


def _chunk(user: str, text: str = "", final: bool = False) -> str:
    return json.dumps(
        {
            "UserId": user,
            "QueryId": "",
            "Response": {"Text": text, "CleanedText": text, "NeedUserResponse": True,
                         "IsFinal": final},
            "Metadata": {"SessionId": "", "StreamId": ""},
        }
    )  # fmt: skip


def ace_plugin_app(
    script: Callable[[dict[str, Any]], list[str]], name: str = "rag", delay: float = 0.0
) -> Starlette:
    requests: list[dict[str, Any]] = []

    async def chat(request: Request) -> StreamingResponse:
        body = await request.json()
        requests.append({"body": body, "params": dict(request.query_params)})
        pieces = script(body)

        async def gen():
            for piece in pieces:
                if delay:
                    await asyncio.sleep(delay)
                yield _chunk(body["UserId"], piece)
            yield _chunk(body["UserId"], final=True)

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def event(request: Request) -> JSONResponse:
        body = await request.json()
        requests.append({"body": body, "params": dict(request.query_params), "event": True})
        return JSONResponse({"UserId": body["UserId"], "Events": [], "Response": {"IsFinal": True}})

    app = Starlette(
        routes=[Route(f"/{name}/chat", chat, methods=["POST"]),
                Route(f"/{name}/event", event, methods=["POST"])]
    )  # fmt: skip
    app.state.requests = requests
    return app
