"""What recording costs a live call: event-loop time per 20 ms frame and memory per call.

Feeds N simulated calls (caller audio every 20 ms, the bot talking half the time, sent ahead of
playback as the playout does) through real CallRecorders writing real WAV files, on a virtual
clock, and prints the figures. Usage: python bench/recording_cost.py [calls] [seconds]
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from voxline.audio import MULAW_RATE, frame_bytes
from voxline.events import BotAudio, CallerAudio
from voxline.recording import CallRecorder

RATE = MULAW_RATE  # Twilio's; the talk page's 16 kHz doubles the bytes, not the work per frame
FRAME = bytes(frame_bytes(RATE))


def main(calls: int = 100, seconds: int = 60) -> None:
    now = [0.0]
    io_thread = ThreadPoolExecutor(1)
    with tempfile.TemporaryDirectory() as tmp:
        recs = [
            CallRecorder(Path(tmp) / f"c{i}.wav", RATE, lambda: now[0], io_thread.submit)
            for i in range(calls)
        ]
        peak, spent, frames = 0, 0.0, 0
        for i in range(seconds * 50):
            t = i * 0.02
            now[0] = t + 0.02
            talking = (i // 250) % 2 == 1  # the bot speaks for 5 s, then listens for 5 s
            started = time.perf_counter()
            for rec in recs:
                rec(CallerAudio(FRAME, RATE, t))
                if talking:
                    rec(BotAudio(FRAME, RATE, t))
            spent += time.perf_counter() - started
            frames += calls * (2 if talking else 1)
            peak = max(peak, max(sum(map(len, r.timeline.tracks)) for r in recs))
        for rec in recs:
            rec.close()
        io_thread.shutdown(wait=True)
        size = sum(p.stat().st_size for p in Path(tmp).glob("*.wav"))
    print(f"{calls} calls x {seconds} s, {frames} frames")
    print(f"event loop: {1e6 * spent / frames:.1f} us per frame (writes on a worker thread)")
    print(f"per call: {1e6 * spent / (calls * seconds):.0f} us of loop time per second of call")
    print(f"memory held per live call: at most {peak / 1024:.0f} KB of audio")
    print(f"written: {size / calls / 1024:.0f} KB per call ({size / calls / seconds:.0f} B/s)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
