"""Did the recognizer answer what the caller said? (pure, on the audio's own clock)

A healthy streaming recognizer sends a final transcript within its endpointing delay after the
caller stops talking. ``HearingWatch`` follows the caller's speech frame by frame (from the VAD)
and the recognizer's finals, and says when speech went unanswered:

- ``stalled``: the stream is up, but no final came ``answer_s`` after the caller fell silent;
- ``lost``: the stream broke while the caller was speaking (or while they spoke during the
  outage); said once the caller has been silent ``quiet_s``, since nothing will answer it.

Either way the caller's words are gone and the call should ask them to repeat.
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["stalled", "lost"]


class HearingWatch:
    def __init__(self, answer_s: float, min_speech_s: float = 0.25, quiet_s: float = 0.3) -> None:
        self.answer_s = answer_s
        self.quiet_s = quiet_s  # a pause this long ends the utterance (mid-sentence ones don't)
        self.min_speech_s = min_speech_s  # shorter bursts (a cough, a click) expect no answer
        self.voiced_s = 0.0  # speech since the last final
        self.speaking = False
        self.quiet_since: float | None = None  # when the caller last fell silent
        self.broken = False  # the stream failed since that speech began

    @property
    def pending(self) -> bool:
        """The caller said something that has neither been answered nor given up on."""
        return self.speaking or self.voiced_s > 0

    def frame(self, t_end: float, duration: float, voiced: bool) -> Verdict | None:
        """One frame of caller audio ending at ``t_end``."""
        if voiced:
            self.voiced_s += duration
            self.speaking, self.quiet_since = True, None
            return None
        if self.speaking or self.quiet_since is None:
            self.speaking, self.quiet_since = False, t_end - duration
        if not self.voiced_s:
            return None
        waited = t_end - self.quiet_since
        if self.voiced_s < self.min_speech_s:
            if waited >= self.answer_s:
                self._reset()  # noise, not words
            return None
        if self.broken and waited >= self.quiet_s:
            self._reset()
            return "lost"
        if waited >= self.answer_s:
            self._reset()
            return "stalled"
        return None

    def answered(self) -> None:
        """A final transcript: the speech so far has been heard."""
        self._reset()
        self.broken = False

    def broke(self) -> None:
        """The stream failed: speech in progress, and any until it is back, is lost."""
        self.broken = True

    def restored(self) -> None:
        """A new stream is up; speech from here on can be heard again."""
        if not self.pending:
            self.broken = False

    def _reset(self) -> None:
        self.voiced_s, self.quiet_since = 0.0, None
