"""Whole phone calls in real time: the Twilio protocol over a real WebSocket, the embedded
models, synthesized caller speech, and the orders and turns the server stored."""

import asyncio

import orjson
import pytest
import websockets

from voxline.caller import Line, SimulatedCaller

pytestmark = pytest.mark.e2e
# Bot silence that ends its turn: generous, so a loaded machine's pauses are not taken for it.
IDLE_S = 2.0


def lines(speak, *texts: str) -> list[Line]:
    out = []
    for text in texts:
        barge = None
        if text.startswith("@"):
            head, _, text = text.partition(" ")
            barge = float(head[1:])
        out.append(Line(text, speak(text), barge))
    return out


async def test_a_pizza_order_over_the_phone(pizza_server, speak, monkeypatch):
    engine = pizza_server.services.recognizer.engine
    prompts: list[str] = []
    transcribe = engine.transcribe

    def heard_with(pcm: bytes, rate: int, prompt="", *rest):
        prompts.append(prompt)
        return transcribe(pcm, rate, prompt, *rest)

    monkeypatch.setattr(engine, "transcribe", heard_with)
    caller = SimulatedCaller(
        pizza_server.ws_url,
        lines(speak, "I'd like a large pepperoni pizza", "thin crust", "yes please"),
        idle_s=IDLE_S,
    )
    result = await caller.run()
    orders = pizza_server.records(pizza_server.services.records.orders(result.call_sid))
    assert [o["details"] for o in orders] == [
        {"size": "large", "toppings": ["pepperoni"], "crust": "thin", "price": 17.49}
    ]
    greeting, first, second, third = result.turns  # the third: "yes" to the read-back
    assert greeting.audio and first.audio and second.audio and third.audio
    assert first.latency is not None and second.latency is not None
    assert result.clears == 0 and result.marks_echoed  # every segment was played and echoed
    pizza_server.ended(result.call_sid)
    turns = pizza_server.records(pizza_server.services.records.turns(result.call_sid))
    said = [t["text"].lower() for t in turns if t["role"] == "user"]
    assert "pepperoni" in said[0] and "crust" in said[1]  # whisper may hear "then crust"
    user = [t for t in turns if t["role"] == "user"]
    assert all(0 < t["timings"]["latency"] < 5 for t in user)
    # whisper heard "thin crust" after the question the caller had just heard
    assert any(p.endswith("Which crust would you like: thin, regular, thick or stuffed?")
               for p in prompts), prompts  # fmt: skip


async def test_barge_in_clears_playback_and_history_keeps_only_what_was_heard(pizza_server, speak):
    caller = SimulatedCaller(
        pizza_server.ws_url,
        lines(speak, "What toppings do you have?", "@1.2 a large pizza please"),
        idle_s=IDLE_S,
    )
    result = await caller.run()
    assert result.clears >= 1
    pizza_server.ended(result.call_sid)
    turns = pizza_server.records(pizza_server.services.records.turns(result.call_sid))
    bot = [t for t in turns if t["role"] == "assistant"]
    interrupted = [t for t in bot if t["interrupted"]]
    assert len(interrupted) == 1
    heard = interrupted[0]["text"]
    # The menu reply was cut: only its opening was heard, never the full topping list.
    assert heard.startswith("For toppings,") and "spinach" not in heard
    # The bot went on with the caller's barge-in, which it understood.
    user = [t["text"].lower() for t in turns if t["role"] == "user"]
    assert "large" in user[-1]
    assert "toppings" in bot[-1]["text"].lower()


async def test_bad_frames_do_not_harm_the_call_or_another_call(pizza_server, speak):
    """A second socket sends garbage and then a stream with malformed frames while a real
    call runs; the real call still completes its order."""
    good = SimulatedCaller(
        pizza_server.ws_url,
        lines(speak, "large ham pizza on thick crust", "yes please"),
        idle_s=IDLE_S,
    )

    async def vandal() -> None:
        async with websockets.connect(pizza_server.ws_url) as ws:
            await ws.send(b"\x00\x01binary")
            await ws.send("{not json")
            await ws.send(orjson.dumps({"event": "media", "media": {"payload": "AAAA"}}).decode())
            start = {"streamSid": "MZv", "callSid": "CAvandal", "customParameters": {}}
            await ws.send(orjson.dumps({"event": "start", "start": start}).decode())
            for bad in (
                {"event": "media", "streamSid": "MZv", "media": {"payload": "!!notbase64"}},
                {"event": "media", "streamSid": "MZother", "media": {"payload": "/w=="}},
                {"event": "mark", "streamSid": "MZv", "mark": {}},
                {"event": "teleport", "streamSid": "MZv"},
                {"event": "start", "start": start},
            ):
                await ws.send(orjson.dumps(bad).decode())
            await ws.send("x" * 100_000)
            await ws.send(orjson.dumps({"event": "stop", "streamSid": "MZv"}).decode())
            await asyncio.sleep(0.5)

    result, _ = await asyncio.gather(good.run(), vandal())
    orders = pizza_server.records(pizza_server.services.records.orders(result.call_sid))
    turns = pizza_server.records(pizza_server.services.records.turns(result.call_sid))
    said = [f"{t['role']}: {t['text']}" for t in turns]  # what the call did, if it failed
    assert [o["details"]["size"] for o in orders] == ["large"], said
    calls = pizza_server.records(pizza_server.services.records.calls())
    vandal_call = [c for c in calls if c["id"] == "CAvandal"]
    assert vandal_call and vandal_call[0]["ended_at"]  # it ended cleanly, with a record


async def test_a_backchannel_ducks_the_bot_which_talks_on_to_the_end(pizza_server, speak):
    caller = SimulatedCaller(
        pizza_server.ws_url,
        lines(speak, "What toppings do you have?", "@1.5 yeah"),
        idle_s=IDLE_S,
    )
    result = await caller.run()
    assert result.clears == 0  # lowered while the caller spoke, never cut: no stutter
    pizza_server.ended(result.call_sid)
    turns = pizza_server.records(pizza_server.services.records.turns(result.call_sid))
    bot = [t for t in turns if t["role"] == "assistant"]
    assert not any(t["interrupted"] for t in bot)
    # Nothing of the reply was lost: the whole menu was heard in the end.
    assert "spinach" in bot[-1]["text"] and bot[-1]["text"].startswith("For toppings,")
    assert [t["text"].lower() for t in turns if t["role"] == "user"] == [
        "what toppings do you have?"
    ]
