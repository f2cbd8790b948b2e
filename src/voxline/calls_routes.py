"""The calls API behind the calls page: every call with its turns, orders, timings and
recording.

``GET /api/calls`` lists the latest calls, ``GET /api/calls/{id}`` gives one with its turns
(user turns carry their latency timings, interrupted bot turns are marked) and orders, and
``GET /api/calls/{id}/recording.wav`` streams its stereo recording (ranges work, so the page's
player can seek). A call id that is not a plain file name is a 404, never a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from voxline.recording import recording_path
from voxline.records import Records


def call_summary(call: dict[str, Any], recordings: Path) -> dict[str, Any]:
    """A call row as the page wants it: times, duration (None while live), recording URL."""
    started, ended = call.get("started_at"), call.get("ended_at")
    path = recording_path(recordings, call["id"])
    has_recording = path is not None and path.is_file()
    return {
        "id": call["id"],
        "bot": call.get("bot"),
        "transport": call.get("transport"),
        "parameters": call.get("parameters") or {},
        "started_at": started,
        "ended_at": ended,
        "duration": round(ended - started, 3) if started and ended else None,
        "outcome": call.get("outcome") if ended else "live",
        "recording": f"/api/calls/{call['id']}/recording.wav" if has_recording else None,
    }


def calls_router(records: Records, recordings: Path) -> APIRouter:
    router = APIRouter(prefix="/api/calls")

    async def find(call_id: str) -> dict[str, Any]:
        call = await records.call(call_id) if recording_path(recordings, call_id) else None
        if call is None:
            raise HTTPException(404, "no such call")
        return call

    @router.get("")
    async def list_calls(limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        calls = await records.calls(limit)
        return {"calls": [call_summary(c, recordings) for c in calls]}

    @router.get("/{call_id}")
    async def one_call(call_id: str) -> dict[str, Any]:
        call = await find(call_id)
        return {
            **call_summary(call, recordings),
            "turns": await records.turns(call_id),
            "orders": await records.orders(call_id),
        }

    @router.get("/{call_id}/recording.wav")
    async def recording(call_id: str) -> FileResponse:
        path = recording_path(recordings, call_id)
        if path is None or not path.is_file():
            raise HTTPException(404, "no recording for this call")
        name = f"{call_id}.wav"
        return FileResponse(
            path, media_type="audio/wav", filename=name, content_disposition_type="inline"
        )

    return router
