"""Conversation scenarios: what a caller does on a call, and what the call must show.

A scenario is a YAML file in a bot's ``tests/`` folder::

    voice: slt                      # the caller's voice (see voices.py)
    hiss_dbfs: -50                  # optional line noise
    steps:
      - say: I'd like a large pepperoni pizza [pause 600 ms] on thin crust.
      - answer:                     # reply by rules on what the bot just said
          - when: [place the order, is that right]
            say: Yes please.
          - when: [crust]
            say: Thin crust.
        until: [anything else]
      - say: No, that's all. Bye.
    expect:
      order: {size: large, toppings: [pepperoni], crust: thin}
      hangs_up: true

Steps: ``say`` (waits for the bot's turn to end first; ``barge_in_ms: N`` talks over the bot N
ms into its next reply instead), ``backchannel`` ("mm-hmm" ``at_ms`` into the bot's reply),
``silence`` (ms), ``dtmf`` (digits), ``answer`` (rules), ``hangup`` (``now`` or after the bot's
turn). A step may have its own ``voice`` and ``expect``. Expectations: ``said`` / ``not_said``
(phrases, ``a|b`` for alternatives), ``reply_within_ms``, ``no_reply`` (on a line with a
``[pause N ms]``: nothing inside the line; else no reply at all), ``stops_within_ms``
(barge-in), ``keeps_talking`` (backchannel), and for the whole call ``order`` (or ``none``),
``orders`` (several pizzas), ``tool`` (name and arguments), ``hangs_up``, ``goodbye``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voxline.testbench.voices import VOICES, parse_line
from voxline.testbench.wants import answers

STEP_KINDS = ("say", "backchannel", "silence", "dtmf", "answer", "hangup")
DEFAULT_STOP_MS = 500  # a real interruption must be heard to stop within this (issue target)


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file and the step."""


@dataclass(frozen=True)
class Expect:
    said: tuple[str, ...] = ()
    not_said: tuple[str, ...] = ()
    reply_within_ms: int | None = None
    no_reply: bool = False
    stops_within_ms: int | None = None
    keeps_talking: bool | None = None


@dataclass(frozen=True)
class CallExpect(Expect):
    order: dict[str, Any] | None = None
    no_order: bool = False
    orders: tuple[dict[str, Any], ...] | None = None
    tool: dict[str, Any] | None = None
    hangs_up: bool | None = None
    goodbye: bool | None = None


@dataclass(frozen=True)
class Rule:
    when: tuple[str, ...]  # any of these phrases in the bot's last reply (the latest one wins)
    say: str


@dataclass(frozen=True)
class Step:
    kind: str
    text: str = ""  # say, backchannel
    voice: str = ""
    barge_in_ms: int | None = None  # say: talk over the bot's next reply this far into it
    at_ms: int = 1000  # backchannel: this far into the bot's reply
    ms: int = 0  # silence
    digits: str = ""  # dtmf
    rules: tuple[Rule, ...] = ()  # answer
    otherwise: str = ""  # answer: what to say when no rule matches (else the answer ends)
    until: tuple[str, ...] = ()  # answer: stop once the bot says one of these
    max_turns: int = 4  # answer
    now: bool = False  # hangup: at once, not after the bot's turn
    expect: Expect = field(default_factory=Expect)

    @property
    def over_bot(self) -> bool:
        """Spoken while the bot talks (not a turn of its own)."""
        return self.kind == "backchannel" or self.barge_in_ms is not None


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path | None
    voice: str
    steps: tuple[Step, ...]
    expect: CallExpect
    hiss_dbfs: float | None = None
    quiet_ms: int = 900  # bot silence that ends its turn, for the caller
    patience_ms: int = 8000  # how long the caller waits for a reply before going on
    about: str = ""
    tags: tuple[str, ...] = ()

    def lines(self) -> list[tuple[str, str]]:
        """Every (voice, text) the caller may say: what to render before the call."""
        out = []
        for s in self.steps:
            voice = s.voice or self.voice
            if s.kind in ("say", "backchannel"):
                out.append((voice, s.text))
            elif s.kind == "answer":
                out += [(voice, r.say) for r in s.rules]
                if s.otherwise:
                    out.append((voice, s.otherwise))
                out += [(voice, line) for line in answers(self.expect.order)]
        return out


