"""What the WebSocket transports share: receiving until the socket is gone, logging skipped
frames so that a flood cannot fill the disk, and closing whoever closed first."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState


async def receive(ws: WebSocket) -> dict[str, Any] | None:
    """The next ASGI message (``text`` or ``bytes``); None once the socket is closed."""
    try:
        message = await ws.receive()
    except (WebSocketDisconnect, RuntimeError):
        return None
    return None if message["type"] == "websocket.disconnect" else message


def log_skipped(log: logging.Logger, count: int, where: str, why: str) -> None:
    """Log a socket's ``count``-th skipped frame: the first few, then every 100th."""
    if count <= 5 or count % 100 == 0:
        log.warning("%s: ignored frame #%d: %s", where, count, why)


async def close(ws: WebSocket, code: int = 1000) -> None:
    """Close the socket unless it is closed already (by either side)."""
    if ws.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(code=code)
