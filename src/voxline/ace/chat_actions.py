"""ACE's chat actions for Colang 2 flows, implemented by Voxline.

``InvokeStreamingChatAction(question, endpoint, chat_history, request_id)`` and
``StreamingResponseChatAction(endpoint, request_id)`` exist only inside ACE's closed Chat
Engine. Here the first POSTs ACE's ``/chat`` request (Query, UserId, Metadata with StreamId,
SessionId and, with ``chat_history=True``, the ChatHistory of what the caller heard) to the
plugin named by the endpoint's first part (``rag/chat``: plugin ``rag``), in this process when
the bot folder's ``plugin_config.yaml`` declares it, else at ``dialog_manager.server``. It
returns the request id once the stream is open (False if it could not be opened). The second
returns the answer's next sentence, or "" once the plugin sent ``IsFinal``. Without a
``request_id`` it reads the endpoint's latest stream, as the design's ``main.co`` does.

A stream lives as long as the flow that invoked it: when that flow is stopped (a barge-in, a
retrigger) or ends without reading it to the end, its HTTP request is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from voxline.agents.http import DialogServer

log = logging.getLogger(__name__)


class ChatHost(Protocol):
    """What the actions need from the call's dialog (``ColangDialog``)."""

    def open_chat(
        self, question: str, endpoint: str, chat_history: bool, request_id: str, flow_uid: str
    ) -> ChatStream: ...

    def find_chat(self, endpoint: str, request_id: str | None) -> ChatStream | None: ...


# The dialog whose runtime cycle is running: its action tasks copy this context.
current_host: ContextVar[ChatHost] = ContextVar("voxline_colang_dialog")


@dataclass
class ChatStream:
    """One ``/chat`` request's answer, read ahead into sentences."""

    request_id: str
    endpoint: str
    flow_uid: str  # the flow instance that invoked it
    sentences: AsyncIterator[str]
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    opened: asyncio.Future[bool] | None = None
    task: asyncio.Task | None = None

    def start(self) -> None:
        self.opened = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._read(), name=f"chat {self.endpoint}")

    async def _read(self) -> None:
        assert self.opened is not None
        try:
            async for sentence in self.sentences:
                if not self.opened.done():
                    self.opened.set_result(True)
                self.queue.put_nowait(sentence)
            if not self.opened.done():
                self.opened.set_result(True)  # an empty answer is still an answer
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("chat %s failed: %s", self.endpoint, exc)
            if not self.opened.done():
                self.opened.set_result(False)
        finally:
            if not self.opened.done():
                self.opened.set_result(False)
            self.queue.put_nowait(None)

    async def next(self) -> str:
        sentence = await self.queue.get()
        if sentence is None:
            self.queue.put_nowait(None)  # every later read ends too
            return ""
        return sentence

    @property
    def done(self) -> bool:
        return self.task is None or self.task.done()

    async def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class ChatEndpoints:
    """Where ``rag/chat`` goes: an in-process plugin, or the dialog_manager server."""

    def __init__(
        self,
        local: Mapping[str, DialogServer],  # plugin name -> in-process server
        remote: str = "",  # dialog_manager.server, e.g. http://localhost:9002/rag
        timeout: float = 30.0,
    ) -> None:
        self.local = dict(local)
        self.timeout = timeout
        self.remote_url = remote.rstrip("/")
        self._remote: dict[str, DialogServer] = {}

    def resolve(self, endpoint: str) -> tuple[DialogServer, str]:
        path = "/" + endpoint.strip("/")
        plugin = path.split("/")[1]
        if plugin in self.local:
            return self.local[plugin], path
        if not self.remote_url:
            raise LookupError(
                f"endpoint {endpoint!r}: no plugin {plugin!r} in plugin_config.yaml and no "
                "dialog_manager.server in speech_config.yaml"
            )
        base = _server_base(self.remote_url, plugin)
        if base not in self._remote:
            self._remote[base] = DialogServer(base, "plugin", self.timeout)
        return self._remote[base], path

    async def aclose(self) -> None:
        for server in [*self.local.values(), *self._remote.values()]:
            await server.aclose()


def _server_base(url: str, plugin: str) -> str:
    """``http://host:9002/rag`` (ACE's dialog_manager.server names the plugin) -> its base."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.rsplit("/", 1)[-1] == plugin:
        path = path[: -len(plugin) - 1]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _caller_flow(events: list[Any] | None, state: Any, action: str) -> str:
    """The flow instance whose ``await`` started this action (from the start event that the
    runtime logged just before running it)."""
    for event in reversed(events or []):
        if isinstance(event, dict) and event.get("type") == f"Start{action}":
            started = getattr(state, "actions", {}).get(event.get("action_uid"))
            return getattr(started, "flow_uid", "") or ""
    return ""


def _host() -> ChatHost:
    host = current_host.get(None)
    if host is None:
        raise RuntimeError("chat actions run only inside a Voxline call's Colang dialog")
    return host


async def invoke_streaming_chat(
    question: str = "",
    endpoint: str = "",
    chat_history: bool = False,
    request_id: str | None = None,
    events: list[Any] | None = None,
    state: Any = None,
    **_: Any,
) -> str | bool:
    """Open the answer stream; its request id (truthy) once open, False if it failed."""
    if not endpoint:
        log.warning("InvokeStreamingChatAction needs an endpoint (e.g. rag/chat)")
        return False
    flow = _caller_flow(events, state, "InvokeStreamingChatAction")
    try:
        stream = _host().open_chat(
            str(question), endpoint, bool(chat_history), request_id or uuid.uuid4().hex, flow
        )
    except LookupError as exc:
        log.warning("InvokeStreamingChatAction: %s", exc)
        return False
    assert stream.opened is not None
    return stream.request_id if await stream.opened else False


async def streaming_response_chat(
    endpoint: str = "", request_id: str | None = None, **_: Any
) -> str:
    """The next sentence of the answer; "" when it is over (or there is none)."""
    stream = _host().find_chat(endpoint, request_id)
    return await stream.next() if stream is not None else ""


def register(runtime: Any, extra: Mapping[str, Callable[..., Any]]) -> None:
    """Register the chat actions (and ``extra`` ones, unless the bot folder defines them)."""
    from nemoguardrails.actions.actions import action

    runtime.register_action(
        action(name="InvokeStreamingChatAction", execute_async=True)(invoke_streaming_chat)
    )
    runtime.register_action(
        action(name="StreamingResponseChatAction", execute_async=True)(streaming_response_chat)
    )
    for name, fn in extra.items():
        runtime.register_action(action(name=name)(fn), override=False)
