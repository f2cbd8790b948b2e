"""A bot is a folder: prompt, tools, data (a menu), speech and turn-taking settings in YAML.

``bot.yaml`` is the entry point. Tool schemas may take enum values from the bot's data with a
``$name.key`` reference, so the menu is written once and the LLM, the form-filler and the
recognizer's word boosting all use the same list.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voxline.ace.colang_config import ColangConfigError, colang_defaults
from voxline.ace.speech_config import ace_settings
from voxline.agents.slots import form_schema
from voxline.kb.topics import document_topics
from voxline.speech.base import Voice
from voxline.tools import Tool

# ACE Agent's IsSpuriousAction filler list (protocols.md section 4), plus common backchannels.
ACE_FILLERS = (
    "yeah", "okay", "right", "yes", "yum", "and", "one", "all", "when", "thank", "but", "next",
    "what", "i see", "the", "hmm", "mmm", "so that", "why", "that", "well",
)  # fmt: skip
BACKCHANNELS = ("mm-hmm", "mhm", "uh-huh", "uh huh", "mm hmm", "um", "uh", "ah", "oh", "ok")
# Words that open an interruption: heard over the bot they stop it at once. Other words over
# it stop it once a second transcript (of more speech) is not a filler either: whisper spells
# a lone "mm-hmm" as "And then." or "Yeah, that makes sure." and, on the whole utterance, as
# "Mm-hmm." (the bench's false stops).
INTERRUPT_WORDS = (
    "no", "nope", "wait", "stop", "sorry", "actually", "hold on", "hang on", "excuse me",
    "cancel", "pardon", "change",
)  # fmt: skip


class BotError(ValueError):
    """The bot folder is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class TurnSettings:
    mode: str = "final"  # final | interim | partial (ACE's handle-user-transcript modes)
    stop_history_ms: int = 800
    stop_history_eou_ms: int = 240
    hold_playback_until_confirmed: bool = False
    # Held early replies are heard after this much silence when their words read as a whole
    # sentence, before the final (0: wait for the final).
    release_after_ms: int = 0
    barge_in: bool = True  # False: the bot talks to the end, whatever the caller says over it
    barge_in_min_ms: int = 200  # caller speech needed before a barge-in is considered
    pause_on_speech: bool = True  # hold the bot at speech onset, resume if it was a filler
    # How the bot is held while the words over it are unknown: "duck" lowers it by duck_db and
    # it talks on (a backchannel costs nothing); "pause" silences it and repeats the cut
    # sentence after a filler (a stutter on every "mm-hmm", the conversation bench showed).
    overlap: str = "duck"
    duck_db: float = -12.0
    # Ducked speech this long (since its latest filler look) is an interruption even before
    # its words are known or mean something to the agent: a backchannel is shorter (a slow
    # flite "mm-hmm" lasts 1.0-1.3 s: at 900 ms it was stopped), and words, when whisper has
    # them, decide sooner.
    interrupt_after_ms: int = 1200
    # Pause on a frame loud above the line's noise, before the VAD confirms speech (~120 ms
    # sooner); a sound the VAD then calls noise resumes the bot (the cut sentence repeated).
    pause_on_sound: bool = True
    # Resume when speech that paused the bot brought no words: longer than the embedded
    # recognizer's final (800 ms of silence + transcription) takes on a busy machine.
    resume_after_s: float = 1.5
    filler_words: tuple[str, ...] = ACE_FILLERS + BACKCHANNELS
    include_words: tuple[str, ...] = ("hi", "no")
    interrupt_words: tuple[str, ...] = INTERRUPT_WORDS
    min_chars: int = 3
    # A final that ends like an unfinished sentence ("a large pizza with") waits this much
    # longer for the rest before the bot answers it (0: answer at once).
    unfinished_wait_s: float = 1.2
    reprompt_after_s: float = 0.0  # 0 = never
    hangup_after_s: float = 0.0


@dataclass(frozen=True)
class Bot:
    path: Path
    name: str
    greeting: str = ""
    prompt: str = ""
    agent: str = "form"  # the agent used when no LLM is configured
    tools: tuple[Tool, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)  # questions and phrases for the form agent
    voice: Voice = field(default_factory=Voice)
    vocabulary: tuple[str, ...] = ()
    example: str = ""  # a caller's sentence in the bot's words (whisper's prompt)
    topics: tuple[str, ...] = ()  # its knowledge base's headings, told to the recognizer
    places: tuple[tuple[str, tuple[str, ...]], ...] = ()  # its tools' slots and their values
    turns: TurnSettings = field(default_factory=TurnSettings)
    backends: dict[str, Any] = field(default_factory=dict)  # settings this bot asks for
    spec: dict[str, Any] = field(default_factory=dict)  # bot.yaml (+ speech_config.yaml), raw


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise BotError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise BotError(f"{path}: invalid YAML: {exc}") from None


def _resolve_refs(node: Any, data: Mapping[str, Any], where: str) -> Any:
    """Replace ``"$menu.sizes"`` strings with the keys (or items) of that data entry."""
    if isinstance(node, str) and node.startswith("$"):
        target: Any = data
        for part in node[1:].split("."):
            if not isinstance(target, Mapping) or part not in target:
                raise BotError(f"{where}: reference {node} does not name bot data")
            target = target[part]
        return list(target) if isinstance(target, Mapping | list) else target
    if isinstance(node, dict):
        return {k: _resolve_refs(v, data, where) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_refs(v, data, where) for v in node]
    return node


