"""ACE Agent ``speech_config.yaml`` keys, read where they mean what Voxline's settings mean.

Users coming from ACE keep their files: ``riva_asr.RivaASR.server``,
``endpointing_stop_history``, ``endpointing_stop_history_eou``, ``riva_tts.RivaTTS.voice_name``
and ``dialog_manager.DialogManager.server`` map onto backend settings, turn settings and the
voice. Both ACE's nested form (``riva_asr: {RivaASR: {...}}``) and a flat one
(``riva_asr: {...}``) are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_COMPONENTS = {"riva_asr": "RivaASR", "riva_tts": "RivaTTS", "dialog_manager": "DialogManager"}


@dataclass
class AceSettings:
    backends: dict[str, Any] = field(default_factory=dict)  # Settings field -> value
    turns: dict[str, Any] = field(default_factory=dict)  # TurnSettings field -> value
    voice: dict[str, Any] = field(default_factory=dict)  # Voice field -> value
    dialog_manager: dict[str, Any] = field(default_factory=dict)  # for ``agent: plugin``


def _component(spec: Mapping[str, Any], key: str) -> dict[str, Any]:
    section = spec.get(key)
    if not isinstance(section, Mapping):
        return {}
    inner = section.get(_COMPONENTS[key])
    return dict(inner if isinstance(inner, Mapping) else section)


def ace_settings(spec: Mapping[str, Any]) -> AceSettings:
    """What an ACE-style mapping (a speech_config.yaml, or the same keys in bot.yaml) sets."""
    out = AceSettings()
    asr = _component(spec, "riva_asr")
    if asr.get("server"):
        out.backends["riva_asr_server"] = str(asr["server"])
        out.backends["asr"] = "riva"
    if "endpointing_stop_history" in asr:
        out.turns["stop_history_ms"] = int(asr["endpointing_stop_history"])
    if "endpointing_stop_history_eou" in asr:
        out.turns["stop_history_eou_ms"] = int(asr["endpointing_stop_history_eou"])
    tts = _component(spec, "riva_tts")
    if tts.get("server"):
        out.backends["riva_tts_server"] = str(tts["server"])
        out.backends["tts"] = "riva"
    if tts.get("voice_name"):
        out.voice["name"] = str(tts["voice_name"])
    if tts.get("language"):
        out.voice["language"] = str(tts["language"])
    out.dialog_manager = _component(spec, "dialog_manager")
    return out
