"""A Twilio Media Streams WebSocket: one call's transport over a real socket.

Inbound frames are parsed by the pure protocol module; a bad frame is logged and skipped, so
it can never end the call or touch another one. Outbound audio is mu-law in 20 ms frames.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from voxline import logs
from voxline.audio import MULAW_RATE, Framer, frame_bytes, pcm_to_ulaw
from voxline.call import Call
from voxline.call_services import CallServices
from voxline.events import CallStart, CallStop, MarkPlayed, TransportEvent
from voxline.outbound import Phone
from voxline.speech.base import AudioFormat
from voxline.transfer import finish_transfer
from voxline.transports.twilio import (
    Connected,
    ProtocolError,
    clear_message,
    mark_message,
    media_message,
    parse_frame,
)
from voxline.transports.websocket import close, log_skipped, receive

log = logging.getLogger("voxline.twilio")
START_TIMEOUT_S = 10.0
BUSY_TIMEOUT_S = 20.0  # the busy message is a few seconds long


class TwilioStream:
    rate = MULAW_RATE

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.stream_sid: str | None = None
        self.bad_frames = 0

    async def send_audio(self, pcm: bytes) -> None:
        await self._send(media_message(self.stream_sid or "", pcm_to_ulaw(pcm)))

    async def send_mark(self, name: str) -> None:
        await self._send(mark_message(self.stream_sid or "", name))

    async def send_clear(self) -> None:
        await self._send(clear_message(self.stream_sid or ""))

    async def _send(self, text: str) -> None:
        """A send on a closed socket is the caller hanging up: ``ConnectionError``."""
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise ConnectionError("the media stream is closed") from exc

    async def events(self) -> AsyncIterator[TransportEvent]:
        """Transport events until the stream stops or the socket closes."""
        while (message := await receive(self.ws)) is not None:
            text = message.get("text")
            if text is None:
                self._bad("binary frame (Twilio sends only text)")
                continue
            try:
                event = parse_frame(text, self.stream_sid)
            except ProtocolError as exc:
                self._bad(str(exc))
                continue
            if event is None or isinstance(event, Connected):
                continue
            if isinstance(event, CallStart):
                if self.stream_sid is not None:
                    self._bad("second start frame")
                    continue
                self.stream_sid = event.stream_id
            yield event
            if isinstance(event, CallStop):
                return
        yield CallStop("disconnected")

    def _bad(self, why: str) -> None:
        self.bad_frames += 1
        log_skipped(log, self.bad_frames, f"stream {self.stream_sid}", why)


HangUp = Callable[[str], Awaitable[object]]  # call sid -> the phone leg is hung up


async def serve_twilio(
    ws: WebSocket,
    services: CallServices,
    calls: dict[str, Call],
    hang_up: HangUp | None = None,
    phone: Phone | None = None,
) -> None:
    """Serve one media stream; ``hang_up`` ends the phone call when the server ends it, and
    ``phone`` redirects it when the bot transferred it and prepares outbound calls (their
    parameters, answering machines)."""
    await ws.accept()
    stream = TwilioStream(ws)
    events = stream.events()
    try:
        start = await asyncio.wait_for(_first_start(events), START_TIMEOUT_S)
    except (TimeoutError, StopAsyncIteration):
        log.warning("stream closed: no start frame within %.0f s", START_TIMEOUT_S)
        await close(ws)
        return
    if start.call_id in calls:  # a second stream must not take over (or rewrite) a live call
        log.warning("call %s: refused a second stream %s", start.call_id, start.stream_id)
        await close(ws)
        return
    logs.call_id.set(start.call_id)
    log.info("call %s: stream %s started %s", start.call_id, start.stream_id, start.parameters)
    records = services.records
    await records.start_call(
        start.call_id, start.stream_id, services.bot.name, "twilio", start.parameters
    )
    ours, begin = await phone.prepare(start, services) if phone else (services, None)
    call = Call(ours, stream, AudioFormat(MULAW_RATE, "mulaw"), start.call_id, time.monotonic)
    calls[start.call_id] = call
    try:
        if begin is not None:
            begin(call)
        await call.run(events)
    finally:
        calls.pop(start.call_id, None)
        transferred = await finish_transfer(call, records, phone.api if phone else None)
        await records.end_call(start.call_id, call.outcome)
        log.info("call %s: ended (%s, %s)", start.call_id, call.end_reason, call.outcome)
        if call.end_reason != "caller hung up" and not transferred:
            await _hang_up(start.call_id, hang_up)
        await close(ws)


async def serve_busy(
    ws: WebSocket, services: CallServices, message: str, hang_up: HangUp | None = None
) -> None:
    """A stream the server cannot take: say ``message``, wait until it has played, close."""
    await ws.accept()
    stream = TwilioStream(ws)
    events = stream.events()
    call_sid = ""
    try:
        async with asyncio.timeout(BUSY_TIMEOUT_S):
            start = await _first_start(events)
            call_sid = start.call_id
            log.warning("call %s: refused, the server is busy", call_sid)
            framer = Framer(frame_bytes(MULAW_RATE))
            voice = services.bot.voice
            async for pcm in services.synthesizer.synthesize(message, MULAW_RATE, voice):
                for frame in framer.push(pcm):
                    await stream.send_audio(frame)
            for frame in framer.flush(0):
                await stream.send_audio(frame)
            await stream.send_mark("busy")
            async for event in events:  # the mark comes back once the message has played
                if isinstance(event, MarkPlayed):
                    break
    except (TimeoutError, StopAsyncIteration):
        log.info("busy stream closed before the message had played")
    except Exception:
        log.exception("busy stream %s failed", call_sid)
    finally:
        if call_sid:
            await _hang_up(call_sid, hang_up)
        await close(ws)


async def _hang_up(call_sid: str, hang_up: HangUp | None) -> None:
    if hang_up is None:
        log.info("call %s: no Twilio API credentials; the phone leg is left to Twilio", call_sid)
    else:
        await hang_up(call_sid)


async def _first_start(events: AsyncIterator[TransportEvent]) -> CallStart:
    async for event in events:
        if isinstance(event, CallStart):
            return event
        if isinstance(event, CallStop):
            break
    raise StopAsyncIteration
