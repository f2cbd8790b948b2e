"""The FastAPI app: Twilio webhook and media stream, health and readiness.

Models load in the background at start-up so the process answers ``/health`` (503 until
ready) at once; an orchestrator sees "starting", not "dead".
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from fastapi import FastAPI, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from voxline.ace.plugin_server import plugin_router
from voxline.bot import Bot
from voxline.call import Call
from voxline.call_services import CallServices
from voxline.calls_routes import calls_router
from voxline.config import Settings
from voxline.kb.config import KbConfig, bot_section, open_knowledge_base, prepare_knowledge_base
from voxline.kb.routes import kb_router
from voxline.logs import hide_settings
from voxline.metrics import CONTENT_TYPE, CallMetrics, LiveCalls
from voxline.outbound import Phone, phone_router
from voxline.pages import pages_router
from voxline.recording import Recordings, keep_purging, recordings_dir
from voxline.records import open_records
from voxline.security import ApiKeyMiddleware, BodyLimitMiddleware, twilio_upgrade_valid
from voxline.services import agent_kind, build_agent_factory, build_services
from voxline.tools import ToolBox
from voxline.tracing import turn_spans
from voxline.transports import twilio
from voxline.transports.browser_ws import talk_router
from voxline.transports.twilio_calls import calls_from_settings
from voxline.transports.twilio_rest import hangup_from_settings
from voxline.transports.twilio_ws import serve_busy, serve_twilio

log = logging.getLogger("voxline.app")
BUSY_MESSAGE = "Sorry, all our lines are busy right now. Please call again in a few minutes."


@dataclass
class AppState:
    settings: Settings
    bot: Bot
    services: CallServices | None = None
    error: str = ""
    draining: bool = False
    calls: dict[str, Call] = field(default_factory=dict)
    streams: int = 0  # open media streams, counted before their start frame arrives


def has_knowledge_base(bot: Bot) -> bool:
    """RAG bots, bots with a ``kb:`` section, and ACE bots (their plugins' RAG server)."""
    return bot.agent in ("rag", "colang") or bool(bot_section(bot, "kb"))


def create_app(settings: Settings, bot: Bot, services: CallServices | None = None) -> FastAPI:
    """The server for one bot; ``services`` may be passed in ready-made (tests share models)."""
    hide_settings(settings)  # its secrets never reach a log line
    metrics = CallMetrics()
    spans = turn_spans(settings)
    state = AppState(settings, bot, calls=LiveCalls(metrics))
    records = services.records if services else open_records(settings)

    async def load() -> None:
        try:
            if has_knowledge_base(bot):
                await prepare_knowledge_base(settings, bot)
            loaded = services or await asyncio.to_thread(build_services, settings, bot, records)
            await records.open()
            watch = [metrics.observer] + ([spans.observer] if spans else [])
            state.services = replace(loaded, observers=[*loaded.observers, *watch])
            log.info("ready: bot %s, asr %s, tts %s, agent %s", bot.name, settings.asr,
                     settings.tts, agent_kind(settings, bot))  # fmt: skip
        except Exception as exc:
            state.error = f"{type(exc).__name__}: {exc}"
            log.exception("loading the models failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loader = asyncio.create_task(load())
        retention = settings.retention_days > 0 and asyncio.create_task(
            keep_purging(records, recordings_dir(settings), settings.retention_days)
        )
        try:
            yield
        finally:
            state.draining = True
            loader.cancel()
            if retention:
                retention.cancel()
            for observer in state.services.observers if state.services else ():
                if isinstance(observer, Recordings):
                    await observer.stop()  # write out what live calls have recorded
            if services is None:  # close only the store this app opened
                await records.close()

    app = FastAPI(
        title="Voxline", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.voxline = state
    kb_config = KbConfig.for_bot(settings, bot) if has_knowledge_base(bot) else None
    # Request bodies are bounded; the KB upload has its own limit (plus multipart overhead).
    upload_limit = kb_config.upload_max_bytes + 64 * 1024 if kb_config is not None else 0
    uploads = {"/kb/": upload_limit, "/documents": upload_limit} if upload_limit else {}
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, limits=uploads)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, key=str(settings.api_key))
    if settings.cors_origins:  # outermost, so preflight requests are answered without a key
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"]
        )
    hang_up = hangup_from_settings(settings)
    phone = Phone(settings, calls_from_settings(settings))  # transfers, outbound calls
    if bot.agent != "colang":  # (an ACE bot's flows need a call's speech)
        # The bot is also an ACE-compatible plugin: POST /{bot folder}/chat and /event.
        app.include_router(
            plugin_router(
                bot.path.name,
                build_agent_factory(settings, bot),
                tools=ToolBox(list(bot.tools)),
                data=bot.data,
                records=records,
            )
        )
    if kb_config is not None:
        kb = open_knowledge_base(kb_config)
        app.include_router(kb_router(kb, max_bytes=kb_config.upload_max_bytes))
        # NVIDIA's RAG chain server API on the same knowledge base (ACE's RAG plugin uses it).
        from voxline.ace.rag_server import rag_server_router
        from voxline.agents.rag import build_rag_agent

        rag = build_rag_agent(settings, bot)
        app.include_router(rag_server_router(kb, rag, max_bytes=kb_config.upload_max_bytes))
    # The pages, the talk page's socket and the calls API (the API key middleware covers them).
    app.include_router(pages_router())
    app.include_router(talk_router(state))
    app.include_router(calls_router(records, recordings_dir(settings)))
    app.include_router(phone_router(phone, bot, records))  # POST /api/calls, /twilio/*

    @app.get("/health")
    async def health() -> JSONResponse:
        if state.services is None:
            body = {"status": "error" if state.error else "loading", "error": state.error}
            return JSONResponse(body, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "bot": bot.name,
                "asr": settings.asr,
                "tts": settings.tts,
                "agent": agent_kind(settings, bot),
                "active_calls": len(state.calls),
                "tasks": len(asyncio.all_tasks()),  # the soak benchmark watches it for leaks
            }
        )

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/ready")
    async def ready() -> JSONResponse:
        ok = state.services is not None and not state.draining
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.post("/answer")
    async def answer(request: Request) -> Response:
        form = await request.form()
        params = {k: str(v) for k, v in form.multi_items()}
        url = twilio.public_url(str(request.url), request.headers)
        if settings.twilio_auth_token:
            signature = request.headers.get("x-twilio-signature", "")
            if not twilio.signature_valid(settings.twilio_auth_token, url, params, signature):
                log.warning("rejected /answer: bad or missing X-Twilio-Signature")
                return Response("invalid signature", status_code=403)
        if state.services is None or state.draining or len(state.calls) >= settings.max_calls:
            return Response(twilio.busy_twiml(BUSY_MESSAGE), media_type="application/xml")
        passed = {k: params[k] for k in ("From", "To", "CallSid") if params.get(k)}
        twiml = twilio.connect_twiml(twilio.stream_url(url), passed)
        return Response(twiml, media_type="application/xml")

    @app.websocket("/ws")
    async def media_stream(ws: WebSocket) -> None:
        if settings.twilio_auth_token:
            url = str(ws.url)
            if not twilio_upgrade_valid(settings.twilio_auth_token, url, ws.headers):
                log.warning("rejected /ws: bad or missing X-Twilio-Signature")
                await ws.close(code=1008)  # policy violation, before accepting: HTTP 403
                return
        if state.services is None:
            await ws.close(code=1013)  # try again later
            return
        state.streams += 1
        try:
            if state.draining or state.streams > settings.max_calls:
                await serve_busy(ws, state.services, BUSY_MESSAGE, hang_up)
            else:
                await serve_twilio(ws, state.services, state.calls, hang_up, phone)
        finally:
            state.streams -= 1

    return app
