"""The records store: the same assertions on SQLite and on a real PostgreSQL server."""

import asyncio
import time

import pytest

from voxline.config import load_settings
from voxline.records import SCHEMA_VERSION, open_records, records_for_url
from voxline.records_sqlite import SqliteRecords


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def store(url, tmp_path):
    records = records_for_url(url, tmp_path)
    await records.open()
    yield records
    await records.close()


async def test_a_call_with_turns_and_an_order_reads_back_the_same(store):
    await store.start_call("CA1", "MZ1", "Pizza", "twilio", {"From": "+15550001"})
    timings = {"speech_end": 1.5, "latency": 0.61, "outcome": "spoken"}
    first = await store.add_turn("CA1", "user", "a large pizza", False, timings)
    second = await store.add_turn("CA1", "assistant", "What crust?", True)
    order = await store.add_order("CA1", "process_pizza_order", {"size": "large", "price": 17.49})
    await store.end_call("CA1", "order placed")

    call = await store.call("CA1")
    assert call is not None
    keys = ("id", "stream_id", "bot", "transport", "parameters", "outcome")
    assert {k: call[k] for k in keys} == {
        "id": "CA1", "stream_id": "MZ1", "bot": "Pizza", "transport": "twilio",
        "parameters": {"From": "+15550001"}, "outcome": "order placed",
    }  # fmt: skip
    assert call["started_at"] <= call["ended_at"] <= time.time()
    assert await store.calls() == [call]
    assert await store.call("CAnone") is None

    turns = await store.turns("CA1")
    assert [t["id"] for t in turns] == [first, second] and first != second
    assert [(t["role"], t["text"], t["interrupted"], t["timings"]) for t in turns] == [
        ("user", "a large pizza", False, timings),
        ("assistant", "What crust?", True, {}),
    ]
    orders = await store.orders("CA1")
    assert [(o["id"], o["tool"], o["details"]) for o in orders] == [
        (order, "process_pizza_order", {"size": "large", "price": 17.49})
    ]
    assert await store.orders() == orders
    assert await store.orders("CAother") == [] and await store.turns("CAother") == []


async def test_calls_are_listed_latest_first_up_to_the_limit(store):
    for i in range(3):
        await store.start_call(f"CA{i}", f"MZ{i}", "Pizza", "twilio", {})
        await asyncio.sleep(0.002)
    assert [c["id"] for c in await store.calls()] == ["CA2", "CA1", "CA0"]
    assert [c["id"] for c in await store.calls(limit=2)] == ["CA2", "CA1"]
    # A restarted stream with the same call id starts afresh.
    await store.end_call("CA0", "hung up")
    await store.start_call("CA0", "MZ9", "Pizza", "twilio", {"again": "1"})
    again = await store.call("CA0")
    assert again and again["stream_id"] == "MZ9" and again["ended_at"] is None


async def test_purge_deletes_calls_that_ended_before_the_time_with_their_rows(store):
    for call_id in ("CAold", "CAnew", "CAlive"):
        await store.start_call(call_id, "MZ", "Pizza", "twilio", {})
        await store.add_turn(call_id, "user", "hi", False, {})
        await store.add_order(call_id, "order", {"n": 1})
    await store.save_session("stale", [{"role": "user", "content": "hi"}])
    await store.end_call("CAold", "hung up")
    await asyncio.sleep(0.01)
    cutoff = time.time()
    await asyncio.sleep(0.01)
    await store.end_call("CAnew", "hung up")
    await store.save_session("fresh", [])

    assert await store.purge_before(cutoff) == ["CAold"]
    assert await store.call("CAold") is None
    assert await store.turns("CAold") == [] and await store.orders("CAold") == []
    assert {c["id"] for c in await store.calls()} == {"CAnew", "CAlive"}
    assert [o["call_id"] for o in await store.orders()] == ["CAnew", "CAlive"]
    assert await store.load_session("stale") is None and await store.load_session("fresh") == []
    assert await store.purge_before(cutoff) == []


async def test_sessions_keep_a_conversation_by_id(store):
    assert await store.load_session("s1") is None
    history = [{"role": "user", "content": "Who founded it?"},
               {"role": "assistant", "content": "Ada, in 1843."}]  # fmt: skip
    await store.save_session("s1", history)
    assert await store.load_session("s1") == history
    longer = [*history, {"role": "user", "content": "Where?"}]
    await store.save_session("s1", longer)
    assert await store.load_session("s1") == longer
    await store.drop_session("s1")
    assert await store.load_session("s1") is None


async def test_many_concurrent_writes_all_land(url, tmp_path):
    store = records_for_url(url, tmp_path, pool_size=2)  # more writers than connections
    try:
        await store.start_call("CA", "MZ", "Pizza", "twilio", {})  # opens on first use
        ids = await asyncio.gather(
            *(store.add_turn("CA", "user", f"turn {i}", False, {"i": i}) for i in range(40))
        )
        assert len(set(ids)) == 40
        turns = await store.turns("CA")
        assert sorted(t["timings"]["i"] for t in turns) == list(range(40))
    finally:
        await store.close()


async def test_a_second_store_on_the_same_database_sees_the_records(url, tmp_path):
    stores = [records_for_url(url, tmp_path) for _ in range(2)]
    try:
        await asyncio.gather(*(s.open() for s in stores))  # both create the schema at once
        await stores[0].start_call("CA1", "MZ1", "Pizza", "twilio", {})
        await stores[1].add_order("CA1", "order", {"size": "small"})
        assert (await stores[1].call("CA1"))["stream_id"] == "MZ1"
        assert [o["details"] for o in await stores[0].orders("CA1")] == [{"size": "small"}]
    finally:
        for s in stores:
            await s.close()


async def test_a_newer_schema_is_refused(url, tmp_path):
    store = records_for_url(url, tmp_path)
    await store.open()
    await store.close()
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    newer = records_for_url(url, tmp_path)
    with pytest.raises(RuntimeError, match=f"v{SCHEMA_VERSION + 1} is newer"):
        await newer.open()
    await newer.close()


def test_the_database_url_picks_the_backend(tmp_path):
    default = open_records(load_settings(env={}, data_dir=str(tmp_path)))
    assert isinstance(default, SqliteRecords)
    assert default.path == tmp_path / "voxline.sqlite3"
    named = records_for_url(f"sqlite:///{tmp_path}/x.db", tmp_path)
    assert isinstance(named, SqliteRecords) and named.path == tmp_path / "x.db"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgres_url_never_shows_its_password(scheme, tmp_path):
    pytest.importorskip("psycopg_pool")
    store = records_for_url(f"{scheme}://app:s3cr3t-pw@db.internal:5432/voxline", tmp_path)
    assert type(store).__name__ == "PostgresRecords"
    assert "s3cr3t-pw" not in repr(store)
    assert repr(store) == f"PostgresRecords('{scheme}://app:***@db.internal:5432/voxline')"


@pytest.mark.parametrize(
    "url", ["mysql://root:hunter22@db/voxline", "sqlite://relative.db", "/var/voxline.db"]
)
def test_an_unsupported_database_url_is_a_clear_error(url, tmp_path):
    with pytest.raises(ValueError, match="is not supported") as info:
        records_for_url(url, tmp_path)
    assert "hunter22" not in str(info.value)
    assert "sqlite:///PATH" in str(info.value)
