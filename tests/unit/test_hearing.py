"""HearingWatch: caller speech the recognizer never answered, in virtual (audio) time."""

from __future__ import annotations

from voxline.speech.hearing import HearingWatch

FRAME = 0.02


class Caller:
    """Feeds 20 ms frames to the watch and collects its verdicts with their times."""

    def __init__(self, watch: HearingWatch) -> None:
        self.watch = watch
        self.t = 0.0
        self.verdicts: list[tuple[str, float]] = []

    def run(self, seconds: float, voiced: bool) -> None:
        for _ in range(round(seconds / FRAME)):
            self.t += FRAME
            if verdict := self.watch.frame(self.t, FRAME, voiced):
                self.verdicts.append((verdict, round(self.t, 2)))


def test_an_answered_utterance_gives_no_verdict() -> None:
    caller = Caller(HearingWatch(answer_s=1.8))
    caller.run(1.0, True)
    caller.run(0.9, False)
    caller.watch.answered()  # the final came 0.9 s after the speech
    caller.run(5.0, False)
    assert caller.verdicts == [] and not caller.watch.pending


def test_unanswered_speech_is_a_stall_answer_s_after_it_ended() -> None:
    caller = Caller(HearingWatch(answer_s=1.8))
    caller.run(1.0, True)
    caller.run(3.0, False)
    assert caller.verdicts == [("stalled", 2.8)]
    assert not caller.watch.pending  # given up on: a new stream may open


def test_speech_cut_by_a_failure_is_lost_as_soon_as_the_caller_is_silent() -> None:
    caller = Caller(HearingWatch(answer_s=1.8))
    caller.run(0.6, True)
    caller.watch.broke()
    caller.run(0.6, True)  # the caller keeps talking into the outage
    assert caller.verdicts == []
    caller.run(0.2, False)  # a pause mid-sentence: maybe not done yet
    assert caller.verdicts == []
    caller.run(0.2, False)
    assert caller.verdicts == [("lost", 1.5)]


def test_speech_during_an_outage_is_lost_until_a_stream_is_back() -> None:
    caller = Caller(HearingWatch(answer_s=1.8))
    caller.watch.broke()  # failed while the caller was silent: nothing lost yet
    caller.run(2.0, False)
    caller.run(0.8, True)
    caller.run(0.4, False)
    assert [v for v, _ in caller.verdicts] == ["lost"]
    caller.watch.restored()
    caller.run(0.8, True)
    caller.run(1.0, False)
    assert [v for v, _ in caller.verdicts] == ["lost"]  # heard by the new stream: waiting
    caller.watch.answered()
    caller.run(3.0, False)
    assert [v for v, _ in caller.verdicts] == ["lost"]


def test_a_failure_with_nothing_said_loses_nothing() -> None:
    caller = Caller(HearingWatch(answer_s=1.8))
    caller.watch.broke()
    caller.watch.restored()
    caller.run(0.8, True)
    caller.run(1.0, False)
    caller.watch.answered()
    caller.run(3.0, False)
    assert caller.verdicts == []


def test_short_noise_expects_no_answer() -> None:
    caller = Caller(HearingWatch(answer_s=1.8, min_speech_s=0.25))
    caller.run(0.1, True)  # a click or a cough
    caller.run(3.0, False)
    assert caller.verdicts == [] and not caller.watch.pending


def test_a_pause_inside_an_utterance_restarts_the_wait() -> None:
    caller = Caller(HearingWatch(answer_s=1.8))
    caller.run(0.6, True)
    caller.run(1.0, False)
    caller.run(0.6, True)
    caller.run(1.7, False)
    assert caller.verdicts == []
    caller.run(0.2, False)
    assert [v for v, _ in caller.verdicts] == ["stalled"]
