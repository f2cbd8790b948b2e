"""Lean Twilio-protocol callers: many real-time calls from one process, each timed.

A caller does what Twilio does on a real WebSocket: ``connected`` and ``start``, then one 20 ms
mu-law ``media`` frame every 20 ms for the whole call, and on the way back a playback buffer
that echoes each ``mark`` when the audio before it has played and empties (echoing every
pending mark) on ``clear``. It talks in turns: a line, silence until the reply, the reply heard
out, the next line; every ``barge_every``-th reply it talks over after ``barge_after_s``.

One ticker sends every caller's frames on a steady clock (absolute deadlines: no drift; a late
tick sends what it owes at once), and the messages are pre-built strings, so one process can
drive a few hundred calls; it reports its own CPU and lateness so an overloaded load generator
is seen, not mistaken for a slow server.

What is timed (caller clock, CLOCK_MONOTONIC, shared with the other processes):

- reply latency: the first reply audio frame received - the moment the last frame of the
  caller's speech was sent (the clip is trimmed to end on voiced audio);
- barge-in: the first ``clear`` received - the moment the first frame of the speech over the
  bot was sent;
- underrun: a reply frame arriving after the caller's playback buffer ran dry (by more than
  ``DRY_TOLERANCE_S``) while the bot's turn is going on (a gap longer than the caller's quiet
  time ends the turn: the caller talks); counted apart when a mark came just before it (the
  next segment was late: a gap between segments) and when none did (a segment's own audio was
  late);
- missed turn: a line with no reply within ``reply_within_s`` (missed barge-in: no ``clear``
  within ``clear_within_s``).

    python -m bench.harness.callers < config.json   (prints the result as JSON)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pybase64
import websockets

from bench.harness.scenario import new_event_loop
from voxline.audio import pcm_to_ulaw
from voxline.caller import FRAME, TICK_S

DRY_TOLERANCE_S = 0.02  # one frame: a playback buffer this far past empty is an audible gap
LINE_NOISE_DBFS = -60.0  # what a caller sends when not talking: a phone line's hiss, not zeros


def _line_noise(seconds: float = 1.0) -> list[str]:
    """A second of hiss at ``LINE_NOISE_DBFS``, as pre-encoded frames sent in turn."""
    rms = 32768 * 10 ** (LINE_NOISE_DBFS / 20)
    rng = np.random.default_rng(0)
    pcm = rng.normal(0, rms, int(8000 * seconds)).round().astype("<i2").tobytes()
    return _frames(pcm_to_ulaw(pcm))


@dataclass
class Script:
    turn_clip: bytes  # the caller's line, 8 kHz mu-law
    barge_clip: bytes  # what it says over the bot
    barge_every: int = 3
    barge_after_s: float = 0.8
    quiet_s: float = 0.5  # bot silence that ends its turn
    reply_within_s: float = 5.0
    clear_within_s: float = 2.0
    greeting_within_s: float = 10.0


@dataclass
class Results:
    calls: int = 0
    connected: int = 0
    turns: int = 0
    latencies: list[float] = field(default_factory=list)
    barge_ins: list[float] = field(default_factory=list)
    missed_turns: int = 0
    missed_barge_ins: int = 0
    underruns: int = 0
    underruns_between_segments: int = 0  # of ``underruns``: right after a segment's mark
    dry_s: float = 0.0
    frames_in: int = 0
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # the load generator's own CPU time over the run
    wall_s: float = 0.0
    lag_max_s: float = 0.0  # how late the ticker woke at worst
    lag_p99_s: float = 0.0

    def merge(self, other: Results) -> None:
        for name, value in vars(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
            elif name in ("lag_max_s", "lag_p99_s", "wall_s"):
                setattr(self, name, max(getattr(self, name), value))
            else:
                setattr(self, name, getattr(self, name) + value)


def _frames(clip: bytes) -> list[str]:
    return [pybase64.b64encode(clip[i : i + FRAME]).decode() for i in range(0, len(clip), FRAME)]


NOISE = _line_noise()


class Caller:
    def __init__(self, url: str, script: Script, clips: dict[str, list[str]], window, out):
        self.url = url
        self.script = script
        self.clips = clips
        self.window = window  # (start, end): only turns that end in it are counted
        self.out: Results = out
        self.call_sid = f"CA{uuid.uuid4().hex}"
        self.sid = f"MZ{uuid.uuid4().hex}"
        self.ws: websockets.ClientConnection | None = None
        self.started = 0.0
        self.seq = self.chunk = 0
        self.state = "greeting"  # greeting | line | waiting | listening
        self.line: deque[str] = deque()  # payloads still to send of the current line
        self.barging = False
        self.turn = 0
        self.speech_end = 0.0
        self.reply_at: float | None = None  # first frame of the current reply
        self.onset: float | None = None  # barge-in speech onset, until its clear
        self.awaiting_clear = False
        self.play_end = 0.0  # when the far end's playback buffer runs out
        self.run_open = False  # a bot turn is going on: a dry buffer is an underrun
        self.marks: deque[tuple[float, str]] = deque()
        self.segment_ended = False  # a mark came after the latest reply frame
        self.closed = False
        self.hung_up = False

    # --- the socket -----------------------------------------------------------------------

    async def connect(self, now: float) -> None:
        ws = await websockets.connect(self.url, compression=None, max_size=2**20)
        await ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}')
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "streamSid": self.sid,
                "accountSid": "AC" + "0" * 32,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "customParameters": {"caller": "bench"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
            "streamSid": self.sid,
        }
        self.seq = 1
        await ws.send(orjson.dumps(start).decode())
        self.ws, self.started = ws, now
        self.out.connected += 1

    async def receive(self, clock) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                now = clock()
                if message.startswith('{"event":"media"'):
                    self._media(now)
                    continue
                msg = orjson.loads(message)
                if msg.get("event") == "mark":
                    self.marks.append((max(self.play_end, now), msg["mark"]["name"]))
                    self.segment_ended = True
                elif msg.get("event") == "clear":
                    self._clear(now)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True

    def _media(self, now: float) -> None:
        self.out.frames_in += 1
        if self.run_open and now > self.play_end + DRY_TOLERANCE_S and self._counted(now):
            self.out.underruns += 1
            self.out.underruns_between_segments += self.segment_ended
            self.out.dry_s += now - self.play_end
        self.segment_ended = False
        self.play_end = max(self.play_end, now) + TICK_S
        self.run_open = True
        if self.state == "waiting" and not self.awaiting_clear:
            self.state, self.reply_at = "listening", now
            if self._counted(self.speech_end):
                self.out.latencies.append(now - self.speech_end)
        elif self.state == "greeting" and self.reply_at is None:
            self.reply_at = now

    def _clear(self, now: float) -> None:
        if self.onset is not None:
            if self._counted(self.onset):
                self.out.barge_ins.append(now - self.onset)
            self.onset, self.awaiting_clear = None, False
        self.marks = deque((now, name) for _, name in self.marks)
        self.play_end = now
        self.run_open = False

    def _counted(self, t: float) -> bool:
        return self.window[0] <= t <= self.window[1]

    # --- every 20 ms ----------------------------------------------------------------------

    def tick(self, now: float) -> list[str]:
        """The messages this caller sends now: one media frame, then the marks now played."""
        s = self.script
        if self.state == "greeting":
            heard = self.reply_at is not None and self._quiet(now)
            if heard or now - self.started > s.greeting_within_s:
                self._say(now)
        elif self.state == "waiting":
            if now - self.speech_end > s.reply_within_s:
                if self._counted(self.speech_end):
                    self.out.missed_turns += 1
                self.state, self.reply_at, self.awaiting_clear = "listening", None, False
        elif self.state == "listening":
            barge = self.turn % s.barge_every == 0 and not self.barging
            if barge and self.reply_at is not None and now - self.reply_at >= s.barge_after_s:
                self._say(now, barge=True)
            elif self._quiet(now):
                self._say(now)
        if self.onset is not None and now - self.onset > s.clear_within_s:
            if self._counted(self.onset):
                self.out.missed_barge_ins += 1
            self.onset, self.awaiting_clear = None, False
        payload = self.line.popleft() if self.line else NOISE[self.seq % len(NOISE)]
        if self.state == "line" and not self.line:
            self.state, self.speech_end = "waiting", now  # this frame ends the speech
        self.seq += 1
        self.chunk += 1
        out = [
            f'{{"event":"media","sequenceNumber":"{self.seq}","media":{{"track":"inbound",'
            f'"chunk":"{self.chunk}","timestamp":"{int((now - self.started) * 1000)}",'
            f'"payload":"{payload}"}},"streamSid":"{self.sid}"}}'
        ]
        while self.marks and self.marks[0][0] <= now:
            self.seq += 1
            name = self.marks.popleft()[1]
            out.append(
                f'{{"event":"mark","sequenceNumber":"{self.seq}","streamSid":"{self.sid}",'
                f'"mark":{{"name":"{name}"}}}}'
            )
        return out

    def _quiet(self, now: float) -> bool:
        return not self.marks and now >= self.play_end + self.script.quiet_s

    def _say(self, now: float, barge: bool = False) -> None:
        self.line = deque(self.clips["barge" if barge else "turn"])
        self.state, self.barging, self.reply_at = "line", barge, None
        if barge:
            self.onset, self.awaiting_clear = now, True
        else:
            self.turn += 1
            self.run_open = False  # the bot's turn is over: a new reply starts a new run
        if self._counted(now):
            self.out.turns += 1

    async def hang_up(self) -> None:
        if self.ws is None or self.hung_up:
            return
        self.hung_up = True
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(
                f'{{"event":"stop","sequenceNumber":"{self.seq + 1}","streamSid":"{self.sid}",'
                f'"stop":{{"callSid":"{self.call_sid}"}}}}'
            )
        await self.ws.close()


async def run(
    url: str,
    calls: int,
    script: Script,
    start_at: float,
    ramp_s: float,
    window: tuple[float, float],
    end_at: float,
    call_s: float = 0.0,
) -> Results:
    """``calls`` lines, dialled evenly over ``ramp_s`` from ``start_at``, busy until ``end_at``;
    with ``call_s`` each call hangs up after that long and its line dials again at once."""
    clock = time.monotonic
    out = Results()
    clips = {"turn": _frames(script.turn_clip), "barge": _frames(script.barge_clip)}
    lines: list[Caller | None] = [None] * calls
    dial_at = [start_at + i * ramp_s / calls for i in range(calls)]
    tasks: set[asyncio.Task] = set()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    lags: list[float] = []

    def spawn(coro) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def dial(caller: Caller) -> None:
        out.calls += 1
        try:
            await caller.connect(clock())
        except (OSError, websockets.WebSocketException) as exc:
            out.errors.append(f"connect: {exc!r}")
            caller.closed = True
            return
        await caller.receive(clock)
        if not caller.hung_up:
            out.errors.append(f"call {caller.call_sid} closed by the server")

    await asyncio.sleep(max(0.0, start_at - clock()))
    deadline = start_at
    while (now := clock()) < end_at:
        for i, caller in enumerate(lines):
            if caller is None and dial_at[i] <= now:
                lines[i] = caller = Caller(url, script, clips, window, out)
                spawn(dial(caller))
            elif (
                call_s
                and caller is not None
                and caller.ws is not None
                and (caller.closed or now - caller.started >= call_s)
            ):
                spawn(caller.hang_up())
                lines[i], dial_at[i] = None, now
        # Frames owed since the last tick (a late wake-up catches up, as Twilio's clock would).
        while deadline <= now:
            lags.append(now - deadline)
            for caller in lines:
                if caller is None or caller.closed or caller.ws is None:
                    continue
                for message in caller.tick(clock()):
                    try:
                        await caller.ws.send(message)
                    except websockets.ConnectionClosed:
                        caller.closed = True
                        break
            deadline += TICK_S
        await asyncio.sleep(deadline - clock())
    await asyncio.gather(*(c.hang_up() for c in lines if c is not None), return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.cpu_s = usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
    out.wall_s = clock() - start_at
    lags.sort()
    if lags:
        out.lag_max_s, out.lag_p99_s = lags[-1], lags[int(0.99 * (len(lags) - 1))]
    return out


def main() -> None:
    config = json.loads(sys.stdin.read())
    spec = config.pop("script")  # the clips are passed as file paths
    clips = {key: Path(spec.pop(key)).read_bytes() for key in ("turn_clip", "barge_clip")}
    script = Script(**spec, **clips)
    with asyncio.Runner(loop_factory=new_event_loop()) as runner:
        results = runner.run(run(script=script, **config))
    print(json.dumps(asdict(results)), flush=True)


if __name__ == "__main__":
    main()
