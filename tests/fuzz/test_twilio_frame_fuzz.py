"""The Media Streams parser on generated frames: it decodes or refuses, never anything else."""

from hypothesis import HealthCheck, given, settings

from tests.fuzz.strategies import frames
from voxline.events import AudioIn, CallStart, CallStop, Digit, MarkPlayed
from voxline.transports.twilio import MAX_FRAME_BYTES, Connected, ProtocolError, parse_frame

STREAMS = ["MZ-ours", "MZ-other"]
CALLS = ["CA-ours", "CA-other"]
FUZZ = settings(
    max_examples=2500,
    derandomize=True,  # the same frames on every run and in CI
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(frame: str | bytes, stream_sid: str | None) -> None:
    try:
        event = parse_frame(frame, stream_sid)
    except ProtocolError as exc:
        assert 0 < len(str(exc)) <= 300  # fit for one log line, whatever the frame held
        return
    assert len(frame) <= MAX_FRAME_BYTES
    assert event is None or isinstance(
        event, (Connected, CallStart, AudioIn, MarkPlayed, Digit, CallStop)
    )
    if isinstance(event, AudioIn):
        assert stream_sid is not None and len(event.pcm) == 2 * len(event.raw)
    if stream_sid is not None and isinstance(event, (AudioIn, MarkPlayed, Digit, CallStop)):
        assert b"MZ-other" not in (frame if isinstance(frame, bytes) else frame.encode())


@FUZZ
@given(frame=frames(STREAMS, CALLS))
def test_before_start_every_frame_is_decoded_or_refused(frame):
    check(frame, None)


@FUZZ
@given(frame=frames(STREAMS, CALLS))
def test_during_a_stream_every_frame_is_decoded_or_refused(frame):
    check(frame, "MZ-ours")
