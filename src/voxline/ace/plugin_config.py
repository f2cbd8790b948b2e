"""``plugin_config.yaml``, ACE's plugin-server registration file, read by Voxline.

    config:
      workers: 1             # accepted for ACE's files; one process serves (warned if more)
      timeout: 30            # seconds a /chat stream may take
    plugins:
      - name: rag            # routes: /rag/chat and /rag/event
        bot: bots/rag        # a Voxline bot; its agent answers (agent: overrides bot.yaml)
      - name: legacy
        path: ./plugin/legacy.py   # an ACE plugin module exposing a FastAPI `router`

Relative paths are resolved against the folder of the YAML file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class PluginConfigError(ValueError):
    """The plugin configuration is invalid; the message names the entry and the problem."""


@dataclass(frozen=True)
class PluginSpec:
    name: str
    bot: Path | None = None
    agent: str = ""  # empty: the bot's own agent
    path: Path | None = None  # an ACE-style Python plugin


@dataclass(frozen=True)
class PluginServerConfig:
    plugins: tuple[PluginSpec, ...] = ()
    timeout: float = 30.0
    workers: int = 1


def parse_plugin_config(raw: object, base: Path = Path(".")) -> PluginServerConfig:
    if not isinstance(raw, dict):
        raise PluginConfigError("plugin config: expected a mapping with `plugins:`")
    settings = raw.get("config") or {}
    specs: list[PluginSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw.get("plugins") or []):
        where = f"plugins[{i}]"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise PluginConfigError(f"{where}: needs a name")
        name = str(entry["name"])
        if not _NAME.match(name) or name in seen:
            raise PluginConfigError(f"{where}: name {name!r} must be unique, letters/digits/_/-")
        seen.add(name)
        bot, path = entry.get("bot"), entry.get("path")
        if bool(bot) == bool(path):
            raise PluginConfigError(f"{where} ({name}): give exactly one of `bot:` or `path:`")
        specs.append(
            PluginSpec(
                name=name,
                bot=(base / bot) if bot else None,
                agent=str(entry.get("agent", "")),
                path=(base / path) if path else None,
            )
        )
    if not specs:
        raise PluginConfigError("plugin config: no plugins")
    try:
        return PluginServerConfig(
            tuple(specs), float(settings.get("timeout", 30)), int(settings.get("workers", 1))
        )
    except (TypeError, ValueError) as exc:
        raise PluginConfigError(f"config: {exc}") from None


def load_plugin_config(path: str | Path) -> PluginServerConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PluginConfigError(f"{path}: {exc}") from None
    return parse_plugin_config(raw, path.parent)
