"""Paced playout in virtual time: frames, marks, clear, underruns."""

import asyncio

from voxline.playout import Playout


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Recorder:
    rate = 8000

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str, object]] = []

    async def send_audio(self, pcm: bytes) -> None:
        self.sent.append((self.clock(), "media", len(pcm)))

    async def send_mark(self, name: str) -> None:
        self.sent.append((self.clock(), "mark", name))

    async def send_clear(self) -> None:
        self.sent.append((self.clock(), "clear", None))


async def chunks(*sizes: int):
    for n in sizes:
        yield bytes(n)


def make(lead_s=0.2):
    clock = VirtualClock()
    out = Recorder(clock)
    speaking, heard = [], []
    playout = Playout(out, clock, speaking.append, heard.append, lead_s, clock.sleep)
    return clock, out, playout, speaking, heard


async def test_frames_are_fixed_20ms_and_paced_in_real_time():
    clock, out, playout, speaking, _ = make()
    await playout.play("one second", chunks(3000, 5000, 8000))  # 1 s at 8 kHz, ragged
    media = [e for e in out.sent if e[1] == "media"]
    assert [n for _, _, n in media] == [320] * 50
    assert speaking == [True]
    # Never more than the lead ahead of the far end's playback.
    for i, (t, _, _) in enumerate(media):
        assert i * 0.02 - t <= 0.2 + 1e-9
    assert 0.78 <= clock.now <= 0.81  # 1 s of audio, sent 0.2 s ahead
    assert out.sent[-1][1:] == ("mark", "s1")


async def test_marks_report_heard_segments_in_order():
    _, _, playout, _, heard = make()
    await playout.play("first", chunks(320))
    await playout.play("second", chunks(320))
    playout.on_mark("s1")
    assert [s.text for s in heard] == ["first"] and playout.has_pending
    playout.on_mark("s2")
    assert [s.text for s in heard] == ["first", "second"] and not playout.has_pending


async def test_clear_returns_what_was_cut_and_later_echoes_count_for_nothing():
    _, out, playout, _, heard = make()
    await playout.play("played", chunks(320))
    await playout.play("cut", chunks(320))
    playout.on_mark("s1")
    cut = await playout.clear()
    assert [s.text for s in cut] == ["cut"] and out.sent[-1][1] == "clear"
    playout.on_mark("s2")  # Twilio echoes pending marks on clear: not heard
    assert [s.text for s in heard] == ["played"]


async def test_a_pause_between_replies_is_not_an_underrun_but_a_gap_inside_one_is():
    clock, _, playout, _, _ = make()
    await playout.play("a", chunks(1600))
    clock.now += 5.0  # the far end drained while the agent thought
    playout.stopped()
    await playout.play("b", chunks(1600))
    assert playout.underruns == 0
    clock.now += 1.0  # synthesis stalled mid-reply
    await playout.play("c", chunks(1600))
    assert playout.underruns == 1


async def test_pacing_holds_over_ten_minutes_with_late_wakeups():
    """The schedule is absolute (audio sent since the run began), so sleeps that wake late
    never add up: after 10 minutes the lead is still the lead, with no underrun."""
    clock = VirtualClock()
    lateness = iter([0.0, 0.004, 0.013, 0.001, 0.009] * 100_000)

    async def late_sleep(seconds: float) -> None:
        await clock.sleep(seconds + next(lateness))

    out = Recorder(clock)
    playout = Playout(out, clock, lambda _: None, lambda _: None, 0.2, late_sleep)
    minutes = 10
    await playout.play("long", chunks(*[16_000] * 60 * minutes))  # 1 s chunks
    media = [t for t, kind, _ in out.sent if kind == "media"]
    assert len(media) == 50 * 60 * minutes
    for i, t in enumerate(media):
        played = i * 0.02  # where the far end's playback is when frame i is due
        assert played - 0.2 - 0.014 <= t <= played + 1e-6  # within the lead, never late
    assert playout.underruns == 0
    last_due = 60 * minutes - 0.02  # the last frame is sent up to the lead before it plays
    assert last_due - 0.2 <= clock.now <= last_due - 0.2 + 0.014
