"""Calling out, and telling a person from an answering machine.

``Phone.dial`` creates a Twilio call whose TwiML opens the media stream to this server
(``VOXLINE_PUBLIC_URL``) with the caller's parameters (the bot's greeting and prompt may use
them: "Hi {name}"), asks for asynchronous answering-machine detection, and names the signed
status (``/twilio/status``) and detection (``/twilio/amd``) callbacks, which ``phone_router``
serves and records. When the stream of an outbound call starts, ``Phone.prepare`` holds the
greeting until the detection result is in the records store (up to the detection's own limit;
polled, so the callback may land on another process): a person hears the bot, a machine gets
the bot's ``voicemail: {say: ...}`` after the beep and is hung up on, or is hung up on at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from voxline.bot import Bot
from voxline.call import Call
from voxline.call_services import CallServices
from voxline.config import Settings
from voxline.events import CallStart
from voxline.records import Records
from voxline.transports import twilio
from voxline.transports.twilio_calls import TwilioCallFailed, TwilioCalls

log = logging.getLogger("voxline.outbound")
MACHINE = {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
# Calls that ended without being answered: their status is the call's outcome.
UNANSWERED = {"busy": "busy", "no-answer": "no answer", "failed": "failed", "canceled": "canceled"}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EVENTS = ["initiated", "ringing", "answered", "completed"]


def fill(text: str, parameters: Mapping[str, str]) -> str:
    """``{name}`` replaced by the call's parameter of that name; other braces are left alone
    (a prompt's ``{tool_json}``)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(parameters.get(m[1], m[0])), text)


def voicemail_line(bot: Bot) -> str:
    """``voicemail: {say: ...}`` in bot.yaml: the message left on a machine ("": hang up)."""
    spec = bot.spec.get("voicemail")
    return str(spec.get("say") or "") if isinstance(spec, dict) else ""


@dataclass
class Phone:
    settings: Settings
    api: TwilioCalls | None  # None: no Twilio credentials (no transfers, no outbound calls)

    async def dial(self, bot: Bot, records: Records, to: str, parameters: dict[str, str]) -> str:
        """Place a call to ``to``; returns its CallSid. Raises ``TwilioCallFailed``."""
        base = self.settings.public_url.rstrip("/")
        if self.api is None:
            raise TwilioCallFailed("no Twilio credentials: set TWILIO_ACCOUNT_SID and a token")
        if not base:
            raise TwilioCallFailed("VOXLINE_PUBLIC_URL is not set: Twilio cannot reach us")
        if not self.settings.twilio_from:
            raise TwilioCallFailed("VOXLINE_TWILIO_FROM (the number to call from) is not set")
        if not E164.match(to):
            raise ValueError(f"{to!r} is not a phone number in E.164 form (+15551234567)")
        passed = {**parameters, "direction": "outbound", "amd": "1", "To": to}
        twiml = twilio.connect_twiml(twilio.stream_url(base + "/"), passed)
        sid = await self.api.create(
            to=to,
            from_=self.settings.twilio_from,
            twiml=twiml,
            status_callback=f"{base}/twilio/status",
            status_callback_method="POST",
            status_callback_event=EVENTS,
            # Waiting for the end of a machine's greeting lets the voicemail follow the beep.
            machine_detection="DetectMessageEnd" if voicemail_line(bot) else "Enable",
            machine_detection_timeout=self.settings.amd_timeout_s,
            async_amd="true",
            async_amd_status_callback=f"{base}/twilio/amd",
            async_amd_status_callback_method="POST",
        )
        details = {**parameters, "direction": "outbound", "to": to, "status": "queued"}
        await records.start_call(sid, "", bot.name, "twilio", details)
        log.info("call %s: dialled %s", sid, to)
        return sid

    async def prepare(
        self, start: CallStart, services: CallServices
    ) -> tuple[CallServices, Callable[[Call], None] | None]:
        """The services for this stream's call (the greeting filled in from its parameters)
        and, for an answering machine, what to do first with the call."""
        params = start.parameters
        if params.get("direction") != "outbound":
            return services, None
        bot = services.bot
        bot = replace(bot, greeting=fill(bot.greeting, params), prompt=fill(bot.prompt, params))
        if params.get("amd") != "1":
            return replace(services, bot=bot), None
        answered = await self.answered_by(start.call_id, services.records)
        log.info("call %s: answered by %s", start.call_id, answered or "(no result in time)")
        if answered not in MACHINE:
            return replace(services, bot=bot), None
        say = fill(voicemail_line(services.bot), params)
        # The message is not cut off by the machine's own noises.
        bot = replace(bot, greeting="", turns=replace(bot.turns, barge_in=False))

        def begin(call: Call) -> None:
            call.outcome = "voicemail left" if say else "answering machine"
            call.end("answering machine", goodbye=say)

        return replace(services, bot=bot), begin

    async def answered_by(self, call_sid: str, records: Records) -> str:
        """The detection's result once the callback has stored it ("" if none in time)."""
        deadline = time.monotonic() + self.settings.amd_timeout_s + 2.0
        while time.monotonic() < deadline:
            call = await records.call(call_sid)
            if call and (value := (call.get("parameters") or {}).get("answered_by")):
                return str(value)
            await asyncio.sleep(0.1)
        return ""


def _signed(settings: Settings, request: Request, form: dict[str, str]) -> bool:
    if not settings.twilio_auth_token:
        return True
    url = twilio.public_url(str(request.url), request.headers)
    signature = request.headers.get("x-twilio-signature", "")
    return twilio.signature_valid(settings.twilio_auth_token, url, form, signature)


def phone_router(phone: Phone, bot: Bot, records: Records) -> APIRouter:
    """``POST /api/calls`` (behind the API key) and Twilio's signed call callbacks."""
    router = APIRouter()

    async def callback(request: Request, *needed: str) -> dict[str, str] | Response:
        """A Twilio callback's form once it is signed and has the ``needed`` fields; else the
        answer to give (403 unsigned, 400 incomplete)."""
        form = {k: str(v) for k, v in (await request.form()).multi_items()}
        if not _signed(phone.settings, request, form):
            log.warning("rejected %s: bad or missing X-Twilio-Signature", request.url.path)
            return Response("invalid signature", status_code=403)
        if not all(form.get(name) for name in needed):
            return Response(f"{' and '.join(needed)} expected", status_code=400)
        return form

    @router.post("/api/calls")
    async def place_call(request: Request) -> JSONResponse:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("to"), str):
            return JSONResponse({"error": 'expected {"to": "+1...", "parameters": {}}'}, 400)
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            return JSONResponse({"error": "parameters must be an object"}, 400)
        try:
            sid = await phone.dial(bot, records, body["to"], {k: str(v) for k, v in params.items()})
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except TwilioCallFailed as exc:
            return JSONResponse({"error": str(exc)}, 502)
        return JSONResponse({"call_sid": sid, "to": body["to"]}, 201)

    @router.post("/twilio/status")
    async def status(request: Request) -> Response:
        form = await callback(request, "CallSid", "CallStatus")
        if isinstance(form, Response):
            return form
        sid, state = form["CallSid"], form["CallStatus"]
        name = "answered" if state == "in-progress" else state
        details: dict[str, Any] = {"status": name, f"{name}_at": time.time()}
        if form.get("CallDuration", "").isdigit():
            details["duration"] = int(form["CallDuration"])
        await records.note_call(sid, details)
        if state in UNANSWERED:
            await records.end_call(sid, UNANSWERED[state])
        log.info("call %s: status %s", sid, name)
        return Response(status_code=204)

    @router.post("/twilio/amd")
    async def amd(request: Request) -> Response:
        form = await callback(request, "CallSid", "AnsweredBy")
        if isinstance(form, Response):
            return form
        sid, answered = form["CallSid"], form["AnsweredBy"]
        details: dict[str, Any] = {"answered_by": answered}
        if form.get("MachineDetectionDuration", "").isdigit():
            details["machine_detection_ms"] = int(form["MachineDetectionDuration"])
        await records.note_call(sid, details)
        log.info("call %s: answered by %s", sid, answered)
        return Response(status_code=204)

    return router
