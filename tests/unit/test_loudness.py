"""The line's noise floor and which frames stand out of it (pure, levels in, verdicts out)."""

from voxline.speech.loudness import FLOOR_MIN_DBFS, LineLevel

FRAME_S = 0.02


def test_speech_stands_out_of_a_quiet_line_from_its_first_frame():
    line = LineLevel()
    assert not any(line.loud(-65.0, FRAME_S) for _ in range(50))
    assert line.loud(-30.0, FRAME_S)
    assert -65.0 < line.floor < -64.9  # one loud frame barely lifts the floor


def test_digital_silence_is_quiet_and_floors_at_the_minimum():
    line = LineLevel()
    assert LineLevel.quiet(float("-inf")) and not line.loud(float("-inf"), FRAME_S)
    assert line.floor == FLOOR_MIN_DBFS
    assert not line.loud(-45.0, FRAME_S)  # under the absolute minimum for an onset
    assert line.loud(-38.0, FRAME_S)


def test_steady_noise_stops_standing_out_and_speech_over_it_still_does():
    line = LineLevel()
    line.loud(-70.0, FRAME_S)
    # A fan starts at -38 dBFS: loud at first, then the floor creeps up to it.
    verdicts = [line.loud(-38.0, FRAME_S) for _ in range(1000)]  # 20 s
    assert verdicts[0] and not verdicts[-1]
    assert -38.0 >= line.floor > -54.0
    assert line.loud(-20.0, FRAME_S)  # speech well over the fan
    assert not line.loud(-30.0, FRAME_S)  # a little over it is not enough


def test_the_floor_follows_a_quieter_line_at_once():
    line = LineLevel(floor_dbfs=-40.0)
    line.loud(-66.0, FRAME_S)
    assert line.floor == -66.0
    assert LineLevel.quiet(-51.0) and not LineLevel.quiet(-49.0)
