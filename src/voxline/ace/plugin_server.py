"""An ACE Agent-compatible plugin server: POST /{plugin}/chat and /{plugin}/event.

ACE's Chat Controller (``dialog_manager.server: http://host:9002/rag``) or Chat Engine can use
any Voxline agent through it. ``/chat`` answers exactly like ACE's RAG sample plugin: media type
text/event-stream but *not* SSE-framed, each HTTP chunk one JSON ``ChatResponse`` whose
``Response.Text`` (= ``CleanedText``) is the next piece of the reply, and a last chunk with
empty text and ``IsFinal: true``. Each chunk here is one whole sentence, so ACE's sentence
re-splitting and TTS start on the first sentence. ``/event`` acknowledges pipeline events.

Requests are validated by hand (not by FastAPI's body binding) so the same router works inside
the main app and standalone, and a bad request gets a 422 with a readable ``message``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ValidationError

from voxline.ace.plugin_config import PluginServerConfig, PluginSpec
from voxline.ace.plugin_schemas import (
    NO_USER_RESPONSE_EVENTS,
    ChatRequest,
    ChatResponse,
    EventRequest,
    EventResponse,
    ResponseField,
    describe_errors,
)
from voxline.agents.base import Agent, Turn
from voxline.events import EndCall, TextDelta, ToolCall, ToolResult
from voxline.history import History
from voxline.records import Records
from voxline.tools import ToolBox, ToolContext

log = logging.getLogger(__name__)

AgentFactory = Callable[[], Agent]
DEFAULT_PORT = 9002  # ACE's plugin server port


M = TypeVar("M", bound=BaseModel)


async def _parse(request: Request, model: type[M]) -> M | JSONResponse:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JSONResponse({"message": "body must be a JSON object"}, status_code=422)
    if not isinstance(body, dict):
        return JSONResponse({"message": "body must be a JSON object"}, status_code=422)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        detail = exc.errors(include_url=False, include_context=False, include_input=False)
        return JSONResponse({"message": describe_errors(exc), "detail": detail}, status_code=422)


def _history(messages: list[dict[str, Any]], query: str) -> History:
    """A session's messages, tool calls and results included (what an order tool placed)."""
    history = History()
    calls: dict[str, ToolCall] = {}
    for message in messages:
        if message["role"] == "system":
            history.system = message["content"]
        elif message["role"] == "user":
            history.user(message["content"])
        elif message["role"] == "tool":
            call = calls.get(message.get("tool_call_id", ""), ToolCall("", {}, ""))
            content = json.loads(message.get("content") or "null")
            error = content.get("error") if isinstance(content, dict) else None
            history.tool_result(ToolResult(call, None if error else content, error))
        elif message.get("tool_calls"):
            for tc in message["tool_calls"]:
                fn = tc.get("function") or {}
                call = ToolCall(
                    fn.get("name", ""), json.loads(fn.get("arguments") or "{}"), tc["id"]
                )
                calls[call.id] = call
                history.tool_call(call)
        else:
            history.assistant(message["content"])
    history.user(query)
    return history


