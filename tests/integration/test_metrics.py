"""/metrics and per-turn spans from a real phone call: Riva and an LLM as scripted servers on
127.0.0.1, the Twilio protocol over a real WebSocket, the text scraped and parsed as Prometheus
would; then a stream of malformed frames."""

import asyncio

import httpx
import orjson
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import nim_settings, serve_in_thread
from tests.fakes.openai_server import FakeOpenAI, native_call, text
from tests.fakes.riva_server import FakeRivaServer
from voxline.app import create_app
from voxline.caller import Line, SimulatedCaller
from voxline.services import build_services

pytestmark = pytest.mark.e2e
ORDER = {"size": "large", "toppings": ["pepperoni"], "crust": "thin"}
SAID = ["I'd like a large pepperoni pizza", "thin crust"]


def samples(page: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a scraped page."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }


def value(page: dict, name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


def span_exporter():
    """An in-memory exporter on the process's SDK tracer provider (set up once)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def scenario(pizza_bot, speak, tmp_path, exporter):
    script = [
        text("Sure thing, a large pepperoni. What crust would you like?"),
        native_call("process_pizza_order", ORDER),
        text("Done! Your large pepperoni pizza on thin crust comes to 17 dollars 49."),
    ]
    async with FakeRivaServer(SAID) as riva:
        with FakeOpenAI(script) as llm:
            settings = nim_settings(tmp_path, riva.target, llm.base_url, otel=True)
            services = await asyncio.to_thread(build_services, settings, pizza_bot)
            app = create_app(settings, pizza_bot, services)
            servers = serve_in_thread(app, settings)
            host, _ = await asyncio.to_thread(next, servers)
            try:
                async with httpx.AsyncClient(base_url=f"http://{host}", timeout=10) as http:

                    async def scrape() -> dict:
                        return samples((await http.get("/metrics")).text)

                    before = await scrape()
                    lines = [Line(s, speak(s)) for s in SAID]
                    caller = asyncio.create_task(
                        SimulatedCaller(f"ws://{host}/ws", lines, idle_s=2.0).run()
                    )
                    during = 0.0
                    while not caller.done():  # the call lasts seconds; scrape while it runs
                        during = max(during, value(await scrape(), "voxline_active_calls",
                                                   transport="twilio"))  # fmt: skip
                        await asyncio.sleep(0.1)
                    result = await caller
                    after = {}
                    for _ in range(100):  # the server finishes the call after the hang-up
                        after = await scrape()
                        if not value(after, "voxline_active_calls", transport="twilio"):
                            break
                        await asyncio.sleep(0.1)
                    await vandal(f"ws://{host}/ws")
                    for _ in range(100):
                        vandalised = await scrape()
                        calls = value(vandalised, "voxline_calls_total", transport="twilio")
                        live = value(vandalised, "voxline_active_calls", transport="twilio")
                        if calls == 2 and not live:
                            break
                        await asyncio.sleep(0.1)
            finally:
                await asyncio.to_thread(next, servers, None)
    return before, during, after, vandalised, result, exporter.get_finished_spans()


async def vandal(url: str) -> None:
    """A stream whose frames are garbage between a valid start and stop."""
    async with websockets.connect(url) as ws:
        start = {"streamSid": "MZv", "callSid": "CAvandal", "customParameters": {}}
        await ws.send(orjson.dumps({"event": "start", "start": start}).decode())
        await ws.send("{not json")
        await ws.send(b"\x00binary")
        await ws.send(orjson.dumps({"event": "teleport", "streamSid": "MZv"}).decode())
        await ws.send(orjson.dumps({"event": "stop", "streamSid": "MZv"}).decode())
        await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
def observed(pizza_bot, speak, tmp_path_factory):
    exporter = span_exporter()
    return asyncio.run(scenario(pizza_bot, speak, tmp_path_factory.mktemp("metrics"), exporter))


def test_active_calls_rise_during_the_call_and_return_to_zero(observed):
    before, during, after, *_ = observed
    assert value(before, "voxline_active_calls", transport="twilio") == 0
    assert during == 1
    assert value(after, "voxline_active_calls", transport="twilio") == 0
    assert value(after, "voxline_calls_total", transport="twilio") == 1


def test_turns_and_their_stage_latencies_are_counted(observed):
    _, _, after, _, result, _ = observed
    turns = {k[1]: v for k, v in after.items() if k[0] == "voxline_turns_total"}
    assert sum(turns.values()) == 2  # two caller turns; the greeting is not one
    assert turns[(("outcome", "spoken"),)] >= 1
    latency = "voxline_turn_stage_seconds"
    for stage in ("transcript_final", "agent_first_token", "first_segment", "first_audio"):
        assert value(after, f"{latency}_count", stage=stage) >= 1, stage
    replies = value(after, f"{latency}_count", stage="first_audio")
    mean = value(after, f"{latency}_sum", stage="first_audio") / replies
    assert 0 < mean < 10
    # The buckets are cumulative and end with every observation.
    assert value(after, f"{latency}_bucket", stage="first_audio", le="+Inf") == replies
    assert value(after, f"{latency}_bucket", stage="first_audio", le="0.025") <= replies
    assert not any(k[0] == "voxline_backend_errors_total" for k in after)
    assert len(result.turns) == 3


def test_malformed_frames_are_counted_when_their_call_ends(observed):
    *_, vandalised, _, _ = observed
    assert value(vandalised, "voxline_bad_frames_total", transport="twilio") == 3
    assert value(vandalised, "voxline_calls_total", transport="twilio") == 2
    assert value(vandalised, "voxline_active_calls", transport="twilio") == 0


def test_each_turn_is_a_span_with_its_stages(observed):
    *_, result, spans = observed
    turns = [
        s
        for s in spans
        if s.name == "voxline.turn" and s.attributes["voxline.call_id"] == result.call_sid
    ]
    caller_turns = [s for s in turns if s.attributes["voxline.caller_turn"]]
    assert len(caller_turns) == 2 and len(turns) == 3  # and the greeting
    ordered = sorted(caller_turns, key=lambda s: s.start_time)
    for span in ordered:
        events = {e.name: e.timestamp for e in span.events}
        assert {"speech_end", "final", "respond", "first_audio"} <= set(events)
        assert span.start_time == events["speech_end"] < events["respond"]
        assert events["first_audio"] <= span.end_time
        latency_ms = (events["first_audio"] - span.start_time) / 1e6
        assert span.attributes["voxline.latency_ms"] == pytest.approx(latency_ms, abs=1)
        assert "text" not in " ".join(span.attributes)  # no personal data on spans
