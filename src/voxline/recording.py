"""Call recordings: each call's two sides in one stereo WAV (left the caller, right the bot).

The recorder is a call observer. Every 20 ms frame of either side carries its time on the
call's clock; the frame is copied to its place on a shared timeline (silence fills the gaps)
and the timeline is written out a second at a time, once it is a couple of seconds old, on a
worker thread. A frame costs one memory copy on the event loop; a live call holds a few
hundred KB. The bot's frames go out a little ahead of playback, so a barge-in's clear drops
the bot audio placed after the clear: the recording keeps what the caller actually heard.

The call's end note writes out the rest. Old recordings are deleted with their records after
``VOXLINE_RETENTION_DAYS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from voxline.audio import interleave, resample
from voxline.events import BotAudio, BotStopped, CallEnded, CallerAudio, CallNote

if TYPE_CHECKING:
    from voxline.call import Call
    from voxline.config import Settings
    from voxline.records import Records

log = logging.getLogger("voxline.recording")
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")
CALLER, BOT = 0, 1
HOLD_S = 2.0  # audio kept in memory this long, so late frames and a clear can still land
WRITE_S = 1.0  # written out in pieces of at least this much
DAY_S = 86400.0


def recordings_dir(settings: Settings) -> Path:
    return settings.data_dir / "recordings"


def recording_path(folder: Path, call_id: str) -> Path | None:
    """The call's recording file; None for an id that could name anything outside ``folder``."""
    return folder / f"{call_id}.wav" if SAFE_ID.match(call_id) else None


