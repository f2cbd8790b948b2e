"""Hypothesis strategies for what a Media Streams peer could send: Twilio's own frames, each
mutated (fields dropped or given junk), plus invalid JSON, binary and huge frames, bad base64,
unknown events, other streams' ids, and JSON that is not an object.

Valid media payloads are quiet mu-law (bytes near 0xFF / 0x7F decode to almost silence), so
the fuzzed streams do not look like speech to the scripted recognizer the other calls share.
"""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st

KINDS = ["valid"] * 4 + ["mutated"] * 6 + ["unknown", "not_object", "not_json", "truncated"]
KINDS += ["binary", "huge"]
EVENTS = ["connected", "start", "media", "mark", "dtmf", "stop", "clear"]
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
quiet_mulaw = st.binary(min_size=0, max_size=320).map(
    lambda raw: bytes(0xF8 | (b & 0x07) if b & 0x80 else 0x78 | (b & 0x07) for b in raw)
)
bad_base64 = st.sampled_from(["@@@", "abc", "a===", "////*", "\u00e9t\u00e9", "A" * 5]) | st.text(
    alphabet="!#$%&*,-.:;<>?@[]^_`{|}~ ", min_size=1, max_size=30
)


def _dumps(value: object) -> str:
    return json.dumps(value)  # unlike orjson, it writes integers of any size


def _base(event: str, sid: str, seq: int, body: dict) -> dict:
    frame = {"event": event, "sequenceNumber": str(seq), "streamSid": sid}
    frame.update(body)
    return frame


@st.composite
def twilio_message(draw, stream_sids: list[str], call_sids: list[str]) -> dict:
    """One of Twilio's frames, well formed, for one of the given streams and calls."""
    event = draw(st.sampled_from(EVENTS))
    sid = draw(st.sampled_from(stream_sids))
    seq = draw(st.integers(1, 10**6))
    if event == "connected":
        return {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    if event == "start":
        start = {
            "streamSid": sid,
            "accountSid": "AC" + "0" * 32,
            "callSid": draw(st.sampled_from(call_sids)),
            "tracks": ["inbound"],
            "customParameters": draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8))),
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
        return _base(event, sid, seq, {"start": start})
    if event == "media":
        payload = base64.b64encode(draw(quiet_mulaw)).decode()
        track = draw(st.sampled_from(["inbound", "inbound", "outbound"]))
        media = {"track": track, "chunk": str(seq), "timestamp": str(20 * seq), "payload": payload}
        return _base(event, sid, seq, {"media": media})
    if event == "mark":
        return _base(event, sid, seq, {"mark": {"name": draw(st.text(max_size=12))}})
    if event == "dtmf":
        return _base(event, sid, seq, {"dtmf": {"track": "inbound_track", "digit": "5"}})
    if event == "stop":
        return _base(event, sid, seq, {"stop": {"accountSid": "AC0", "callSid": call_sids[0]}})
    return _base(event, sid, seq, {})  # clear: only servers send it


def _mutate(draw, frame: dict) -> dict:
    """Drop a field, or replace one (at the top or one level down) with junk."""
    target = frame
    inner = [k for k, v in frame.items() if isinstance(v, dict)]
    if inner and draw(st.booleans()):
        target = frame[draw(st.sampled_from(inner))]
    if not target:
        return frame
    key = draw(st.sampled_from(sorted(target)))
    action = draw(st.sampled_from(["drop", "junk", "bad_base64"]))
    if action == "drop":
        del target[key]
    elif action == "bad_base64" and key == "payload":
        target[key] = draw(bad_base64)
    else:
        target[key] = draw(json_values)
    return frame


@st.composite
def frames(draw, stream_sids: list[str], call_sids: list[str], huge: int = 100_000) -> str | bytes:
    """Anything a broken or hostile peer might put in one WebSocket frame."""
    kind = draw(st.sampled_from(KINDS))
    message = draw(twilio_message(stream_sids, call_sids))
    if kind == "valid":
        return _dumps(message)
    if kind == "mutated":
        return _dumps(_mutate(draw, message))
    if kind == "unknown":
        message["event"] = draw(st.text(max_size=30) | json_values)
        return _dumps(message)
    if kind == "not_object":
        return _dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))
    if kind == "not_json":
        return draw(st.text(max_size=200))
    if kind == "truncated":
        text = _dumps(message)
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "binary":
        return draw(st.binary(max_size=400))
    size = draw(st.sampled_from([huge // 2, huge + 1]))
    return _dumps(_base("media", stream_sids[0], 1, {"media": {"payload": "A" * size}}))