class _Loader(yaml.SafeLoader):
    """YAML where only true/false are booleans: a caller saying ``no`` or ``yes`` unquoted
    must stay words, not turn into False and True."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def _phrases(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise ScenarioError(f"{where}: expected a phrase or a list of phrases, got {value!r}")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScenarioError(f"{where}: expected a number of milliseconds, got {value!r}")
    return int(value)


def _expect(raw: Any, where: str, call: bool) -> Expect:
    if raw is None:
        return CallExpect() if call else Expect()
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expect must be a mapping")
    step_keys = {
        "said",
        "not_said",
        "reply_within_ms",
        "no_reply",
        "stops_within_ms",
        "keeps_talking",
    }
    call_keys = {"order", "orders", "tool", "hangs_up", "goodbye"}
    allowed = step_keys | (call_keys if call else set())
    if unknown := set(raw) - allowed:
        raise ScenarioError(
            f"{where}: unknown expectation {sorted(unknown)} (know {sorted(allowed)})"
        )
    kw: dict[str, Any] = {
        "said": _phrases(raw.get("said"), f"{where}.said"),
        "not_said": _phrases(raw.get("not_said"), f"{where}.not_said"),
        "no_reply": bool(raw.get("no_reply", False)),
        "keeps_talking": raw.get("keeps_talking"),
    }
    for key in ("reply_within_ms", "stops_within_ms"):
        if raw.get(key) is not None:
            kw[key] = _int(raw[key], f"{where}.{key}")
    if not call:
        return Expect(**kw)
    order = raw.get("order")
    if order in ("none", None, False) and "order" in raw:
        kw["no_order"] = True
    elif order is not None:
        if not isinstance(order, dict):
            raise ScenarioError(f"{where}.order: expected a mapping of the order's fields or none")
        kw["order"] = order
    if "orders" in raw:
        orders = raw["orders"]
        if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
            raise ScenarioError(f"{where}.orders: expected a list of orders")
        kw["orders"] = tuple(orders)
    if "tool" in raw:
        tool = raw["tool"]
        if not isinstance(tool, dict) or "name" not in tool:
            raise ScenarioError(f"{where}.tool: expected {{name: ..., args: {{...}}}}")
        kw["tool"] = tool
    for key in ("hangs_up", "goodbye"):
        if key in raw:
            kw[key] = bool(raw[key])
    return CallExpect(**kw)


def _line(text: Any, where: str) -> str:
    if not isinstance(text, str) or not any(isinstance(p, str) for p in parse_line(text)):
        raise ScenarioError(f"{where}: expected something to say, got {text!r}")
    return text


def _step(raw: Any, where: str) -> Step:
    if raw == "hangup":
        return Step("hangup")
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a step is a mapping such as {{say: ...}}")
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: a step has exactly one of {', '.join(STEP_KINDS)}")
    kind = kinds[0]
    voice = raw.get("voice", "")
    if voice and voice not in VOICES:
        raise ScenarioError(f"{where}: unknown voice {voice!r}; voices: {', '.join(VOICES)}")
    known = {kind, "voice", "expect", "barge_in_ms", "at_ms", "until", "otherwise", "max_turns"}
    if unknown := set(raw) - known:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
    kw: dict[str, Any] = {
        "voice": voice,
        "expect": _expect(raw.get("expect"), f"{where}.expect", call=False),
    }
    value = raw[kind]
    if kind in ("say", "backchannel"):
        kw["text"] = _line(value, f"{where}.{kind}")
        if raw.get("barge_in_ms") is not None:
            if kind != "say":
                raise ScenarioError(f"{where}: barge_in_ms belongs to a say step")
            kw["barge_in_ms"] = _int(raw["barge_in_ms"], f"{where}.barge_in_ms")
        if "at_ms" in raw:
            kw["at_ms"] = _int(raw["at_ms"], f"{where}.at_ms")
    elif kind == "silence":
        kw["ms"] = _int(value, f"{where}.silence")
    elif kind == "dtmf":
        digits = str(value)
        if not digits or any(d not in "0123456789*#" for d in digits):
            raise ScenarioError(f"{where}.dtmf: digits are 0-9, * and #, got {value!r}")
        kw["digits"] = digits
    elif kind == "answer":
        if not isinstance(value, list) or not value:
            raise ScenarioError(f"{where}.answer: expected a list of {{when: [...], say: ...}}")
        rules = []
        for i, rule in enumerate(value):
            w = f"{where}.answer[{i}]"
            if not isinstance(rule, dict) or set(rule) != {"when", "say"}:
                raise ScenarioError(f"{w}: a rule is {{when: [phrases], say: line}}")
            rules.append(Rule(_phrases(rule["when"], f"{w}.when"), _line(rule["say"], f"{w}.say")))
        kw["rules"] = tuple(rules)
        kw["until"] = _phrases(raw.get("until"), f"{where}.until")
        if raw.get("otherwise"):
            kw["otherwise"] = _line(raw["otherwise"], f"{where}.otherwise")
        if "max_turns" in raw:
            kw["max_turns"] = max(1, _int(raw["max_turns"], f"{where}.max_turns"))
    elif kind == "hangup":
        if value not in (None, "now", "after reply"):
            raise ScenarioError(f"{where}.hangup: 'now' or 'after reply'")
        kw["now"] = value == "now"
    return Step(kind, **kw)


def parse_scenario(raw: Any, name: str, path: Path | None = None) -> Scenario:
    where = str(path or name)
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a scenario is a mapping with steps and expect")
    known = {
        "name",
        "about",
        "voice",
        "hiss_dbfs",
        "steps",
        "expect",
        "quiet_ms",
        "patience_ms",
        "tags",
    }
    if unknown := set(raw) - known:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
    voice = raw.get("voice")
    if voice not in VOICES:
        raise ScenarioError(f"{where}: voice must be one of {', '.join(VOICES)}, got {voice!r}")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise ScenarioError(f"{where}: steps must be a non-empty list")
    steps = tuple(_step(s, f"{where}: step {i + 1}") for i, s in enumerate(steps_raw))
    hiss = raw.get("hiss_dbfs")
    if hiss is not None and (not isinstance(hiss, int | float) or hiss > -10):
        raise ScenarioError(f"{where}: hiss_dbfs is a level in dBFS such as -50")
    expect = _expect(raw.get("expect"), f"{where}: expect", call=True)
    assert isinstance(expect, CallExpect)
    return Scenario(
        name=str(raw.get("name") or name),
        path=path,
        voice=voice,
        steps=steps,
        expect=expect,
        hiss_dbfs=float(hiss) if hiss is not None else None,
        quiet_ms=_int(raw.get("quiet_ms", 900), f"{where}: quiet_ms"),
        patience_ms=_int(raw.get("patience_ms", 8000), f"{where}: patience_ms"),
        about=str(raw.get("about", "")),
        tags=_phrases(raw.get("tags"), f"{where}: tags"),
    )


def load_scenario(path: Path) -> Scenario:
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: invalid YAML: {exc}") from None
    return parse_scenario(raw, path.stem, path)


def load_suite(bot_dir: Path, only: list[str] | None = None) -> list[Scenario]:
    """Every ``tests/*.yaml`` of a bot folder (those whose file name contains one of ``only``)."""
    folder = bot_dir / "tests"
    if not folder.is_dir():
        raise ScenarioError(f"{bot_dir}: no tests/ folder with scenario files")
    files = sorted(folder.glob("*.yaml"))
    if only:
        files = [f for f in files if any(o in f.stem for o in only)]
    if not files:
        raise ScenarioError(f"{folder}: no scenario matches" if only else f"{folder}: empty")
    return [load_scenario(f) for f in files]
