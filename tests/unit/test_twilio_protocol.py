import base64

import orjson
import pytest

from voxline.audio import ulaw_to_pcm
from voxline.events import AudioIn, CallStart, CallStop, Digit, MarkPlayed
from voxline.transports.twilio import (
    MAX_FRAME_BYTES,
    Connected,
    ProtocolError,
    clear_message,
    connect_twiml,
    mark_message,
    media_message,
    parse_frame,
    public_url,
    stream_url,
)

SID = "MZ123"


def frame(**msg) -> str:
    return orjson.dumps(msg).decode()


def test_connected():
    assert parse_frame(frame(event="connected", protocol="Call", version="1.0.0"), None) == (
        Connected("Call")
    )


def test_start_carries_ids_and_custom_parameters():
    start = {
        "streamSid": SID,
        "accountSid": "AC1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "customParameters": {"From": "+15551234567"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    ev = parse_frame(frame(event="start", sequenceNumber="1", start=start, streamSid=SID), None)
    assert ev == CallStart("CA1", SID, {"From": "+15551234567"}, "twilio")


def test_media_decodes_mulaw():
    payload = base64.b64encode(bytes([0xFF] * 160 + [0x00])).decode()
    media = {"track": "inbound", "chunk": "1", "timestamp": "40", "payload": payload}
    ev = parse_frame(frame(event="media", streamSid=SID, media=media), SID)
    assert isinstance(ev, AudioIn)
    assert ev.raw == bytes([0xFF] * 160 + [0x00])
    assert ev.pcm == ulaw_to_pcm(ev.raw) and ev.t == 0.04


def test_mark_dtmf_stop():
    assert parse_frame(frame(event="mark", streamSid=SID, mark={"name": "s1"}), SID) == (
        MarkPlayed("s1")
    )
    dtmf = {"track": "inbound_track", "digit": "5"}
    assert parse_frame(frame(event="dtmf", streamSid=SID, dtmf=dtmf), SID) == Digit("5")
    stop = {"accountSid": "AC1", "callSid": "CA1"}
    assert parse_frame(frame(event="stop", streamSid=SID, stop=stop), SID) == CallStop("stop")


def test_outbound_track_media_is_ignored():
    media = {"track": "outbound", "payload": base64.b64encode(b"\xff").decode()}
    assert parse_frame(frame(event="media", streamSid=SID, media=media), SID) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "not a JSON object"),
        (frame(event="hello"), "unknown event"),
        (frame(event="media", streamSid=SID), "missing or invalid 'media'"),
        (frame(event="media", streamSid=SID, media={"payload": "%%%"}), "base64"),
        (frame(event="media", streamSid="MZother", media={"payload": ""}), "another streamSid"),
        (frame(event="media", streamSid=SID, media={"payload": 5}), "payload"),
        (frame(event="mark", streamSid=SID, mark={}), "name"),
        (frame(event="dtmf", streamSid=SID), "dtmf"),
        (frame(event="start", start={"callSid": "CA1"}), "streamSid"),
        (" " * (MAX_FRAME_BYTES + 1), "exceeds"),
    ],
)
def test_malformed_frames_raise_a_clear_error(text, why):
    with pytest.raises(ProtocolError, match=why):
        parse_frame(text, SID)


def test_media_before_start_is_rejected():
    media = {"payload": base64.b64encode(b"\xff").decode()}
    with pytest.raises(ProtocolError, match="before start"):
        parse_frame(frame(event="media", streamSid=SID, media=media), None)


def test_unsupported_media_format_is_rejected():
    start = {"streamSid": SID, "callSid": "CA1", "mediaFormat": {"encoding": "audio/l16"}}
    with pytest.raises(ProtocolError, match="mediaFormat"):
        parse_frame(frame(event="start", start=start), None)


def test_outbound_messages_are_what_twilio_accepts():
    media = orjson.loads(media_message(SID, b"\x00\xff"))
    assert media == {"event": "media", "streamSid": SID, "media": {"payload": "AP8="}}
    assert orjson.loads(mark_message(SID, "s1")) == {
        "event": "mark",
        "streamSid": SID,
        "mark": {"name": "s1"},
    }
    assert orjson.loads(clear_message(SID)) == {"event": "clear", "streamSid": SID}


def test_twiml_uses_parameters_not_a_query_string():
    twiml = connect_twiml("wss://voice.example.com/ws", {"From": "+1555&<x>"})
    assert '<Connect><Stream url="wss://voice.example.com/ws">' in twiml
    assert '<Parameter name="From" value="+1555&amp;&lt;x&gt;" />' in twiml
    assert "?" not in twiml.split("url=")[1].split('"')[1]


def test_public_url_behind_a_proxy():
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "voice.example.com"}
    assert public_url("http://10.0.0.5:8000/answer", headers) == (
        "https://voice.example.com/answer"
    )
    assert public_url("http://127.0.0.1:8000/answer", {}) == "http://127.0.0.1:8000/answer"
    assert stream_url("https://voice.example.com/answer") == "wss://voice.example.com/ws"
    assert stream_url("http://127.0.0.1:8000/answer") == "wss://127.0.0.1:8000/ws"
