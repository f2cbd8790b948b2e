"""Twilio Media Streams wire protocol, TwiML and webhook signatures (pure, no sockets).

Inbound frames become transport events; anything malformed raises ``ProtocolError`` with a
message fit for a log line, so the caller can log it and carry on with the call.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import pybase64
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from voxline.audio import ulaw_to_pcm
from voxline.events import AudioIn, CallStart, CallStop, Digit, MarkPlayed, TransportEvent

MAX_FRAME_BYTES = 64 * 1024  # a 20 ms media frame is ~300 bytes of JSON


class ProtocolError(ValueError):
    """An inbound frame that does not follow the Media Streams protocol."""


@dataclass(frozen=True, slots=True)
class Connected:
    """The first frame; carries nothing the call needs beyond its presence."""

    protocol: str


def _field(obj: Mapping, key: str, kind: type, event: str):
    value = obj.get(key)
    if not isinstance(value, kind):
        raise ProtocolError(f"{event}: missing or invalid {key!r}")
    return value


def parse_frame(text: str | bytes, stream_sid: str | None) -> TransportEvent | Connected | None:
    """Decode one inbound text frame.

    Returns None for frames that are valid but carry nothing for the call (an outbound-track
    echo). ``stream_sid`` is the stream's id once ``start`` has been seen: media for another
    stream is rejected.
    """
    if len(text) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(text)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"invalid JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("frame is not a JSON object")
    event = msg.get("event")
    theirs = msg.get("streamSid", stream_sid) != stream_sid  # e.g. a stop that is not ours
    if stream_sid is not None and theirs and event not in ("start", "connected"):
        raise ProtocolError(f"{str(event)[:40]} for another streamSid")
    if event == "media":
        if stream_sid is None:
            raise ProtocolError("media before start")
        media = _field(msg, "media", dict, event)
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            return None
        try:
            raw = pybase64.b64decode(_field(media, "payload", str, event), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("media: payload is not valid base64") from None
        try:
            t = int(media.get("timestamp", 0)) / 1000
        except (TypeError, ValueError):
            raise ProtocolError("media: timestamp is not a number") from None
        return AudioIn(pcm=ulaw_to_pcm(raw), raw=raw, t=t)
    if event == "start":
        start = _field(msg, "start", dict, event)
        params = start.get("customParameters") or {}
        if not isinstance(params, dict):
            raise ProtocolError("start: customParameters is not an object")
        fmt = start.get("mediaFormat") or {}
        if not isinstance(fmt, dict):
            raise ProtocolError("start: mediaFormat is not an object")
        if fmt and (fmt.get("encoding"), fmt.get("sampleRate")) != ("audio/x-mulaw", 8000):
            raise ProtocolError(f"start: unsupported mediaFormat {str(fmt)[:80]}")
        return CallStart(
            call_id=_field(start, "callSid", str, event),
            stream_id=_field(start, "streamSid", str, event),
            parameters={str(k): str(v) for k, v in params.items()},
            transport="twilio",
        )
    if event == "mark":
        return MarkPlayed(_field(_field(msg, "mark", dict, event), "name", str, event))
    if event == "dtmf":
        return Digit(_field(_field(msg, "dtmf", dict, event), "digit", str, event))
    if event == "stop":
        return CallStop("stop")
    if event == "connected":
        return Connected(str(msg.get("protocol", "")))
    raise ProtocolError(f"unknown event {str(event)[:40]!r}")


def media_message(stream_sid: str, mulaw: bytes) -> str:
    """Outbound audio: raw mu-law 8 kHz, no file header."""
    payload = pybase64.b64encode(mulaw).decode("ascii")
    return f'{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"{payload}"}}}}'


def mark_message(stream_sid: str, name: str) -> str:
    return orjson.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}).decode()


def clear_message(stream_sid: str) -> str:
    return orjson.dumps({"event": "clear", "streamSid": stream_sid}).decode()


# --- webhook side -----------------------------------------------------------------------------


def public_url(url: str, headers: Mapping[str, str]) -> str:
    """The URL Twilio used, rebuilt behind a TLS proxy or load balancer from X-Forwarded-*."""
    parts = urlsplit(url)
    scheme = headers.get("x-forwarded-proto", parts.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host", headers.get("host", parts.netloc)).split(",")[0]
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{scheme}://{host.strip()}{path}"


def websocket_url(url: str, headers: Mapping[str, str]) -> str:
    """The ``wss://`` URL Twilio opened (and signed): the public host, whatever the scheme
    seen here, since Twilio connects only over wss and a TLS proxy may sit in front."""
    parts = urlsplit(public_url(url, headers))
    return f"wss://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def stream_url(answer_url: str, path: str = "/ws") -> str:
    """The wss:// URL of the media stream on the webhook's host: Twilio accepts only wss."""
    return f"wss://{urlsplit(answer_url).netloc}{path}"


def connect_twiml(ws_url: str, parameters: Mapping[str, str]) -> str:
    """``<Connect><Stream>``: bidirectional, per-call data as ``<Parameter>``s (no query)."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=ws_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


def busy_twiml(message: str) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    return bool(signature) and RequestValidator(auth_token).validate(url, dict(params), signature)
