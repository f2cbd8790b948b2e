"""A call's Silero VAD, run only on the audio where its onsets matter.

With a recognizer that endpoints by itself (Riva), the turn taker needs the VAD only for speech
onsets over the bot (barge-in) or over an early reply (cancel it); elsewhere the model is
skipped, since it was a quarter of a Riva call's CPU (bench/load.py). It stays on until an
utterance it saw has ended, and restarts with fresh state after a gap (its recurrent state
would be of audio long gone). Without endpointing the recognizer cuts utterances on it, so it
always runs.
"""

from __future__ import annotations

from voxline.events import SpeechStarted, SpeechStopped
from voxline.speech.vad import SileroModel, VadTracker


class GatedVad:
    def __init__(self, model: SileroModel, rate: int, gated: bool) -> None:
        self.model = model
        self.rate = rate
        self.gated = gated
        self.stream = model.stream(rate)
        self.tracker = VadTracker()
        self._on = True

    @property
    def speaking(self) -> bool:
        return self.tracker.speaking

    def push(
        self, pcm: bytes, end: float, wanted: bool
    ) -> list[SpeechStarted | SpeechStopped] | None:
        """The speech edges in this frame (which ends at ``end``), or None if the VAD is off."""
        on = not self.gated or wanted or self.tracker.speaking
        if on and not self._on:
            self.stream = self.model.stream(self.rate)
            self.tracker = VadTracker()
        self._on = on
        if not on:
            return None
        update = self.tracker.update
        return [e for prob, lag in self.stream.push(pcm) if (e := update(prob, end - lag))]
