"""The knowledge base on disk: one SQLite file per bot, with sqlite-vec vectors and FTS5 text.

Tables: ``documents`` (one row per file: name, sha256, type, size), ``chunks`` (the text and
its position in the document), ``chunks_vec`` (vec0, cosine, rowid = chunk id) and
``chunks_fts`` (FTS5, rowid = chunk id). A document is replaced as a whole when its content
hash changes, and re-adding identical bytes is a no-op, so ingesting a folder again is cheap.

Calls are synchronous and serialised by a lock; async code runs them in a worker thread.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxline.kb.chunk import chunk_text
from voxline.kb.embed import DIM, MODEL_NAME
from voxline.kb.ingest import extract_text, kind_of

Embed = Callable[[list[str]], np.ndarray]


def connect(path: str | Path) -> Any:
    """A DB-API connection with sqlite-vec loaded.

    Some Python builds (pyenv's, notably) cannot load SQLite extensions; pysqlite3-binary
    ships a SQLite that can, with the same API.
    """
    import sqlite3

    import sqlite_vec

    module: Any = sqlite3
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        try:
            from pysqlite3 import dbapi2 as module
        except ImportError:
            raise RuntimeError(
                "this Python's sqlite3 cannot load extensions: pip install pysqlite3-binary"
            ) from None
    db = module.connect(str(path), check_same_thread=False, isolation_level=None)
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.enable_load_extension(False)
    return db


_SCHEMA = f"""
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL,
    kind TEXT NOT NULL, size INTEGER NOT NULL, chunks INTEGER NOT NULL, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, doc INTEGER NOT NULL REFERENCES documents(id),
    position INTEGER NOT NULL, start INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc, position);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vec USING vec0(
    embedding float[{DIM}] distance_metric=cosine);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, tokenize='porter unicode61');
"""


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    name: str
    sha256: str
    kind: str
    size: int
    chunks: int
    added_at: float


@dataclass(frozen=True, slots=True)
class AddResult:
    name: str
    status: str  # added | replaced | unchanged
    chunks: int


@dataclass(frozen=True, slots=True)
class StoredChunk:
    id: int
    document: str
    position: int
    start: int
    text: str


class KnowledgeStore:
    """One bot's knowledge base file. ``embed`` maps texts to unit vectors (MiniLM)."""

    def __init__(
        self, path: str | Path, embed: Embed, chunk_chars: int = 600, overlap_chars: int = 120
    ) -> None:
        self.path = Path(path)
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._embed = embed
        self._lock = threading.Lock()
        self._db = connect(path)
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key='model'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('model', ?)", (MODEL_NAME,))
        elif row[0] != MODEL_NAME:
            raise RuntimeError(f"{path}: built with {row[0]}, cannot search it with {MODEL_NAME}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- documents ----------------------------------------------------------------------------

    def add(self, name: str, data: bytes) -> AddResult:
        """Ingest ``data`` as document ``name``; replaces an older version with that name."""
        kind = kind_of(name)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            row = self._db.execute("SELECT sha256 FROM documents WHERE name=?", (name,)).fetchone()
        if row and row[0] == digest:
            return AddResult(name, "unchanged", self._count(name))
        chunks = chunk_text(extract_text(name, data), self.chunk_chars, self.overlap_chars)
        vectors = self._embed([c.text for c in chunks]) if chunks else np.zeros((0, DIM))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                replaced = self._delete(name)
                cur = self._db.execute(
                    "INSERT INTO documents (name, sha256, kind, size, chunks, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (name, digest, kind, len(data), len(chunks), time.time()),
                )
                doc_id = cur.lastrowid
                for c, vec in zip(chunks, vectors, strict=True):
                    cid = self._db.execute(
                        "INSERT INTO chunks (doc, position, start, text) VALUES (?, ?, ?, ?)",
                        (doc_id, c.position, c.start, c.text),
                    ).lastrowid
                    blob = np.asarray(vec, dtype=np.float32).tobytes()
                    self._db.execute(
                        "INSERT INTO chunks_vec (rowid, embedding) VALUES (?, ?)", (cid, blob)
                    )
                    self._db.execute(
                        "INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cid, c.text)
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return AddResult(name, "replaced" if replaced else "added", len(chunks))

    def remove(self, name: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                found = self._delete(name)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return found

    def _delete(self, name: str) -> bool:
        row = self._db.execute("SELECT id FROM documents WHERE name=?", (name,)).fetchone()
        if row is None:
            return False
        ids = "SELECT id FROM chunks WHERE doc=?"
        self._db.execute(f"DELETE FROM chunks_vec WHERE rowid IN ({ids})", (row[0],))
        self._db.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({ids})", (row[0],))
        self._db.execute("DELETE FROM chunks WHERE doc=?", (row[0],))
        self._db.execute("DELETE FROM documents WHERE id=?", (row[0],))
        return True

    def documents(self) -> list[DocumentInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, sha256, kind, size, chunks, added_at FROM documents ORDER BY name"
            ).fetchall()
        return [DocumentInfo(*r) for r in rows]

    def _count(self, name: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM chunks JOIN documents d ON d.id = chunks.doc WHERE d.name=?",
                (name,),
            ).fetchone()
        return int(row[0])

    def chunk_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    # --- retrieval primitives (combined in search.py) ------------------------------------------

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_texts([text])[0]

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._embed(texts), dtype=np.float32)

    def vector_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, distance FROM chunks_vec WHERE embedding MATCH ? AND k = ? "
                "ORDER BY distance",
                (np.asarray(vector, dtype=np.float32).tobytes(), k),
            ).fetchall()
        return [(int(r[0]), 1.0 - float(r[1])) for r in rows]

    def cosine(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Cosine similarity of stored chunk vectors to ``vector`` (no re-embedding)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT rowid, vec_distance_cosine(embedding, ?) FROM chunks_vec "
                f"WHERE rowid IN ({marks})",
                [np.asarray(vector, dtype=np.float32).tobytes(), *ids],
            ).fetchall()
        return {int(r[0]): 1.0 - float(r[1]) for r in rows}

    def keyword_search(self, match: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, bm25 score where higher is better), best first. ``match`` is FTS5 syntax."""
        if not match:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY s LIMIT ?",
                (match, k),
            ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, d.name, c.position, c.start, c.text FROM chunks c "
                f"JOIN documents d ON d.id = c.doc WHERE c.id IN ({marks})",
                ids,
            ).fetchall()
        return {int(r[0]): StoredChunk(*r) for r in rows}
