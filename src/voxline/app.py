"""The FastAPI app: Twilio webhook and media stream, health and readiness.

Models load in the background at start-up so the process answers ``/health`` (503 until
ready) at once; an orchestrator sees "starting", not "dead".
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from voxline.bot import Bot
from voxline.call import Call, CallServices
from voxline.config import Settings
from voxline.services import agent_kind, build_services
from voxline.transports import twilio
from voxline.transports.twilio_ws import serve_twilio

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


def create_app(settings: Settings, bot: Bot, services: CallServices | None = None) -> FastAPI:
    state = AppState(settings, bot, services)

    async def load() -> None:
        try:
            state.services = await asyncio.to_thread(build_services, settings, bot)
            await state.services.records.open()
            log.info("ready: bot %s, asr %s, tts %s, agent %s", bot.name, settings.asr,
                     settings.tts, agent_kind(settings, bot))  # fmt: skip
        except Exception as exc:
            state.error = f"{type(exc).__name__}: {exc}"
            log.exception("loading the models failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loader = None if state.services else asyncio.create_task(load())
        try:
            yield
        finally:
            state.draining = True
            if loader:
                loader.cancel()
            if state.services:
                await state.services.records.close()

    app = FastAPI(title="Voxline", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.voxline = state

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
            }
        )

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
        if state.services is None or state.draining:
            await ws.close(code=1013)  # try again later
            return
        await serve_twilio(ws, state.services, state.calls)

    return app
