"""Optional OpenTelemetry spans: one span per finished turn, its stages as events.

Only with the ``otel`` extra installed and ``VOXLINE_OTEL=1`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``
set. Spans go to whatever tracer provider the process has (``opentelemetry-instrument`` sets
one up from the ``OTEL_*`` variables); with an OTLP endpoint and none set, Voxline installs a
batching OTLP/HTTP exporter itself. Turn texts are not put on spans: they are personal data.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from voxline.events import CallNote, TurnEnded
from voxline.metrics import SpeechEnds

if TYPE_CHECKING:
    from voxline.call import Call
    from voxline.call_services import Observer
    from voxline.config import Settings

log = logging.getLogger("voxline.tracing")
EVENTS = ("interim", "final", "respond", "agent_first", "first_segment", "first_audio")


class TurnSpans:
    """Makes each call's observer; the call's monotonic clock is mapped to wall-clock time."""

    def __init__(self, tracer: Any, wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.tracer = tracer
        self.wall_ns = wall_ns

    def observer(self, call: Call) -> Observer:
        call_id, clock, ends = call.call_id, call.clock, SpeechEnds()

        def note(note: CallNote) -> None:
            ends.see(note)
            if isinstance(note, TurnEnded):
                self.record(call_id, clock, note, ends.of(note.timings))

        return note

    def record(
        self, call_id: str, clock: Callable[[], float], turn: TurnEnded, speech_end: float | None
    ) -> None:
        now_ns = self.wall_ns()
        offset = now_ns - int(clock() * 1e9)
        t = turn.timings

        def ns(at: float) -> int:
            return int(at * 1e9) + offset

        start = speech_end or t.get("respond") or clock()
        attributes: dict[str, Any] = {
            "voxline.call_id": call_id,
            "voxline.turn_id": turn.reply_id,
            "voxline.outcome": turn.outcome,
            "voxline.caller_turn": turn.user_text is not None,
        }
        if speech_end and t.get("first_audio"):
            attributes["voxline.latency_ms"] = round(1000 * (t["first_audio"] - speech_end), 1)
        if t.get("barge_in"):
            attributes["voxline.barge_in_clear_ms"] = round(1000 * t["barge_in"], 1)
        span = self.tracer.start_span("voxline.turn", start_time=ns(start), attributes=attributes)
        if speech_end:
            span.add_event("speech_end", timestamp=ns(speech_end))
        for key in EVENTS:
            if t.get(key):
                span.add_event(key, timestamp=ns(t[key]))
        span.end(end_time=max(now_ns, ns(start)))


def turn_spans(settings: Settings, env: Mapping[str, str] | None = None) -> TurnSpans | None:
    """The span maker the settings ask for, or None (off, or OpenTelemetry not installed)."""
    env = os.environ if env is None else env
    if not (settings.otel or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        log.warning("tracing asked for but OpenTelemetry is not installed: voxline[otel]")
        return None
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        _export_otlp(env)
    return TurnSpans(trace.get_tracer("voxline"))


def _export_otlp(env: Mapping[str, str]) -> None:
    from opentelemetry import trace

    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed")
        return
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # the process set one up already
    name = env.get("OTEL_SERVICE_NAME") or "voxline"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
