"""A call's Silero VAD, run only on the audio where it can change something.

With a recognizer that endpoints by itself (Riva), the turn taker needs the VAD only for speech
onsets over the bot (barge-in) or over an early reply (cancel it); elsewhere the model is
skipped, since it was a quarter of a Riva call's CPU (bench/load.py). It stays on until an
utterance it saw has ended, and restarts with fresh state after a gap (its recurrent state
would be of audio long gone). Without endpointing the recognizer cuts utterances on it, so it
always runs. Either way, once the line has been too quiet to be speech
(``loudness.QUIET_DBFS``) for ``QUIET_HOLD_S`` it counts as silence without the model; shorter
gaps, between words, go through the model so its state follows the utterance.

Where a pause can be undone (``quick``: the bot is talking), a frame that stands out of the
line's noise is reported as an onset at once, and the model must confirm it: a sound it gives
no speech-like window in ``confirm_s`` (a knock, a click, a tone stay under 0.1) or that it has
not called speech in ``3 * confirm_s`` is taken back by a ``SpeechStopped(noise=True)``.
"""

from __future__ import annotations

from voxline.audio import rms_dbfs
from voxline.events import SpeechStarted, SpeechStopped
from voxline.speech.loudness import LineLevel
from voxline.speech.vad import SileroModel, VadTracker

Edge = SpeechStarted | SpeechStopped
QUIET_HOLD_S = 0.3  # longer than the gaps inside an utterance the tracker bridges
SPEECH_DBFS = -40.0  # once speech began, frames this loud keep the VAD's lower threshold
# Where the VAD alone cuts the caller's utterances (no endpointing recognizer), a word it
# misses is lost: four staggered model states (``VadStream``) instead of one took the
# recognition bench's 240 lines from 2 lost and 10 cut to 0 lost and 5 cut, for one extra
# onset per minute of loud hum or babble. Gated, the VAD only vets onsets: one state.
UNGATED_PHASES = 4


class GatedVad:
    def __init__(
        self,
        model: SileroModel,
        rate: int,
        gated: bool,
        confirm_s: float = 0.3,  # Silero's rise (<= 130 ms) and a window over 0.35, with room
    ) -> None:
        self.model = model
        self.rate = rate
        self.gated = gated
        self.confirm_s = confirm_s
        self.level = LineLevel()
        self.phases = 1 if gated else UNGATED_PHASES
        self.stream = model.stream(rate, self.phases)
        self.tracker = VadTracker()
        self._on = True
        self._fresh = False  # the model sat out quiet frames: restart it on the next loud one
        self._quiet_s = 0.0  # how long the line has been too quiet to be speech
        self._previous = b""  # the frame before, to give a restarted model some lead-in
        self.tentative: float | None = None  # a loud frame's onset, not confirmed yet
        self._peak = 0.0  # the highest speech probability since it

    @property
    def speaking(self) -> bool:
        return self.tracker.speaking

    @property
    def voiced(self) -> bool:
        """The latest frame is speech, for the utterance cutter: its silence starts where the
        model's stop does, not 96 ms later once the stop is debounced, so the interim (and the
        early reply) come that much sooner."""
        return self.tracker.speaking and not self.tracker.stopping

    def push(self, pcm: bytes, end: float, wanted: bool, quick: bool = False) -> list[Edge] | None:
        """The speech edges in this frame (which ends at ``end``), or None if the VAD is off.
        ``quick``: a loud frame may be reported as an onset before the model confirms it."""
        on = not self.gated or wanted or self.speaking or self.tentative is not None
        if on and not self._on:
            self.tracker = VadTracker()
            self._fresh = True
        self._on = on
        if not on:
            self._previous = pcm
            return None
        duration = len(pcm) / (2 * self.rate)
        level = rms_dbfs(pcm)
        edges: list[Edge] = []
        loud = self.level.loud(level, duration)
        speechlike = loud or (self.speaking and level >= SPEECH_DBFS)
        if loud and quick and not self.speaking and self.tentative is None:
            self.tentative, self._peak = end - duration, 0.0
            edges.append(SpeechStarted(self.tentative))
        self._quiet_s = self._quiet_s + duration if self.level.quiet(level) else 0.0
        if self._quiet_s >= QUIET_HOLD_S:
            self._fresh = True
            if edge := self.tracker.update(0.0, end, duration):
                edges.append(edge)
        else:
            edges += self._model(pcm, end, speechlike)
        if self.tentative is not None and self._unconfirmed(end):
            self.tentative = None
            edges.append(SpeechStopped(end, noise=True))
        self._previous = pcm
        return edges

    def _model(self, pcm: bytes, end: float, loud: bool) -> list[Edge]:
        if self._fresh:
            self.stream = self.model.stream(self.rate, self.phases)
            pcm = self._previous + pcm
            self._fresh = False
        edges: list[Edge] = []
        for prob, lag in self.stream.push(pcm):
            self._peak = max(self._peak, prob)
            edge = self.tracker.update(prob, end - lag, loud=loud)
            if isinstance(edge, SpeechStarted) and self.tentative is not None:
                self.tentative = None  # confirmed: its onset was already reported
            elif edge is not None:
                edges.append(edge)
        return edges

    def _unconfirmed(self, end: float) -> bool:
        waited = end - self.tentative
        if waited < self.confirm_s:
            return False
        return self._peak < self.tracker.params.stop_threshold or waited >= 3 * self.confirm_s
