"""The calls API and the pages, without a browser: the app over httpx, records in SQLite."""

import httpx
import pytest

from tests.conftest import make_settings
from voxline.app import create_app
from voxline.audio import interleave, wav_bytes
from voxline.records_sqlite import SqliteRecords

TIMINGS = {
    "speech_end": 10.0,
    "final": 10.9,
    "respond": 10.9,
    "agent_first": 10.91,
    "first_audio": 11.2,
    "latency": 1.2,
    "barge_in": 0.08,
    "outcome": "interrupted",
}


@pytest.fixture
async def served(tmp_path, pizza_bot):
    """The app and a second connection to its records store, seeded with two calls."""
    settings = make_settings(tmp_path)
    app = create_app(settings, pizza_bot)
    records = SqliteRecords(tmp_path / "voxline.sqlite3")
    await records.start_call("CAdone", "MZ1", "pizza", "twilio", {"From": "+15550100"})
    await records.add_turn("CAdone", "assistant", "Thanks for calling!", False, {})
    await records.add_turn("CAdone", "user", "what toppings do you have?", False, TIMINGS)
    await records.add_turn("CAdone", "assistant", "For toppings,", True, {})
    await records.add_order("CAdone", "process_pizza_order", {"size": "large", "price": 17.49})
    await records.end_call("CAdone", "order placed")
    await records.start_call("BRlive", "BRlive", "pizza", "browser", {"page": "talk"})
    folder = tmp_path / "recordings"
    folder.mkdir()
    wav = wav_bytes(interleave(b"\x01\x00" * 8000, b"\x02\x00" * 8000), 8000, channels=2)
    (folder / "CAdone.wav").write_bytes(wav)
    (tmp_path / "secret.wav").write_bytes(b"not for you")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, wav
    await records.close()


async def test_the_pages_and_only_their_own_files_are_served(served):
    client, _ = served
    talk = await client.get("/")
    assert talk.status_code == 200 and "/web/talk.js" in talk.text
    calls = await client.get("/calls")
    assert calls.status_code == 200 and "/web/calls.js" in calls.text
    for name in ("talk.js", "calls.js", "latency.js", "audio-worklets.js"):
        res = await client.get(f"/web/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/web/style.css")).headers["content-type"].startswith("text/css")
    for other in ("kb.html", "..%2Fapp.py", "%2E%2E%2Fpages.py", "talk.html"):
        assert (await client.get(f"/web/{other}")).status_code == 404, other


async def test_calls_list_and_one_call_with_turns_orders_and_recording(served):
    client, wav = served
    listed = (await client.get("/api/calls")).json()["calls"]
    assert [c["id"] for c in listed] == ["BRlive", "CAdone"]  # latest first
    live, done = listed
    assert live["outcome"] == "live" and live["duration"] is None and live["recording"] is None
    assert live["transport"] == "browser" and live["parameters"] == {"page": "talk"}
    assert done["outcome"] == "order placed" and done["duration"] >= 0
    assert done["recording"] == "/api/calls/CAdone/recording.wav"

    call = (await client.get("/api/calls/CAdone")).json()
    assert [(t["role"], t["interrupted"]) for t in call["turns"]] == [
        ("assistant", False),
        ("user", False),
        ("assistant", True),
    ]
    assert call["turns"][1]["timings"]["first_audio"] == 11.2
    assert call["orders"][0]["details"] == {"size": "large", "price": 17.49}

    audio = await client.get(done["recording"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == wav
    part = await client.get(done["recording"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == wav[:100]  # the player can seek


@pytest.mark.parametrize(
    "call_id",
    ["nope", "..", "..%2Fsecret", "%2E%2E%2Fsecret", "CAdone.wav", "CA%00done", "x" * 200],
)
async def test_unknown_or_unsafe_ids_are_404_and_never_reach_other_files(served, call_id):
    client, _ = served
    for url in (f"/api/calls/{call_id}", f"/api/calls/{call_id}/recording.wav"):
        res = await client.get(url)
        assert res.status_code == 404, url
        assert b"not for you" not in res.content


async def test_with_an_api_key_the_pages_socket_and_api_are_closed_without_it(tmp_path, pizza_bot):
    app = create_app(make_settings(tmp_path, api_key="s3cret-key"), pizza_bot)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for url in ("/", "/calls", "/web/talk.js", "/api/calls"):
            assert (await client.get(url)).status_code == 401, url
        auth = {"Authorization": "Bearer s3cret-key"}
        assert (await client.get("/api/calls", headers=auth)).json() == {"calls": []}