def plugin_router(
    name: str,
    factory: AgentFactory,
    *,
    tools: ToolBox | None = None,
    data: dict[str, Any] | None = None,
    records: Records,
    timeout: float = 30.0,
    max_sessions: int = 256,
) -> APIRouter:
    """Routes ``/{name}/chat`` and ``/{name}/event`` serving agents made by ``factory``.

    One agent per session (``Metadata.SessionId``, else the ``session_id`` query parameter,
    else ``UserId``), the least recently used dropped beyond ``max_sessions``. The
    conversation comes from ``Metadata.ChatHistory`` when the request has one, as from ACE's
    Chat Engine; otherwise ``records`` (so every process behind a load balancer continues it)
    keeps it per session. The tools' orders go to ``records`` too.
    """
    router = APIRouter(prefix=f"/{name}", tags=[f"plugin {name}"])
    sessions: OrderedDict[str, Agent] = OrderedDict()

    def agent_for(session: str) -> Agent:
        agent = sessions.pop(session, None) or factory()
        sessions[session] = agent
        while len(sessions) > max_sessions:
            sessions.popitem(last=False)
        return agent

    @router.post("/chat", response_model=ChatResponse)
    async def chat(request: Request) -> Any:
        """Stream the reply to ``Query`` as ACE ChatResponse JSON chunks."""
        req = await _parse(request, ChatRequest)
        if isinstance(req, JSONResponse):
            return req
        params = request.query_params
        session = str(req.Metadata.get("SessionId") or params.get("session_id") or req.UserId)
        stream_id = str(req.Metadata.get("StreamId") or params.get("stream_id") or "")
        base = ChatResponse(
            UserId=req.UserId,
            QueryId=params.get("request_id", ""),
            Metadata={"SessionId": session, "StreamId": stream_id},
        )

        def chunk(text: str = "", final: bool = False, need_user: bool = True) -> str:
            out = base.model_copy(
                update={
                    "Response": ResponseField(
                        Text=text, CleanedText=text, IsFinal=final, NeedUserResponse=need_user
                    )
                }
            )
            return out.model_dump_json()

        async def stream() -> AsyncIterator[str]:
            need_user = True
            if req.Query.strip():
                agent = agent_for(session)
                own = "ChatHistory" not in req.Metadata  # else the client keeps the history
                key = f"{name}/{session}"
                past = (await records.load_session(key) or []) if own else req.chat_history()
                turn = Turn(
                    _history(past, req.Query),
                    tools or ToolBox(),
                    ToolContext(session, records, data or {}),
                )
                said: list[str] = []
                try:
                    async with asyncio.timeout(timeout):
                        async for event in agent.reply(turn):
                            if isinstance(event, TextDelta) and event.text.strip():
                                said.append(event.text.strip())
                                yield chunk(event.text)
                            elif isinstance(event, EndCall):
                                need_user = False
                except TimeoutError:
                    log.warning("plugin %s: reply took longer than %ss", name, timeout)
                except Exception:
                    log.exception("plugin %s: agent failed", name)
                    if not said:
                        said.append("Sorry, something went wrong. Please try again.")
                        yield chunk(said[-1])
                if own:  # the turn as the history holds it (with any tool traffic), then the answer
                    answer = [{"role": "assistant", "content": " ".join(said)}] if said else []
                    turn_messages = [m for m in turn.history.messages() if m["role"] != "system"]
                    await records.save_session(key, [*turn_messages, *answer])
            yield chunk(final=True, need_user=need_user)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @router.post("/event", response_model=EventResponse)
    async def event(request: Request) -> Any:
        """Acknowledge a Chat Controller pipeline event."""
        req = await _parse(request, EventRequest)
        if isinstance(req, JSONResponse):
            return req
        if req.EventType == "system.event_pipeline_released":
            sessions.pop(req.UserId, None)
            await records.drop_session(f"{name}/{req.UserId}")
        response = EventResponse(
            UserId=req.UserId,
            Response=ResponseField(
                IsFinal=True, NeedUserResponse=req.EventType not in NO_USER_RESPONSE_EVENTS
            ),
        )
        return JSONResponse(response.model_dump())

    return router


def _ace_module_router(spec: PluginSpec) -> APIRouter:
    """An ACE-style plugin: a Python file exposing a FastAPI ``router``."""
    assert spec.path is not None
    module_spec = importlib.util.spec_from_file_location(f"voxline_plugin_{spec.name}", spec.path)
    if module_spec is None or module_spec.loader is None or not spec.path.is_file():
        raise ValueError(f"plugin {spec.name}: {spec.path} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    # ACE's plugins import their neighbours (``from schemas import ChatRequest``).
    sys.path.insert(0, str(spec.path.parent))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.path.parent))
    router = getattr(module, "router", None)
    if not isinstance(router, APIRouter):
        raise ValueError(f"plugin {spec.name}: {spec.path} has no FastAPI `router`")
    return router


BotAgentFactory = Callable[[Any, Any, str], Agent]  # (settings, bot, agent kind) -> Agent


