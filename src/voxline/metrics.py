"""Prometheus metrics of one app: live calls, turns, per-stage latency, barge-ins, failures.

Each app has its own registry (several apps in one process, as in the tests, never share
counts). Calls feed it through an observer that looks only at the few notes it counts and
returns at once on the 20 ms audio frames; the app's live-calls dict moves the active-calls
gauge as calls come and go, whatever their transport.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from voxline.events import (
    BackendFailed,
    BotStopped,
    CallNote,
    SpeechStopped,
    TurnEnded,
)

if TYPE_CHECKING:
    from voxline.call import Call

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Voice latencies: tens of milliseconds (a barge-in clear) to seconds (a slow LLM).
BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0)
# stage label -> the TurnEnded timing it measures from the end of the caller's speech
STAGES = (
    ("transcript_interim", "interim"),
    ("transcript_final", "final"),
    ("agent_first_token", "agent_first"),
    ("first_segment", "first_segment"),
    ("first_audio", "first_audio"),  # the reply latency the caller hears
)


class SpeechEnds:
    """When the caller stopped speaking before a reply: the recognizer's own end of speech if
    it gave one, else the last VAD offset before the reply began (Riva gives none)."""

    def __init__(self) -> None:
        self.stops: deque[float] = deque(maxlen=8)

    def see(self, note: CallNote) -> None:
        if isinstance(note, SpeechStopped) and not note.noise:
            self.stops.append(note.t)

    def of(self, timings: dict[str, Any]) -> float | None:
        if end := timings.get("speech_end"):
            return end
        respond = timings.get("respond")
        before = [t for t in self.stops if respond is not None and t <= respond]
        return max(before) if before else None


def transport_of(call: Call) -> str:
    """``TwilioStream`` -> "twilio", ``BrowserStream`` -> "browser"."""
    out = call.out
    return getattr(out, "transport", "") or type(out).__name__.removesuffix("Stream").lower()


class CallMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.active = Gauge("voxline_active_calls", "Calls in progress", ["transport"], registry=r)
        self.calls = Counter("voxline_calls", "Calls started", ["transport"], registry=r)
        self.turns = Counter(
            "voxline_turns", "Caller turns answered, by how the reply ended", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.stages = Histogram(
            "voxline_turn_stage_seconds",
            "From the end of the caller's speech to each stage of the reply"
            " (first_audio: the reply latency)",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.barge_ins = Counter(
            "voxline_barge_ins", "Caller speech that silenced the bot (pause or barge-in)",
            ["how"], registry=r,
        )  # fmt: skip
        self.barge_in_clear = Histogram(
            "voxline_barge_in_clear_seconds",
            "From the caller's speech onset to the clear that silenced the bot",
            buckets=BUCKETS,
            registry=r,
        )
        self.backend_errors = Counter(
            "voxline_backend_errors", "Model backend failures during calls", ["stage"], registry=r
        )
        self.bad_frames = Counter(
            "voxline_bad_frames", "Malformed transport frames ignored (counted at call end)",
            ["transport"], registry=r,
        )  # fmt: skip

    def observer(self, call: Call) -> Any:
        """The ``CallServices.observers`` factory: a call's notes to the shared counters."""
        ends = SpeechEnds()

        def note(note: CallNote) -> None:
            ends.see(note)
            if isinstance(note, TurnEnded):
                if note.user_text is not None:  # the greeting and re-prompts are not turns
                    self.turns.labels(note.outcome).inc()
                    self._stages(note.timings, ends.of(note.timings))
            elif isinstance(note, BotStopped):
                self.barge_ins.labels(note.how).inc()
                self.barge_in_clear.observe(note.after_s)
            elif isinstance(note, BackendFailed):
                self.backend_errors.labels(note.stage).inc()

        return note

    def _stages(self, timings: dict[str, Any], end: float | None) -> None:
        if not end:
            return
        for stage, key in STAGES:
            at = timings.get(key)
            if at and at >= end:
                self.stages.labels(stage).observe(at - end)

    def call_started(self, call: Call) -> None:
        transport = transport_of(call)
        self.calls.labels(transport).inc()
        self.active.labels(transport).inc()

    def call_ended(self, call: Call) -> None:
        transport = transport_of(call)
        self.active.labels(transport).dec()
        if bad := getattr(call.out, "bad_frames", 0):
            self.bad_frames.labels(transport).inc(bad)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LiveCalls(dict):
    """The app's live calls by id; a call entering or leaving moves the metrics."""

    def __init__(self, metrics: CallMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def __setitem__(self, call_id: str, call: Call) -> None:
        old = self.get(call_id)
        super().__setitem__(call_id, call)
        if old is not call:
            if old is not None:
                self.metrics.call_ended(old)
            self.metrics.call_started(call)

    def __delitem__(self, call_id: str) -> None:
        call = self[call_id]
        super().__delitem__(call_id)
        self.metrics.call_ended(call)

    def pop(self, call_id: str, *default: Any) -> Any:
        if call_id not in self:
            return super().pop(call_id, *default)
        call = super().pop(call_id)
        self.metrics.call_ended(call)
        return call
