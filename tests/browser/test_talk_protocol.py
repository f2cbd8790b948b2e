"""The talk socket's protocol as pure functions: what the page may send, what it is shown."""

import pytest

from voxline.events import (
    BackendFailed,
    BotAudio,
    BotSaid,
    BotStopped,
    SpeechStarted,
    Transcript,
    TranscriptKind,
    TurnEnded,
)
from voxline.transports.browser_ws import (
    NOTES_MAX,
    BrowserStream,
    ProtocolError,
    note_message,
    origin_allowed,
    parse_message,
)


def test_the_pages_messages_are_parsed():
    assert parse_message('{"type": "start", "parameters": {"page": "talk"}}') == {
        "type": "start",
        "parameters": {"page": "talk"},
    }
    assert parse_message('{"type": "start"}') == {"type": "start", "parameters": {}}
    assert parse_message('{"type": "mark", "name": "s3"}') == {"type": "mark", "name": "s3"}
    assert parse_message('{"type": "stop"}') == {"type": "stop"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[1, 2]",
        '"start"',
        '{"type": "dance"}',
        '{"type": "mark"}',
        '{"type": "mark", "name": 7}',
        '{"type": "mark", "name": ""}',
        '{"type": "start", "parameters": ["a"]}',
        '{"type": "start", "parameters": {"a": 1}}',
        '{"type": "start", "parameters": {"a": "' + "x" * 500 + '"}}',
        '{"type": "start", "parameters": {' + ",".join(f'"k{i}": "v"' for i in range(40)) + "}}",
    ],
)
def test_bad_messages_are_protocol_errors(text):
    with pytest.raises(ProtocolError):
        parse_message(text)


def test_notes_become_what_the_page_shows():
    assert note_message(Transcript(TranscriptKind.PARTIAL, "a large", 1.0)) == {
        "type": "transcript",
        "kind": "partial",
        "text": "a large",
    }
    assert note_message(SpeechStarted(1.0)) == {"type": "speech", "on": True}
    assert note_message(BotSaid(2, "Sure.")) == {"type": "bot_said", "reply": 2, "text": "Sure."}
    stopped = note_message(BotStopped(2, "barge-in", 0.0734))
    assert stopped == {"type": "bot_stopped", "reply": 2, "how": "barge-in", "after_ms": 73}
    turn = note_message(
        TurnEnded(3, "hi", "Hello.", "spoken", {"speech_end": 1.0, "first_audio": 1.5, "x": "y"})
    )
    assert turn == {
        "type": "turn",
        "reply": 3,
        "user": "hi",
        "heard": "Hello.",
        "outcome": "spoken",
        "timings": {"speech_end": 1.0, "first_audio": 1.5},
    }
    # The page learns which stage failed, never the error text (it may name hosts or keys).
    assert note_message(BackendFailed("tts", "ConnectError('10.0.0.5')")) == {
        "type": "trouble",
        "stage": "tts",
    }
    assert note_message(BotAudio(b"\0\0", 16000, 1.0)) is None


async def test_a_page_that_does_not_keep_up_loses_notes_but_never_blocks_the_call():
    stream = BrowserStream(ws=None)  # observe never touches the socket
    for i in range(NOTES_MAX + 25):
        stream.observe(BotSaid(1, f"segment {i}"))
    assert stream.dropped_notes == 25
    stream.observe(BotAudio(b"\0\0", 16000, 1.0))  # not shown: not queued, not dropped
    assert stream.dropped_notes == 25
    assert not stream.finish_notes()  # full: the sender is cancelled instead


def test_only_this_servers_pages_and_listed_origins_may_open_the_socket():
    assert origin_allowed(None, "localhost:8000")  # not a browser
    assert origin_allowed("http://localhost:8000", "localhost:8000")
    assert origin_allowed("https://voice.example.com", "voice.example.com")
    assert not origin_allowed("https://evil.example", "localhost:8000")
    assert not origin_allowed("http://localhost:8001", "localhost:8000")
    assert not origin_allowed("null", "localhost:8000")
    listed = "https://app.example.com, https://ops.example.com"
    assert origin_allowed("https://ops.example.com", "localhost:8000", listed)
    assert not origin_allowed("https://evil.example", "localhost:8000", listed)