def default_agent_factory(settings: Any, bot: Any, kind: str) -> Agent:
    """The agents this module knows: rag, plugin and nvidia_rag."""
    if kind == "rag":
        from voxline.agents.rag import build_rag_agent

        return build_rag_agent(settings, bot)
    if kind == "plugin":
        from voxline.agents.plugin import build_plugin_agent

        return build_plugin_agent(settings, bot)
    if kind == "nvidia_rag":
        from voxline.agents.nvidia_rag import build_nvidia_rag_agent

        return build_nvidia_rag_agent(settings, bot)
    raise ValueError(f"bot {bot.name}: agent {kind!r} cannot be served by the plugin server")


def add_plugins(
    app: FastAPI,
    config: PluginServerConfig,
    settings: Any,
    agent_factory: BotAgentFactory | None,
    store: Records,
) -> None:
    """Mount every plugin of ``config`` on ``app`` (standalone or inside the main server);
    ``store`` (the records store) keeps their orders and conversations."""
    from voxline.bot import load_bot
    from voxline.config import load_settings

    make = agent_factory or default_agent_factory
    for spec in config.plugins:
        if spec.path is not None:
            app.include_router(_ace_module_router(spec), prefix=f"/{spec.name}")
            continue
        assert spec.bot is not None
        bot = load_bot(spec.bot)
        bot_settings = settings or load_settings(bot_backends=bot.backends)
        kind = spec.agent or bot.agent

        def factory(bot: Any = bot, s: Any = bot_settings, kind: str = kind) -> Agent:
            return make(s, bot, kind)

        factory()  # fail at start-up, not on the first call, if the bot cannot be served
        app.include_router(
            plugin_router(
                spec.name,
                factory,
                tools=ToolBox(list(bot.tools)),
                data=bot.data,
                records=store,
                timeout=config.timeout,
            )
        )


def create_plugin_app(
    config: PluginServerConfig, settings: Any = None, agent_factory: BotAgentFactory | None = None
) -> FastAPI:
    """A standalone ACE-compatible plugin server (``voxline plugin-server``, port 9002).

    Orders and conversations go to the records store of ``settings`` (PostgreSQL when
    ``VOXLINE_DATABASE_URL`` says so), so several such servers can share the sessions."""
    from voxline.config import load_settings
    from voxline.records import open_records

    store = open_records(settings or load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(title="Voxline plugin server", version="1", lifespan=lifespan)
    add_plugins(app, config, settings, agent_factory, store)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "plugins": [p.name for p in config.plugins]}

    return app


def add_plugin_server_parser(subparsers: Any) -> Any:
    """``voxline plugin-server [--config plugin_config.yaml | --bot DIR --name rag]``."""
    parser = subparsers.add_parser(
        "plugin-server", help="serve bots as an ACE-compatible plugin server (port 9002)"
    )
    parser.add_argument("--config", type=Path, help="ACE-style plugin_config.yaml")
    parser.add_argument("--name", default="rag", help="plugin name when serving --bot")
    parser.add_argument("--plugin-host", default="127.0.0.1", dest="plugin_host")
    parser.add_argument("--plugin-port", type=int, default=DEFAULT_PORT, dest="plugin_port")
    parser.set_defaults(handler=run_plugin_server)
    return parser


def run_plugin_server(args: Any, settings: Any) -> int:
    """Run the standalone server until interrupted (``settings.bot`` serves if no --config)."""
    import uvicorn

    from voxline.ace.plugin_config import load_plugin_config

    if args.config:
        config = load_plugin_config(args.config)
    else:
        config = PluginServerConfig((PluginSpec(args.name, bot=Path(settings.bot)),))
    if config.workers > 1:
        # ACE's files set it; one process here, since sessions live in the records store any
        # number of them can run behind a load balancer instead.
        log.warning("plugin config: workers=%d ignored, serving one process", config.workers)
    app = create_plugin_app(config, settings)
    uvicorn.run(app, host=args.plugin_host, port=args.plugin_port)
    return 0
