"""Builds what the calls of one process share, from settings and the bot folder.

Models load once per process; CPU-heavy model calls run on one bounded thread pool so a call's
recognition never stalls another call's audio on the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from voxline.agents.base import Agent
from voxline.bot import Bot
from voxline.call import CallServices
from voxline.config import Settings
from voxline.recording import Recordings, recordings_dir
from voxline.records import Records, open_records
from voxline.speech.base import Recognizer, Synthesizer
from voxline.speech.vad import SileroModel

log = logging.getLogger("voxline.services")


def build_recognizer(settings: Settings, pool: ThreadPoolExecutor) -> Recognizer:
    if settings.asr == "riva":
        from voxline.speech.riva_asr import recognizer_from_settings

        return recognizer_from_settings(settings)
    from voxline.speech.whisper import WhisperEngine, WhisperRecognizer

    return WhisperRecognizer(WhisperEngine(workers=settings.threads), pool)


def build_synthesizer(settings: Settings, pool: ThreadPoolExecutor) -> Synthesizer:
    if settings.tts == "riva":
        from voxline.speech.riva_tts import synthesizer_from_settings

        return synthesizer_from_settings(settings)
    from voxline.speech.piper import PiperEngine, PiperSynthesizer

    return PiperSynthesizer(PiperEngine(threads=settings.threads), pool)


def agent_kind(settings: Settings, bot: Bot) -> str:
    if settings.agent != "auto":
        return settings.agent
    return "llm" if settings.llm_configured and bot.agent == "form" else bot.agent


def build_agent_factory(settings: Settings, bot: Bot) -> Callable[[], Agent]:
    kind = agent_kind(settings, bot)
    if kind == "form":
        from voxline.agents.form import FormAgent

        FormAgent(bot)  # validate the bot's form now, not on the first call
        return lambda: FormAgent(bot)
    if kind == "llm":
        from voxline.agents.llm import llm_agent_factory

        return llm_agent_factory(settings, bot)
    if kind in ("rag", "plugin", "nvidia_rag"):
        from voxline.plugin_server import default_agent_factory

        default_agent_factory(settings, bot, kind)  # fail at start-up on a bad configuration
        return lambda: default_agent_factory(settings, bot, kind)
    raise ValueError(f"unknown agent {kind!r} (form, llm, rag, plugin, nvidia_rag)")


def load_vad() -> SileroModel | None:
    try:
        return SileroModel()
    except ImportError:
        log.warning("no VAD model installed (extra 'vad'): barge-in relies on the recognizer")
        return None


def build_services(settings: Settings, bot: Bot, records: Records | None = None) -> CallServices:
    pool = ThreadPoolExecutor(max(1, settings.threads), thread_name_prefix="models")
    records = records or open_records(settings)
    return CallServices(
        bot=bot,
        recognizer=build_recognizer(settings, pool),
        synthesizer=build_synthesizer(settings, pool),
        agent_factory=build_agent_factory(settings, bot),
        records=records,
        vad=load_vad(),
        observers=[Recordings(recordings_dir(settings))] if settings.recordings else [],
    )
