"""The records store in one SQLite file: the default, for a single process.

One connection lives on one worker thread, so the event loop never waits on disk and SQLite
never sees two threads. Every write is its own transaction: a crash loses at most the turn
being written.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voxline.records import ORDER_CANCELLED, ORDER_PLACED, SCHEMA_VERSION, Message

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    stream_id TEXT,
    bot TEXT,
    transport TEXT,
    parameters TEXT,
    started_at REAL,
    ended_at REAL,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    timings TEXT,
    at REAL
);
CREATE INDEX IF NOT EXISTS turns_call ON turns(call_id);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    details TEXT NOT NULL,
    at REAL
);
CREATE INDEX IF NOT EXISTS orders_call ON orders(call_id);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    messages TEXT NOT NULL,
    updated_at REAL
);
"""


def _add_order_status(db: sqlite3.Connection) -> None:
    """Orders got a status and an update time after the first release: add the columns to a
    file made before (an additive ALTER; old rows are placed orders that never changed)."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(orders)")}
    if "status" not in columns:
        db.execute(f"ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT '{ORDER_PLACED}'")
    if "updated_at" not in columns:
        db.execute("ALTER TABLE orders ADD COLUMN updated_at REAL")


def _use_wal(db: sqlite3.Connection, tries: int = 50) -> None:
    """Switching to WAL takes an exclusive lock without waiting on the busy timeout, so two
    processes opening a fresh file at once see "database is locked": retry, bounded."""
    for attempt in range(tries):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == tries - 1:
                raise
            time.sleep(0.05)


def _create_schema(db: sqlite3.Connection) -> int | None:
    """One immediate transaction, so a second process opening the same fresh file waits
    instead of migrating half-made tables; returns the version found before, if any."""
    db.isolation_level = None
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            _add_order_status(db)
            found = db.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            if found is None:
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.isolation_level = ""
    return found


def _call_row(row: dict[str, Any]) -> dict[str, Any]:
    row["parameters"] = json.loads(row["parameters"] or "{}")
    return row


class SqliteRecords:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="records")
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteRecords({str(self.path)!r})"

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False)
            db.row_factory = sqlite3.Row
            _use_wal(db)
            found = _create_schema(db)
            if found is not None and found > SCHEMA_VERSION:
                db.close()
                raise RuntimeError(
                    f"{self.path}: records schema v{found} is newer than this Voxline's "
                    f"v{SCHEMA_VERSION}"
                )
            self._db = db
        return self._db

    def _write(self, sql: str, params: tuple) -> int:
        db = self._conn()
        with db:
            return db.execute(sql, params).lastrowid or 0

    def _read(self, sql: str, params: tuple) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn().execute(sql, params).fetchall()]

    async def open(self) -> None:
        await self._run(self._conn)

    async def start_call(
        self, call_id: str, stream_id: str, bot: str, transport: str, parameters: dict
    ) -> None:
        await self._run(
            self._write,
            "INSERT INTO calls (id, stream_id, bot, transport, parameters, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " stream_id = excluded.stream_id, bot = excluded.bot, transport = excluded.transport,"
            " parameters = json_patch(coalesce(calls.parameters, '{}'), excluded.parameters),"
            " started_at = excluded.started_at, ended_at = NULL, outcome = NULL",
            (call_id, stream_id, bot, transport, json.dumps(parameters), time.time()),
        )

    async def note_call(self, call_id: str, details: dict[str, Any]) -> None:
        await self._run(
            self._write,
            "INSERT INTO calls (id, parameters, started_at) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET"
            " parameters = json_patch(coalesce(calls.parameters, '{}'), excluded.parameters)",
            (call_id, json.dumps(details), time.time()),
        )

    async def end_call(self, call_id: str, outcome: str) -> None:
        await self._run(
            self._write,
            "UPDATE calls SET ended_at = ?, outcome = ? WHERE id = ?",
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
        return await self._run(
            self._write,
            "INSERT INTO turns (call_id, role, text, interrupted, timings, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (call_id, role, text, int(interrupted), json.dumps(timings or {}), time.time()),
        )

    async def add_order(self, call_id: str, tool: str, details: dict[str, Any]) -> int:
        return await self._run(
            self._write,
            "INSERT INTO orders (call_id, tool, details, at) VALUES (?, ?, ?, ?)",
            (call_id, tool, json.dumps(details), time.time()),
        )

    async def update_order(self, call_id: str, order_id: int, details: dict[str, Any]) -> bool:
        return await self._run(self._change_order, call_id, order_id, details, ORDER_PLACED)

    async def cancel_order(self, call_id: str, order_id: int) -> bool:
        return await self._run(self._change_order, call_id, order_id, None, ORDER_CANCELLED)

    def _change_order(
        self, call_id: str, order_id: int, details: dict[str, Any] | None, status: str
    ) -> bool:
        db = self._conn()
        with db:
            cur = db.execute(
                "UPDATE orders SET details = coalesce(?, details), status = ?, updated_at = ?"
                " WHERE id = ? AND call_id = ? AND status = ?",
                (
                    None if details is None else json.dumps(details),
                    status,
                    time.time(),
                    order_id,
                    call_id,
                    ORDER_PLACED,
                ),
            )
        return cur.rowcount == 1

    async def calls(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._run(
            self._read, "SELECT * FROM calls ORDER BY started_at DESC LIMIT ?", (limit,)
        )
        return [_call_row(r) for r in rows]

    async def call(self, call_id: str) -> dict[str, Any] | None:
        rows = await self._run(self._read, "SELECT * FROM calls WHERE id = ?", (call_id,))
        return _call_row(rows[0]) if rows else None

    async def turns(self, call_id: str) -> list[dict[str, Any]]:
        rows = await self._run(
            self._read, "SELECT * FROM turns WHERE call_id = ? ORDER BY id", (call_id,)
        )
        for r in rows:
            r["timings"] = json.loads(r["timings"] or "{}")
            r["interrupted"] = bool(r["interrupted"])
        return rows

    async def orders(self, call_id: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM orders ORDER BY id", ()
        if call_id is not None:
            sql, params = "SELECT * FROM orders WHERE call_id = ? ORDER BY id", (call_id,)
        rows = await self._run(self._read, sql, params)
        for r in rows:
            r["details"] = json.loads(r["details"])
        return rows

    async def purge_before(self, ts: float) -> list[str]:
        def purge() -> list[str]:
            db = self._conn()
            with db:
                ids = [r[0] for r in db.execute("SELECT id FROM calls WHERE ended_at < ?", (ts,))]
                for table, key in (("turns", "call_id"), ("orders", "call_id"), ("calls", "id")):
                    db.executemany(f"DELETE FROM {table} WHERE {key} = ?", [(i,) for i in ids])
                db.execute("DELETE FROM sessions WHERE updated_at < ?", (ts,))
            return ids

        return await self._run(purge)

    async def load_session(self, session_id: str) -> list[Message] | None:
        rows = await self._run(
            self._read, "SELECT messages FROM sessions WHERE id = ?", (session_id,)
        )
        return json.loads(rows[0]["messages"]) if rows else None

    async def save_session(self, session_id: str, messages: list[Message]) -> None:
        await self._run(
            self._write,
            "INSERT OR REPLACE INTO sessions (id, messages, updated_at) VALUES (?, ?, ?)",
            (session_id, json.dumps(messages), time.time()),
        )

    async def drop_session(self, session_id: str) -> None:
        await self._run(self._write, "DELETE FROM sessions WHERE id = ?", (session_id,))

    async def close(self) -> None:
        def _close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._run(_close)
        self._pool.shutdown(wait=True)