class StereoTimeline:
    """Two tracks of 16-bit PCM on one sample clock; pure, bytes in and interleaved bytes out.

    Each side is placed where its time says, but never over its own earlier audio (the far end
    plays a side's frames one after another), and gaps of under 10 ms are closed: they are
    rounding, not silence.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.base = 0  # sample at the start of the buffers; everything before is taken
        self.tracks = (bytearray(), bytearray())
        self.ends = [0, 0]  # per side, the sample after its last placed audio
        self._snap = rate // 100

    def put(self, side: int, pcm: bytes, at: int) -> None:
        """Place a frame of ``side`` starting at sample ``at``; audio before ``base`` is lost."""
        end = self.ends[side]
        if at < end + self._snap:
            at = end
        if at < self.base:
            pcm = pcm[2 * (self.base - at) :]
            at = self.base
        if not pcm:
            return
        track = self.tracks[side]
        start = 2 * (at - self.base)
        if len(track) < start:
            track.extend(bytes(start - len(track)))
        track[start : start + len(pcm)] = pcm
        self.ends[side] = at + len(pcm) // 2

    def cut(self, side: int, at: int) -> None:
        """Drop what ``side`` placed from sample ``at`` on (the far end threw it away)."""
        at = max(at, self.base)
        if at < self.ends[side]:
            del self.tracks[side][2 * (at - self.base) :]
            self.ends[side] = at

    @property
    def end(self) -> int:
        return max(self.ends)

    def take(self, upto: int) -> bytes:
        """The interleaved stereo audio of samples [base, upto), which then leaves memory."""
        n = upto - self.base
        if n <= 0:
            return b""
        left, right = (bytes(t[: 2 * n]).ljust(2 * n, b"\0") for t in self.tracks)
        for track in self.tracks:
            del track[: 2 * n]
        self.base = upto
        return interleave(left, right)


def wav_header(rate: int, data_bytes: int, channels: int = 2) -> bytes:
    block = 2 * channels
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels),
        *(rate, rate * block, block, 16, b"data", data_bytes),
    )


def append_wav(path: Path, rate: int, data: bytes, new: bool) -> None:
    """Append stereo frames and patch the sizes, so the file is a valid WAV after every write.

    The file is opened per write (about once a second), so a live call holds no descriptor.
    """
    with open(path, "w+b" if new else "r+b") as f:
        if new:
            f.write(wav_header(rate, 0))
        size = f.seek(0, 2) - 44
        f.write(data)
        size += len(data)
        f.seek(4)
        f.write(struct.pack("<I", 36 + size))
        f.seek(40)
        f.write(struct.pack("<I", size))


class CallRecorder:
    """One call's observer: its notes to a stereo WAV at the caller's rate."""

    hears_audio = True  # the call sends it both sides' 20 ms frames

    def __init__(
        self,
        path: Path,
        rate: int,
        clock: Callable[[], float],
        submit: Callable[..., Future],
        on_end: Callable[[CallRecorder], None] = lambda rec: None,
    ) -> None:
        self.path = path
        self.rate = rate
        self.clock = clock
        self.timeline = StereoTimeline(rate)
        self.t0 = clock()
        self._submit = submit
        self._on_end = on_end
        self._created = False
        self._hold = int(HOLD_S * rate)
        self._write = int(WRITE_S * rate)

    def __call__(self, note: CallNote) -> None:
        kind = type(note)
        if kind is CallerAudio:
            self._put(CALLER, note)
        elif kind is BotAudio:
            self._put(BOT, note)
        elif kind is BotStopped:  # the clear: the far end drops what it had not played yet
            self.timeline.cut(BOT, self._sample(self.clock()))
        elif kind is CallEnded:
            self.close()
            self._on_end(self)

    def _sample(self, t: float) -> int:
        return round((t - self.t0) * self.rate)

    def _put(self, side: int, note: CallerAudio | BotAudio) -> None:
        # Frame by frame (a streaming resampler's output comes in bursts that would not line
        # up); both sides have the same rate on every transport so far, so this is rare.
        pcm = note.pcm if note.rate == self.rate else resample(note.pcm, note.rate, self.rate)
        self.timeline.put(side, pcm, self._sample(note.t))
        horizon = self._sample(self.clock()) - self._hold
        if horizon - self.timeline.base >= self._write:
            self._flush(horizon)

    def _flush(self, upto: int) -> None:
        data = self.timeline.take(upto)
        if not data:
            return
        new, self._created = not self._created, True
        self._submit(append_wav, self.path, self.rate, data, new).add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        if exc := future.exception():
            log.error("recording %s: write failed: %r", self.path.name, exc)

    def close(self) -> None:
        """Write out everything placed so far."""
        self._flush(self.timeline.end)


class Recordings:
    """The recordings folder and its live recorders: ``CallServices.observers`` calls it once
    per call. The writes of every call go through one worker thread, in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.live: dict[Path, CallRecorder] = {}
        self._io = ThreadPoolExecutor(1, thread_name_prefix="recordings")

    def __call__(self, call: Call) -> CallRecorder | None:
        path = recording_path(self.folder, call.call_id)
        if path is None:
            log.warning("call %r: not recorded (the id is not a safe file name)", call.call_id)
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        recorder = CallRecorder(path, call.fmt.rate, call.clock, self._io.submit, self._ended)
        self.live[path] = recorder
        return recorder

    def _ended(self, recorder: CallRecorder) -> None:
        self.live.pop(recorder.path, None)

    async def written(self) -> None:
        """Wait until every write handed over so far is on disk."""
        await asyncio.wrap_future(self._io.submit(lambda: None))

    async def stop(self) -> None:
        """Write out every live recording (the server is going down)."""
        for rec in self.live.values():
            rec.close()
        self.live.clear()
        await self.written()


async def purge_old(
    records: Records, folder: Path, days: float, now: Callable[[], float] = time.time
) -> list[str]:
    """Delete the calls (records and recordings) that ended more than ``days`` ago, and any
    recording file not written to since then; return the deleted calls' ids."""
    cutoff = now() - days * DAY_S
    ids = await records.purge_before(cutoff)
    await asyncio.to_thread(_delete_recordings, folder, ids, cutoff)
    if ids:
        log.info("retention: deleted %d call(s) older than %g days", len(ids), days)
    return ids


def _delete_recordings(folder: Path, ids: Iterable[str], cutoff: float) -> None:
    for call_id in ids:
        if (path := recording_path(folder, call_id)) is not None:
            path.unlink(missing_ok=True)
    if folder.is_dir():
        for path in folder.glob("*.wav"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


async def keep_purging(
    records: Records, folder: Path, days: float, every_s: float = 3600.0
) -> None:
    """Apply the retention now and then every ``every_s``; a failed sweep is logged, not fatal."""
    while True:
        try:
            await purge_old(records, folder, days)
        except Exception:
            log.exception("retention sweep failed")
        await asyncio.sleep(every_s)
