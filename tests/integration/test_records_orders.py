"""Orders change after they are placed: updated in place or cancelled, by their own call only,
on SQLite and on a real PostgreSQL server; an SQLite file from before gets the new columns."""

import sqlite3

from tests.integration.test_records import store, url  # noqa: F401  (fixtures)
from voxline.records_sqlite import SqliteRecords

LARGE = {"size": "large", "toppings": ["ham"], "crust": "thin", "price": 17.49}
MEDIUM = {"size": "medium", "toppings": ["ham"], "crust": "thin", "price": 14.49}


async def test_an_updated_order_is_one_live_order_with_its_final_contents(store):  # noqa: F811
    order = await store.add_order("CA1", "process_pizza_order", LARGE)
    [placed] = await store.orders("CA1")
    assert placed["status"] == "placed" and placed["updated_at"] is None

    assert await store.update_order("CA1", order, MEDIUM)
    [changed] = await store.orders("CA1")
    assert (changed["id"], changed["details"], changed["status"]) == (order, MEDIUM, "placed")
    assert changed["updated_at"] >= changed["at"]
    assert changed["tool"] == "process_pizza_order"


async def test_a_cancelled_order_keeps_its_contents_and_cannot_change_again(store):  # noqa: F811
    order = await store.add_order("CA1", "process_pizza_order", LARGE)
    assert await store.cancel_order("CA1", order)
    [cancelled] = await store.orders("CA1")
    assert (cancelled["details"], cancelled["status"]) == (LARGE, "cancelled")
    assert not await store.update_order("CA1", order, MEDIUM)
    assert not await store.cancel_order("CA1", order)
    assert (await store.orders("CA1"))[0]["details"] == LARGE


async def test_only_the_call_that_placed_an_order_may_change_it(store):  # noqa: F811
    order = await store.add_order("CA1", "process_pizza_order", LARGE)
    assert not await store.update_order("CA2", order, MEDIUM)
    assert not await store.cancel_order("CA2", order)
    assert not await store.update_order("CA1", order + 1000, MEDIUM)
    [kept] = await store.orders()
    assert (kept["details"], kept["status"]) == (LARGE, "placed")


async def test_an_sqlite_file_from_before_order_status_gets_the_columns(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the orders table as the first release made it
        db.executescript(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);"
            "INSERT INTO schema_version VALUES (1);"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL,"
            " tool TEXT NOT NULL, details TEXT NOT NULL, at REAL);"
            "INSERT INTO orders (call_id, tool, details, at)"
            " VALUES ('CAold', 'process_pizza_order', '{\"size\": \"small\"}', 1.0);"
        )
    db.close()
    old_file = SqliteRecords(path)
    try:
        [old] = await old_file.orders()
        assert (old["details"], old["status"], old["updated_at"]) == (
            {"size": "small"},
            "placed",
            None,
        )
        assert await old_file.cancel_order("CAold", old["id"])
        assert (await old_file.orders())[0]["status"] == "cancelled"
    finally:
        await old_file.close()
    again = SqliteRecords(path)  # a second start finds the columns there and adds nothing
    try:
        assert (await again.orders())[0]["status"] == "cancelled"
    finally:
        await again.close()
