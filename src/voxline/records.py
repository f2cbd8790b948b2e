"""Call records (calls, turns with timings, orders) and plugin conversation state, in one store.

Two backends keep the same schema behind one interface: SQLite in the data folder (one
process) and PostgreSQL (``VOXLINE_DATABASE_URL=postgresql://...``) so several processes or
machines behind a load balancer share records and conversations. Rows come back as plain
dicts with JSON columns decoded, and times as Unix seconds, whatever the backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from voxline.logs import mask_url

if TYPE_CHECKING:
    from voxline.config import Settings

SCHEMA_VERSION = 1
Message = dict[str, Any]
ORDER_PLACED = "placed"
ORDER_CANCELLED = "cancelled"


class Records(Protocol):
    async def open(self) -> None:
        """Connect and create the tables if missing (every method also does it on first use)."""
        ...

    async def start_call(
        self, call_id: str, stream_id: str, bot: str, transport: str, parameters: dict
    ) -> None: ...

    async def end_call(self, call_id: str, outcome: str) -> None: ...

    async def note_call(self, call_id: str, details: dict[str, Any]) -> None:
        """Merge ``details`` into the call's ``parameters`` (a transfer's number, an outbound
        call's status and answering machine result), creating its row if the call has none
        yet (an outbound call that was never answered). ``start_call`` keeps them too."""
        ...

    async def add_turn(
        self,
        call_id: str,
        role: str,
        text: str,
        interrupted: bool = False,
        timings: dict[str, Any] | None = None,
    ) -> int: ...

    async def add_order(self, call_id: str, tool: str, details: dict[str, Any]) -> int:
        """A placed order (status ``placed``); returns its id."""
        ...

    async def update_order(self, call_id: str, order_id: int, details: dict[str, Any]) -> bool:
        """Replace a live order's details in place; False if ``call_id`` has no such live order
        (an order is only ever changed by the call that placed it)."""
        ...

    async def cancel_order(self, call_id: str, order_id: int) -> bool:
        """Mark a live order ``cancelled``; False if ``call_id`` has no such live order."""
        ...

    async def calls(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest calls first."""
        ...

    async def call(self, call_id: str) -> dict[str, Any] | None: ...

    async def turns(self, call_id: str) -> list[dict[str, Any]]: ...

    async def orders(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """Orders in the order they were placed, each with its latest ``details``, its
        ``status`` (``placed`` or ``cancelled``) and ``updated_at`` (None if never changed)."""
        ...

    async def purge_before(self, ts: float) -> list[str]:
        """Delete the calls that ended before ``ts`` with their turns and orders, and the
        conversations untouched since then; return the deleted calls' ids."""
        ...

    async def load_session(self, session_id: str) -> list[Message] | None:
        """A plugin session's conversation (chat messages), None if unknown."""
        ...

    async def save_session(self, session_id: str, messages: list[Message]) -> None: ...

    async def drop_session(self, session_id: str) -> None: ...

    async def close(self) -> None: ...


def records_for_url(url: str, data_dir: Path, pool_size: int = 5) -> Records:
    """The store a database URL names: empty or ``sqlite:///PATH`` is SQLite (empty: in
    ``data_dir``), ``postgresql://`` or ``postgres://`` is PostgreSQL."""
    if not url:
        from voxline.records_sqlite import SqliteRecords

        return SqliteRecords(data_dir / "voxline.sqlite3")
    if url.startswith("sqlite:///"):
        from voxline.records_sqlite import SqliteRecords

        return SqliteRecords(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from voxline.records_postgres import PostgresRecords
        except ImportError as exc:
            raise ValueError(
                f"VOXLINE_DATABASE_URL is PostgreSQL but {exc.name} is not installed: "
                "pip install 'voxline[postgres]'"
            ) from None
        return PostgresRecords(url, pool_size=pool_size)
    raise ValueError(
        f"VOXLINE_DATABASE_URL {mask_url(url)!r} is not supported: use sqlite:///PATH, "
        "postgresql://USER:PASSWORD@HOST:PORT/DB, or nothing for SQLite in the data folder"
    )


def open_records(settings: Settings) -> Records:
    """The records store the settings ask for (not connected yet: ``await store.open()``)."""
    return records_for_url(settings.database_url, settings.data_dir, settings.database_pool_size)
