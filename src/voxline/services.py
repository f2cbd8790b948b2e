"""Builds what the calls of one process share, from settings and the bot folder.

Models load once per process; CPU-heavy model calls run on one bounded thread pool so a call's
recognition never stalls another call's audio on the event loop.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from voxline.agents.base import Agent
from voxline.bot import Bot
from voxline.breaker import Breaker
from voxline.call_services import CallServices
from voxline.config import Settings
from voxline.keypad import keypad_settings
from voxline.recording import Recordings, recordings_dir
from voxline.records import Records, open_records
from voxline.speech.base import Recognizer, Synthesizer
from voxline.speech.vad import SileroModel
from voxline.transfer import with_transfer

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
    if bot.agent == "colang":
        return "colang"  # the bot folder's flows lead the dialog, whatever VOXLINE_AGENT says
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
        from voxline.agents.fallback import FallbackAgent
        from voxline.agents.form import FormAgent
        from voxline.agents.llm import llm_agent_factory

        make_llm = llm_agent_factory(settings, bot)
        breaker = backend_breaker(settings, "llm")
        if bot.form:  # while the LLM is down the form-filler takes the turns
            FormAgent(bot)
            return lambda: FallbackAgent(make_llm(), FormAgent(bot), breaker)
        return lambda: FallbackAgent(make_llm(), None, breaker)
    if kind in ("rag", "plugin", "nvidia_rag"):
        from voxline.ace.plugin_server import default_agent_factory

        default_agent_factory(settings, bot, kind)  # fail at start-up on a bad configuration
        return lambda: default_agent_factory(settings, bot, kind)
    raise ValueError(f"unknown agent {kind!r} (form, llm, rag, plugin, nvidia_rag)")


def backend_breaker(settings: Settings, name: str) -> Breaker:
    """One per backend per process: every call sees the same health."""
    return Breaker(name, settings.breaker_failures, settings.breaker_cooldown_s)


def resilient_recognizer(settings: Settings, recognizer: Recognizer) -> Recognizer:
    """A remote recognizer's failed or stalled streams are reopened instead of ending calls."""
    if settings.asr != "riva":
        return recognizer
    from voxline.speech.resilient_asr import ResilientRecognizer

    breaker = backend_breaker(settings, f"{recognizer.name} asr")
    return ResilientRecognizer(recognizer, breaker, answer_margin_s=settings.asr_stall_s)


@functools.cache
def _piper_engine(threads: int):
    from voxline.speech.piper import PiperEngine

    return PiperEngine(threads=threads)


def backup_voice(settings: Settings, pool: ThreadPoolExecutor) -> Synthesizer | None:
    """The embedded voice that speaks while the remote TTS fails (loaded once per process)."""
    if settings.tts_backup != "embedded":
        return None
    try:
        from voxline.speech.piper import PiperSynthesizer

        return PiperSynthesizer(_piper_engine(max(1, settings.threads)), pool)
    except ImportError:
        log.warning("no embedded voice (extra 'embedded'): remote TTS failures will be silent")
        return None


def resilient_synthesizer(
    settings: Settings, synthesizer: Synthesizer, pool: ThreadPoolExecutor
) -> Synthesizer:
    """A remote synthesizer gets a first-chunk timeout, a breaker and the embedded backup."""
    if settings.tts != "riva":
        return synthesizer
    from voxline.speech.resilient_tts import ResilientSynthesizer

    breaker = backend_breaker(settings, f"{synthesizer.name} tts")
    backup = backup_voice(settings, pool)
    return ResilientSynthesizer(synthesizer, backup, breaker, settings.tts_first_chunk_s)


def load_vad() -> SileroModel | None:
    try:
        return SileroModel()
    except ImportError:
        log.warning("no VAD model installed (extra 'vad'): barge-in relies on the recognizer")
        return None


def build_services(settings: Settings, bot: Bot, records: Records | None = None) -> CallServices:
    pool = ThreadPoolExecutor(max(1, settings.threads), thread_name_prefix="models")
    records = records or open_records(settings)
    keypad_settings(bot)  # a bad keypad section fails at start-up, not on each call
    dialog = None
    if bot.agent == "colang":  # an ACE bot folder: its Colang flows speak for the bot
        from voxline.ace.colang_host import ColangHost

        dialog = ColangHost(bot, settings, records).dialog
    return CallServices(
        bot=bot,
        recognizer=resilient_recognizer(settings, build_recognizer(settings, pool)),
        synthesizer=resilient_synthesizer(settings, build_synthesizer(settings, pool), pool),
        agent_factory=None if dialog else with_transfer(bot, build_agent_factory(settings, bot)),
        records=records,
        vad=load_vad(),
        observers=[Recordings(recordings_dir(settings))] if settings.recordings else [],
        dialog=dialog,
    )
