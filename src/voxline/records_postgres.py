"""The records store in PostgreSQL, shared by every process behind a load balancer.

Calls share a small async connection pool (psycopg 3): a write borrows a connection for one
statement, so a few connections serve many calls. JSON columns are JSONB; times stay Unix
seconds, as in SQLite, so both backends return the same rows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from voxline.logs import mask_url
from voxline.records import ORDER_CANCELLED, ORDER_PLACED, SCHEMA_VERSION, Message

CONNECT_TIMEOUT_S = 15.0
SCHEMA_LOCK = 0x766F786C  # advisory lock: processes starting together create the tables once
SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    stream_id TEXT,
    bot TEXT,
    transport TEXT,
    parameters JSONB,
    started_at DOUBLE PRECISION,
    ended_at DOUBLE PRECISION,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at);
CREATE TABLE IF NOT EXISTS turns (
    id BIGSERIAL PRIMARY KEY,
    call_id TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    interrupted BOOLEAN NOT NULL DEFAULT FALSE,
    timings JSONB,
    at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS turns_call ON turns(call_id);
CREATE TABLE IF NOT EXISTS orders (
    id BIGSERIAL PRIMARY KEY,
    call_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    details JSONB NOT NULL,
    at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS orders_call ON orders(call_id);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    messages JSONB NOT NULL,
    updated_at DOUBLE PRECISION
);
"""
# Orders got a status and an update time after the first release (additive, for old databases).
ORDER_STATUS = f"""
ALTER TABLE orders ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT '{ORDER_PLACED}';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS updated_at DOUBLE PRECISION;
"""


class PostgresRecords:
    def __init__(self, url: str, pool_size: int = 5) -> None:
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            timeout=CONNECT_TIMEOUT_S,
            kwargs={"autocommit": True, "row_factory": dict_row},
            name="voxline-records",
        )
        self.where = mask_url(url)
        self._ready = False
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresRecords({self.where!r})"

    async def open(self) -> None:
        if self._ready:
            return
        async with self._opening:
            if self._ready:
                return
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                await conn.execute(SCHEMA)
                await conn.execute(ORDER_STATUS)
                cur = await conn.execute("SELECT max(version) AS v FROM schema_version")
                found = (await cur.fetchone() or {}).get("v")
                if found is None:
                    await conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
                elif found > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"{self.where}: records schema v{found} is newer than this Voxline's "
                        f"v{SCHEMA_VERSION}"
                    )
            self._ready = True

    async def _query(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        await self.open()
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall() if cur.description else []

    async def start_call(
        self, call_id: str, stream_id: str, bot: str, transport: str, parameters: dict
    ) -> None:
        await self._query(
            "INSERT INTO calls (id, stream_id, bot, transport, parameters, started_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
            " stream_id = EXCLUDED.stream_id, bot = EXCLUDED.bot, transport = EXCLUDED.transport,"
            " parameters = coalesce(calls.parameters, '{}'::jsonb) || EXCLUDED.parameters,"
            " started_at = EXCLUDED.started_at, ended_at = NULL, outcome = NULL",
            (call_id, stream_id, bot, transport, Jsonb(parameters), time.time()),
        )

    async def note_call(self, call_id: str, details: dict[str, Any]) -> None:
        await self._query(
            "INSERT INTO calls (id, parameters, started_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET"
            " parameters = coalesce(calls.parameters, '{}'::jsonb) || EXCLUDED.parameters",
            (call_id, Jsonb(details), time.time()),
        )

    async def end_call(self, call_id: str, outcome: str) -> None:
        await self._query(
            "UPDATE calls SET ended_at = %s, outcome = %s WHERE id = %s",
            (time.time(), outcome, call_id),
        )

    async def add_turn(
        self,
        call_id: str,
        role: str,
        text: str,
        interrupted: bool = False,
        timings: dict[str, Any] | None = None,
    ) -> int:
        rows = await self._query(
            "INSERT INTO turns (call_id, role, text, interrupted, timings, at)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (call_id, role, text, interrupted, Jsonb(timings or {}), time.time()),
        )
        return rows[0]["id"]

    async def add_order(self, call_id: str, tool: str, details: dict[str, Any]) -> int:
        rows = await self._query(
            "INSERT INTO orders (call_id, tool, details, at) VALUES (%s, %s, %s, %s) RETURNING id",
            (call_id, tool, Jsonb(details), time.time()),
        )
        return rows[0]["id"]

    async def update_order(self, call_id: str, order_id: int, details: dict[str, Any]) -> bool:
        rows = await self._query(
            "UPDATE orders SET details = %s, updated_at = %s"
            " WHERE id = %s AND call_id = %s AND status = %s RETURNING id",
            (Jsonb(details), time.time(), order_id, call_id, ORDER_PLACED),
        )
        return len(rows) == 1

    async def cancel_order(self, call_id: str, order_id: int) -> bool:
        rows = await self._query(
            "UPDATE orders SET status = %s, updated_at = %s"
            " WHERE id = %s AND call_id = %s AND status = %s RETURNING id",
            (ORDER_CANCELLED, time.time(), order_id, call_id, ORDER_PLACED),
        )
        return len(rows) == 1

    async def calls(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self._query("SELECT * FROM calls ORDER BY started_at DESC LIMIT %s", (limit,))

    async def call(self, call_id: str) -> dict[str, Any] | None:
        rows = await self._query("SELECT * FROM calls WHERE id = %s", (call_id,))
        return rows[0] if rows else None

    async def turns(self, call_id: str) -> list[dict[str, Any]]:
        return await self._query("SELECT * FROM turns WHERE call_id = %s ORDER BY id", (call_id,))

    async def orders(self, call_id: str | None = None) -> list[dict[str, Any]]:
        if call_id is None:
            return await self._query("SELECT * FROM orders ORDER BY id")
        return await self._query("SELECT * FROM orders WHERE call_id = %s ORDER BY id", (call_id,))

    async def purge_before(self, ts: float) -> list[str]:
        await self.open()
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT id FROM calls WHERE ended_at < %s ORDER BY started_at FOR UPDATE", (ts,)
            )
            ids = [r["id"] for r in await cur.fetchall()]
            for table, key in (("turns", "call_id"), ("orders", "call_id"), ("calls", "id")):
                await conn.execute(f"DELETE FROM {table} WHERE {key} = ANY(%s)", (ids,))
            await conn.execute("DELETE FROM sessions WHERE updated_at < %s", (ts,))
        return ids

    async def load_session(self, session_id: str) -> list[Message] | None:
        rows = await self._query("SELECT messages FROM sessions WHERE id = %s", (session_id,))
        return rows[0]["messages"] if rows else None

    async def save_session(self, session_id: str, messages: list[Message]) -> None:
        await self._query(
            "INSERT INTO sessions (id, messages, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET messages = EXCLUDED.messages,"
            " updated_at = EXCLUDED.updated_at",
            (session_id, Jsonb(messages), time.time()),
        )

    async def drop_session(self, session_id: str) -> None:
        await self._query("DELETE FROM sessions WHERE id = %s", (session_id,))

    async def close(self) -> None:
        await self._pool.close()
        self._ready = False
