"""An ACE bot folder's Colang 2 flows, loaded once per process, driving each call's dialog.

NeMo Guardrails' Colang 2 runtime (extra ``ace``) is used directly, without ``LLMRails``: the
bot config has ``models: []``, so no LLM, embedding model or knowledge-base index is built
(nothing is downloaded), and no usage report is sent. One runtime per process holds the
compiled flows and the registered actions; each call gets its own runtime state
(``ColangDialog``). The folder's ``actions.py`` is loaded by the runtime itself (ACE's
``IsSpuriousAction``); Voxline adds the chat actions, ``SameTranscriptAction`` for its
``speech.co`` and a default ``IsSpuriousAction`` built from the bot's filler words, which the
folder's own one replaces.

The folder's ``plugin_config.yaml`` plugins are served in this process for the chat actions;
while their modules are imported, ``RAG_SERVER_URL`` (when unset) names this server, which
answers the NVIDIA RAG chain server API from the bot's knowledge base.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxline.ace.chat_actions import ChatEndpoints, register
from voxline.ace.colang_config import ColangConfigError, load_colang_config
from voxline.ace.colang_dialog import ColangDialog
from voxline.agents.http import DialogServer
from voxline.bot import Bot, BotError
from voxline.config import Settings
from voxline.records import Records
from voxline.transcript_shape import normalize
from voxline.turns import TurnTaker

if TYPE_CHECKING:
    from voxline.call import Call

# Keep NeMo Guardrails from phoning home (it reports usage from LLMRails, unused here).
os.environ.setdefault("NEMO_GUARDRAILS_NO_USAGE_STATS", "1")
# Its runtime logs every event it processes at INFO: a line per transcript and per frame of
# bot speech would drown the call logs (and cost CPU). Its warnings and errors still show.
if logging.getLogger("nemoguardrails").level == logging.NOTSET:
    logging.getLogger("nemoguardrails").setLevel(logging.WARNING)


def own_url(settings: Settings) -> str:
    """This server's address as seen from the same machine."""
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    return f"http://{host}:{settings.port}"


@contextlib.contextmanager
def _default_env(name: str, value: str) -> Iterator[None]:
    """``name`` set to ``value`` unless the environment sets it, for the block only."""
    if os.environ.get(name):
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _local_plugins(bot: Bot, settings: Settings, records: Records) -> dict[str, DialogServer]:
    """The folder's plugin_config.yaml plugins, served in this process."""
    path = bot.path / "plugin_config.yaml"
    if not path.is_file():
        return {}
    from fastapi import FastAPI

    from voxline.ace.asgi_stream import StreamingAsgiTransport
    from voxline.ace.plugin_config import PluginConfigError, load_plugin_config
    from voxline.ace.plugin_server import add_plugins
    from voxline.services import build_agent_factory

    def any_agent(plugin_settings: Settings, plugin_bot: Bot, kind: str) -> Any:
        """A ``bot:`` plugin may use any Voxline agent (an LLM one too)."""
        return build_agent_factory(replace(plugin_settings, agent=kind), plugin_bot)()

    try:
        config = load_plugin_config(path)
    except PluginConfigError as exc:
        raise BotError(str(exc)) from None
    app = FastAPI(title=f"{bot.name} plugins")
    with _default_env("RAG_SERVER_URL", own_url(settings)):
        add_plugins(app, config, settings, any_agent, records)
    transport = StreamingAsgiTransport(app)
    return {
        spec.name: DialogServer("http://plugins", "plugin", config.timeout, transport)
        for spec in config.plugins
    }


class ColangHost:
    """A bot folder's flows and actions for every call of the process."""

    def __init__(self, bot: Bot, settings: Settings, records: Records) -> None:
        try:
            from nemoguardrails.colang.v2_x.runtime.runtime import RuntimeV2_x
        except ImportError:
            raise BotError(
                f"{bot.path}: a Colang bot needs NeMo Guardrails: pip install 'voxline[ace]'"
            ) from None
        try:
            self.config = load_colang_config(Path(bot.path))
            self.runtime = RuntimeV2_x(self.config)
        except ColangConfigError as exc:
            raise BotError(str(exc)) from None
        except Exception as exc:  # duplicate or keyword flow names, found when compiling
            raise BotError(f"{bot.path}: Colang: {exc}") from None
        fillers = TurnTaker(bot.turns)

        async def is_spurious(query: str = "", **_: Any) -> bool:
            return fillers.is_filler(str(query))

        async def same_transcript(first: str = "", second: str = "", **_: Any) -> bool:
            return normalize(str(first)) == normalize(str(second))

        register(
            self.runtime,
            {"IsSpuriousAction": is_spurious, "SameTranscriptAction": same_transcript},
        )
        section = bot.spec.get("dialog_manager") or {}
        self.endpoints = ChatEndpoints(
            _local_plugins(bot, settings, records),
            str(section.get("server") or "") if isinstance(section, dict) else "",
        )

    def describe(self) -> str:
        flows = len(self.config.flows)
        local = ", ".join(self.endpoints.local) or "none"
        remote = self.endpoints.remote_url or "none"
        return f"{flows} flows; plugins in process: {local}; dialog_manager.server: {remote}"

    def dialog(self, call: Call) -> ColangDialog:
        return ColangDialog(self.runtime, self.endpoints, call)
