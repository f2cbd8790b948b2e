"""Frame times on the audio's own sample clock, pinned to a call's clock.

Endpointing measures silence in the audio: a network or CPU stall between two frames must not
look like a pause, so a frame's time is where its samples fall, not when it arrived. If frames
go missing the sample clock falls behind the call's, so it is pulled forward once it lags by
more than ``max_lag_s``.
"""

from __future__ import annotations

from collections.abc import Callable


class SampleClock:
    def __init__(self, rate: int, clock: Callable[[], float], max_lag_s: float = 1.0) -> None:
        self.rate = rate
        self.clock = clock
        self.max_lag_s = max_lag_s
        self._t0: float | None = None
        self._s = 0.0  # audio seconds since _t0

    def frame(self, pcm_bytes: int) -> tuple[float, float]:
        """Start and end of the next frame of ``pcm_bytes`` of 16-bit PCM."""
        now = self.clock()
        if self._t0 is None or now - (self._t0 + self._s) > self.max_lag_s:
            self._t0, self._s = now, 0.0
        start = self._t0 + self._s
        self._s += pcm_bytes / (2 * self.rate)
        return start, self._t0 + self._s
