"""The server's own pages: talk (``/``) and calls (``/calls``), with their scripts and styles.

Plain files from the package's ``web`` folder, no build step: ES modules and one stylesheet,
served from an allow-list so no request can reach another file.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

WEB = Path(__file__).resolve().parent / "web"
ASSETS = {
    "talk.js": "text/javascript",
    "calls.js": "text/javascript",
    "latency.js": "text/javascript",
    "audio-worklets.js": "text/javascript",
    "style.css": "text/css",
}
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidate, so an upgrade reaches open browsers


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(name: str) -> FileResponse:
        return FileResponse(WEB / name, media_type="text/html", headers=NO_CACHE)

    @router.get("/")
    async def talk() -> FileResponse:
        return page("talk.html")

    @router.get("/calls")
    async def calls() -> FileResponse:
        return page("calls.html")

    @router.get("/web/{name}")
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(404, "no such file")
        return FileResponse(WEB / name, media_type=ASSETS[name], headers=NO_CACHE)

    return router
