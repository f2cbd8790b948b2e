"""Call recordings: frames placed on one timeline by their times, written as a stereo WAV a
second at a time, clears honoured, unsafe ids refused, old calls purged with their files."""

import io
import os
import time
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from voxline.audio import interleave
from voxline.events import BotAudio, BotStopped, CallerAudio, Transcript, TranscriptKind
from voxline.recording import (
    BOT,
    CALLER,
    CallRecorder,
    StereoTimeline,
    append_wav,
    purge_old,
    recording_path,
)
from voxline.records_sqlite import SqliteRecords

RATE = 8000


def tone(value: int, samples: int) -> bytes:
    return np.full(samples, value, dtype="<i2").tobytes()


def channels(stereo: bytes) -> tuple[np.ndarray, np.ndarray]:
    x = np.frombuffer(stereo, dtype="<i2").reshape(-1, 2)
    return x[:, 0], x[:, 1]


def read(path) -> tuple[wave.Wave_read, np.ndarray, np.ndarray]:
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        left, right = channels(w.readframes(w.getnframes()))
    return w, left, right


def test_each_side_lands_at_its_time_with_silence_between():
    tl = StereoTimeline(RATE)
    tl.put(CALLER, tone(1000, 160), 0)
    tl.put(BOT, tone(-2000, 160), 400)
    left, right = channels(tl.take(800))
    assert len(left) == 800
    assert (left[:160] == 1000).all() and (left[160:] == 0).all()
    assert (right[:400] == 0).all() and (right[400:560] == -2000).all()
    assert (right[560:] == 0).all()
    assert tl.base == 800 and tl.take(800) == b""


def test_rounding_gaps_close_and_a_burst_plays_back_to_back():
    tl = StereoTimeline(RATE)
    tl.put(CALLER, tone(1, 160), 0)
    tl.put(CALLER, tone(2, 160), 161)  # one sample late: rounding, not silence
    for i in range(3):  # the bot's lead: three frames sent at the same moment
        tl.put(BOT, tone(10 + i, 160), 100)
    left, right = channels(tl.take(640))
    assert (left[:160] == 1).all() and (left[160:320] == 2).all()
    assert (right[100:260] == 10).all() and (right[260:420] == 11).all()
    assert (right[420:580] == 12).all() and (right[580:] == 0).all()


def test_a_clear_drops_the_bot_audio_the_caller_never_heard():
    tl = StereoTimeline(RATE)
    for i in range(10):
        tl.put(BOT, tone(500, 160), i * 160)
    tl.cut(BOT, 800)
    tl.put(BOT, tone(700, 160), 1200)  # the next reply
    _, right = channels(tl.take(1600))
    assert (right[:800] == 500).all() and (right[800:1200] == 0).all()
    assert (right[1200:1360] == 700).all()


def test_audio_arriving_after_its_place_was_written_is_trimmed():
    tl = StereoTimeline(RATE)
    tl.put(CALLER, tone(1, 400), 0)
    tl.take(300)
    tl.put(BOT, tone(9, 160), 200)  # straddles the written edge
    left, right = channels(tl.take(500))
    assert (left[:100] == 1).all() and (right[:60] == 9).all() and (right[60:] == 0).all()


def test_append_wav_is_valid_after_every_write(tmp_path):
    path = tmp_path / "c.wav"
    a = interleave(tone(1, 80), tone(2, 80))
    b = interleave(tone(3, 40), tone(4, 40))
    append_wav(path, RATE, a, new=True)
    w, left, _ = read(path)
    assert (w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()) == (
        2,
        RATE,
        2,
        80,
    )
    append_wav(path, RATE, b, new=False)
    w, left, right = read(path)
    assert w.getnframes() == 120 and left[-1] == 3 and right[0] == 2
    assert int.from_bytes(path.read_bytes()[4:8], "little") == path.stat().st_size - 8


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "a.b", "..", "x" * 129, "id\n", "c:x"])
def test_ids_that_could_name_another_file_get_no_path(tmp_path, bad):
    assert recording_path(tmp_path, bad) is None


def test_a_safe_id_stays_in_the_folder(tmp_path):
    path = recording_path(tmp_path, "CA0123abc_DEF-9")
    assert path is not None and path.parent == tmp_path


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_call_recorded_incrementally_in_little_memory(tmp_path):
    """A minute of caller frames and two bot replies, the second cut by a barge-in."""
    clock, io_thread = Clock(), ThreadPoolExecutor(1)
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, RATE, clock, io_thread.submit)
    peak = 0
    for i in range(3000):
        t = 100.0 + i * 0.02
        clock.t = t + 0.02  # the frame has just arrived
        rec(CallerAudio(tone(100, 160), RATE, t))
        rec(Transcript(TranscriptKind.FINAL, "not audio: ignored", t))
        if 250 <= i < 300:  # a one-second reply from 5 s
            rec(BotAudio(tone(-300, 160), RATE, t))
        if i == 1000:  # a reply from 20 s, sent 200 ms ahead of playback
            for _ in range(10):
                rec(BotAudio(tone(-400, 160), RATE, t))
        if 1000 <= i < 1050:
            rec(BotAudio(tone(-400, 160), RATE, t))
        if i == 1049:  # the clear at 21 s: the 200 ms queued at the far end never played
            rec(BotStopped(2, "barge-in", 0.07))
        peak = max(peak, *(len(track) for track in rec.timeline.tracks))
    assert peak < 4 * RATE * 2, "a live call keeps only a few seconds in memory"
    rec.close()
    io_thread.shutdown(wait=True)
    w, left, right = read(path)
    assert w.getnframes() == 3000 * 160  # the whole call, no sample lost or doubled
    assert (left == 100).all()
    assert (right[: 5 * RATE] == 0).all() and (right[5 * RATE : 6 * RATE] == -300).all()
    assert (right[6 * RATE : 20 * RATE] == 0).all()
    assert (right[20 * RATE : 21 * RATE] == -400).all() and (right[21 * RATE :] == 0).all()


def test_frames_at_another_rate_are_resampled(tmp_path):
    clock, io_thread = Clock(), ThreadPoolExecutor(1)
    rec = CallRecorder(tmp_path / "r.wav", RATE, clock, io_thread.submit)
    for i in range(100):
        t = 100.0 + i * 0.02
        clock.t = t
        rec(CallerAudio(tone(0, 160), RATE, t))
        rec(BotAudio(tone(0, 320), 16000, t))
    rec.close()
    io_thread.shutdown(wait=True)
    w, _, _ = read(tmp_path / "r.wav")
    assert abs(w.getnframes() - 100 * 160) <= 160


async def test_retention_deletes_old_calls_with_their_recordings(tmp_path):
    records = SqliteRecords(tmp_path / "records.sqlite3")
    folder = tmp_path / "recordings"
    folder.mkdir()
    try:
        for call_id in ("CAold", "BRlive"):
            await records.start_call(call_id, call_id, "pizza", "twilio", {})
            (folder / f"{call_id}.wav").write_bytes(b"RIFF")
        await records.end_call("CAold", "hung up")
        orphan = folder / "CAorphan.wav"
        orphan.write_bytes(b"RIFF")
        later = time.time() + 31 * 86400  # a month on: the ended call is old now
        os.utime(orphan, (0, 0))
        os.utime(folder / "BRlive.wav", (later, later))  # still being written
        assert await purge_old(records, folder, 30, now=lambda: later) == ["CAold"]
        assert sorted(p.name for p in folder.iterdir()) == ["BRlive.wav"]
        assert await records.call("CAold") is None
        assert await records.call("BRlive") is not None
    finally:
        await records.close()