def _load_handler(folder: Path, spec: str, where: str):
    """``tools.py:function`` inside the bot folder."""
    file_name, _, func = spec.partition(":")
    path = folder / file_name
    if not func or not path.is_file():
        raise BotError(f"{where}: handler {spec!r} must be FILE.py:FUNCTION inside the bot folder")
    module_name = f"voxline_bot_{folder.name}_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    handler = getattr(module, func, None)
    if not callable(handler):
        raise BotError(f"{where}: {path.name} has no function {func!r}")
    return handler


def _vocabulary(data: Mapping[str, Any], lexicon: Mapping[str, list[str]]) -> tuple[str, ...]:
    words: list[str] = []
    for table in data.values():
        if isinstance(table, Mapping):
            for section in table.values():
                if isinstance(section, Mapping):
                    words.extend(str(k) for k in section)
    words.extend(lexicon)
    return tuple(dict.fromkeys(words))


def _topics(
    folder: Path, spec: Mapping[str, Any], speech: Mapping[str, Any], vocabulary: tuple[str, ...]
) -> tuple[str, ...]:
    """The headings of the bot's knowledge-base folder (``speech.kb_topics: false``: none)."""
    docs = (spec.get("kb") or {}).get("documents")
    if not docs or not speech.get("kb_topics", True) or not (folder / docs).is_dir():
        return ()
    return document_topics(folder / docs, vocabulary)


def _places(tools: list[Tool]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each slot the tools take one value of from a list ("crust": thin, regular, ...): the
    word before its name is one of its values (``speech/places.py``). Not lists of values
    ("toppings"): "the toppings" is how callers say it, and twelve values to try cost time."""
    out: dict[str, tuple[str, ...]] = {}
    for tool in tools:
        for slot in form_schema(tool.parameters).enum_slots:
            if not slot.many:
                out.setdefault(slot.name, tuple(map(str, slot.values)))
    return tuple(out.items())


def load_bot(folder: str | Path) -> Bot:
    folder = Path(folder)
    if not folder.is_dir():
        raise BotError(f"{folder}: bot folder not found")
    try:
        colang = colang_defaults(folder)  # an ACE bot folder: its Colang flows lead the dialog
    except ColangConfigError as exc:
        raise BotError(str(exc)) from None
    spec = _read_yaml(folder / "bot.yaml") if not colang or (folder / "bot.yaml").is_file() else {}
    if not isinstance(spec, dict):
        raise BotError(f"{folder / 'bot.yaml'}: expected a mapping")
    if colang:
        spec = {**colang, **spec, "turns": {**colang["turns"], **(spec.get("turns") or {})}}
    if (folder / "speech_config.yaml").is_file():  # an ACE bot's speech settings
        ace_file = _read_yaml(folder / "speech_config.yaml")
        spec = {**(ace_file if isinstance(ace_file, dict) else {}), **spec}
    try:
        ace = ace_settings(spec)
    except (TypeError, ValueError) as exc:
        raise BotError(f"{folder}: ACE speech settings: {exc}") from None
    if ace.dialog_manager:
        spec["dialog_manager"] = ace.dialog_manager

    data = {name: _read_yaml(folder / file) for name, file in (spec.get("data") or {}).items()}
    tools = []
    tools_file = spec.get("tools")
    if tools_file:
        where = str(folder / tools_file)
        for raw in _read_yaml(folder / tools_file) or []:
            try:
                tools.append(
                    Tool(
                        name=raw["name"],
                        description=raw.get("description", ""),
                        parameters=_resolve_refs(raw["parameters"], data, where),
                        handler=_load_handler(folder, raw["handler"], where),
                        side_effects=bool(raw.get("side_effects", False)),
                        outcome=str(raw.get("outcome", "")),
                    )
                )
            except KeyError as exc:
                raise BotError(f"{where}: a tool is missing {exc}") from None

    prompt = spec.get("prompt", "")
    if prompt and (folder / prompt).is_file():
        prompt = (folder / prompt).read_text(encoding="utf-8")

    speech = {**ace.voice, **(spec.get("speech") or {})}
    turns_spec = {**ace.turns, **(spec.get("turns") or {})}
    for key in ("filler_words", "include_words", "interrupt_words"):
        if key in turns_spec:
            turns_spec[key] = tuple(str(w).lower() for w in turns_spec[key])
    try:
        turns = TurnSettings(**turns_spec)
    except TypeError as exc:
        raise BotError(f"{folder / 'bot.yaml'}: turns: {exc}") from None
    if turns.mode not in {"final", "interim", "partial"}:
        raise BotError(f"{folder / 'bot.yaml'}: turns.mode must be final, interim or partial")
    if turns.overlap not in {"duck", "pause"}:
        raise BotError(f"{folder / 'bot.yaml'}: turns.overlap must be duck or pause")

    form = spec.get("form") or {}
    lexicon = form.get("synonyms") or {}
    vocabulary = tuple(speech.get("vocabulary") or _vocabulary(data, lexicon))
    return Bot(
        path=folder,
        name=spec.get("name", folder.name),
        greeting=spec.get("greeting", ""),
        prompt=prompt,
        agent=spec.get("agent", "form"),
        tools=tuple(tools),
        data=data,
        form=form,
        voice=Voice(
            name=str(speech.get("voice") or speech.get("name") or ""),
            language=str(speech.get("language", "en-US")),
            speed=float(speech.get("speed", 1.0)),
        ),
        vocabulary=vocabulary,
        example=str(speech.get("example") or ""),
        topics=_topics(folder, spec, speech, vocabulary),
        places=_places(tools),
        turns=turns,
        backends={**ace.backends, **(spec.get("backends") or {})},
        spec=spec,
    )
