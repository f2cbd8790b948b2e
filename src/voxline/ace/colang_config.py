"""An ACE bot folder's Colang 2 configuration, read and checked at start-up.

The entry point is ACE's bot config: ``bot_config.yaml`` or ``<name>_bot_config.yml``
(``colang_version: "2.x"``, ``models: []``). Every ``.co`` file under the folder is parsed
here, before any call, so a malformed file stops the server with its path, line and column
instead of failing mid-call. Full-line comments are blanked before parsing (line numbers
kept): the Colang parser rejects a comment indented deeper than its block, which ACE's own
samples contain. Imports (``import core``) resolve against NeMo Guardrails' standard library.

Only the bot config YAML is read as configuration: the folder's other YAML files
(``speech_config.yaml``, ``plugin_config.yaml``, ``model_config.yaml``) belong to Voxline's
speech, plugin and model settings, not to the Colang runtime.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

_COMMENT = re.compile(r"^[ \t]*#.*$", re.MULTILINE)


class ColangConfigError(ValueError):
    """The bot's Colang configuration is invalid; the message names the file and line."""


def find_bot_config(folder: Path) -> Path | None:
    """ACE's bot config file in ``folder``: ``bot_config.yaml`` or ``*_bot_config.y(a)ml``."""
    for name in ("bot_config.yaml", "bot_config.yml"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(p for p in folder.glob("*_bot_config.y*ml") if p.suffix in (".yml", ".yaml"))
    return found[0] if found else None


def colang_defaults(folder: Path) -> dict[str, Any]:
    """What an ACE bot config means for Voxline's bot settings (empty: not a Colang bot).
    Partial and first-pass transcripts are always recognised: the flows choose the mode.
    The folder's Colang files are parsed here, so a broken one fails the bot's loading."""
    path = find_bot_config(folder)
    if path is None:
        return {}
    raw = _read_bot_config(path)
    try:
        import nemoguardrails  # noqa: F401
    except ImportError:
        raise ColangConfigError(
            f"{path}: a Colang bot needs NeMo Guardrails: pip install 'voxline[ace]'"
        ) from None
    files = colang_files(folder)
    if not files:
        raise ColangConfigError(f"{folder}: no Colang (.co) files")
    for file in files:
        _parse(file)
    return {"name": str(raw.get("bot") or folder.name), "agent": "colang",
            "turns": {"mode": "interim"}}  # fmt: skip


@dataclass(frozen=True)
class ColangFile:
    path: Path
    content: str


def _read_bot_config(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ColangConfigError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ColangConfigError(f"{path}: expected a mapping")
    version = str(raw.get("colang_version", "1.0"))
    if version != "2.x":
        raise ColangConfigError(
            f'{path}: colang_version must be "2.x" (Colang 1.0 bots are not supported)'
        )
    if raw.get("models"):
        log.warning("%s: models are not used; Voxline's Colang host runs without an LLM", path)
    return raw


def colang_files(folder: Path) -> list[ColangFile]:
    """The folder's ``.co`` files (sorted, so start-up is deterministic)."""
    files = []
    for path in sorted(folder.rglob("*.co")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        files.append(ColangFile(path, path.read_text(encoding="utf-8")))
    return files


def _parse(file: ColangFile) -> dict[str, Any]:
    from nemoguardrails.colang import parse_colang_file

    content = _COMMENT.sub("", file.content)
    try:
        return parse_colang_file(file.path.name, content=content, version="2.x")
    except Exception as exc:
        raise ColangConfigError(_describe(file, exc)) from None


def _describe(file: ColangFile, exc: Exception) -> str:
    line = getattr(exc, "line", None)
    if not isinstance(line, int) or line < 1:
        return f"{file.path}: {type(exc).__name__}: {exc}"
    column = getattr(exc, "column", 1)
    column = column if isinstance(column, int) and column > 0 else 1
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    source = file.content.splitlines()[line - 1] if line <= len(file.content.splitlines()) else ""
    return f"{file.path}:{line}:{column}: {first}\n    {source}\n    {' ' * (column - 1)}^"


def _library_files(name: str) -> list[ColangFile]:
    """An imported module (``core``) from NeMo Guardrails' Colang path."""
    from nemoguardrails.rails.llm.config import colang_path_dirs

    for root in colang_path_dirs:
        base = Path(root) / name.replace(".", os.sep)
        if base.with_suffix(".co").is_file():
            path = base.with_suffix(".co")
            return [ColangFile(path, path.read_text(encoding="utf-8"))]
        if base.is_dir():
            return colang_files(base)
    raise ColangConfigError(f"import {name}: no such Colang module")


def load_colang_config(folder: Path) -> Any:
    """The folder's ``RailsConfig``, every Colang file parsed and its imports resolved."""
    from nemoguardrails import RailsConfig

    config_path = find_bot_config(folder)
    if config_path is None:
        raise ColangConfigError(f"{folder}: no bot_config.yaml (or *_bot_config.yml)")
    raw = _read_bot_config(config_path)
    own = colang_files(folder)
    if not own:
        raise ColangConfigError(f"{folder}: no Colang (.co) files")
    flows: list[Any] = []
    imported: set[str] = set()
    pending = [(file, True) for file in own]
    while pending:
        file, mine = pending.pop(0)
        parsed = _parse(file) if mine else _parse_library(file)
        flows.extend(parsed.get("flows") or [])
        for name in parsed.get("import_paths") or []:
            if name not in imported:
                imported.add(name)
                pending.extend((lib, False) for lib in _library_files(name))
    names = [getattr(flow, "name", "") for flow in flows]
    if "main" not in names:
        raise ColangConfigError(f"{folder}: no `flow main` in any Colang file")
    body = {
        **{k: v for k, v in raw.items() if k in ("colang_version", "instructions")},
        "models": [],
        "flows": flows,
        "config_path": str(folder),
    }
    try:
        return RailsConfig.parse_object(body)
    except Exception as exc:
        raise ColangConfigError(f"{config_path}: {exc}") from None


def _parse_library(file: ColangFile) -> dict[str, Any]:
    from nemoguardrails.colang import parse_colang_file

    return parse_colang_file(file.path.name, content=file.content, version="2.x")
