"""Frame times on the sample clock, in virtual time."""

from voxline.sample_clock import SampleClock

FRAME = 320  # 20 ms of 16-bit PCM at 8 kHz


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frames_follow_their_samples_not_their_arrival():
    clock = Clock()
    sc = SampleClock(8000, clock)
    assert sc.frame(FRAME) == (100.0, 100.02)
    clock.now = 100.5  # a stall: the next frames arrive late, in a burst
    assert sc.frame(FRAME) == (100.02, 100.04)
    assert sc.frame(FRAME) == (100.04, 100.06)


def test_a_clock_lagging_more_than_a_second_is_pulled_forward():
    clock = Clock()
    sc = SampleClock(8000, clock)
    sc.frame(FRAME)
    clock.now = 101.5  # frames went missing
    start, end = sc.frame(FRAME)
    assert (start, round(end, 6)) == (101.5, 101.52)
