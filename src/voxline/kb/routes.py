"""The knowledge base over HTTP: /kb/documents (upload, list, delete), /kb/search and /kb.

Uploads are multipart (field ``file``, as NVIDIA's /documents). They are refused, with nothing
stored, when too large (413, checked on Content-Length before the body is read and again on
the bytes), of a type the KB cannot read (415), or named unsafely (400: path separators,
``..``, control characters, hidden files). The /kb page is static HTML with plain JS.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePath
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from voxline.kb.base import KnowledgeBase
from voxline.kb.ingest import SUPPORTED, IngestError

_SAFE = re.compile(r"^[\w][\w .()+-]{0,150}$")
_MULTIPART_OVERHEAD = 16 * 1024
_PAGE = Path(__file__).resolve().parent.parent / "web" / "kb.html"


def safe_name(raw: str | None) -> str:
    """The upload's name if it is a plain, safe file name; otherwise HTTP 400."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if (
        not name
        or "/" in name
        or "\\" in name
        or ".." in name
        or PurePath(name).name != name
        or not _SAFE.match(name)
    ):
        raise HTTPException(400, f"unsafe file name {raw!r}: use letters, digits, . _ - only")
    if PurePath(name).suffix.lower() not in SUPPORTED:
        raise HTTPException(415, f"{name}: unsupported type; use {', '.join(sorted(SUPPORTED))}")
    return name


async def ingest_upload(kb: KnowledgeBase, request: Request, max_bytes: int) -> dict[str, Any]:
    """Read a multipart upload (field ``file``), check it and ingest it; HTTPException
    (413, 415, 400, 422) with nothing stored if it is refused."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + _MULTIPART_OVERHEAD:
        raise HTTPException(413, f"file too large: the limit is {max_bytes} bytes")
    form = await request.form(max_files=1, max_fields=4)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise HTTPException(422, "send the document as multipart form field 'file'")
        name = safe_name(upload.filename)
        data = await upload.read(max_bytes + 1)
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise HTTPException(413, f"file too large: the limit is {max_bytes} bytes")
    if not data:
        raise HTTPException(422, f"{name}: empty file")
    try:
        return await kb.add(name, data)
    except IngestError as exc:
        raise HTTPException(415, str(exc)) from None


def kb_router(kb: KnowledgeBase, max_bytes: int = 10 * 1024 * 1024) -> APIRouter:
    router = APIRouter(prefix="/kb", tags=["knowledge base"])

    @router.post("/documents", status_code=201)
    async def upload(request: Request) -> dict[str, Any]:
        """Add or replace a document (multipart field ``file``)."""
        return await ingest_upload(kb, request, max_bytes)

    @router.get("/documents")
    async def documents() -> dict[str, Any]:
        return {"documents": [d.to_dict() for d in await kb.documents()]}

    @router.delete("/documents/{name}")
    async def remove(name: str) -> dict[str, Any]:
        if not await kb.remove(name):
            raise HTTPException(404, f"no document named {name!r}")
        return {"removed": name}

    @router.delete("/documents")
    async def remove_by_query(filename: str = Query(...)) -> dict[str, Any]:
        """NVIDIA-style ``DELETE /documents?filename=``."""
        return await remove(filename)

    @router.get("/search")
    async def search(q: str = Query(..., min_length=1, max_length=500), k: int = 3) -> Any:
        hits = await kb.search(q, max(1, min(k, 20)))
        return {"query": q, "hits": [h.to_dict() for h in hits]}

    @router.get("", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return _PAGE.read_text(encoding="utf-8")

    return router
