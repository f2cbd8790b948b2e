"""Turn an uploaded file into plain text: .txt, .md, .html and .pdf.

HTML goes through trafilatura, which keeps the main text and drops menus, footers and scripts
that would otherwise pollute retrieval. PDF text comes from pypdf page by page. Parsing is
CPU-bound and synchronous: async callers run it in a worker thread.
"""

from __future__ import annotations

import io
import re
from pathlib import PurePath

SUPPORTED = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
             ".htm": "html", ".pdf": "pdf"}  # fmt: skip


class IngestError(ValueError):
    """The file cannot be read as the type its name claims; the message says why."""


def kind_of(name: str) -> str:
    kind = SUPPORTED.get(PurePath(name).suffix.lower())
    if kind is None:
        raise IngestError(f"{name}: unsupported type; use one of {', '.join(sorted(SUPPORTED))}")
    return kind


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise IngestError(f"{name}: binary data in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError(f"{name}: not UTF-8 text") from None


def _markdown(text: str) -> str:
    """Keep the words, drop markup a synthesizer would read aloud."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links -> their text
    text = re.sub(r"^\s{0,3}#{1,6}\s*(.+?)\s*#*\s*$", r"\1", text, flags=re.M)  # headings
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "- ", text, flags=re.M)  # list markers
    text = re.sub(r"(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1", r"\2", text)  # emphasis, code
    text = re.sub(r"^\s*\|?[-:| ]+\|[-:| ]*$", "", text, flags=re.M)  # table rules
    return text.replace("|", " ")


def _html(data: bytes, name: str) -> str:
    import trafilatura
    from trafilatura.deduplication import LRUCache

    html = _decode(data, name)
    # Duplicates are dropped within this page only: ``deduplicate=True`` shares one cache in
    # the process, so a page ingested a second time (re-synced, re-uploaded) lost its text.
    text = trafilatura.extract(
        html,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
        deduplicate=LRUCache(maxsize=1024),
    )
    if not text:  # very short pages: trafilatura finds no "main" block; take all visible text
        from lxml import html as lxml_html

        try:
            tree = lxml_html.fromstring(html)
        except Exception as exc:  # lxml raises several types on junk
            raise IngestError(f"{name}: not HTML: {exc}") from None
        for bad in tree.xpath("//script|//style|//nav|//footer|//header"):
            bad.drop_tree()
        text = tree.text_content()
    return text


def _pdf(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF"):
        raise IngestError(f"{name}: not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{name}: unreadable PDF: {exc}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def extract_text(name: str, data: bytes) -> str:
    """The readable text of a file; raises ``IngestError`` for bad or empty files."""
    kind = kind_of(name)
    if kind == "pdf":
        text = _pdf(data, name)
    elif kind == "html":
        text = _html(data, name)
    elif kind == "markdown":
        text = _markdown(_decode(data, name))
    else:
        text = _decode(data, name)
    text = re.sub(r" *\n *", "\n", re.sub(r"[ \t\r\f\v]+", " ", text)).strip()
    if not text:
        raise IngestError(f"{name}: no text found")
    return text
