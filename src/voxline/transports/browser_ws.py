"""The browser transport: the talk page's microphone and speaker over one WebSocket.

The page sends binary frames of 16-bit little-endian PCM at 16 kHz and small JSON messages:
``start``, ``mark`` (echoed once the audio before the mark has played, or was cleared) and
``stop``. The server sends the bot's audio as binary PCM at 16 kHz and JSON: ``clear`` (stop
playback now and echo the pending marks), ``mark``, and what the call does, for display
(transcripts, the bot's words as each segment starts, barge-ins, turn timings). It yields the
same transport events as Twilio, so ``Call`` runs unchanged. Display notes go through a
bounded queue: a slow page loses notes, never stalls the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from voxline.call import Call
from voxline.call_services import CallServices
from voxline.config import Settings
from voxline.events import (
    AudioIn,
    BackendFailed,
    BotSaid,
    BotStopped,
    CallNote,
    CallStart,
    CallStop,
    MarkPlayed,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    TransportEvent,
    TurnEnded,
)
from voxline.speech.base import AudioFormat
from voxline.transports.websocket import close, log_skipped, receive

log = logging.getLogger("voxline.browser")
RATE = 16000
MAX_FRAME_BYTES = 2 * RATE  # one second of audio; the page sends 20 ms
START_TIMEOUT_S = 10.0
NOTES_MAX = 256  # display messages waiting for a slow page
MAX_PARAMETERS = 16
MAX_TEXT = 200
BUSY_MESSAGE = "All lines are busy right now. Please try again in a few minutes."


class ProtocolError(ValueError):
    """A message from the page that does not follow the protocol (skipped, never fatal)."""


def parse_message(text: str) -> dict[str, Any]:
    """A page's JSON message, checked: ``start`` (optional string ``parameters``), ``mark``
    with a ``name``, or ``stop``."""
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("not JSON") from None
    if not isinstance(msg, dict):
        raise ProtocolError("not a JSON object")
    kind = msg.get("type")
    if kind == "start":
        params = msg.get("parameters") or {}
        if not isinstance(params, dict) or len(params) > MAX_PARAMETERS:
            raise ProtocolError(f"parameters must be an object of at most {MAX_PARAMETERS}")
        for key, value in params.items():
            if not isinstance(value, str) or len(key) > MAX_TEXT or len(value) > MAX_TEXT:
                raise ProtocolError(f"parameter {key[:40]!r} must be a short string")
        return {"type": "start", "parameters": params}
    if kind == "mark":
        name = msg.get("name")
        if not isinstance(name, str) or not name or len(name) > MAX_TEXT:
            raise ProtocolError("mark without a name")
        return {"type": "mark", "name": name}
    if kind == "stop":
        return {"type": "stop"}
    raise ProtocolError(f"unknown message type {str(kind)[:40]!r}")


def note_message(note: CallNote) -> dict[str, Any] | None:
    """What the page shows of a call note; None for notes it does not show (audio frames)."""
    if isinstance(note, Transcript):
        return {"type": "transcript", "kind": str(note.kind), "text": note.text}
    if isinstance(note, SpeechStarted | SpeechStopped):
        return {"type": "speech", "on": isinstance(note, SpeechStarted)}
    if isinstance(note, BotSaid):
        return {"type": "bot_said", "reply": note.reply_id, "text": note.text}
    if isinstance(note, BotStopped):
        after = round(1000 * note.after_s)
        return {"type": "bot_stopped", "reply": note.reply_id, "how": note.how, "after_ms": after}
    if isinstance(note, TurnEnded):
        timings = {k: v for k, v in note.timings.items() if isinstance(v, int | float)}
        return {
            "type": "turn",
            "reply": note.reply_id,
            "user": note.user_text,
            "heard": note.heard,
            "outcome": note.outcome,
            "timings": timings,
        }
    if isinstance(note, BackendFailed):  # the stage only: error texts stay in the server log
        return {"type": "trouble", "stage": note.stage}
    return None


def _dumps(msg: dict[str, Any]) -> str:
    return orjson.dumps(msg).decode()


class BrowserStream:
    """One talk page's socket: an Outbound for the call and its transport events."""

    rate = RATE

    def __init__(self, ws: WebSocket, clock: Callable[[], float] = time.monotonic) -> None:
        self.ws = ws
        self.clock = clock
        self.bad_frames = 0
        self.dropped_notes = 0
        self._notes: asyncio.Queue[str | None] = asyncio.Queue(NOTES_MAX)

    async def send_audio(self, pcm: bytes) -> None:
        try:
            await self.ws.send_bytes(pcm)
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise ConnectionError("the talk page is gone") from exc

    async def send_mark(self, name: str) -> None:
        await self.send({"type": "mark", "name": name})

    async def send_clear(self) -> None:
        await self.send({"type": "clear"})

    async def send(self, msg: dict[str, Any]) -> None:
        """A send on a closed socket is the caller hanging up: ``ConnectionError``."""
        try:
            await self.ws.send_text(_dumps(msg))
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise ConnectionError("the talk page is gone") from exc

    def observe(self, note: CallNote) -> None:
        """The call's observer: queue what the page shows, never wait for the page."""
        if (msg := note_message(note)) is None:
            return
        try:
            self._notes.put_nowait(_dumps(msg))
        except asyncio.QueueFull:
            self.dropped_notes += 1

    async def send_notes(self) -> None:
        """Forward queued notes to the page until ``finish_notes`` (or the socket fails)."""
        try:
            while (text := await self._notes.get()) is not None:
                await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    def finish_notes(self) -> bool:
        """Ask ``send_notes`` to stop after what is queued; False if there is no room to ask."""
        try:
            self._notes.put_nowait(None)
        except asyncio.QueueFull:
            return False
        return True

    async def events(self) -> AsyncIterator[TransportEvent]:
        """Transport events: a CallStart first, then audio and mark echoes, until stop."""
        started = False
        while (message := await receive(self.ws)) is not None:
            data = message.get("bytes")
            if data is not None:
                if not started:
                    self._bad("audio before start")
                elif not data or len(data) % 2 or len(data) > MAX_FRAME_BYTES:
                    self._bad(f"audio frame of {len(data)} bytes")
                else:
                    yield AudioIn(data, data, self.clock())
                continue
            try:
                msg = parse_message(message.get("text") or "")
            except ProtocolError as exc:
                self._bad(str(exc))
                continue
            if msg["type"] == "start":
                if started:
                    self._bad("second start")
                    continue
                started = True
                call_id = f"BR{uuid.uuid4().hex}"
                yield CallStart(call_id, call_id, msg["parameters"], transport="browser")
            elif not started:
                self._bad(f"{msg['type']} before start")
            elif msg["type"] == "mark":
                yield MarkPlayed(msg["name"])
            else:
                yield CallStop("caller hung up")
                return
        yield CallStop("disconnected")

    def _bad(self, why: str) -> None:
        self.bad_frames += 1
        log_skipped(log, self.bad_frames, "talk page", why)


