"""An OpenAI-compatible chat server for tests: real HTTP on 127.0.0.1, scripted replies.

Why: the LLM agent (and later whole phone calls) are tested through the real ``openai`` SDK over
a real socket, with the timing and failures of a NIM: slow first tokens, streamed tool-call
fragments, Llama 3.1 text-form calls, HTTP 500s, stalls and dropped connections.

API::

    server = FakeOpenAI([text("Hi there!"), native_call("f", {"a": 1})])  # or a callable
    server.start()          # uvicorn in a background thread, port chosen by the OS
    server.base_url         # "http://127.0.0.1:PORT/v1", for AsyncOpenAI(base_url=...)
    server.push(reply, ...)  # add replies to a list script; server.set_script(...) replaces it
    server.requests         # list[Recorded]: .body .messages .tools .params .headers .stream,
                            #   .chunks_sent .finished .cancelled (client went away mid-stream)
    await server.wait_for(lambda: server.requests[-1].cancelled)
    server.stop()           # or use `with FakeOpenAI(...) as server:`

Routes: ``POST /v1/chat/completions`` (``stream`` true: SSE ``data: {chunk}`` lines, then
``data: [DONE]``; false: one ``chat.completion``) and ``GET /v1/models``.

A script is a list of ``Reply`` consumed one per chat request, or ``callable(body) -> Reply``.
When a list runs out, ``default`` is served (None: HTTP 500 "script exhausted"). Builders:

- ``text(s, chunk_chars=4)``: plain content, split into ``chunk_chars``-sized deltas.
- ``native_call(name, args, text="", arg_chunk=7)``: streamed ``tool_calls``, id and name in the
  first fragment, then the argument JSON (``args`` may be a raw string, e.g. invalid JSON).
- ``function_text(name, args, before="", after="")``: ``<function=NAME>{json}</function>``.
- ``json_content(name, args, key="parameters", python_tag=False)``: a JSON call as content.
- ``http_error(status=500, message="")``, ``stall(after_chunks=0)``, ``disconnect(after_chunks=0)``.
- ``paced(s, first_token_s=0.3, tokens_per_s=50)``: a model's pace, one 4-character token per
  chunk, the first content token after ``first_token_s`` (the load benchmark's LLM).

Every builder takes ``Reply`` fields as keywords: ``first_token_delay`` (seconds before the first
chunk or the non-streamed body), ``chunk_delay`` (seconds between chunks, 1 / tokens per
second), ``chunk_chars``, ``arg_chunk``, ``finish_reason``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "meta/llama-3.1-8b-instruct"
_FOREVER = 3600.0


@dataclass(frozen=True)
class FakeToolCall:
    name: str
    arguments: dict[str, Any] | str
    id: str = ""

    def arguments_json(self) -> str:
        args = self.arguments
        return args if isinstance(args, str) else json.dumps(args)


@dataclass(frozen=True)
class Reply:
    text: str = ""
    tool_calls: tuple[FakeToolCall, ...] = ()
    chunk_chars: int = 4
    arg_chunk: int = 7
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    status: int = 200
    message: str = ""  # the error message of a non-200 reply
    fail: str = ""  # "" | stall | disconnect
    fail_after: int = 0  # chunks sent before the stall or the disconnect
    finish_reason: str = ""  # default: tool_calls if tool_calls else stop

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


def text(s: str, **kw: Any) -> Reply:
    return Reply(text=s, **kw)


def paced(s: str, first_token_s: float = 0.3, tokens_per_s: float = 50.0, **kw: Any) -> Reply:
    """Content token k (1-based) is sent ``first_token_s + (k - 1) / tokens_per_s`` after the
    request; the role-only chunk that opens every stream goes one token interval earlier."""
    step = 1 / tokens_per_s
    return Reply(
        text=s, chunk_chars=4, first_token_delay=max(0.0, first_token_s - step), chunk_delay=step,
        **kw,
    )  # fmt: skip


def native_call(name: str, args: dict[str, Any] | str, text: str = "", **kw: Any) -> Reply:
    call = FakeToolCall(name, args, kw.pop("id", "") or f"call_{uuid.uuid4().hex[:12]}")
    return Reply(text=text, tool_calls=(call,), **kw)


def function_text(
    name: str, args: dict[str, Any] | str, before: str = "", after: str = "", **kw: Any
) -> Reply:
    raw = args if isinstance(args, str) else json.dumps(args)
    return Reply(text=f"{before}<function={name}>{raw}</function>{after}", **kw)


def json_content(
    name: str, args: dict[str, Any], key: str = "parameters", python_tag: bool = False, **kw: Any
) -> Reply:
    body = json.dumps({"name": name, key: args})
    return Reply(text=("<|python_tag|>" if python_tag else "") + body, **kw)


def http_error(status: int = 500, message: str = "", **kw: Any) -> Reply:
    return Reply(status=status, message=message or f"fake server: scripted HTTP {status}", **kw)


def stall(after_chunks: int = 0, text: str = "I am about to stall forever.", **kw: Any) -> Reply:
    return Reply(text=text, fail="stall", fail_after=after_chunks, **kw)


def disconnect(
    after_chunks: int = 0, text: str = "The connection drops in the middle.", **kw: Any
) -> Reply:
    return Reply(text=text, fail="disconnect", fail_after=after_chunks, **kw)


@dataclass
class Recorded:
    """One request as the server saw it, and how far its stream got."""

    body: dict[str, Any]
    headers: dict[str, str]
    chunks_sent: int = 0
    finished: bool = False
    cancelled: bool = False

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        return self.body.get("tools")

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def params(self) -> dict[str, Any]:
        """Everything but messages and tools: model, sampling, tool_choice, stream."""
        return {k: v for k, v in self.body.items() if k not in {"messages", "tools"}}


class _Disconnect(Exception):
    """Raised inside a stream so uvicorn drops the connection mid-response."""


class _QuietDisconnect(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _Disconnect) and "_Disconnect" not in record.getMessage()


def _chunks(reply: Reply, model: str, cid: str) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    step = max(1, reply.chunk_chars)
    out += [chunk({"content": reply.text[i : i + step]}) for i in range(0, len(reply.text), step)]
    for index, call in enumerate(reply.tool_calls):
        head = {"index": index, "id": call.id, "type": "function"}
        out.append(chunk({"tool_calls": [{**head, "function": {"name": call.name}}]}))
        raw, n = call.arguments_json(), max(1, reply.arg_chunk)
        for i in range(0, len(raw), n):
            frag = {"index": index, "function": {"arguments": raw[i : i + n]}}
            out.append(chunk({"tool_calls": [frag]}))
    out.append(chunk({}, reply.finish))
    return out


def _completion(reply: Reply, model: str, cid: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json()},
            }
            for c in reply.tool_calls
        ]
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish}],
        "usage": usage,
    }


class FakeOpenAI:
    """The scripted server; see the module docstring."""

    def __init__(
        self,
        script: list[Reply] | Callable[[dict[str, Any]], Reply] | None = None,
        *,
        model: str = MODEL,
        default: Reply | None = None,
    ) -> None:
        self.model = model
        self.default = default
        self.requests: list[Recorded] = []
        self._script = script if callable(script) else list(script or [])
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def push(self, *replies: Reply) -> None:
        if callable(self._script):
            raise TypeError("push() needs a list script")
        with self._lock:
            self._script.extend(replies)

    def _next(self, body: dict[str, Any]) -> Reply | None:
        if callable(self._script):
            return self._script(body)
        with self._lock:
            return self._script.pop(0) if self._script else self.default

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        rec = Recorded(body=body, headers=dict(request.headers))
        self.requests.append(rec)
        reply = self._next(body)
        if reply is None:
            error = {"message": "fake server: script exhausted", "type": "server_error"}
            return JSONResponse({"error": error}, status_code=500)
        model, cid = body.get("model") or self.model, f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if reply.status != 200:
            await asyncio.sleep(reply.first_token_delay)
            error = {"message": reply.message or f"HTTP {reply.status}", "type": "error"}
            return JSONResponse({"error": error}, status_code=reply.status)
        if body.get("stream"):
            sse = self._sse(reply, rec, model, cid)
            return StreamingResponse(sse, media_type="text/event-stream")
        try:
            await asyncio.sleep(reply.first_token_delay)
            if reply.fail:
                await asyncio.sleep(_FOREVER)
        except asyncio.CancelledError:
            rec.cancelled = True
            raise
        rec.finished = True
        return JSONResponse(_completion(reply, model, cid))

    async def _sse(self, reply: Reply, rec: Recorded, model: str, cid: str) -> AsyncIterator[str]:
        try:
            await asyncio.sleep(reply.first_token_delay)
            for i, chunk in enumerate(_chunks(reply, model, cid)):
                if i == reply.fail_after and reply.fail == "stall":
                    await asyncio.sleep(_FOREVER)
                if i == reply.fail_after and reply.fail == "disconnect":
                    raise _Disconnect
                if i and reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                yield f"data: {json.dumps(chunk)}\n\n"
                rec.chunks_sent += 1
            yield "data: [DONE]\n\n"
            rec.finished = True
        except (asyncio.CancelledError, GeneratorExit):
            rec.cancelled = True
            raise

    def start(self) -> FakeOpenAI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        logging.getLogger("uvicorn.error").addFilter(_QuietDisconnect())
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=3)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=3)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def wait_for(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        """Poll ``condition`` (e.g. a request was cancelled) without blocking the loop."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("fake OpenAI server: condition not met in time")
            await asyncio.sleep(0.01)

    def set_script(self, script: list[Reply] | Callable[[dict[str, Any]], Reply]) -> None:
        """Replace the script (a list of replies or a callable)."""
        with self._lock:
            self._script = script if callable(script) else list(script)
