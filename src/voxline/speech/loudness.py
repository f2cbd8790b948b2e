"""The caller line's loudness: what is surely not speech, and what is a sudden sound.

Two uses, both cheaper or faster than the VAD model (pure, one level per 20 ms frame):

- a frame under ``QUIET_DBFS`` is never speech, so the model need not run on it: callers are
  silent most of the time the bot talks, which is when a Riva call needs the VAD at all;
- Silero's probability passes 0.5 only 50-130 ms into speech, and it must stay there 64 ms, so
  a barge-in waited ~120 ms for the VAD alone. A frame well above the line's noise floor is
  known at once; it pauses the bot, and the VAD then confirms it or calls it noise.
"""

from __future__ import annotations

QUIET_DBFS = -50.0  # phone speech is -35..-15 dBFS; line noise sits well under -50
ONSET_DBFS = -40.0  # a sudden sound must be at least this loud ...
ONSET_OVER_FLOOR_DB = 15.0  # ... and this far above the line's steady noise
FLOOR_MIN_DBFS = -90.0
FLOOR_RISE_DB_PER_S = 3.0  # the floor follows quieter frames at once, louder ones slowly


class LineLevel:
    """Tracks the line's noise floor and says which frames stand out of it."""

    def __init__(self, floor_dbfs: float = -60.0) -> None:
        self.floor = floor_dbfs

    @staticmethod
    def quiet(level: float) -> bool:
        return level < QUIET_DBFS

    def loud(self, level: float, duration: float) -> bool:
        """Whether this frame (``level`` dBFS, ``duration`` s) stands out of the noise. The
        floor drops to a quieter frame at once and rises toward a louder one slowly: speech
        pauses often enough to keep it down, a steady noise lifts it within seconds."""
        loud = level >= max(ONSET_DBFS, self.floor + ONSET_OVER_FLOOR_DB)
        if level < self.floor:
            self.floor = max(level, FLOOR_MIN_DBFS)
        else:
            self.floor = min(level, self.floor + FLOOR_RISE_DB_PER_S * duration)
        return loud