class Lines(Protocol):
    """What the browser transport needs of the app: the live calls and whether to take more."""

    settings: Settings
    services: CallServices | None
    draining: bool
    calls: dict[str, Call]


async def serve_browser(ws: WebSocket, lines: Lines) -> None:
    await ws.accept()
    stream = BrowserStream(ws)
    events = stream.events()
    try:
        start = await asyncio.wait_for(anext(events), START_TIMEOUT_S)
    except (TimeoutError, StopAsyncIteration):
        start = None
    if not isinstance(start, CallStart):
        log.warning("talk page: no start message within %.0f s", START_TIMEOUT_S)
        await close(ws)
        return
    services = lines.services
    if services is None or lines.draining or len(lines.calls) >= lines.settings.max_calls:
        with contextlib.suppress(ConnectionError):
            await stream.send({"type": "busy", "message": BUSY_MESSAGE})
        await close(ws, code=1013)
        return
    call_id = start.call_id
    fmt = AudioFormat(RATE)
    call = Call(services, stream, fmt, call_id, time.monotonic, observers=[stream.observe])
    lines.calls[call_id] = call  # no await since the capacity check: the count stays exact
    log.info("call %s: talk page connected %s", call_id, start.parameters)
    try:
        await services.records.start_call(
            call_id, call_id, services.bot.name, "browser", start.parameters
        )
        with contextlib.suppress(ConnectionError):  # gone already: the events say so next
            await stream.send({"type": "started", "call_id": call_id, "bot": services.bot.name})
        sender = asyncio.create_task(stream.send_notes(), name=f"{call_id}-notes")
        try:
            await call.run(events)
        finally:
            if stream.finish_notes():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(sender), 2.0)
            sender.cancel()
            await asyncio.wait({sender})  # this task's own cancellation still propagates
    finally:
        lines.calls.pop(call_id, None)
        await services.records.end_call(call_id, call.outcome)
        log.info("call %s: ended (%s, %s)", call_id, call.end_reason, call.outcome)
        with contextlib.suppress(ConnectionError):
            if ws.application_state == WebSocketState.CONNECTED:
                await stream.send({"type": "ended", "reason": call.end_reason,
                                   "outcome": call.outcome})  # fmt: skip
        await close(ws)


def origin_allowed(origin: str | None, host: str | None, allowed: str = "") -> bool:
    """A browser says which page opened the socket: this server's own, or one listed in
    ``VOXLINE_CORS_ORIGINS``. Any other site could otherwise start calls from a visitor's
    browser (cross-site WebSocket hijacking). Clients that are not browsers send no origin."""
    if origin is None:
        return True
    if urlsplit(origin).netloc == (host or "").lower():
        return True
    return origin in {o.strip() for o in allowed.split(",") if o.strip()}


def talk_router(lines: Lines) -> APIRouter:
    """The talk page's WebSocket, ``/talk/ws``."""
    router = APIRouter()

    @router.websocket("/talk/ws")
    async def talk(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        if not origin_allowed(origin, ws.headers.get("host"), lines.settings.cors_origins):
            log.warning("talk page: refused a socket opened by %s", origin[:100] if origin else "")
            await ws.close(code=1008)  # before accepting: HTTP 403
            return
        if lines.services is None:
            await ws.close(code=1013)  # still loading: try again later
            return
        await serve_browser(ws, lines)

    return router
