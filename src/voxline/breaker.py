"""Circuit breaker and retry backoff for the model backends (pure, clock-injected).

One breaker per backend per process, shared by every call: once a backend has failed
``failures`` times in a row, calls stop waiting on it and use their fallback at once. After a
cool-down one request is let through as a probe; if it fails the cool-down doubles (up to
``max_cooldown_s``), if it succeeds the breaker closes. A breaker never sleeps: callers ask
``allow()`` and report ``success()`` / ``failure()``, so it is tested in virtual time.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("voxline.breaker")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of
    ``min(cap_s, base_s * 2**n)``, so calls retrying together spread out."""

    base_s: float = 0.1
    cap_s: float = 5.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempt))
        return ceiling / 2 + rand() * ceiling / 2


class Breaker:
    """closed -> open after ``failures`` consecutive failures -> half-open after the cool-down."""

    def __init__(
        self,
        name: str,
        failures: int = 3,
        cooldown_s: float = 2.0,
        max_cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = max(1, failures)
        self.base_cooldown_s = cooldown_s
        self.max_cooldown_s = max(cooldown_s, max_cooldown_s)
        self.clock = clock
        self.cooldown_s = cooldown_s
        self.failures = 0  # consecutive
        self.opened_at: float | None = None
        self._probe_at: float | None = None  # when the half-open probe was let through

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self._probe_at is None and self.clock() < self.opened_at + self.cooldown_s:
            return "open"
        return "half-open"

    def allow(self) -> bool:
        """May a request go to the backend now? In half-open, one probe at a time (a probe
        that never reported back is replaced after a cool-down)."""
        if self.opened_at is None:
            return True
        now = self.clock()
        if now < self.opened_at + self.cooldown_s:
            return False
        if self._probe_at is not None and now < self._probe_at + self.cooldown_s:
            return False
        self._probe_at = now
        return True

    def success(self) -> None:
        if self.opened_at is not None:
            log.info("%s: backend is back, breaker closed", self.name)
        self.failures, self.opened_at, self._probe_at = 0, None, None
        self.cooldown_s = self.base_cooldown_s

    def failure(self) -> bool:
        """Count a failure; True when this one opened (or re-opened) the breaker."""
        self.failures += 1
        now = self.clock()
        if self.opened_at is None:
            if self.failures < self.threshold:
                return False
        elif self._probe_at is None:
            return False  # a request from before the breaker opened: already counted as open
        else:
            self.cooldown_s = min(self.max_cooldown_s, self.cooldown_s * 2)
        self.opened_at, self._probe_at = now, None
        log.warning(
            "%s: %d failures in a row, breaker open for %.1f s (fallback in use)",
            self.name,
            self.failures,
            self.cooldown_s,
        )
        return True
