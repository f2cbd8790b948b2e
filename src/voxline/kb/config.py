"""Where a bot's knowledge base lives and how it is searched: the ``kb:`` section of bot.yaml.

One knowledge base per bot. By default it is ``<data_dir>/kb/<bot folder name>.sqlite``;
``kb.path`` overrides it (relative paths are under ``data_dir``). ``kb.documents`` names a
folder inside the bot whose files are ingested at start-up (only new or changed files cost
anything). ``kb.backend: nvidia`` keeps the documents in an NVIDIA RAG server instead.

    kb:
      backend: local          # local | nvidia
      path: ""                # default: <data_dir>/kb/<bot>.sqlite
      documents: docs         # ingested at start-up
      server: ""              # nvidia backend: http://host:8081
      top_k: 3
      mode: hybrid            # hybrid | vector | keyword
      upload_max_mb: 10
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxline.bot import Bot, BotError
from voxline.config import Settings
from voxline.kb.base import KnowledgeBase
from voxline.kb.ingest import SUPPORTED, IngestError

log = logging.getLogger(__name__)


def bot_section(bot: Bot, key: str) -> dict[str, Any]:
    """A top-level mapping of the bot's bot.yaml that ``load_bot`` does not model."""
    section = bot.spec.get(key)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise BotError(f"{bot.path / 'bot.yaml'}: {key}: expected a mapping")
    return section


@dataclass(frozen=True)
class KbConfig:
    path: Path
    backend: str = "local"
    documents: Path | None = None
    server: str = ""
    top_k: int = 3
    mode: str = "hybrid"
    upload_max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def for_bot(cls, settings: Settings, bot: Bot) -> KbConfig:
        raw = bot_section(bot, "kb")
        where = f"{bot.path / 'bot.yaml'}: kb"
        path = Path(raw.get("path") or Path("kb") / f"{bot.path.name}.sqlite")
        docs = raw.get("documents")
        backend = str(raw.get("backend", "local"))
        if backend not in {"local", "nvidia"}:
            raise BotError(f"{where}.backend must be local or nvidia")
        mode = str(raw.get("mode", "hybrid"))
        if mode not in {"hybrid", "vector", "keyword"}:
            raise BotError(f"{where}.mode must be hybrid, vector or keyword")
        if backend == "nvidia" and not raw.get("server"):
            raise BotError(f"{where}.server is required with backend nvidia")
        try:
            return cls(
                path=path if path.is_absolute() else settings.data_dir / path,
                backend=backend,
                documents=(bot.path / docs) if docs else None,
                server=str(raw.get("server", "")),
                top_k=int(raw.get("top_k", 3)),
                mode=mode,
                upload_max_bytes=int(float(raw.get("upload_max_mb", 10)) * 1024 * 1024),
            )
        except (TypeError, ValueError) as exc:
            raise BotError(f"{where}: {exc}") from None


_OPEN: dict[str, KnowledgeBase] = {}


def open_knowledge_base(config: KbConfig) -> KnowledgeBase:
    """The bot's knowledge base, opened once per process (the model and file are shared)."""
    key = config.server if config.backend == "nvidia" else str(config.path.resolve())
    kb = _OPEN.get(key)
    if kb is None:
        if config.backend == "nvidia":
            from voxline.kb.nvidia import NvidiaDocumentStore

            kb = NvidiaDocumentStore(config.server)
        else:
            from voxline.kb.embed import get_embedder
            from voxline.kb.search import LocalKnowledgeBase
            from voxline.kb.store import KnowledgeStore

            embedder = get_embedder()
            store = KnowledgeStore(config.path, embedder.encode)
            kb = LocalKnowledgeBase(store, mode=config.mode)  # type: ignore[arg-type]
        _OPEN[key] = kb
    return kb


async def sync_documents(kb: KnowledgeBase, folder: Path) -> list[dict[str, Any]]:
    """Ingest every supported file of ``folder`` (unchanged files are skipped by hash)."""
    results = []

    def listing() -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUPPORTED and p.is_file())

    files = await asyncio.to_thread(listing)
    for path in files:
        data = await asyncio.to_thread(path.read_bytes)
        try:
            results.append(await kb.add(path.name, data))
        except IngestError as exc:
            log.warning("knowledge base: skipped %s", exc)
    return results


async def prepare_knowledge_base(settings: Settings, bot: Bot) -> KnowledgeBase:
    """Open the bot's knowledge base and ingest its document folder (call at start-up)."""
    config = KbConfig.for_bot(settings, bot)
    kb = open_knowledge_base(config)
    if config.documents and config.documents.is_dir():
        await sync_documents(kb, config.documents)
    return kb
